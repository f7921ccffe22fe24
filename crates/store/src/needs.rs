//! Data needs (需求清单): a consumer describes data that is not in the catalogue, the bureau
//! assigns a likely provider, and the provider catalogues it or declines with reasons
//! within its deadline.

use chrono::{DateTime, Utc};
use domain::access::{check, Act};
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, SubjectKind};
use domain::sharing::NeedStatus;
use domain::workflow::WorkflowError;
use serde::Serialize;

use crate::audit::snapshot;
use crate::duties::Duty;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DataNeed {
    pub id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub raised_by: String,
    pub title: String,
    pub description: String,
    pub status: NeedStatus,
    pub provider_id: Option<i64>,
    pub provider_name: Option<String>,
    pub answer: Option<String>,
    /// The entry catalogued in answer.
    pub resource_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duty: Option<Duty>,
}

#[derive(sqlx::FromRow)]
struct NeedRow {
    id: i64,
    consumer_id: i64,
    consumer_name: String,
    raised_by: String,
    title: String,
    description: String,
    status: String,
    provider_id: Option<i64>,
    provider_name: Option<String>,
    answer: Option<String>,
    resource_code: Option<String>,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

const NEED_SELECT: &str = "SELECT n.id, n.consumer_id, c.name AS consumer_name, n.raised_by, n.title, n.description, n.status, \
     n.provider_id, p.name AS provider_name, n.answer, n.resource_code, n.created_at, n.closed_at \
     FROM data_needs n JOIN departments c ON c.id = n.consumer_id LEFT JOIN departments p ON p.id = n.provider_id";

/// The provider's answer to a need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum NeedAnswer {
    /// Catalogued as this entry (a resource code of the provider).
    Catalogued {
        resource: String,
        note: Option<String>,
    },
    Declined {
        reason: String,
    },
}

fn wrong_state(action: &'static str, status: NeedStatus) -> StoreError {
    StoreError::Workflow(WorkflowError::WrongState {
        action,
        status: status.label(),
    })
}

impl Store {
    pub async fn post_need(
        &self,
        title: &str,
        description: &str,
        ctx: &AuditContext,
    ) -> StoreResult<DataNeed> {
        check(&ctx.caller, Act::PostNeed)?;
        let consumer = ctx.caller.department_id().unwrap_or(-1);
        let mut errors = domain::ValidationErrors::default();
        if !(2..=100).contains(&title.trim().chars().count()) {
            errors.push("title", "标题为 2–100 字");
        }
        if !(4..=2000).contains(&description.trim().chars().count()) {
            errors.push("description", "请说明所需数据、用途和依据（4–2000 字）");
        }
        errors.into_result(())?;
        let at = now();
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar("INSERT INTO data_needs (consumer_id, raised_by, title, description, status, created_at) \
                                             VALUES ($1, $2, $3, $4, 'submitted', $5) RETURNING id")
                .bind(consumer).bind(ctx.actor_name()).bind(title.trim()).bind(description.trim()).bind(at)
                .fetch_one(&mut *tx).await?;
            let mut event = ctx.event("need.post", format!("need:{id}"));
            event.after = snapshot(&serde_json::json!({"title": title.trim()}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            id
        });
        self.need(id).await
    }

