//! Objections to records (数据异议): raised by a consuming department that holds a grant,
//! answered by the provider within its deadline; while accepted, the record is flagged
//! 异议中 to every consumer.

use chrono::{DateTime, Utc};
use domain::account::Actor;
use domain::calendar::Calendar;
use domain::deadline::{DeadlineRules, DutyKind};
use domain::sharing::{ObjectionStatus, ObjectionStep};
use domain::workflow::WorkflowError;
use serde::Serialize;

use crate::audit::snapshot;
use crate::sharing::Duty;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    pub code: String,
    pub resource_name: String,
    pub provider_id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    /// The record's key values.
    pub record_key: Vec<String>,
    /// The items said to be wrong.
    pub items: Vec<String>,
    pub description: String,
    pub raised_by: String,
    pub status: ObjectionStatus,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duty: Option<Duty>,
}

#[derive(sqlx::FromRow)]
struct ObjectionRow {
    id: i64,
    code: String,
    resource_name: String,
    provider_id: i64,
    consumer_id: i64,
    consumer_name: String,
    record_key: String,
    items: String,
    description: String,
    raised_by: String,
    status: String,
    answer: Option<String>,
    answered_by: Option<String>,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

const OBJECTION_SELECT: &str = "SELECT o.id, r.code, r.name AS resource_name, o.provider_id, o.consumer_id, c.name AS consumer_name, \
     o.record_key, o.items, o.description, o.raised_by, o.status, o.answer, o.answered_by, o.created_at, o.closed_at \
     FROM objections o JOIN resources r ON r.id = o.resource_id JOIN departments c ON c.id = o.consumer_id";

/// A new objection, checked by the caller against the entry (the key names a record).
pub struct NewObjection<'a> {
    pub code: &'a str,
    pub record_key: Vec<String>,
    pub items: Vec<String>,
    pub description: &'a str,
}

