//! Bounds on the query work of the whole port (`query.max_concurrent_queries`,
//! `query.query_timeout`, `query.max_query_expression_size_bytes`). A TraceQL expression
//! over the size limit is refused before it is parsed, on every entry point (HTTP `q`
//! and `query` parameters, the gRPC requests' `query`), as Tempo's frontend refuses it,
//! so parsing cost stays bounded. At most so many engine calls run at once; each gets a time
//! budget that starts when the request arrives, so waiting for a slot counts too. A
//! request that finds no slot within its budget is refused as Tempo's frontend refuses
//! an over-full queue (429 "too many outstanding requests"); one that runs out of budget
//! while running ends with 504 and says which setting bounded it.
//!
//! Queries run on threads of their own, one per slot, at a lower CPU priority (nice
//! 10) than everything else: on a busy machine the scheduler gives ingest the CPU first,
//! so a heavy query slows itself rather than the acknowledgement of spans.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, oneshot};

use super::error::QueryError;
use crate::search::budget;

/// The niceness of query threads: weight 110 against ingest's 1024 when both want CPU.
const QUERY_NICENESS: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct QueryLimits {
    slots: Arc<Semaphore>,
    timeout: Duration,
    /// Jobs for the query threads; a slot is taken before a job is sent, so one of
    /// them is always free to take it.
    jobs: Sender<Job>,
    /// Largest TraceQL expression, in bytes (0: no limit).
    max_expression_bytes: usize,
}

impl QueryLimits {
    /// Starts `max_concurrent_queries` query threads.
    pub fn new(
        max_concurrent_queries: usize,
        timeout: Duration,
        max_expression_bytes: usize,
    ) -> QueryLimits {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..max_concurrent_queries {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("query-{index}"))
                .spawn(move || query_thread(&queue));
            if let Err(error) = started {
                tracing::error!(%error, "cannot start a query thread");
            }
        }
        QueryLimits {
            slots: Arc::new(Semaphore::new(max_concurrent_queries)),
            timeout,
            jobs,
            max_expression_bytes,
        }
    }

    /// Refuses a TraceQL expression over `query.max_query_expression_size_bytes`, with
    /// Tempo's words.
    pub(super) fn check_expression(&self, expression: &str) -> Result<(), QueryError> {
        if self.max_expression_bytes > 0 && expression.len() > self.max_expression_bytes {
            return Err(QueryError::BadRequest(format!(
                "TraceQL expression exceeds the configured maximum size of {} bytes, \
                 reduce the query expression size or contact your system administrator",
                self.max_expression_bytes
            )));
        }
        Ok(())
    }

    /// [`Self::check_expression`] for every `q` and `query` parameter.
    pub(super) fn check_expression_params<'a>(
        &self,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), QueryError> {
        params
            .into_iter()
            .filter(|(name, _)| matches!(*name, "q" | "query"))
            .try_for_each(|(_, value)| self.check_expression(value))
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
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            // The requester may have gone (client disconnected): nothing to tell.
            let _ = answer.send(budget::within(deadline, timeout, work));
        });
        self.jobs
            .send(job)
            .map_err(|_| QueryError::Internal("the query threads stopped".to_owned()))?;
        answered
            .await
            .map_err(|_| QueryError::Internal("a query thread failed".to_owned()))?
    }
}

/// Runs jobs at a lower priority until the sender side is gone.
fn query_thread(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        let Ok(job) = job else { return };
        // A panicking query (a bug) answers nothing: its requester gets an internal
        // error when the answer channel drops, and the thread serves the next one.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a query panicked");
        }
    }
}

/// Raises this thread's niceness (Linux schedules threads apart; lowering one's own
/// priority needs no privilege). Failure only costs the priority.
fn lower_priority() {
    // SAFETY: setpriority with PRIO_PROCESS and 0 changes the calling thread's own
    // niceness; it reads no memory of ours.
    #[allow(unsafe_code)]
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, QUERY_NICENESS) };
    if result != 0 {
        tracing::debug!("cannot lower the priority of a query thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_finding_no_slot_within_its_budget_is_refused_and_one_over_budget_times_out() {
        let limits = QueryLimits::new(1, Duration::from_millis(300), 0);
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

    #[tokio::test]
    async fn an_expression_over_the_size_limit_is_refused_with_tempos_words() {
        let limits = QueryLimits::new(1, Duration::from_secs(1), 10);
        assert!(limits.check_expression("{ a = 1 }").is_ok());
        assert!(
            limits.check_expression("{ a = 12 }").is_ok(),
            "10 bytes fit"
        );
        let Err(QueryError::BadRequest(message)) = limits.check_expression("{ a = 123 }") else {
            panic!("11 bytes must be refused");
        };
        assert_eq!(
            message,
            "TraceQL expression exceeds the configured maximum size of 10 bytes, \
             reduce the query expression size or contact your system administrator"
        );
        // Every `q` and `query`, not only the first; other parameters are not TraceQL.
        let long_tags = "x".repeat(50);
        let params = [
            ("q", "{}"),
            ("tags", long_tags.as_str()),
            ("query", "{ a = 123 }"),
        ];
        assert!(limits.check_expression_params(params).is_err());
        assert!(
            limits
                .check_expression_params(params[..2].iter().copied())
                .is_ok()
        );
        let unlimited = QueryLimits::new(1, Duration::from_secs(1), 0);
        assert!(unlimited.check_expression(&"x".repeat(1 << 20)).is_ok());
    }
}