    /// The bureau gives the need to a likely provider, whose answer is then due.
    pub async fn assign_need(
        &self,
        id: i64,
        provider_id: i64,
        ctx: &AuditContext,
    ) -> StoreResult<DataNeed> {
        check(&ctx.caller, Act::AssignNeed)?;
        let need = self.need(id).await?;
        if provider_id == need.consumer_id {
            return Err(StoreError::Conflict("不能分派给提出需求的部门".into()));
        }
        self.department(provider_id).await?;
        let at = now();
        let subject = DutySubject::new(SubjectKind::Need, id);
        let duty = self
            .new_duty(
                DutyKind::NeedResponse,
                subject,
                DutyOwner::Department(provider_id),
                at,
            )
            .await?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE data_needs SET status = 'assigned', provider_id = $2, assigned_by = $3 WHERE id = $1 AND status = 'submitted'")
                .bind(id).bind(provider_id).bind(ctx.actor_name()).execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                return Err(wrong_state("分派数据需求", need.status));
            }
            crate::open_duty!(tx, duty);
            let mut event = ctx.event("need.assign", subject.target());
            event.after = snapshot(&serde_json::json!({"provider_id": provider_id, "due": duty.due}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.need(id).await
    }

    /// The assigned provider's answer: the entry it catalogued, or why it cannot.
    pub async fn answer_need(
        &self,
        id: i64,
        answer: &NeedAnswer,
        ctx: &AuditContext,
    ) -> StoreResult<DataNeed> {
        check(&ctx.caller, Act::UseHall)?;
        let need = self.need(id).await?;
        let provider = need
            .provider_id
            .ok_or_else(|| wrong_state("响应数据需求", need.status))?;
        check(&ctx.caller, Act::AnswerNeed { provider })?;
        let (status, text, code) = match answer {
            NeedAnswer::Catalogued { resource, note } => {
                let entry = self.resource(resource).await?;
                if entry.provider.id != provider {
                    return Err(StoreError::Validation(domain::ValidationErrors::single(
                        "resource",
                        "应为本部门编制的目录",
                    )));
                }
                (
                    NeedStatus::Catalogued,
                    note.clone().unwrap_or_default(),
                    Some(entry.code),
                )
            }
            NeedAnswer::Declined { reason } if reason.trim().chars().count() >= 4 => {
                (NeedStatus::Declined, reason.trim().to_string(), None)
            }
            NeedAnswer::Declined { .. } => {
                return Err(StoreError::Validation(domain::ValidationErrors::single(
                    "reason",
                    "不能提供须说明理由（至少 4 个字）",
                )))
            }
        };
        let at = now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE data_needs SET status = $2, answer = $3, resource_code = $4, answered_by = $5, closed_at = $6 \
                         WHERE id = $1 AND status = 'assigned'")
                .bind(id).bind(status.code()).bind(&text).bind(&code).bind(ctx.actor_name()).bind(at)
                .execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                return Err(wrong_state("响应数据需求", need.status));
            }
            crate::discharge_duties!(tx, DutySubject::new(SubjectKind::Need, id), at);
            let mut event = ctx.event("need.answer", format!("need:{id}"));
            event.after = snapshot(&serde_json::json!({"status": status.code(), "answer": text, "resource": code}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.need(id).await
    }

    pub async fn need(&self, id: i64) -> StoreResult<DataNeed> {
        let sql = format!("{NEED_SELECT} WHERE n.id = $1");
        let row: Option<NeedRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        let row = row.ok_or_else(|| StoreError::NotFound(format!("数据需求 {id}")))?;
        let mut needs = self.needs_of(vec![row]).await?;
        Ok(needs.remove(0))
    }

    /// The whole 需求清单, newest first: every department sees what others need.
    pub async fn needs(&self) -> StoreResult<Vec<DataNeed>> {
        let sql = format!("{NEED_SELECT} ORDER BY n.id DESC");
        let rows: Vec<NeedRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        self.needs_of(rows).await
    }

    async fn needs_of(&self, rows: Vec<NeedRow>) -> StoreResult<Vec<DataNeed>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut duties = self.latest_duties(SubjectKind::Need, &ids).await?;
        rows.into_iter()
            .map(|row| {
                let duty = duties.remove(&row.id);
                need_of(row, duty)
            })
            .collect()
    }
}

fn need_of(row: NeedRow, duty: Option<Duty>) -> StoreResult<DataNeed> {
    Ok(DataNeed {
        id: row.id,
        consumer_id: row.consumer_id,
        consumer_name: row.consumer_name,
        raised_by: row.raised_by,
        title: row.title,
        description: row.description,
        status: decode(&row.status, NeedStatus::parse)?,
        provider_id: row.provider_id,
        provider_name: row.provider_name,
        answer: row.answer,
        resource_code: row.resource_code,
        created_at: row.created_at,
        closed_at: row.closed_at,
        duty,
    })
}
