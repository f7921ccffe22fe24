//! Share requests (`/api/v1/share-requests`), the working-day calendar, duties and
//! accountability records.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use domain::account::Role;
use domain::calendar::{Calendar, Day, Deadline, ScheduleInput, YearSchedule};
use domain::deadline::Countdown;
use domain::sharing::{Decision, RequestInput};
use serde::{Deserialize, Serialize};
use store::sharing::{Accountability, Duty, RequestScope, ShareRequest};

use super::{Json, List, Query};
use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// A request with its deadline's countdown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ShareRequestView {
    #[serde(flatten)]
    pub request: ShareRequest,
    pub countdown: Option<Countdown>,
}

/// A duty with its countdown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DutyView {
    #[serde(flatten)]
    pub duty: Duty,
    pub countdown: Countdown,
}

pub fn countdown(state: &AppState, calendar: &Calendar, duty: &Duty) -> Countdown {
    Countdown::of(
        calendar,
        &state.config.deadline_rules,
        duty.due_date,
        duty.provisional,
        duty.done_at,
        Utc::now(),
    )
}

pub fn view(state: &AppState, calendar: &Calendar, request: ShareRequest) -> ShareRequestView {
    let countdown = request.duty.as_ref().map(|d| countdown(state, calendar, d));
    ShareRequestView { request, countdown }
}

/// One request's view, with the calendar read for it.
async fn view_one(state: &AppState, request: ShareRequest) -> ApiResult<ShareRequestView> {
    Ok(view(state, &state.store.calendar().await?, request))
}

/// Who may see a matter between a provider and a consumer (a request, an objection): the
/// bureau, the auditor, and the people of the two departments.
pub fn involved(principal: &Principal, provider_id: i64, consumer_id: i64) -> bool {
    match principal.role() {
        Some(Role::Admin | Role::Auditor) => true,
        Some(_) => principal
            .department_id()
            .is_some_and(|d| d == provider_id || d == consumer_id),
        None => false,
    }
}

