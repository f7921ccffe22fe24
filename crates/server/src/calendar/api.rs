//! The working-day calendar (`/api/v1/calendar/…`): the State Council's holiday
//! schedules, the days of a range and the due date of "within N working days".

use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::access::{check, Act};
use domain::calendar::{Day, Deadline, ScheduleInput, YearSchedule};
use serde::Deserialize;

use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List, Query};
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/calendar/years", tag = "calendar", security(("bearer" = [])),
    responses((status = 200, body = List<YearSchedule>)))]
pub async fn years(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<YearSchedule>>> {
    check(&principal.caller(), Act::ViewCalendar)?;
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
    check(&principal.caller(), Act::ImportCalendar)?;
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
    Auth(principal): Auth,
    Query(query): Query<DaysQuery>,
) -> ApiResult<axum::Json<List<Day>>> {
    check(&principal.caller(), Act::ViewCalendar)?;
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
    Auth(principal): Auth,
    Query(query): Query<DeadlineQuery>,
) -> ApiResult<axum::Json<Deadline>> {
    check(&principal.caller(), Act::ViewCalendar)?;
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
        state.store.deadline_rules().cutoff,
    )))
}
