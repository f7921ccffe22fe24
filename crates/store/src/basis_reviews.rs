//! Reviews of the not-shared basis (不予共享依据复核): "not shared is the exception", so a
//! consumer that cannot request an entry, or some of its items, may ask the bureau whether
//! the legal basis listed for that holds. The bureau upholds it or finds that the data
//! should be shared, within the coordination deadline.

use chrono::{DateTime, Utc};
use domain::access::{check, Act};
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, NewDuty, SubjectKind};
use domain::sharing::{review_targets, ReviewStatus};
use domain::workflow::WorkflowError;
use serde::Serialize;

use crate::audit::snapshot;
use crate::duties::Duty;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BasisReview {
    pub id: i64,
    pub code: String,
    pub resource_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub requested_by: String,
    /// The not-shared items in question; empty: the whole entry.
    pub items: Vec<String>,
    pub reason: String,
    pub status: ReviewStatus,
    pub answer: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The bureau's duty to decide.
    pub duty: Option<Duty>,
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    code: String,
    resource_name: String,
    provider_id: i64,
    provider_name: String,
    consumer_id: i64,
    consumer_name: String,
    requested_by: String,
    items: String,
    reason: String,
    status: String,
    answer: Option<String>,
    decided_by: Option<String>,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

const REVIEW_SELECT: &str = "SELECT b.id, r.code, r.name AS resource_name, b.provider_id, p.name AS provider_name, \
     b.consumer_id, c.name AS consumer_name, b.requested_by, b.items, b.reason, b.status, b.answer, b.decided_by, \
     b.created_at, b.decided_at FROM basis_reviews b JOIN resources r ON r.id = b.resource_id \
     JOIN departments p ON p.id = b.provider_id JOIN departments c ON c.id = b.consumer_id";

/// What a consumer asks the bureau to review.
pub struct ReviewRequest<'a> {
    /// The entry's resource code.
    pub code: &'a str,
    /// The not-shared items in question; empty: the whole entry.
    pub items: &'a [String],
    /// Why the consumer needs the data, and under what basis.
    pub reason: &'a str,
}

/// The bureau's decision on a review.
pub struct ReviewDecision<'a> {
    /// The basis holds (`true`) or the data should be shared.
    pub upheld: bool,
    pub answer: &'a str,
}

fn reason_text(text: &str, field: &str, message: &str) -> StoreResult<String> {
    let text = text.trim();
    if (4..=2000).contains(&text.chars().count()) {
        Ok(text.to_string())
    } else {
        Err(StoreError::Validation(domain::ValidationErrors::single(
            field, message,
        )))
    }
}

impl Store {
    /// A consumer department asks the bureau to review why `items` (or, none named, the
    /// whole entry) are not shared; the bureau's decision is due like a coordination.
    pub async fn request_basis_review(
        &self,
        new: &ReviewRequest<'_>,
        ctx: &AuditContext,
    ) -> StoreResult<BasisReview> {
        let resource = self.shared_entry(new.code, &ctx.caller).await?;
        check(
            &ctx.caller,
            Act::RequestBasisReview {
                provider: resource.provider.id,
            },
        )?;
        let consumer = ctx.caller.department_id().unwrap_or(-1);
        let body = self.published_body(&resource).await?;
        let items = review_targets(&body, new.items).map_err(StoreError::Validation)?;
        let reason = reason_text(
            new.reason,
            "reason",
            "请说明需要该数据的用途和依据（4–2000 字）",
        )?;
        let at = now();
        let calendar = self.calendar().await?;
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar("INSERT INTO basis_reviews (resource_id, provider_id, consumer_id, requested_by, items, reason, status, created_at) \
                                             VALUES ($1, $2, $3, $4, $5, $6, 'submitted', $7) RETURNING id")
                .bind(resource.id).bind(resource.provider.id).bind(consumer).bind(ctx.actor_name())
                .bind(serde_json::to_string(&items)?).bind(&reason).bind(at)
                .fetch_one(&mut *tx).await?;
            let subject = DutySubject::new(SubjectKind::BasisReview, id);
            let duty = NewDuty::open(DutyKind::Coordination, subject, DutyOwner::Bureau, at, &calendar, &self.deadline_rules)?;
            crate::open_duty!(tx, duty);
            let mut event = ctx.event("basis_review.request", subject.target());
            event.after = snapshot(&serde_json::json!({"resource": resource.code, "items": items, "due": duty.due}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            id
        });
        self.basis_review(id).await
    }

