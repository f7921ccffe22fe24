//! Supervised jobs (作业): every piece of background work (a pull, the housekeeping, the
//! recovery of cut batches) runs as its own task with a deadline. A job that panics or
//! outlives its deadline is reported as such and the others carry on: one bad source never
//! stops the scheduler.

use std::future::Future;
use std::time::Duration;

/// How a supervised job ended.
#[derive(Debug)]
pub enum JobOutcome<T> {
    Done(T),
    /// The job ran past its deadline and was aborted.
    TimedOut,
    /// The job panicked (a bug); the panic's message went to the log.
    Panicked,
}

/// Runs `work` as a task of its own, at most `deadline`. Aborting the task drops what it
/// held (a batch's connection rolls its transaction back), so a timed-out job leaves
/// nothing half-done; the task is also not cut when the caller is dropped (a request
/// whose client went away), since it is spawned.
pub async fn supervise<T, F>(name: &str, deadline: Duration, work: F) -> JobOutcome<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    match tokio::time::timeout(deadline, task).await {
        Ok(Ok(value)) => JobOutcome::Done(value),
        Ok(Err(error)) => {
            tracing::error!(job = name, %error, "job panicked");
            JobOutcome::Panicked
        }
        Err(_) => {
            abort.abort();
            tracing::warn!(
                job = name,
                deadline_s = deadline.as_secs(),
                "job ran past its deadline and was aborted"
            );
            JobOutcome::TimedOut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_or_hanging_job_is_reported_and_the_caller_goes_on() {
        let done = supervise("ok", Duration::from_secs(5), async { 7 }).await;
        assert!(matches!(done, JobOutcome::Done(7)));
        let panicked = supervise("bug", Duration::from_secs(5), async {
            let items: Vec<u8> = Vec::new();
            items[3]
        })
        .await;
        assert!(matches!(panicked, JobOutcome::Panicked));
        let (dropped, observed) = tokio::sync::oneshot::channel::<()>();
        let hung = supervise("hung", Duration::from_millis(50), async move {
            let _held = dropped;
            std::future::pending::<()>().await
        })
        .await;
        assert!(matches!(hung, JobOutcome::TimedOut));
        // The hung task was aborted: what it held is released.
        assert!(observed.await.is_err());
    }
}
