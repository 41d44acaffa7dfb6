//! A token bucket driven by caller-supplied time.
//!
//! The plugin runs in a sandbox whose clock is a host import, and tests must be exact, so the
//! bucket never reads a clock: every call carries `now` in unix nanoseconds. Time that goes
//! backwards (clock steps, out-of-order batches from several workers) refills nothing rather
//! than panicking or minting tokens.

/// Tokens refill continuously at `rate_per_second` up to `burst`; the bucket starts full.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate_per_second: f64,
    burst: f64,
    tokens: f64,
    /// The latest `now` seen; `None` until the first call, so the first caller finds it full.
    last_refill_nanos: Option<u64>,
}

impl TokenBucket {
    /// A full bucket. Non-finite or negative arguments are treated as 0 (config validation
    /// refuses them before this point; the bucket stays total so it can never panic).
    pub fn new(rate_per_second: f64, burst: f64) -> TokenBucket {
        let sanitize = |value: f64| {
            if value.is_finite() && value > 0.0 {
                value
            } else {
                0.0
            }
        };
        let burst = sanitize(burst);
        TokenBucket {
            rate_per_second: sanitize(rate_per_second),
            burst,
            tokens: burst,
            last_refill_nanos: None,
        }
    }

    /// The tokens available at `now`, without taking any (used to check before committing).
    pub fn available(&self, now_unix_nanos: u64) -> f64 {
        match self.last_refill_nanos {
            None => self.burst,
            Some(last) => {
                let elapsed_seconds = now_unix_nanos.saturating_sub(last) as f64 / 1e9;
                (self.tokens + elapsed_seconds * self.rate_per_second).min(self.burst)
            }
        }
    }

    /// Whether `cost` tokens are available at `now`.
    pub fn can_take(&self, now_unix_nanos: u64, cost: f64) -> bool {
        self.available(now_unix_nanos) >= cost
    }

    /// Takes `cost` tokens if available at `now`; returns whether it did.
    ///
    /// A cost above `burst` can never be paid: with spans-per-second limits, a trace with more
    /// spans than the burst is never admitted by that bucket.
    pub fn try_take(&mut self, now_unix_nanos: u64, cost: f64) -> bool {
        let available = self.available(now_unix_nanos);
        self.tokens = available;
        self.last_refill_nanos = Some(
            self.last_refill_nanos
                .map_or(now_unix_nanos, |last| last.max(now_unix_nanos)),
        );
        if available >= cost {
            self.tokens = available - cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn starts_full_then_refills_at_rate() {
        let mut bucket = TokenBucket::new(10.0, 5.0);
        let start = 1_700_000_000 * SECOND;
        for _ in 0..5 {
            assert!(bucket.try_take(start, 1.0));
        }
        assert!(!bucket.try_take(start, 1.0), "burst exhausted");
        // 10/s: one token per 100 ms.
        assert!(!bucket.try_take(start + 99_000_000, 1.0));
        assert!(bucket.try_take(start + 100_000_000, 1.0));
        assert!(!bucket.try_take(start + 100_000_000, 1.0));
    }

    #[test]
    fn refill_is_capped_at_burst() {
        let mut bucket = TokenBucket::new(100.0, 3.0);
        assert!(bucket.try_take(0, 3.0));
        assert!((bucket.available(3600 * SECOND) - 3.0).abs() < 1e-9);
        assert!(bucket.try_take(3600 * SECOND, 3.0));
        assert!(!bucket.try_take(3600 * SECOND, 1.0));
    }

    #[test]
    fn sustained_rate_matches_configuration() {
        let mut bucket = TokenBucket::new(50.0, 1.0);
        // Offer 1000 requests per second for 10 seconds.
        let admitted = (0..10_000u64)
            .filter(|i| bucket.try_take(i * SECOND / 1000, 1.0))
            .count();
        assert!((499..=501).contains(&admitted), "{admitted}");
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let mut bucket = TokenBucket::new(1.0, 1.0);
        assert!(bucket.try_take(10 * SECOND, 1.0));
        assert!(!bucket.try_take(5 * SECOND, 1.0));
        assert!(
            !bucket.try_take(10 * SECOND, 1.0),
            "the step back must not mint tokens"
        );
        assert!(bucket.try_take(11 * SECOND, 1.0));
    }

    #[test]
    fn cost_above_burst_never_passes_and_check_does_not_consume() {
        let mut bucket = TokenBucket::new(1000.0, 10.0);
        assert!(!bucket.try_take(0, 11.0));
        assert!(bucket.can_take(0, 10.0));
        assert!(bucket.can_take(0, 10.0));
        assert!(bucket.try_take(0, 10.0));
    }

    #[test]
    fn degenerate_arguments_are_safe() {
        let mut bucket = TokenBucket::new(f64::NAN, -3.0);
        assert!(!bucket.try_take(0, 1.0));
        assert!(bucket.try_take(u64::MAX, 0.0));
    }
}
