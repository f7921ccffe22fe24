//! Share requests, their grants and decision delegates, duties with working-day deadlines,
//! accountability records, and the working-day calendar's imported years.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{check, decide_share, Act, Caller, Decider, RequestFacts};
use domain::calendar::{beijing_date, Calendar, YearSchedule};
use domain::catalogue::ShareType;
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, NewDuty, SubjectKind};
use domain::sharing::{
    check_request, clear_personal, grant_terms, Decision, GrantTerms, GrantedItem, Limits,
    RequestInput, RequestStatus,
};
use domain::workflow::WorkflowError;
use serde::Serialize;

use crate::audit::snapshot;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

/// Inserts a grant inside the caller's transaction `$tx`.
macro_rules! insert_grant {
    ($tx:ident, $request_id:expr, $resource_id:expr, $consumer_id:expr, $application:expr, $terms:expr, $expires_at:expr, $at:expr) => {{
        let terms: &GrantTerms = $terms;
        // One grant per application and entry: a newer approval (a renewal, a wider or
        // narrower request, the bureau's decision) replaces the one before.
        sqlx::query(
            "UPDATE grants SET status = 'revoked', revoked_at = $4, revoked_by = 'platform', \
             revoke_reason = '由新的授权取代' \
             WHERE resource_id = $1 AND consumer_id = $2 AND application = $3 AND status = 'active'",
        )
        .bind($resource_id)
        .bind($consumer_id)
        .bind($application)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "INSERT INTO grants (request_id, resource_id, consumer_id, application, items, row_filter, expires_at, \
             rate_per_minute, daily_quota, verify_quota, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11)",
        )
        .bind($request_id)
        .bind($resource_id)
        .bind($consumer_id)
        .bind($application)
        .bind(serde_json::to_string(&terms.items)?)
        .bind(terms.row_filter.as_ref().map(serde_json::to_string).transpose()?)
        .bind($expires_at)
        .bind(i64::from(terms.rate_per_minute))
        .bind(i64::from(terms.daily_quota))
        .bind(i64::from(terms.verify_quota))
        .bind($at)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// A share request as listed and shown.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ShareRequest {
    pub id: i64,
    pub code: String,
    pub resource_name: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub consumer_id: i64,
    pub consumer_name: String,
    pub applicant: String,
    pub items: Vec<String>,
    pub clear_items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub application: String,
    pub valid_until: NaiveDate,
    /// The share type that decided the path: `unconditional` or `conditional`.
    pub share_type: String,
    pub status: RequestStatus,
    pub granted_items: Option<Vec<String>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub renewal_of: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// The open (or last) duty on the request: its deadline.
    pub duty: Option<crate::duties::Duty>,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    code: String,
    resource_name: String,
    provider_id: i64,
    provider_name: String,
    consumer_id: i64,
    consumer_name: String,
    applicant: String,
    items: String,
    purpose: String,
    legal_basis: String,
    application: String,
    valid_until: NaiveDate,
    share_type: String,
    status: String,
    granted_items: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    renewal_of: Option<i64>,
    created_at: DateTime<Utc>,
}

/// Items are stored as `{"items": [...], "clear": [...]}`.
#[derive(serde::Deserialize, Serialize, Default)]
struct StoredItems {
    items: Vec<String>,
    #[serde(default)]
    clear: Vec<String>,
}

const REQUEST_SELECT: &str = "SELECT q.id, r.code, r.name AS resource_name, q.provider_id, p.name AS provider_name, \
     q.consumer_id, c.name AS consumer_name, q.applicant, q.items, q.purpose, q.legal_basis, q.application, q.valid_until, \
     q.share_type, q.status, q.granted_items, q.decided_by, q.decided_at, q.reason, q.renewal_of, q.created_at \
     FROM share_requests q JOIN resources r ON r.id = q.resource_id \
     JOIN departments p ON p.id = q.provider_id JOIN departments c ON c.id = q.consumer_id";

/// A grant as the data API reads it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Grant {
    pub id: i64,
    pub request_id: i64,
    pub resource_id: i64,
    pub consumer_id: i64,
    pub application: String,
    pub items: Vec<GrantedItem>,
    pub row_filter: Option<BTreeMap<String, Vec<String>>>,
    pub expires_at: DateTime<Utc>,
    pub rate_per_minute: i64,
    pub daily_quota: i64,
    pub verify_quota: i64,
    pub status: String,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    request_id: i64,
    resource_id: i64,
    consumer_id: i64,
    application: String,
    items: String,
    row_filter: Option<String>,
    expires_at: DateTime<Utc>,
    rate_per_minute: i64,
    daily_quota: i64,
    verify_quota: i64,
    status: String,
}