/// What a person's lists of such matters cover: everything (`None`) for the bureau and
/// the auditor, their own department's otherwise; `refusal` for anyone else.
pub fn oversight_scope(principal: &Principal, refusal: &str) -> ApiResult<Option<i64>> {
    match (principal.role(), principal.department_id()) {
        (Some(Role::Admin | Role::Auditor), _) => Ok(None),
        (Some(_), Some(department)) => Ok(Some(department)),
        _ => Err(ApiError::Forbidden(refusal.into())),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareRequest {
    /// The entry's resource code.
    pub resource: String,
    /// Item identifiers; empty asks for every shareable item.
    #[serde(default)]
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    /// The consuming application system, as named on its API token.
    pub application: String,
    pub valid_until: NaiveDate,
    /// Personal items asked for in clear.
    #[serde(default)]
    pub clear_items: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/share-requests", tag = "sharing", security(("bearer" = [])), request_body = NewShareRequest,
    responses((status = 201, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
               (status = 422, body = crate::error::ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(new): Json<NewShareRequest>,
) -> ApiResult<(StatusCode, axum::Json<ShareRequestView>)> {
    principal.require_person()?;
    let input = RequestInput {
        items: new.items,
        purpose: new.purpose,
        legal_basis: new.legal_basis,
        application: new.application,
        valid_until: new.valid_until,
        clear_items: new.clear_items,
    };
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .submit_share_request(
            &new.resource,
            &input,
            &principal.actor(),
            &state.config.deadline_rules,
            &ctx,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view_one(&state, request).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/share-requests", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<ShareRequestView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<ShareRequestView>>> {
    principal.require_person()?;
    let scope = oversight_scope(&principal, "无权查看共享申请")?
        .map_or(RequestScope::All, RequestScope::Department);
    let calendar = state.store.calendar().await?;
    let requests = state.store.share_requests(scope).await?;
    Ok(axum::Json(List::all(
        requests
            .into_iter()
            .map(|r| view(&state, &calendar, r))
            .collect(),
    )))
}

async fn visible_request(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> ApiResult<ShareRequest> {
    principal.require_person()?;
    let request = state.store.share_request(id).await?;
    if !involved(principal, request.provider_id, request.consumer_id) {
        return Err(ApiError::Forbidden(
            "只有申请部门、提供部门和管理方可以查看该申请".into(),
        ));
    }
    Ok(request)
}

#[utoipa::path(get, path = "/api/v1/share-requests/{id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    let request = visible_request(&state, &principal, id).await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/decision", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(decision): Json<Decision>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    visible_request(&state, &principal, id).await?;
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .decide_share_request(
            id,
            &decision,
            &principal.actor(),
            &state.config.deadline_rules,
            &ctx,
        )
        .await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/revoke", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Revocation,
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(revocation): Json<Revocation>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    visible_request(&state, &principal, id).await?;
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .revoke_share_request(id, &revocation.reason, &principal.actor(), &ctx)
        .await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    pub valid_until: NaiveDate,
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/renew", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Renewal,
    responses((status = 201, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn renew(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(renewal): Json<Renewal>,
) -> ApiResult<(StatusCode, axum::Json<ShareRequestView>)> {
    visible_request(&state, &principal, id).await?;
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .renew_share_request(
            id,
            renewal.valid_until,
            &principal.actor(),
            &state.config.deadline_rules,
            &ctx,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view_one(&state, request).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    pub allowed: bool,
}

#[utoipa::path(put, path = "/api/v1/delegates/{username}", tag = "sharing", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = Delegation,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_delegate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Json(delegation): Json<Delegation>,
) -> ApiResult<StatusCode> {
    principal.require_person()?;
    let ctx = audit_context(Some(&principal), &meta);
    state
        .store
        .set_delegate(&principal.actor(), &username, delegation.allowed, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/duties", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<DutyView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn duties(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<DutyView>>> {
    principal.require_person()?;
    let owner = match (principal.role(), principal.department_id()) {
        (Some(Role::Admin), _) => None,
        (_, Some(department)) => Some(department),
        _ => return Err(ApiError::Forbidden("无待办".into())),
    };
    let calendar = state.store.calendar().await?;
    let duties = state.store.open_duties(owner).await?;
    Ok(axum::Json(List::all(
        duties
            .into_iter()
            .map(|duty| DutyView {
                countdown: countdown(&state, &calendar, &duty),
                duty,
            })
            .collect(),
    )))
}

#[utoipa::path(get, path = "/api/v1/accountability", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<Accountability>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn accountability(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<Accountability>>> {
    if !matches!(principal.role(), Some(Role::Admin | Role::Auditor)) {
        return Err(ApiError::Forbidden(
            "只有管理方和审计员可以查看责任追究记录".into(),
        ));
    }
    state.store.record_missed_duties(Utc::now()).await?;
    Ok(axum::Json(List::all(state.store.accountability().await?)))
}

#[utoipa::path(get, path = "/api/v1/calendar/years", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = List<YearSchedule>)))]
pub async fn years(
    State(state): State<AppState>,
    Auth(_principal): Auth,
) -> ApiResult<axum::Json<List<YearSchedule>>> {
    let calendar = state.store.calendar().await?;
    Ok(axum::Json(List::all(
        calendar.schedules().cloned().collect(),
    )))
}

#[utoipa::path(post, path = "/api/v1/calendar/years", tag = "calendar", security(("bearer" = [])), request_body = ScheduleInput,
    responses((status = 201, body = YearSchedule), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn import_year(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(input): Json<ScheduleInput>,
) -> ApiResult<(StatusCode, axum::Json<YearSchedule>)> {
    if principal.role() != Some(Role::Admin) {
        return Err(ApiError::Forbidden("只有管理方可以导入节假日安排".into()));
    }
    let schedule = YearSchedule::parse(&input).map_err(|e| ApiError::Unprocessable {
        message: e.to_string(),
        details: vec![domain::FieldError::new("schedule", e.to_string())],
    })?;
    let ctx = audit_context(Some(&principal), &meta);
    state.store.import_calendar_year(&schedule, &ctx).await?;
    Ok((StatusCode::CREATED, axum::Json(schedule)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[utoipa::path(get, path = "/api/v1/calendar/days", tag = "calendar", security(("bearer" = [])), params(DaysQuery),
    responses((status = 200, body = List<Day>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn days(
    State(state): State<AppState>,
    Auth(_principal): Auth,
    Query(query): Query<DaysQuery>,
) -> ApiResult<axum::Json<List<Day>>> {
    if query.to < query.from || (query.to - query.from).num_days() > 3 * 366 {
        return Err(ApiError::bad_request(
            "bad_range",
            "日期范围须从小到大且不超过三年",
        ));
    }
    let calendar = state.store.calendar().await?;
    let days = query
        .from
        .iter_days()
        .take_while(|d| *d <= query.to)
        .map(|d| calendar.day(d))
        .collect();
    Ok(axum::Json(List::all(days)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadlineQuery {
    /// RFC 3339 time, or a date (noon Beijing time).
    pub received: String,
    /// Working days.
    pub n: u32,
}

#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "calendar", security(("bearer" = [])), params(DeadlineQuery),
    responses((status = 200, body = Deadline), (status = 400, body = crate::error::ErrorBody)))]
pub async fn deadline(
    State(state): State<AppState>,
    Auth(_principal): Auth,
    Query(query): Query<DeadlineQuery>,
) -> ApiResult<axum::Json<Deadline>> {
    let received = domain::calendar::parse_receipt(&query.received).ok_or_else(|| {
        ApiError::bad_request("bad_received", "received 应为 YYYY-MM-DD 或 RFC 3339 时间")
    })?;
    if query.n > 366 {
        return Err(ApiError::bad_request("bad_n", "n 不能超过 366"));
    }
    let calendar = state.store.calendar().await?;
    Ok(axum::Json(calendar.working_days_after(
        received,
        query.n,
        state.config.deadline_rules.cutoff,
    )))
}
