//! Saved source databases that the platform pulls an entry's data from, and the claim that
//! makes each due pull run exactly once across several serving processes.

use chrono::{DateTime, Utc};
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, SubjectKind};
use serde::Serialize;

use crate::audit::snapshot;
use crate::{now, on_pool, AuditContext, Dialect, Store, StoreError, StoreResult};

/// A saved source. `url_sealed` holds the credentials and never leaves the server.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Source {
    pub id: i64,
    pub resource_id: i64,
    /// The entry's code.
    pub code: String,
    pub name: String,
    /// `postgres` or `mysql` (also MariaDB).
    pub kind: String,
    #[serde(skip)]
    pub url_sealed: String,
    /// The connection without its password.
    pub url_display: String,
    /// A table name or a SELECT.
    pub query: String,
    /// JSON: source column → item identifier or name.
    pub mapping: String,
    /// `full` or `incremental`.
    pub mode: String,
    pub change_column: Option<String>,
    /// `timestamp` or `key`.
    pub change_kind: Option<String>,
    /// How far behind the watermark each incremental read starts: seconds for a
    /// timestamp, values for a key. Catches rows committed late and ties.
    pub overlap: i64,
    /// A column that is true for rows deleted at the source (soft delete).
    pub delete_column: Option<String>,
    /// Every N-th incremental run reads all keys and deletes rows the source no longer has
    /// (0: never).
    pub reconcile_every: i64,
    pub watermark: Option<String>,
    pub runs: i64,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Consecutive failures; reset by a success.
    pub failures: i64,
    /// The provider department's id.
    pub department_id: i64,
    /// The entry's update cycle code (`daily`, …).
    pub update_cycle: String,
    /// While a pull runs (正在抽取): when its claim lapses if its process dies.
    pub claimed_until: Option<DateTime<Utc>>,
}

/// A source to save.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub name: String,
    pub kind: String,
    pub url_sealed: String,
    pub url_display: String,
    pub query: String,
    pub mapping: String,
    pub mode: String,
    pub change_column: Option<String>,
    pub change_kind: Option<String>,
    pub overlap: i64,
    pub delete_column: Option<String>,
    pub reconcile_every: i64,
}

const SOURCE_SELECT: &str = "SELECT s.id, s.resource_id, r.code, s.name, s.kind, s.url_sealed, s.url_display, s.query, s.mapping, s.mode, \
     s.change_column, s.change_kind, s.overlap, s.delete_column, s.reconcile_every, s.watermark, s.runs, s.enabled, s.next_run_at, \
     s.last_run_at, s.last_success_at, s.last_error, s.failures, r.provider_id AS department_id, r.update_cycle, s.claimed_until \
     FROM sources s JOIN resources r ON r.id = s.resource_id";

