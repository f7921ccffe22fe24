//! The append-only, hash-chained audit log. Writes happen inside the transaction of the
//! change they record ([`append_audit!`]), so a change without its record cannot exist.

use chrono::{DateTime, Utc};
use domain::access::Caller;
use domain::audit::{AuditEvent, Outcome};
use serde::Serialize;

use crate::{decode, on_pool, Store, StoreResult};

/// Who is acting and from where: the caller every rule is checked against, and what is
/// copied into every audit record of the request.
#[derive(Clone, Debug)]
pub struct AuditContext {
    pub caller: Caller,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl AuditContext {
    /// A request of `caller`.
    pub fn new(caller: Caller, request_id: Option<String>, source_ip: Option<String>) -> Self {
        Self {
            caller,
            request_id,
            source_ip,
        }
    }

    /// A person acting without a request (the demo loader, tests).
    pub fn person(actor: domain::account::Actor) -> Self {
        Self::new(Caller::Person(actor), None, None)
    }

    /// Changes made by the platform itself (the demo loader, jobs, the CLI).
    pub fn system(job: &str) -> Self {
        Self::new(Caller::Platform(job.to_string()), None, None)
    }

    /// The caller's name, as the audit log and `created_by` columns record it.
    pub fn actor_name(&self) -> String {
        self.caller.name()
    }

    /// A successful action on `target`.
    pub fn event(&self, action: &str, target: impl Into<String>) -> AuditEvent {
        AuditEvent {
            actor: Some(self.caller.name()),
            role: Some(self.caller.role_code().to_string()),
            department: self.caller.department_id().map(|d| d.to_string()),
            action: action.to_string(),
            target: target.into(),
            request_id: self.request_id.clone(),
            source_ip: self.source_ip.clone(),
            outcome: Some(Outcome::Success),
            occurrences: 1,
            ..Default::default()
        }
    }

    /// A refused or failed attempt.
    pub fn failure(
        &self,
        action: &str,
        target: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> AuditEvent {
        AuditEvent {
            outcome: Some(outcome),
            detail: Some(detail.into()),
            ..self.event(action, target)
        }
    }
}

/// Serialises a snapshot for `before`/`after`.
pub(crate) fn snapshot<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// Appends one record inside the open transaction `$tx` and returns its sequence number.
/// Bumping the single `audit_head` row first serialises appenders (a row lock on
/// PostgreSQL, the write lock on SQLite), so the chain never forks.
#[macro_export]
#[doc(hidden)]
macro_rules! append_audit {
    ($store:expr, $tx:expr, $event:expr) => {{
        let event: domain::audit::AuditEvent = $event;
        let (seq, prev): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *$tx)
                .await?;
        let at = $crate::now_for_audit();
        let hash = domain::audit::chain_hash(&prev, seq, at, &event);
        let seal = $store.seal(&$crate::audit::seal_message(seq, &hash));
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, role, department, action, target, before_state, after_state, \
             request_id, source_ip, outcome, detail, prev_hash, hash, occurrences, seal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(seq)
        .bind(at)
        .bind(&event.actor)
        .bind(&event.role)
        .bind(&event.department)
        .bind(&event.action)
        .bind(&event.target)
        .bind(&event.before)
        .bind(&event.after)
        .bind(&event.request_id)
        .bind(&event.source_ip)
        .bind(event.outcome.map(|o| o.code()))
        .bind(&event.detail)
        .bind(&prev)
        .bind(&hash)
        .bind(event.occurrences.max(1))
        .bind(&seal)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *$tx).await?;
        seq
    }};
}

/// What an audit record's seal covers: its place in the chain and its hash (which covers
/// everything else).
#[doc(hidden)]
pub fn seal_message(seq: i64, hash: &str) -> String {
    format!("audit:{seq}:{hash}")
}

#[doc(hidden)]
pub fn now_for_audit() -> DateTime<Utc> {
    crate::now()
}

