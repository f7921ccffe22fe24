//! The in-process scheduler: each tick claims due sources (a claim is a lease, taken with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several `datahall serve` processes never run
//! the same pull), pulls up to `pull_concurrency` of them at once as supervised jobs with
//! a deadline each (see [`crate::jobs`]), and schedules each source's next run on its
//! entry's update cycle, or a retry with backoff after a failure. It also fails batches
//! whose writer died and runs the housekeeping, each as a job of its own: a pull that
//! hangs or panics is recorded as 采集超时 / 采集失败 on its source and stops nothing else.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use domain::catalogue::UpdateCycle;
use domain::freshness::retry_delay;
use store::sources::Source;
use store::{AuditContext, Store, StoreError};

use crate::jobs::{supervise, JobOutcome};
use crate::pull::PullOptions;
use crate::secret::SecretKey;

/// How often the housekeeping runs (it is idempotent, so several processes may each run it).
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// The most the housekeeping and the recovery of cut batches may take.
const CHORE_DEADLINE: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub struct Scheduler {
    pub store: Store,
    pub key: SecretKey,
    /// Where sources may connect, and how long they may stay silent.
    pub policy: crate::network::SourcePolicy,
    /// The polling interval of 实时 entries.
    pub realtime_poll: chrono::Duration,
    /// How often the scheduler looks for due sources.
    pub tick: Duration,
    /// Days the change feed keeps deleted records.
    pub feed_retention_days: i64,
    /// Pulls run at once by this process.
    pub pull_concurrency: usize,
    /// The longest one pull may take; past it, it is aborted and recorded as 采集超时.
    pub pull_deadline: Duration,
    /// Sources this process has claimed and not yet given back.
    held: Arc<Mutex<HashSet<i64>>>,
}

impl Scheduler {
    /// A scheduler with the default limits: 4 pulls at once, 30 minutes each.
    pub fn new(store: Store, key: SecretKey, policy: crate::network::SourcePolicy) -> Self {
        Self {
            store,
            key,
            policy,
            realtime_poll: chrono::Duration::seconds(60),
            tick: Duration::from_secs(60),
            feed_retention_days: 90,
            pull_concurrency: 4,
            pull_deadline: Duration::from_secs(30 * 60),
            held: Arc::default(),
        }
    }