impl Store {
    /// Saves a source for the published entry `code`; it runs at the next scheduler tick.
    pub async fn create_source(
        &self,
        code: &str,
        new: &NewSource,
        ctx: &AuditContext,
    ) -> StoreResult<Source> {
        let resource = self.resource(code).await?;
        domain::access::check(
            &ctx.caller,
            domain::access::Act::Collect {
                provider: resource.provider.id,
                channel: domain::access::Channel::Source,
            },
        )?;
        collectable(&resource)?;
        let at = now();
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM sources WHERE resource_id = $1 AND name = $2")
                .bind(resource.id).bind(&new.name).fetch_optional(&mut *tx).await?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!("本目录已有名为“{}”的数据源", new.name)));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sources (resource_id, name, kind, url_sealed, url_display, query, mapping, mode, change_column, change_kind, \
                 overlap, delete_column, reconcile_every, next_run_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $14) RETURNING id")
                .bind(resource.id).bind(&new.name).bind(&new.kind).bind(&new.url_sealed).bind(&new.url_display)
                .bind(&new.query).bind(&new.mapping).bind(&new.mode).bind(&new.change_column).bind(&new.change_kind)
                .bind(new.overlap).bind(&new.delete_column).bind(new.reconcile_every).bind(at)
                .bind(ctx.actor_name())
                .fetch_one(&mut *tx).await?;
            let mut event = ctx.event("source.create", format!("resource:{code}"));
            // The sealed credentials stay out of the audit log.
            event.after = snapshot(&serde_json::json!({"id": id, "name": new.name, "kind": new.kind, "url": new.url_display,
                "query": new.query, "mode": new.mode}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            id
        });
        self.source(id).await
    }

    pub async fn source(&self, id: i64) -> StoreResult<Source> {
        let sql = format!("{SOURCE_SELECT} WHERE s.id = $1");
        let found: Option<Source> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        found.ok_or_else(|| StoreError::NotFound(format!("数据源 {id}")))
    }

    /// The sources of an entry, or of every entry of a department (`department_id`).
    pub async fn sources(
        &self,
        resource_id: Option<i64>,
        department_id: Option<i64>,
    ) -> StoreResult<Vec<Source>> {
        let sql = format!(
            "{SOURCE_SELECT} WHERE ($1 IS NULL OR s.resource_id = $1) AND ($2 IS NULL OR r.provider_id = $2) ORDER BY s.id"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(resource_id).bind(department_id).fetch_all(pool).await?
        }))
    }

    /// Claims the most overdue enabled source and leases it until `lease_until`, so that
    /// no other process runs it meanwhile (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite:
    /// the write lock). If the claimant dies, the lease expires and the pull is retried.
    pub async fn claim_due_source(
        &self,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<Source>> {
        let id: Option<i64> = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let skip_locked = match dialect {
                Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
                Dialect::Sqlite => "",
            };
            let id: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM sources WHERE enabled AND next_run_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1) \
                 ORDER BY next_run_at, id LIMIT 1{skip_locked}"
            ))
            .bind(at).fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                sqlx::query("UPDATE sources SET claimed_until = $2, last_run_at = $3 WHERE id = $1")
                    .bind(id).bind(lease_until).bind(at).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        match id {
            Some(id) => Ok(Some(self.source(id).await?)),
            None => Ok(None),
        }
    }

    /// Claims one source for a pull someone asked for now, unless a pull of it is running
    /// (in this process or another): `Conflict` then, and nothing changes.
    pub async fn claim_source(
        &self,
        id: i64,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Source> {
        let claimed = on_pool!(self, pool => {
            sqlx::query("UPDATE sources SET claimed_until = $2, last_run_at = $3 WHERE id = $1 AND (claimed_until IS NULL OR claimed_until < $3)")
                .bind(id).bind(lease_until).bind(at).execute(pool).await?.rows_affected()
        });
        if claimed == 0 {
            self.source(id).await?; // 404 for a source that does not exist
            return Err(StoreError::Conflict(
                "该数据源正在抽取，请等本次抽取结束后再试".into(),
            ));
        }
        self.source(id).await
    }

    /// After a pull: when the source is next due, and on failure why and how often. Gives
    /// the claim up.
    pub async fn finish_source_run(
        &self,
        id: i64,
        next_run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        // A failing source puts a duty on its department, once, until a pull succeeds.
        let subject = DutySubject::new(SubjectKind::Source, id);
        let at = crate::now();
        let failure_duty = match error {
            Some(_) => {
                let source = self.source(id).await?;
                let owner = DutyOwner::Department(source.department_id);
                Some(
                    self.new_duty(DutyKind::CollectionFailure, subject, owner, at)
                        .await?,
                )
            }
            None => None,
        };
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            match error {
                None => {
                    sqlx::query("UPDATE sources SET next_run_at = $2, claimed_until = NULL WHERE id = $1")
                        .bind(id).bind(next_run_at).execute(&mut *tx).await?;
                    if crate::discharge_duties!(tx, subject, at) > 0 {
                        let event = AuditContext::system("collection").event("source.recover", format!("source:{id}"));
                        crate::append_audit!(self, tx, event);
                    }
                }
                Some(error) => {
                    sqlx::query("UPDATE sources SET next_run_at = $2, last_error = $3, failures = failures + 1, claimed_until = NULL WHERE id = $1")
                        .bind(id).bind(next_run_at).bind(error).execute(&mut *tx).await?;
                    // The first failure of a run of them is audited with the duty it opens.
                    if let Some(duty) = &failure_duty {
                        if crate::open_duty!(tx, duty, unless open) {
                            // The reason stays on the source: a source's answer is not audit text.
                            let event = AuditContext::system("collection").event("source.failure", format!("source:{id}"));
                            crate::append_audit!(self, tx, event);
                        }
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Gives up the claims of pulls cut by a shutdown: the sources are due again at once,
    /// so the next process to start (or another one running) resumes them.
    pub async fn release_source_claims(&self, ids: &[i64], at: DateTime<Utc>) -> StoreResult<()> {
        for &id in ids {
            on_pool!(self, pool => {
                sqlx::query("UPDATE sources SET claimed_until = NULL, next_run_at = $2 WHERE id = $1")
                    .bind(id).bind(at).execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Switches a source on or off (audited).
    pub async fn set_source_enabled(
        &self,
        id: i64,
        enabled: bool,
        ctx: &AuditContext,
    ) -> StoreResult<Source> {
        let source = self.source(id).await?;
        domain::access::check(
            &ctx.caller,
            domain::access::Act::Collect {
                provider: source.department_id,
                channel: domain::access::Channel::Source,
            },
        )?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            sqlx::query("UPDATE sources SET enabled = $2, next_run_at = $3 WHERE id = $1")
                .bind(id).bind(enabled).bind(now()).execute(&mut *tx).await?;
            let mut event = ctx.event(if enabled { "source.enable" } else { "source.disable" }, format!("resource:{}", source.code));
            event.detail = Some(format!("source {id}"));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.source(id).await
    }
}

/// Data are collected only into a published entry that is in use: not into a draft that
/// has never been published, nor into a retired one.
pub(crate) fn collectable(resource: &crate::resources::Resource) -> StoreResult<()> {
    if resource.published_version.is_none() {
        return Err(StoreError::Conflict(format!(
            "目录 {} 尚未发布，不能归集数据",
            resource.code
        )));
    }
    if resource.status == domain::workflow::Status::Retired {
        return Err(StoreError::Conflict(format!(
            "目录 {} 已停用，不能归集数据",
            resource.code
        )));
    }
    Ok(())
}