const GRANT_COLUMNS: &str =
    "id, request_id, resource_id, consumer_id, application, items, row_filter, expires_at, \
     rate_per_minute, daily_quota, verify_quota, status";

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(row: GrantRow) -> StoreResult<Self> {
        Ok(Grant {
            id: row.id,
            request_id: row.request_id,
            resource_id: row.resource_id,
            consumer_id: row.consumer_id,
            application: row.application,
            items: serde_json::from_str(&row.items)?,
            row_filter: row
                .row_filter
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            expires_at: row.expires_at,
            rate_per_minute: row.rate_per_minute,
            daily_quota: row.daily_quota,
            verify_quota: row.verify_quota,
            status: row.status,
        })
    }
}

/// Whose requests a listing shows (domain::access::matter_scope).
pub use domain::access::MatterScope as RequestScope;

/// The end of a grant's validity: the last Beijing day of the request's period.
fn end_of_beijing_day(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(23, 59, 59)
        .expect("valid time")
        .and_local_timezone(domain::calendar::beijing())
        .single()
        .expect("UTC+8 is unambiguous")
        .with_timezone(&Utc)
}

impl Store {
    /// The working-day calendar: the built-in years, with the bureau's imports on top.
    pub async fn calendar(&self) -> StoreResult<Calendar> {
        let rows: Vec<(i32, String, NaiveDate, String, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT year, notice, notice_date, holidays, make_up_days FROM calendar_years ORDER BY year")
                .fetch_all(pool).await?
        });
        let mut calendar = Calendar::builtin();
        for (year, notice, notice_date, holidays, make_up_days) in rows {
            calendar.insert(YearSchedule {
                year,
                notice,
                notice_date,
                holidays: serde_json::from_str(&holidays)?,
                make_up_days: serde_json::from_str(&make_up_days)?,
            });
        }
        Ok(calendar)
    }

    /// Adds or replaces a year of the calendar. Open duties are not moved: a deadline, once
    /// given, stands (a provisional one shows as such until it is met).
    pub async fn import_calendar_year(
        &self,
        schedule: &YearSchedule,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        check(&ctx.caller, Act::ImportCalendar)?;
        let at = now();
        let holidays = serde_json::to_string(&schedule.holidays)?;
        let make_up = serde_json::to_string(&schedule.make_up_days)?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            sqlx::query("DELETE FROM calendar_years WHERE year = $1").bind(schedule.year).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO calendar_years (year, notice, notice_date, holidays, make_up_days, imported_by, imported_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(schedule.year).bind(&schedule.notice).bind(schedule.notice_date).bind(&holidays).bind(&make_up)
                .bind(ctx.actor_name()).bind(at)
                .execute(&mut *tx).await?;
            // The bureau's task to load this year is done.
            crate::discharge_duties!(tx, DutySubject::new(SubjectKind::CalendarYear, i64::from(schedule.year)), at);
            let mut event = ctx.event("calendar.import", format!("calendar:{}", schedule.year));
            event.after = snapshot(schedule);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Files a share request. An unconditional one is granted at once (the platform's
    /// 3-working-day duty met on the spot); a conditional one waits for the provider, with
    /// a deadline in working days.
    pub async fn submit_share_request(
        &self,
        code: &str,
        input: &RequestInput,
        ctx: &AuditContext,
    ) -> StoreResult<ShareRequest> {
        self.file_share_request(code, input, None, ctx).await
    }

    /// Renews an approved request: a new request for the same items with a later end,
    /// decided like any other.
    pub async fn renew_share_request(
        &self,
        id: i64,
        valid_until: NaiveDate,
        ctx: &AuditContext,
    ) -> StoreResult<ShareRequest> {
        let old = self.visible_share_request(id, &ctx.caller).await?;
        check(
            &ctx.caller,
            Act::RenewShare {
                consumer: old.consumer_id,
            },
        )?;
        if old.status != RequestStatus::Approved {
            return Err(StoreError::Workflow(WorkflowError::WrongState {
                action: "续期",
                status: old.status.label(),
            }));
        }
        if valid_until <= old.valid_until {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "valid_until",
                "续期后的有效期须晚于原有效期",
            )));
        }
        let input = RequestInput {
            items: old.granted_items.clone().unwrap_or(old.items.clone()),
            purpose: old.purpose.clone(),
            legal_basis: old.legal_basis.clone(),
            application: old.application.clone(),
            valid_until,
            clear_items: old.clear_items.clone(),
        };
        self.file_share_request(&old.code, &input, Some(id), ctx)
            .await
    }

    async fn file_share_request(
        &self,
        code: &str,
        input: &RequestInput,
        renewal_of: Option<i64>,
        ctx: &AuditContext,
    ) -> StoreResult<ShareRequest> {
        let resource = self.shared_entry(code, &ctx.caller).await?;
        check(
            &ctx.caller,
            Act::RequestShare {
                provider: resource.provider.id,
            },
        )?;
        let consumer_id = ctx.caller.department_id().ok_or_else(|| {
            StoreError::Corrupt("a department's request without a department".into())
        })?;
        let body = self.published_body(&resource).await?;
        let at = now();
        let checked = check_request(&body, input, beijing_date(at))?;
        let calendar = self.calendar().await?;
        let unconditional = checked.share_type == ShareType::Unconditional;
        let kind = if unconditional {
            DutyKind::PlatformProvision
        } else {
            DutyKind::DepartmentDecision
        };
        let owner = if unconditional {
            DutyOwner::Bureau
        } else {
            DutyOwner::Department(resource.provider.id)
        };
        let stored = serde_json::to_string(&StoredItems {
            items: checked.items.clone(),
            clear: checked.clear_items.clone(),
        })?;
        let terms = if unconditional {
            Some(grant_terms(
                &body,
                &checked.items,
                &checked.clear_items,
                &[],
                &checked.clear_items,
                None,
                Limits::default(),
            )?)
        } else {
            None
        };
        let status = if unconditional {
            RequestStatus::Approved
        } else {
            RequestStatus::Pending
        };
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO share_requests (resource_id, provider_id, consumer_id, applicant, items, purpose, legal_basis, application, \
                 valid_until, share_type, status, granted_items, decided_by, decided_at, renewal_of, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id")
                .bind(resource.id).bind(resource.provider.id).bind(consumer_id).bind(ctx.actor_name()).bind(&stored)
                .bind(input.purpose.trim()).bind(input.legal_basis.trim()).bind(input.application.trim())
                .bind(input.valid_until).bind(checked.share_type.code()).bind(status.code())
                .bind(terms.as_ref().map(|_| serde_json::to_string(&checked.items)).transpose()?)
                .bind(terms.as_ref().map(|_| "platform"))
                .bind(terms.as_ref().map(|_| at))
                .bind(renewal_of)
                .bind(at)
                .fetch_one(&mut *tx).await?;
            let duty = NewDuty::open(kind, DutySubject::new(SubjectKind::ShareRequest, id), owner, at, &calendar, &self.deadline_rules)?;
            crate::open_duty!(tx, duty, done terms.as_ref().map(|_| at));
            if let Some(terms) = &terms {
                insert_grant!(tx, id, resource.id, consumer_id, input.application.trim(), terms, end_of_beijing_day(input.valid_until), at);
            }
            let mut event = ctx.event("share_request.submit", format!("share_request:{id}"));
            event.after = snapshot(&serde_json::json!({"resource": code, "items": checked.items, "clear_items": checked.clear_items,
                "purpose": input.purpose, "legal_basis": input.legal_basis, "application": input.application,
                "valid_until": input.valid_until, "status": status.code(), "due": duty.due, "renewal_of": renewal_of}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            id
        });
        self.cache.grants.invalidate_all();
        self.share_request(id).await
    }

    /// The provider's decision, or the bureau's in coordination. Who may decide is
    /// checked on the request's state, the caller's delegation and the deadline as they
    /// stand in the transaction that records the decision.
    pub async fn decide_share_request(
        &self,
        id: i64,
        decision: &Decision,
        ctx: &AuditContext,
    ) -> StoreResult<ShareRequest> {
        let request = self.visible_share_request(id, &ctx.caller).await?;
        let resource = self.resource(&request.code).await?;
        let body = self.published_body(&resource).await?;
        let clear_personal = clear_personal(&body, &request.clear_items);
        let at = now();
        let subject = DutySubject::new(SubjectKind::ShareRequest, id);
        let coordination = self
            .new_duty(DutyKind::Coordination, subject, DutyOwner::Bureau, at)
            .await?;
        let caller_name = ctx.caller.person().map(|p| p.username.clone());
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let status: String = sqlx::query_scalar("SELECT status FROM share_requests WHERE id = $1")
                .bind(id).fetch_one(&mut *tx).await?;
            let status = decode(&status, RequestStatus::parse)?;
            let delegated: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decision_delegates WHERE department_id = $1 AND username = $2")
                .bind(request.provider_id).bind(caller_name.as_deref().unwrap_or("")).fetch_one(&mut *tx).await?;
            let due: Option<NaiveDate> = sqlx::query_scalar("SELECT due_date FROM duties WHERE subject_type = $1 AND subject_id = $2 AND done_at IS NULL ORDER BY id DESC LIMIT 1")
                .bind(subject.kind.code()).bind(subject.id).fetch_optional(&mut *tx).await?;
            let facts = RequestFacts {
                provider: request.provider_id,
                consumer: request.consumer_id,
                status,
                delegated: delegated > 0,
                overdue: due.is_some_and(|due| beijing_date(at) > due),
                clear_personal,
            };
            let decider = decide_share(&ctx.caller, facts).map_err(|refused| match refused {
                domain::access::DecisionRefused::Denied(denied) => StoreError::Denied(denied),
                domain::access::DecisionRefused::WrongState(label) => StoreError::Workflow(WorkflowError::WrongState { action: "审批共享申请", status: label }),
            })?;
            let (next, terms, reason) = decision_outcome(&body, &request, decision, decider)?;
            sqlx::query("UPDATE share_requests SET status = $1, granted_items = $2, decided_by = $3, decided_at = $4, reason = $5 WHERE id = $6")
                .bind(next.code())
                .bind(terms.as_ref().map(|t| serde_json::to_string(&t.items.iter().map(|g| &g.item).collect::<Vec<_>>())).transpose()?)
                .bind(ctx.actor_name()).bind(at).bind(&reason).bind(id)
                .execute(&mut *tx).await?;
            crate::discharge_duties!(tx, subject, at);
            if next == RequestStatus::Coordinating {
                crate::open_duty!(tx, coordination);
            }
            if let Some(terms) = &terms {
                insert_grant!(tx, id, resource.id, request.consumer_id, request.application.as_str(), terms, end_of_beijing_day(request.valid_until), at);
            }
            let mut event = ctx.event("share_request.decide", format!("share_request:{id}"));
            event.before = snapshot(&serde_json::json!({"status": status.code()}));
            event.after = snapshot(&serde_json::json!({"status": next.code(), "decision": decision,
                "by": if decider == Decider::Bureau { "bureau" } else { "provider" }}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.cache.grants.invalidate_all();
        self.share_request(id).await
    }

    /// Withdraws an approved request's grant.
    pub async fn revoke_share_request(
        &self,
        id: i64,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<ShareRequest> {
        let request = self.visible_share_request(id, &ctx.caller).await?;
        check(
            &ctx.caller,
            Act::RevokeShare {
                provider: request.provider_id,
            },
        )?;
        if reason.trim().chars().count() < 4 {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "reason",
                "撤销须写明理由（至少 4 个字）",
            )));
        }
        let at = now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE share_requests SET status = 'revoked', reason = $2 WHERE id = $1 AND status = 'approved'")
                .bind(id).bind(reason.trim()).execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                let status: String = sqlx::query_scalar("SELECT status FROM share_requests WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
                return Err(StoreError::Workflow(WorkflowError::WrongState {
                    action: "撤销授权",
                    status: decode(&status, RequestStatus::parse)?.label(),
                }));
            }
            sqlx::query("UPDATE grants SET status = 'revoked', revoked_at = $2, revoked_by = $3, revoke_reason = $4 \
                         WHERE request_id = $1 AND status = 'active'")
                .bind(id).bind(at).bind(ctx.actor_name()).bind(reason.trim()).execute(&mut *tx).await?;
            let mut event = ctx.event("share_request.revoke", format!("share_request:{id}"));
            event.after = snapshot(&serde_json::json!({"status": "revoked", "reason": reason.trim()}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.cache.grants.invalidate_all();
        self.share_request(id).await
    }

    /// Who `caller` would decide `request` as, if they may decide it now: the facts the
    /// decision itself checks (state, delegation, deadline, clear personal data), read
    /// for a page that shows the decision form only to whoever may use it.
    pub async fn share_decider(
        &self,
        request: &ShareRequest,
        caller: &Caller,
    ) -> StoreResult<Option<Decider>> {
        if !matches!(
            request.status,
            RequestStatus::Pending | RequestStatus::Coordinating
        ) {
            return Ok(None);
        }
        let delegated = match caller.person() {
            Some(person) => {
                self.is_delegate(request.provider_id, &person.username)
                    .await?
            }
            None => false,
        };
        let resource = self.resource(&request.code).await?;
        let body = self.published_body(&resource).await?;
        let today = beijing_date(now());
        let facts = RequestFacts {
            provider: request.provider_id,
            consumer: request.consumer_id,
            status: request.status,
            delegated,
            overdue: request
                .duty
                .as_ref()
                .is_some_and(|d| d.done_at.is_none() && today > d.due_date),
            clear_personal: clear_personal(&body, &request.clear_items),
        };
        Ok(decide_share(caller, facts).ok())
    }

    /// A share request, if `caller` may see it; "not found" otherwise, so that requests of
    /// other departments do not reveal that they exist.
    pub async fn visible_share_request(
        &self,
        id: i64,
        caller: &Caller,
    ) -> StoreResult<ShareRequest> {
        // Someone who sees no matters at all is refused outright; a department that sees
        // its own is told "not found" for others', which do not reveal that they exist.
        check(caller, Act::ViewMatters)?;
        let request = self.share_request(id).await?;
        let act = Act::ViewMatter {
            provider: request.provider_id,
            consumer: request.consumer_id,
        };
        if domain::access::allows(caller, act) {
            Ok(request)
        } else {
            Err(StoreError::NotFound(format!("共享申请 {id}")))
        }
    }

    /// The published entry a department may request or ask a review of: not found when the
    /// caller cannot see it, refused when it is retired.
    pub async fn shared_entry(
        &self,
        code: &str,
        caller: &Caller,
    ) -> StoreResult<crate::resources::Resource> {
        let resource = self
            .visible_resource(code, domain::access::entry_scope(caller))
            .await?;
        if resource.published_version.is_none() {
            return Err(StoreError::NotFound(format!("目录 {code}")));
        }
        if resource.status == domain::workflow::Status::Retired {
            return Err(StoreError::Conflict(format!(
                "目录 {code} 已停用，不能申请"
            )));
        }
        Ok(resource)
    }

    pub async fn share_request(&self, id: i64) -> StoreResult<ShareRequest> {
        let sql = format!("{REQUEST_SELECT} WHERE q.id = $1");
        let row: Option<RequestRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        let row = row.ok_or_else(|| StoreError::NotFound(format!("共享申请 {id}")))?;
        let mut requests = self.with_duties(vec![row]).await?;
        Ok(requests.remove(0))
    }

    /// Requests, newest first.
    pub async fn share_requests(&self, scope: RequestScope) -> StoreResult<Vec<ShareRequest>> {
        let rows: Vec<RequestRow> = match scope {
            RequestScope::All => {
                let sql = format!("{REQUEST_SELECT} ORDER BY q.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?)
            }
            RequestScope::Department(department) => {
                let sql = format!(
                    "{REQUEST_SELECT} WHERE q.provider_id = $1 OR q.consumer_id = $1 ORDER BY q.id DESC"
                );
                on_pool!(self, pool => sqlx::query_as(&sql).bind(department).fetch_all(pool).await?)
            }
        };
        self.with_duties(rows).await
    }

    async fn with_duties(&self, rows: Vec<RequestRow>) -> StoreResult<Vec<ShareRequest>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut duties = self.latest_duties(SubjectKind::ShareRequest, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let duty = duties.remove(&row.id);
            let items: StoredItems = serde_json::from_str(&row.items)?;
            out.push(ShareRequest {
                id: row.id,
                code: row.code,
                resource_name: row.resource_name,
                provider_id: row.provider_id,
                provider_name: row.provider_name,
                consumer_id: row.consumer_id,
                consumer_name: row.consumer_name,
                applicant: row.applicant,
                items: items.items,
                clear_items: items.clear,
                purpose: row.purpose,
                legal_basis: row.legal_basis,
                application: row.application,
                valid_until: row.valid_until,
                share_type: row.share_type,
                status: decode(&row.status, RequestStatus::parse)?,
                granted_items: row
                    .granted_items
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()?,
                decided_by: row.decided_by,
                decided_at: row.decided_at,
                reason: row.reason,
                renewal_of: row.renewal_of,
                created_at: row.created_at,
                duty,
            });
        }
        Ok(out)
    }

    /// Writes an accountability record for every duty past its due date that has none
    /// yet (open and overdue, or done late). Returns how many were written.
    pub async fn record_missed_duties(
        &self,
        at: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> StoreResult<u64> {
        check(&ctx.caller, Act::Housekeeping)?;
        let today = beijing_date(at);
        // In chunks, each its own transaction: a city's backlog (a first run over a million
        // duties) must not hold the platform's write lock, and every login behind it, for
        // minutes. The id walks forward, so on-time duties are passed over once per run.
        const CHUNK: i64 = 500;
        let (mut written, mut after) = (0, 0i64);
        loop {
            let (seen, last) = on_pool!(self, pool, dialect => {
                let mut tx = crate::begin_write!(pool, dialect);
                let missed = crate::duties::duties_of(sqlx::query_as(&format!(
                    "{} WHERE d.due_date < $1 AND d.id > $2 \
                     AND NOT EXISTS (SELECT 1 FROM accountability a WHERE a.duty_id = d.id) ORDER BY d.id LIMIT $3",
                    crate::duties::DUTY_SELECT))
                    .bind(today).bind(after).bind(CHUNK).fetch_all(&mut *tx).await?)?;
                let last = missed.last().map(|d| d.id);
                for duty in &missed {
                    let late = match duty.done_at {
                        None => true,
                        Some(done) => beijing_date(done) > duty.due_date,
                    };
                    if !late {
                        continue;
                    }
                    sqlx::query("INSERT INTO accountability (duty_id, department_id, kind, subject, due_date, recorded_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(duty.id).bind(duty.department_id).bind(duty.kind.code()).bind(duty.subject.target()).bind(duty.due_date).bind(at)
                        .execute(&mut *tx).await?;
                    let mut event = ctx.event("duty.missed", duty.subject.target());
                    event.after = snapshot(duty);
                    crate::append_audit!(self, tx, event);
                    written += 1;
                }
                tx.commit().await?;
                (missed.len() as i64, last)
            });
            match last {
                Some(last) if seen == CHUNK => after = last,
                _ => break,
            }
        }
        Ok(written)
    }

    /// Moves a request's receipt and its open duty's deadline, as if it had arrived at
    /// `received_at`: for the demo city, whose requests must show every state today.
    pub async fn backdate_share_request(
        &self,
        id: i64,
        received_at: DateTime<Utc>,
        due: NaiveDate,
        provisional: bool,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE share_requests SET created_at = $2 WHERE id = $1")
                .bind(id).bind(received_at).execute(pool).await?;
        });
        self.backdate_open_duty(
            DutySubject::new(SubjectKind::ShareRequest, id),
            received_at,
            due,
            provisional,
        )
        .await
    }

    /// Accountability records, newest first. Deadlines missed since the last housekeeping
    /// are recorded first (by the platform, not by whoever reads), so that the list is
    /// complete whenever it is read.
    pub async fn accountability(&self) -> StoreResult<Vec<Accountability>> {
        self.record_missed_duties(now(), &AuditContext::system("housekeeping"))
            .await?;
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT a.id, a.duty_id, a.department_id, d.name AS department_name, a.kind, a.subject, a.due_date, a.recorded_at \
                            FROM accountability a LEFT JOIN departments d ON d.id = a.department_id ORDER BY a.id DESC")
                .fetch_all(pool).await?
        }))
    }

    /// Whether `username` may decide `department_id`'s share requests on the chief's behalf.
    pub async fn is_delegate(&self, department_id: i64, username: &str) -> StoreResult<bool> {
        let found: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM decision_delegates WHERE department_id = $1 AND username = $2")
                .bind(department_id).bind(username).fetch_one(pool).await?
        });
        Ok(found > 0)
    }

    /// The people who decide `department_id`'s share requests on the chief's behalf.
    pub async fn delegates(&self, department_id: i64) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT username FROM decision_delegates WHERE department_id = $1 ORDER BY username")
                .bind(department_id).fetch_all(pool).await?
        }))
    }

    /// A chief allows (or stops allowing) a staff member of the department to decide.
    pub async fn set_delegate(
        &self,
        username: &str,
        allowed: bool,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        check(&ctx.caller, Act::UseHall)?;
        let department = ctx.caller.department_id().unwrap_or(-1);
        // Whoever may delegate nothing is refused before any account is looked up.
        check(
            &ctx.caller,
            Act::Delegate {
                department,
                delegate_department: Some(department),
                delegate_role: domain::account::Role::Staff,
            },
        )?;
        let at = now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let user: Option<(String, Option<i64>)> = sqlx::query_as("SELECT role, department_id FROM users WHERE username = $1 AND active")
                .bind(username).fetch_optional(&mut *tx).await?;
            let not_found = || StoreError::NotFound(format!("用户 {username}"));
            let (role, delegate_department) = user.ok_or_else(not_found)?;
            // Someone of another department is as unknown as nobody: a chief learns
            // nothing of other departments' people from this form.
            if delegate_department != Some(department) {
                return Err(not_found());
            }
            check(&ctx.caller, Act::Delegate {
                department,
                delegate_department,
                delegate_role: decode(&role, domain::account::Role::parse)?,
            })?;
            sqlx::query("DELETE FROM decision_delegates WHERE department_id = $1 AND username = $2")
                .bind(department).bind(username).execute(&mut *tx).await?;
            if allowed {
                sqlx::query("INSERT INTO decision_delegates (department_id, username, delegated_by, delegated_at) VALUES ($1, $2, $3, $4)")
                    .bind(department).bind(username).bind(ctx.actor_name()).bind(at).execute(&mut *tx).await?;
            }
            let mut event = ctx.event(if allowed { "delegate.grant" } else { "delegate.revoke" }, format!("user:{username}"));
            event.after = snapshot(&serde_json::json!({"department_id": department, "username": username, "allowed": allowed}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The active grant of `application` (of department `consumer_id`) on an entry.
    pub async fn active_grant(
        &self,
        resource_id: i64,
        consumer_id: i64,
        application: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Grant>> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE resource_id = $1 AND consumer_id = $2 AND application = $3 \
             AND status = 'active' AND expires_at > $4 ORDER BY expires_at DESC LIMIT 1"
        );
        let row: Option<GrantRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(resource_id).bind(consumer_id).bind(application).bind(at)
                .fetch_optional(pool).await?
        });
        row.map(Grant::try_from).transpose()
    }

    /// Grants of a department (as consumer), or all.
    pub async fn grants(&self, consumer_id: Option<i64>) -> StoreResult<Vec<Grant>> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM grants WHERE ($1 IS NULL OR consumer_id = $1) ORDER BY id DESC"
        );
        let rows: Vec<GrantRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(consumer_id).fetch_all(pool).await?);
        rows.into_iter().map(Grant::try_from).collect()
    }
}

