//! Bounds on the query work of the whole port (`query.max_concurrent_queries`,
//! `query.query_timeout`): at most so many engine calls run at once; each gets a time
//! budget that starts when the request arrives, so waiting for a slot counts too. A
//! request that finds no slot within its budget is refused as Tempo's frontend refuses
//! an over-full queue (429 "too many outstanding requests"); one that runs out of budget
//! while running ends with 504 and says which setting bounded it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::error::QueryError;
use crate::search::budget;

#[derive(Clone)]
pub struct QueryLimits {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl QueryLimits {
    pub fn new(max_concurrent_queries: usize, timeout: Duration) -> QueryLimits {
        QueryLimits {
            slots: Arc::new(Semaphore::new(max_concurrent_queries)),
            timeout,
        }
    }

    /// Runs `work` (engine calls) on the blocking pool within a slot and the budget.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, QueryError> {
        let arrived = Instant::now();
        let deadline = arrived + self.timeout;
        let permit = tokio::time::timeout(self.timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| {
                QueryError::TooManyRequests(format!(
                    "too many outstanding requests: no query slot freed within {:?} \
                     (query.max_concurrent_queries)",
                    self.timeout
                ))
            })?
            .map_err(|error| QueryError::Internal(error.to_string()))?;
        let timeout = self.timeout;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            budget::within(deadline, timeout, work)
        })
        .await
        .map_err(|error| QueryError::Internal(error.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_finding_no_slot_within_its_budget_is_refused_and_one_over_budget_times_out() {
        let limits = QueryLimits::new(1, Duration::from_millis(300));
        let busy = limits.clone();
        // Holds the only slot for longer than a budget.
        let holder = tokio::spawn(async move {
            busy.run(|| {
                std::thread::sleep(Duration::from_secs(1));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = limits.run(|| Ok(())).await;
        assert!(
            matches!(refused, Err(QueryError::TooManyRequests(_))),
            "{refused:?}"
        );
        holder.await.unwrap().unwrap();

        // The engine's check inside the work sees the budget run out.
        let timed_out = limits
            .run(|| {
                std::thread::sleep(Duration::from_millis(400));
                crate::search::budget::check_for_tests().map_err(QueryError::from)
            })
            .await;
        assert!(
            matches!(timed_out, Err(QueryError::Timeout(_))),
            "{timed_out:?}"
        );
    }
}
