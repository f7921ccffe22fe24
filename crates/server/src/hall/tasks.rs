//! The queue (待办) as JSON: `/api/v1/tasks`, the twin of the hall's home page. Both build
//! each item with [`task_view`], so a duty reads the same on the page and in the API.

use axum::extract::State;
use chrono::{NaiveDate, Utc};
use domain::access::{duty_scope, QueueAsked};
use domain::calendar::{beijing_date, Calendar};
use domain::deadline::{Countdown, DutyKind};
use domain::duty::SubjectKind;
use serde::{Deserialize, Serialize};
use store::duties::{Duty, DutyFilter, DutyQuery};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List, Path, Query};
use crate::AppState;

/// A duty as a queue shows it: its countdown, what it is in Chinese and where it is done.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub duty: Duty,
    pub countdown: Countdown,
    /// The kind of duty in Chinese (签发目录, 部门受理审批, …).
    pub title: String,
    /// The matter in Chinese: "共享申请 12", or the entry's code.
    pub subject_label: String,
    /// The page where the duty is done.
    pub href: String,
}

/// Where a duty stands against its deadline, by the calendar and the configured rules.
pub fn countdown(state: &AppState, calendar: &Calendar, duty: &Duty) -> Countdown {
    Countdown::of(
        calendar,
        state.store.deadline_rules(),
        duty.due_date,
        duty.provisional,
        duty.done_at,
        Utc::now(),
    )
}

pub fn task_view(state: &AppState, calendar: &Calendar, duty: Duty) -> TaskView {
    let id = duty.subject.id;
    let entry = duty.entry_code.as_deref().map(crate::page::code_path);
    let (subject_label, href) = match duty.subject.kind {
        SubjectKind::ShareRequest => (format!("共享申请 {id}"), format!("/sharing#request-{id}")),
        SubjectKind::Objection => (
            format!("数据异议 {id}"),
            format!("/objections#objection-{id}"),
        ),
        SubjectKind::Need => (format!("数据需求 {id}"), format!("/needs#need-{id}")),
        SubjectKind::BasisReview => (
            format!("不予共享复核 {id}"),
            "/sharing#basis-reviews".to_string(),
        ),
        SubjectKind::Entry => (
            duty.entry_code
                .clone()
                .unwrap_or_else(|| format!("目录 {id}")),
            entry.unwrap_or_else(|| "/catalogue".into()),
        ),
        SubjectKind::Source => (
            format!("数据源 {id}"),
            entry.map_or_else(|| "/collection".into(), |path| format!("{path}/upload")),
        ),
        SubjectKind::CalendarYear => (format!("{id} 年节假日安排"), "/calendar".to_string()),
    };
    TaskView {
        countdown: countdown(state, calendar, &duty),
        title: duty.kind.label().to_string(),
        subject_label,
        href,
        duty,
    }
}

/// Which queue, and which of its duties.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskParams {
    /// `own` (default): the caller's queue; `bureau`: the bureau's; `all`: every queue
    /// (the bureau and the auditor). Ignored when `department` is given.
    #[param(inline)]
    pub scope: Option<QueueParam>,
    /// One department's queue (the bureau and the auditor; a department reads only its own).
    pub department: Option<i64>,
    /// One kind of duty.
    #[param(inline)]
    pub kind: Option<DutyKind>,
    /// `open` (default), `overdue`, `due_soon` or `done`.
    #[param(inline)]
    pub state: Option<DutyFilter>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueParam {
    Own,
    Bureau,
    All,
}

impl TaskParams {
    pub fn asked(&self) -> QueueAsked {
        match (self.department, self.scope) {
            (Some(d), _) => QueueAsked::Department(d),
            (None, None | Some(QueueParam::Own)) => QueueAsked::Own,
            (None, Some(QueueParam::Bureau)) => QueueAsked::Bureau,
            (None, Some(QueueParam::All)) => QueueAsked::All,
        }
    }
}

/// A cursor is the last (due date, id) of a page: `2026-03-05.812`.
fn parse_cursor(text: &str) -> Option<(NaiveDate, i64)> {
    let (date, id) = text.split_once('.')?;
    Some((
        NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
        id.parse().ok()?,
    ))
}

/// One page of the queue `params` ask for, as the caller may read it, each duty with its
/// countdown by the calendar read once for the page.
pub async fn queue_page(
    state: &AppState,
    caller: &domain::access::Caller,
    params: &TaskParams,
) -> ApiResult<List<TaskView>> {
    let scope = duty_scope(caller, params.asked())?;
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            parse_cursor(text)
                .ok_or_else(|| ApiError::field("cursor", "翻页标记无效，请从第一页重新开始"))?,
        ),
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "每页条数应为 1–500"));
    }
    let calendar = state.store.calendar().await?;
    let today = beijing_date(Utc::now());
    let due_soon_until =
        calendar.last_day_within(today, state.store.deadline_rules().due_soon_days);
    let page = state
        .store
        .duties(&DutyQuery {
            scope,
            kind: params.kind,
            filter: params.state.unwrap_or_default(),
            today,
            due_soon_until,
            after,
            limit,
        })
        .await?;
    Ok(List {
        items: page
            .items
            .into_iter()
            .map(|duty| task_view(state, &calendar, duty))
            .collect(),
        total: page.total,
        next: page.next.map(|(due, id)| format!("{due}.{id}")),
    })
}

/// The caller's queue (待办), earliest due first; the bureau and the auditor may read any
/// department's, the bureau's own, or all of them.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "hall", security(("bearer" = [])), params(TaskParams),
    responses((status = 200, body = List<TaskView>), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn tasks(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<TaskParams>,
) -> ApiResult<axum::Json<List<TaskView>>> {
    Ok(axum::Json(
        queue_page(&state, &principal.caller(), &params).await?,
    ))
}

/// The bureau's urging note (督办).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Urging {
    /// What the owner should do, 4–500 characters.
    pub note: String,
}

/// Urges (督办) the owner of an open duty: the note shows on the duty and reaches the
/// owner as a notification.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/urge", tag = "hall", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Urging,
    responses((status = 201, body = TaskView), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn urge(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(urging): Json<Urging>,
) -> ApiResult<(axum::http::StatusCode, axum::Json<TaskView>)> {
    let ctx = audit_context(Some(&principal), &meta);
    let duty = state.store.urge_duty(id, &urging.note, &ctx).await?;
    let calendar = state.store.calendar().await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(task_view(&state, &calendar, duty)),
    ))
}
