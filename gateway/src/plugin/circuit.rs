//! The circuit breaker of one plugin: `threshold` consecutive failures open it for
//! `cooldown`, during which calls are skipped; then one trial call is let through
//! (half-open): success closes it, failure re-opens it for another cooldown.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// The trial call is running; other calls are skipped until it reports.
    HalfOpen,
}

#[derive(Debug)]
pub(super) struct Circuit {
    state: State,
    consecutive_failures: u32,
    threshold: u32,
    cooldown: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    Call,
    /// The circuit is open: skip the call.
    Skip,
}

impl Circuit {
    pub(super) fn new(threshold: u32, cooldown: Duration) -> Circuit {
        Circuit {
            state: State::Closed,
            consecutive_failures: 0,
            threshold: threshold.max(1),
            cooldown,
        }
    }

    pub(super) fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed => Admission::Call,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen;
                Admission::Call
            }
            State::Open { .. } | State::HalfOpen => Admission::Skip,
        }
    }

    /// Returns true when this success closed the circuit (the half-open trial passed).
    pub(super) fn record_success(&mut self) -> bool {
        self.consecutive_failures = 0;
        // A call admitted before the circuit opened must not close it.
        let closes = self.state == State::HalfOpen;
        if closes {
            self.state = State::Closed;
        }
        closes
    }

    /// Returns true when this failure opened (or re-opened) the circuit.
    pub(super) fn record_failure(&mut self, now: Instant) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let opens = match self.state {
            State::HalfOpen => true,
            State::Closed => self.consecutive_failures >= self.threshold,
            State::Open { .. } => false,
        };
        if opens {
            self.state = State::Open {
                until: now + self.cooldown,
            };
        }
        opens
    }

    pub(super) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub(super) fn is_open(&self) -> bool {
        self.state != State::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_after_cooldown() {
        let start = Instant::now();
        let cooldown = Duration::from_secs(10);
        let mut circuit = Circuit::new(3, cooldown);
        for _ in 0..2 {
            assert_eq!(circuit.admit(start), Admission::Call);
            assert!(!circuit.record_failure(start));
        }
        assert_eq!(circuit.admit(start), Admission::Call);
        assert!(
            circuit.record_failure(start),
            "third consecutive failure opens"
        );
        assert!(circuit.is_open());
        assert_eq!(circuit.admit(start + cooldown / 2), Admission::Skip);
        // Half-open: one trial, the rest skipped while it runs.
        assert_eq!(circuit.admit(start + cooldown), Admission::Call);
        assert_eq!(circuit.admit(start + cooldown), Admission::Skip);
        assert!(
            circuit.record_failure(start + cooldown),
            "failed trial re-opens"
        );
        assert_eq!(
            circuit.admit(start + cooldown + cooldown / 2),
            Admission::Skip
        );
        assert_eq!(circuit.admit(start + cooldown * 2), Admission::Call);
        assert!(circuit.record_success(), "the passing trial closes it");
        assert!(!circuit.is_open());
        assert!(
            !circuit.record_success(),
            "closed already: nothing to close"
        );
        assert_eq!(circuit.consecutive_failures(), 0);
        assert_eq!(circuit.admit(start + cooldown * 2), Admission::Call);
    }

    #[test]
    fn successes_reset_the_count() {
        let now = Instant::now();
        let mut circuit = Circuit::new(2, Duration::from_secs(1));
        assert!(!circuit.record_failure(now));
        circuit.record_success();
        assert!(!circuit.record_failure(now));
        assert!(circuit.record_failure(now));
    }

    #[test]
    fn a_straggling_success_does_not_close_an_open_circuit() {
        let now = Instant::now();
        let mut circuit = Circuit::new(1, Duration::from_secs(60));
        assert!(circuit.record_failure(now));
        circuit.record_success();
        assert!(circuit.is_open());
        assert_eq!(circuit.admit(now), Admission::Skip);
    }
}
