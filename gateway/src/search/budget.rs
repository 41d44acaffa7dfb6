//! The time budget of one query (`query.query_timeout`). The query layer runs each query
//! on its own blocking thread inside [`within`]; the engine calls [`check`] as it takes
//! each candidate trace, so a query ends at most one trace's work past its budget
//! (`{} >> {}` over a million spans, or a regex over every attribute, included).

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::SearchError;

thread_local! {
    static DEADLINE: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// Runs `work` with a deadline of `deadline` (the budget `budget` started earlier);
/// work outside `within` has no deadline.
pub(crate) fn within<T>(deadline: Instant, budget: Duration, work: impl FnOnce() -> T) -> T {
    struct Reset(Option<(Instant, Duration)>);
    impl Drop for Reset {
        fn drop(&mut self) {
            DEADLINE.with(|cell| cell.set(self.0));
        }
    }
    let _reset = Reset(DEADLINE.with(|cell| cell.replace(Some((deadline, budget)))));
    work()
}

/// `Err(Timeout)` once the running query's deadline has passed.
pub(super) fn check() -> Result<(), SearchError> {
    match DEADLINE.with(Cell::get) {
        Some((deadline, budget)) if Instant::now() >= deadline => Err(SearchError::Timeout(budget)),
        _ => Ok(()),
    }
}

/// [`check`] for the query layer's tests.
#[cfg(test)]
pub(crate) fn check_for_tests() -> Result<(), SearchError> {
    check()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_fails_the_check_only_inside_within() {
        let budget = Duration::from_millis(5);
        assert!(check().is_ok(), "no deadline outside `within`");
        let passed = Instant::now() - Duration::from_secs(1);
        let inside = within(passed, budget, check);
        assert!(matches!(inside, Err(SearchError::Timeout(b)) if b == budget));
        assert!(check().is_ok(), "the deadline ends with `within`");
        let later = Instant::now() + Duration::from_secs(60);
        assert!(within(later, budget, check).is_ok());
    }
}