impl Store {
    pub async fn raise_objection(
        &self,
        new: &NewObjection<'_>,
        actor: &Actor,
        rules: &DeadlineRules,
        calendar: &Calendar,
        ctx: &AuditContext,
    ) -> StoreResult<Objection> {
        let forbidden = |reason| {
            StoreError::Workflow(WorkflowError::Forbidden {
                action: "提出数据异议",
                reason,
            })
        };
        let consumer = actor
            .department_id
            .filter(|_| actor.role.needs_department())
            .ok_or_else(|| forbidden("只有部门的首席代表和工作人员可以提出"))?;
        let resource = self.resource(new.code).await?;
        let granted: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE resource_id = $1 AND consumer_id = $2 AND status = 'active'")
                .bind(resource.id).bind(consumer).fetch_one(pool).await?
        });
        if granted == 0 {
            return Err(forbidden("只有获得该目录授权的使用部门可以提出"));
        }
        let description = new.description.trim();
        if description.chars().count() < 4 || description.chars().count() > 1000 {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "description",
                "请说明错误之处（4–1000 字）",
            )));
        }
        let at = now();
        let deadline = rules.deadline(calendar, DutyKind::ObjectionVerification, at);
        let key = serde_json::to_string(&new.record_key)?;
        let items = serde_json::to_string(&new.items)?;
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO objections (resource_id, provider_id, consumer_id, record_key, items, description, raised_by, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8) RETURNING id")
                .bind(resource.id).bind(resource.provider.id).bind(consumer).bind(&key).bind(&items)
                .bind(description).bind(&actor.username).bind(at)
                .fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO duties (kind, subject, department_id, received_at, due_date, provisional) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(DutyKind::ObjectionVerification.code()).bind(format!("objection:{id}")).bind(resource.provider.id)
                .bind(at).bind(deadline.due).bind(deadline.provisional)
                .execute(&mut *tx).await?;
            let mut event = ctx.event("objection.raise", format!("objection:{id}"));
            // The key identifies a person: the audit keeps which items, not whose record.
            event.after = snapshot(&serde_json::json!({"resource": new.code, "items": new.items, "due": deadline.due}));
            crate::append_audit!(tx, event);
            tx.commit().await?;
            id
        });
        self.objection(id).await
    }

    /// The provider's step: accept (flag the record) or reject; then correct or confirm.
    pub async fn answer_objection(
        &self,
        id: i64,
        step: ObjectionStep,
        answer: &str,
        actor: &Actor,
        ctx: &AuditContext,
    ) -> StoreResult<Objection> {
        let objection = self.objection(id).await?;
        if !actor.works_for(objection.provider_id) {
            return Err(StoreError::Workflow(WorkflowError::Forbidden {
                action: "处理数据异议",
                reason: "只有提供方部门可以处理",
            }));
        }
        let next = objection.status.after(step)?;
        if step != ObjectionStep::Accept && answer.trim().chars().count() < 2 {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "answer",
                "请填写处理说明",
            )));
        }
        let at = now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE objections SET status = $1, answer = COALESCE($2, answer), answered_by = $3, closed_at = $4 \
                                       WHERE id = $5 AND status = $6")
                .bind(next.code())
                .bind(Some(answer.trim()).filter(|a| !a.is_empty()))
                .bind(&actor.username)
                .bind(next.closed().then_some(at))
                .bind(id).bind(objection.status.code())
                .execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                return Err(StoreError::Conflict("异议状态已被他人修改，请刷新后重试".into()));
            }
            if next.closed() {
                sqlx::query("UPDATE duties SET done_at = $2 WHERE subject = $1 AND done_at IS NULL")
                    .bind(format!("objection:{id}")).bind(at).execute(&mut *tx).await?;
            }
            let mut event = ctx.event("objection.answer", format!("objection:{id}"));
            event.before = snapshot(&serde_json::json!({"status": objection.status.code()}));
            event.after = snapshot(&serde_json::json!({"status": next.code(), "answer": answer.trim()}));
            crate::append_audit!(tx, event);
            tx.commit().await?;
        });
        self.cache.flagged.invalidate_all();
        self.objection(id).await
    }

    pub async fn objection(&self, id: i64) -> StoreResult<Objection> {
        let sql = format!("{OBJECTION_SELECT} WHERE o.id = $1");
        let row: Option<ObjectionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        let row = row.ok_or_else(|| StoreError::NotFound(format!("数据异议 {id}")))?;
        let mut objections = self.objections_of(vec![row]).await?;
        Ok(objections.remove(0))
    }

    /// Objections a department raised or must answer (all for `None`), newest first.
    pub async fn objections(&self, department: Option<i64>) -> StoreResult<Vec<Objection>> {
        let rows: Vec<ObjectionRow> = match department {
            Some(d) => {
                let sql = format!("{OBJECTION_SELECT} WHERE o.provider_id = $1 OR o.consumer_id = $1 ORDER BY o.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).bind(d).fetch_all(pool).await?)
            }
            None => {
                let sql = format!("{OBJECTION_SELECT} ORDER BY o.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?)
            }
        };
        self.objections_of(rows).await
    }

    async fn objections_of(&self, rows: Vec<ObjectionRow>) -> StoreResult<Vec<Objection>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut duties = self.latest_duties("objection", &ids).await?;
        rows.into_iter()
            .map(|row| {
                let duty = duties.remove(&row.id);
                objection_of(row, duty)
            })
            .collect()
    }

    /// The keys of an entry's records flagged 异议中.
    pub async fn flagged_keys(&self, resource_id: i64) -> StoreResult<Vec<Vec<String>>> {
        let keys: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT record_key FROM objections WHERE resource_id = $1 AND status = 'accepted'")
                .bind(resource_id).fetch_all(pool).await?
        });
        keys.iter()
            .map(|k| serde_json::from_str(k).map_err(StoreError::from))
            .collect()
    }
}

fn objection_of(row: ObjectionRow, duty: Option<Duty>) -> StoreResult<Objection> {
    Ok(Objection {
        id: row.id,
        code: row.code,
        resource_name: row.resource_name,
        provider_id: row.provider_id,
        consumer_id: row.consumer_id,
        consumer_name: row.consumer_name,
        record_key: serde_json::from_str(&row.record_key)?,
        items: serde_json::from_str(&row.items)?,
        description: row.description,
        raised_by: row.raised_by,
        status: decode(&row.status, ObjectionStatus::parse)?,
        answer: row.answer,
        answered_by: row.answered_by,
        created_at: row.created_at,
        closed_at: row.closed_at,
        duty,
    })
}
