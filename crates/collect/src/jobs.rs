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

/// Aborts a task when dropped: a job never outlives the supervisor that bounds it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` as a task of its own, at most `deadline`. Aborting the task drops what it
/// held (a batch's connection rolls its transaction back), so a timed-out job leaves
/// nothing half-done. If the supervisor itself is dropped (a shutdown, a cancelled
/// scheduler), the job is aborted with it: no job runs unbounded and unrecorded.
pub async fn supervise<T, F>(name: &str, deadline: Duration, work: F) -> JobOutcome<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut task = tokio::spawn(work);
    let _abort_with_me = AbortOnDrop(task.abort_handle());
    match tokio::time::timeout(deadline, &mut task).await {
        Ok(Ok(value)) => JobOutcome::Done(value),
        Ok(Err(error)) => {
            tracing::error!(job = name, %error, "job panicked");
            JobOutcome::Panicked
        }
        Err(_) => {
            task.abort();
            // Wait for it to be gone, so what it held is released when this returns.
            let _ = task.await;
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

        // A supervisor dropped mid-job takes the job with it.
        let (dropped, observed) = tokio::sync::oneshot::channel::<()>();
        let supervisor = tokio::spawn(supervise("orphan", Duration::from_secs(60), async move {
            let _held = dropped;
            std::future::pending::<()>().await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
        supervisor.abort();
        let _ = supervisor.await;
        assert!(
            observed.await.is_err(),
            "the job was aborted with its supervisor"
        );
    }
}