/// One stored audit record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub role: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub target: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// Identical refusals this record stands for (1 for every other record).
    pub occurrences: i64,
}

impl AuditRecord {
    pub(crate) fn event(&self) -> StoreResult<AuditEvent> {
        let outcome = match &self.outcome {
            Some(code) => Some(decode(code, Outcome::parse)?),
            None => None,
        };
        Ok(AuditEvent {
            actor: self.actor.clone(),
            role: self.role.clone(),
            department: self.department.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            before: self.before_state.clone(),
            after: self.after_state.clone(),
            request_id: self.request_id.clone(),
            source_ip: self.source_ip.clone(),
            outcome,
            detail: self.detail.clone(),
            occurrences: self.occurrences,
        })
    }
}

/// Filters of the audit viewer; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_prefix: Option<String>,
    pub outcome: Option<Outcome>,
    /// Only records with a smaller sequence number (keyset paging, newest first).
    pub before_seq: Option<i64>,
}

/// The result of verifying both logs from one consistent snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChainReport {
    /// Audit records checked.
    pub checked: i64,
    /// True when every audit record's hash, link and seal, the anchor, and every
    /// checkpointed range of the access log are intact.
    pub intact: bool,
    /// The first audit record that does not verify, if any.
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
    /// Audit records whose seal verified (records from before sealing began have none).
    pub sealed: i64,
    /// Access-log records checked, and how many lie in checkpointed ranges.
    pub access_checked: i64,
    pub access_checkpointed: i64,
    /// The head as this verification saw it, sealed: keep it outside the database (the
    /// server writes it to `audit_anchor_file`); the next verification checks that the
    /// chain still holds it, so deleting or recomputing the tail is detected.
    pub anchor: Option<Anchor>,
}

/// A verified head of the audit chain, sealed with the platform's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    /// HMAC over the other fields; absent when the platform has no key.
    pub seal: Option<String>,
}

impl Anchor {
    pub(crate) fn message(&self) -> String {
        format!(
            "anchor:{}:{}:{}",
            self.seq,
            self.hash,
            self.at.timestamp_micros()
        )
    }
}

const AUDIT_COLUMNS: &str =
    "seq, at, actor, role, department, action, target, before_state, after_state, \
                             request_id, source_ip, outcome, detail, prev_hash, hash, occurrences";

impl Store {
    /// Records an event on its own, e.g. a refused attempt whose change was rolled back.
    pub async fn audit(&self, event: AuditEvent) -> StoreResult<i64> {
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let seq = crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// Records newest first, `limit` at a time, and the total matching the filter.
    pub async fn audit_list(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> StoreResult<(Vec<AuditRecord>, i64)> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        let mut add = |condition: &str, value: String| {
            binds.push(value);
            conditions.push(condition.replace("?", &format!("${}", binds.len())));
        };
        if let Some(actor) = &filter.actor {
            add("actor = ?", actor.clone());
        }
        if let Some(action) = &filter.action {
            add("action = ?", action.clone());
        }
        if let Some(prefix) = &filter.target_prefix {
            add(
                "target LIKE ? ESCAPE '\\'",
                format!("{}%", crate::resources::escape_like(prefix)),
            );
        }
        if let Some(outcome) = filter.outcome {
            add("outcome = ?", outcome.code().to_string());
        }
        let where_clause = conditions.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE {where_clause}");
        let before = filter.before_seq.unwrap_or(i64::MAX);
        let list_sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {where_clause} AND seq < ${} ORDER BY seq DESC LIMIT ${}",
            binds.len() + 1,
            binds.len() + 2
        );
        on_pool!(self, pool => {
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            let mut list = sqlx::query_as::<_, AuditRecord>(&list_sql);
            for value in &binds {
                count = count.bind(value);
                list = list.bind(value);
            }
            let total = count.fetch_one(pool).await?;
            let rows = list.bind(before).bind(limit).fetch_all(pool).await?;
            Ok((rows, total))
        })
    }
}