    /// The bureau's decision: the basis holds (`upheld`) or the data should be shared.
    /// An overturned basis gives the provider a duty to revise the entry, which ends when
    /// a new version is published (the bureau's publishing step is where the revision is
    /// checked).
    pub async fn decide_basis_review(
        &self,
        id: i64,
        decision: &ReviewDecision<'_>,
        ctx: &AuditContext,
    ) -> StoreResult<BasisReview> {
        let (upheld, answer) = (decision.upheld, decision.answer);
        const ACTION: &str = "复核不予共享依据";
        check(&ctx.caller, Act::DecideBasisReview)?;
        let review = self.basis_review(id).await?;
        if review.status != ReviewStatus::Submitted {
            return Err(StoreError::Workflow(WorkflowError::WrongState {
                action: ACTION,
                status: review.status.label(),
            }));
        }
        let answer = reason_text(answer, "answer", "请写明复核意见及依据（4–2000 字）")?;
        let status = if upheld {
            ReviewStatus::Upheld
        } else {
            ReviewStatus::Overturned
        };
        let at = now();
        let subject = DutySubject::new(SubjectKind::BasisReview, id);
        let revision = if upheld {
            None
        } else {
            let owner = DutyOwner::Department(review.provider_id);
            Some(
                self.new_duty(DutyKind::BasisRevision, subject, owner, at)
                    .await?,
            )
        };
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE basis_reviews SET status = $2, answer = $3, decided_by = $4, decided_at = $5 \
                                       WHERE id = $1 AND status = 'submitted'")
                .bind(id).bind(status.code()).bind(&answer).bind(ctx.actor_name()).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if changed == 0 {
                return Err(StoreError::Conflict("该复核已有结论".into()));
            }
            crate::discharge_duties!(tx, subject, at);
            if let Some(revision) = &revision {
                crate::open_duty!(tx, revision);
            }
            let mut event = ctx.event("basis_review.decide", subject.target());
            event.after = snapshot(&serde_json::json!({"status": status.code(), "answer": answer}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.basis_review(id).await
    }

    pub async fn basis_review(&self, id: i64) -> StoreResult<BasisReview> {
        let sql = format!("{REVIEW_SELECT} WHERE b.id = $1");
        let row: Option<ReviewRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        let row = row.ok_or_else(|| StoreError::NotFound(format!("复核申请 {id}")))?;
        Ok(self.reviews_of(vec![row]).await?.remove(0))
    }

    /// Reviews newest first: all (`None`), or those a department asked for or provides.
    pub async fn basis_reviews(
        &self,
        scope: crate::sharing::RequestScope,
    ) -> StoreResult<Vec<BasisReview>> {
        let department = match scope {
            crate::sharing::RequestScope::All => None,
            crate::sharing::RequestScope::Department(d) => Some(d),
        };
        let rows: Vec<ReviewRow> = match department {
            None => {
                let sql = format!("{REVIEW_SELECT} ORDER BY b.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?)
            }
            Some(department) => {
                let sql = format!(
                    "{REVIEW_SELECT} WHERE b.consumer_id = $1 OR b.provider_id = $1 ORDER BY b.id DESC"
                );
                on_pool!(self, pool => sqlx::query_as(&sql).bind(department).fetch_all(pool).await?)
            }
        };
        self.reviews_of(rows).await
    }

    async fn reviews_of(&self, rows: Vec<ReviewRow>) -> StoreResult<Vec<BasisReview>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut duties = self.latest_duties(SubjectKind::BasisReview, &ids).await?;
        rows.into_iter()
            .map(|row| {
                Ok(BasisReview {
                    duty: duties.remove(&row.id),
                    id: row.id,
                    code: row.code,
                    resource_name: row.resource_name,
                    provider_id: row.provider_id,
                    provider_name: row.provider_name,
                    consumer_id: row.consumer_id,
                    consumer_name: row.consumer_name,
                    requested_by: row.requested_by,
                    items: serde_json::from_str(&row.items)?,
                    reason: row.reason,
                    status: decode(&row.status, ReviewStatus::parse)?,
                    answer: row.answer,
                    decided_by: row.decided_by,
                    created_at: row.created_at,
                    decided_at: row.decided_at,
                })
            })
            .collect()
    }
}