    /// A claim lasts past the pull's deadline, so only a dead process's claim lapses.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.pull_deadline).unwrap_or(chrono::Duration::hours(1))
            + chrono::Duration::minutes(5)
    }

    /// Runs until `shutdown` turns true (or the task is dropped). A pull running when
    /// shutdown is asked for finishes (up to its deadline) before this returns.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_housekeeping: Option<std::time::Instant> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                changed = shutdown.changed() => if changed.is_err() {
                    return; // the process is going away without a word
                },
            }
            if *shutdown.borrow() {
                return;
            }
            if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING_EVERY) {
                let this = self.clone();
                supervise("housekeeping", CHORE_DEADLINE, async move {
                    this.housekeeping().await
                })
                .await;
                last_housekeeping = Some(std::time::Instant::now());
            }
            let store = self.store.clone();
            let recovered = supervise("recover batches", CHORE_DEADLINE, async move {
                store.recover_interrupted_batches().await
            })
            .await;
            if let JobOutcome::Done(Err(error)) = recovered {
                tracing::warn!(%error, "checking for interrupted batches");
            }
            if let Err(error) = self.run_due_until(Some(&shutdown)).await {
                tracing::warn!(%error, "scheduler tick");
            }
        }
    }

    /// Records accountability for duties that passed their deadline (so the bureau sees
    /// them without anyone opening the page first), and forgets deletions older than the
    /// change feed's retention.
    pub async fn housekeeping(&self) {
        let ctx = store::AuditContext::system("scheduler");
        match self.store.record_missed_duties(Utc::now(), &ctx).await {
            Ok(0) => {}
            Ok(missed) => tracing::info!(missed, "accountability recorded for missed deadlines"),
            Err(error) => tracing::warn!(%error, "recording missed deadlines"),
        }
        // The access log's digest so far, into the audit chain (see store::verify).
        match self.store.checkpoint_access_log(&ctx).await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "access log checkpointed"),
            Err(error) => tracing::warn!(%error, "checkpointing the access log"),
        }
        match self.store.prune_deletions(self.feed_retention_days).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old deletions dropped from the change feed"),
            Err(error) => tracing::warn!(%error, "pruning the change feed"),
        }
    }

    /// Runs every source due now, `pull_concurrency` at a time; returns how many ran.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        self.run_due_until(None).await
    }

    /// [`Scheduler::run_due`], claiming nothing more once `shutdown` turns true. A slot
    /// freed by a finished pull is refilled at once: a hung source holds one slot until
    /// its deadline, not the whole tick.
    async fn run_due_until(
        &self,
        shutdown: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> Result<usize, StoreError> {
        let mut running = tokio::task::JoinSet::new();
        let mut ran = 0;
        let mut claim_error = None;
        loop {
            while running.len() < self.pull_concurrency.max(1)
                && claim_error.is_none()
                && !shutdown.is_some_and(|s| *s.borrow())
            {
                let now = Utc::now();
                // A failed claim stops claiming, never the pulls already running.
                let source = match self.store.claim_due_source(now, now + self.lease()).await {
                    Ok(Some(source)) => source,
                    Ok(None) => break,
                    Err(error) => {
                        claim_error = Some(error);
                        break;
                    }
                };
                self.hold(source.id);
                let this = self.clone();
                let ctx = AuditContext::system("scheduler");
                running.spawn(async move {
                    this.pull_claimed(source, ctx, PullOptions::default()).await
                });
                ran += 1;
            }
            match running.join_next().await {
                None => return claim_error.map_or(Ok(ran), Err),
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(error))) => tracing::warn!(%error, "recording a pull's outcome"),
                Some(Err(error)) => tracing::error!(%error, "a pull's supervisor failed"),
            }
        }
    }

    /// Pulls one source now (as the platform) and schedules its next run.
    pub async fn run_source(&self, source: &Source) -> Result<(), StoreError> {
        self.run_source_as(
            source,
            &AuditContext::system("scheduler"),
            PullOptions::default(),
        )
        .await
    }

    /// Pulls one source now for `ctx`'s caller (a person running it, or the platform) and
    /// schedules its next run. Refused with `Conflict` while a pull of the source runs
    /// anywhere; the batch itself is refused unless the caller may collect into the entry
    /// (domain::access).
    pub async fn run_source_as(
        &self,
        source: &Source,
        ctx: &AuditContext,
        options: PullOptions,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let source = self
            .store
            .claim_source(source.id, now, now + self.lease())
            .await?;
        self.hold(source.id);
        // A task of its own: a request whose client goes away does not cut the pull or
        // leave its outcome unrecorded.
        let this = self.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move { this.pull_claimed(source, ctx, options).await })
            .await
            .map_err(|e| StoreError::Corrupt(format!("the pull's task failed: {e}")))?
    }

    /// Runs a claimed source's pull as a supervised job, records its outcome on the
    /// source, and gives the claim back.
    async fn pull_claimed(
        &self,
        source: Source,
        ctx: AuditContext,
        options: PullOptions,
    ) -> Result<(), StoreError> {
        let interval = UpdateCycle::parse(&source.update_cycle)
            .unwrap_or(UpdateCycle::Daily)
            .pull_interval(self.realtime_poll);
        let this = self.clone();
        let pulled = source.clone();
        let job = format!("pull source {}", source.id);
        let outcome = supervise(&job, self.pull_deadline, async move {
            crate::pull::run_pull_with(&this.store, &this.key, &this.policy, &pulled, &ctx, options)
                .await
        })
        .await;
        let failures = u32::try_from(source.failures + 1).unwrap_or(u32::MAX);
        let backoff = retry_delay(failures, interval);
        // When the source is next due, and why this run failed (if it did).
        let (wait, failure) = match outcome {
            JobOutcome::Done(Ok(report)) => {
                tracing::info!(
                    source = source.id,
                    batch = report.id,
                    rows = report.rows_received,
                    "pull succeeded"
                );
                (interval, None)
            }
            // Every batch slot is taken: not the source's fault, so no failure is
            // counted; the pull waits its turn.
            JobOutcome::Done(Err(crate::CollectError::Store(StoreError::Quota {
                retry_after_secs,
                ..
            }))) => (chrono::Duration::seconds(retry_after_secs as i64), None),
            JobOutcome::Done(Err(error)) => (backoff, Some(error.to_string())),
            JobOutcome::TimedOut => (
                backoff,
                Some(format!(
                    "采集超时：本次抽取超过 {} 仍未完成，已中止，数据保持不变",
                    spoken_duration(self.pull_deadline)
                )),
            ),
            JobOutcome::Panicked => (
                backoff,
                Some("采集失败：平台内部错误，已记入服务器日志，数据保持不变".to_string()),
            ),
        };
        if let Some(error) = &failure {
            tracing::warn!(source = source.id, failures, retry_in_s = wait.num_seconds(), %error, "pull failed");
            // An aborted pull's batch is failed now, not at the next tick.
            if let Err(error) = self.store.recover_interrupted_batches().await {
                tracing::warn!(%error, "failing a cut pull's batch");
            }
        }
        let recorded = self
            .store
            .finish_source_run(source.id, Utc::now() + wait, failure.as_deref())
            .await;
        self.unhold(source.id);
        recorded
    }

    fn hold(&self, id: i64) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
    }

    fn unhold(&self, id: i64) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// After a shutdown cut pulls short: gives their claims back so that the next process
    /// resumes them at once instead of when the lease lapses. Returns the sources.
    pub async fn release_claims(&self) -> Result<Vec<i64>, StoreError> {
        let held: Vec<i64> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        self.store.release_source_claims(&held, Utc::now()).await?;
        Ok(held)
    }
}

/// `90 秒`, `30 分钟`: a deadline as the page says it.
fn spoken_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 120 {
        format!("{seconds} 秒")
    } else {
        format!("{} 分钟", seconds.div_ceil(60))
    }
}