/// The conditions of a grant's row filter on the entry's columns: every read under the
/// grant (data API, export, feed, objections) adds them.
pub fn row_filter_conditions(
    body: &domain::catalogue::ResourceBody,
    grant: &Grant,
) -> StoreResult<Vec<(crate::data_access::Column, Vec<domain::values::TypedValue>)>> {
    let Some(filter) = &grant.row_filter else {
        return Ok(Vec::new());
    };
    filter
        .iter()
        .map(|(name, values)| {
            let item = body
                .items
                .iter()
                .find(|i| &i.identifier == name)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "grant {} filters on unknown item {name}",
                        grant.id
                    ))
                })?;
            let typed = values
                .iter()
                .map(|v| {
                    domain::values::check_value(item, Some(v), None).map_err(|p| {
                        StoreError::Corrupt(format!("grant {} row filter: {p}", grant.id))
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((crate::data_access::Column::of(item), typed))
        })
        .collect()
}

/// What a decision does: the request's next state, the grant's terms, the reason.
fn decision_outcome(
    body: &domain::catalogue::ResourceBody,
    request: &ShareRequest,
    decision: &Decision,
    decider: Decider,
) -> StoreResult<(RequestStatus, Option<GrantTerms>, Option<String>)> {
    match decision {
        Decision::Approve {
            items,
            clear_items,
            row_filter,
            rate_per_minute,
            daily_quota,
            verify_quota,
        } => {
            if decider == Decider::Bureau && clear_personal(body, clear_items) {
                return Err(StoreError::Denied(domain::access::Denied {
                    act: "明文提供个人信息",
                    reason: "个人信息明文提供须由提供方首席代表决定，管理方只能脱敏授权",
                }));
            }
            let terms = grant_terms(
                body,
                &request.items,
                &request.clear_items,
                items,
                clear_items,
                row_filter.as_ref(),
                Limits {
                    rate_per_minute: *rate_per_minute,
                    daily_quota: *daily_quota,
                    verify_quota: *verify_quota,
                },
            )?;
            Ok((RequestStatus::Approved, Some(terms), None))
        }
        Decision::Refuse { reason } => {
            if reason.trim().chars().count() < 4 {
                return Err(StoreError::Validation(domain::ValidationErrors::single(
                    "reason",
                    "拒绝须写明理由（至少 4 个字）",
                )));
            }
            let status = match decider {
                Decider::Provider => RequestStatus::Coordinating,
                Decider::Bureau => RequestStatus::Refused,
            };
            Ok((status, None, Some(reason.trim().to_string())))
        }
    }
}

/// A missed duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Accountability {
    pub id: i64,
    pub duty_id: i64,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub kind: String,
    pub subject: String,
    pub due_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}
