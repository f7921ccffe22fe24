//! The in-process scheduler: each tick claims due sources one at a time (a claim is a lease,
//! taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several `datahall serve` processes
//! never run the same pull), pulls, and schedules the next run on the entry's update cycle,
//! or a retry with backoff after a failure. It also fails batches whose writer died.

use std::time::Duration;

use chrono::Utc;
use domain::catalogue::UpdateCycle;
use domain::freshness::retry_delay;
use store::sources::Source;
use store::{AuditContext, Store};

use crate::secret::SecretKey;

/// A claimed pull that has not reported back within this time is run again elsewhere.
const LEASE: chrono::Duration = chrono::Duration::hours(1);

#[derive(Clone)]
pub struct Scheduler {
    pub store: Store,
    pub key: SecretKey,
    /// Where sources may connect.
    pub policy: crate::network::SourcePolicy,
    /// The polling interval of 实时 entries.
    pub realtime_poll: chrono::Duration,
    /// How often the scheduler looks for due sources.
    pub tick: Duration,
    /// Days the change feed keeps deleted records.
    pub feed_retention_days: i64,
}

/// How often the housekeeping runs (it is idempotent, so several processes may each run it).
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

impl Scheduler {
    /// Runs until the task is dropped.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_housekeeping: Option<std::time::Instant> = None;
        loop {
            ticker.tick().await;
            if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING_EVERY) {
                self.housekeeping().await;
                last_housekeeping = Some(std::time::Instant::now());
            }
            if let Err(error) = self.store.recover_interrupted_batches().await {
                tracing::warn!(%error, "checking for interrupted batches");
            }
            if let Err(error) = self.run_due().await {
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

    /// Runs every source due now; returns how many ran.
    pub async fn run_due(&self) -> Result<usize, store::StoreError> {
        let mut ran = 0;
        loop {
            let now = Utc::now();
            let Some(source) = self.store.claim_due_source(now, now + LEASE).await? else {
                return Ok(ran);
            };
            self.run_source(&source).await?;
            ran += 1;
        }
    }

    /// Pulls one source (as the platform) and schedules its next run.
    pub async fn run_source(&self, source: &Source) -> Result<(), store::StoreError> {
        self.run_source_as(source, &AuditContext::system("scheduler"))
            .await
    }

    /// Pulls one source for `ctx`'s caller (a person running it now, or the platform) and
    /// schedules its next run. The batch is refused unless the caller may collect into
    /// the entry (domain::access).
    pub async fn run_source_as(
        &self,
        source: &Source,
        ctx: &AuditContext,
    ) -> Result<(), store::StoreError> {
        let interval = UpdateCycle::parse(&source.update_cycle)
            .unwrap_or(UpdateCycle::Daily)
            .pull_interval(self.realtime_poll);
        let outcome =
            crate::pull::run_pull(&self.store, &self.key, &self.policy, source, ctx).await;
        let now = Utc::now();
        match outcome {
            Ok(report) => {
                tracing::info!(
                    source = source.id,
                    batch = report.id,
                    rows = report.rows_received,
                    "pull succeeded"
                );
                self.store
                    .finish_source_run(source.id, now + interval, None)
                    .await
            }
            Err(error) => {
                let failures = u32::try_from(source.failures + 1).unwrap_or(u32::MAX);
                let retry = retry_delay(failures, interval);
                tracing::warn!(source = source.id, failures, retry_in_s = retry.num_seconds(), %error, "pull failed");
                self.store
                    .finish_source_run(source.id, now + retry, Some(&error.to_string()))
                    .await
            }
        }
    }
}
