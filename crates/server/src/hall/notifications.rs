//! Notifications inside the hall: `/api/v1/notifications` and the 通知 page behind the bell.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::Form;
use maud::html;
use serde::{Deserialize, Serialize};
use store::notifications::{Notification, NotificationPage};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List, Query};
use crate::page::{form_value, layout, redirect_to, thousands, Notice, PageResult, WebUser};
use crate::AppState;

type Fields = HashMap<String, Vec<String>>;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// Only those not yet read.
    pub unread: Option<bool>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

async fn page_of(
    state: &AppState,
    caller: &domain::access::Caller,
    params: &NotificationParams,
) -> ApiResult<NotificationPage> {
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::field("cursor", "翻页标记无效，请从第一页重新开始"))?,
        ),
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "每页条数应为 1–200"));
    }
    Ok(state
        .store
        .notifications(caller, params.unread.unwrap_or(false), before, limit)
        .await?)
}

/// The caller's notifications, newest first (a department's people read their
/// department's, the bureau's people the bureau's; everyone keeps their own read marks).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "hall", security(("bearer" = [])),
    params(NotificationParams),
    responses((status = 200, body = List<Notification>), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<NotificationParams>,
) -> ApiResult<axum::Json<List<Notification>>> {
    let page = page_of(&state, &principal.caller(), &params).await?;
    Ok(axum::Json(List {
        items: page.items,
        total: page.total,
        next: page.next.map(|id| id.to_string()),
    }))
}

/// Which notifications to mark read: some by id, or all of them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// At most 500 ids; omitted with `all`.
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Every notification of the caller's.
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Marked {
    /// How many were unread and are read now.
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "hall", security(("bearer" = [])),
    request_body = MarkRead,
    responses((status = 200, body = Marked), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(body): Json<MarkRead>,
) -> ApiResult<axum::Json<Marked>> {
    // Who may, before what was asked: an application learns nothing from a 400.
    domain::access::check(&principal.caller(), domain::access::Act::UseHall)?;
    if body.ids.len() > 500 {
        return Err(ApiError::field("ids", "一次最多标记 500 条"));
    }
    if body.all != body.ids.is_empty() {
        return Err(ApiError::field(
            "ids",
            "请列出要标为已读的通知，或选择全部（all）",
        ));
    }
    let ctx = audit_context(Some(&principal), &meta);
    let ids = (!body.all).then_some(body.ids.as_slice());
    let marked = state.store.mark_notifications_read(ids, &ctx).await?;
    Ok(axum::Json(Marked { marked }))
}

/// 通知: the bell's page.
pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    axum::extract::Query(params): axum::extract::Query<NotificationParams>,
    axum::extract::Query(notice): axum::extract::Query<Notice>,
) -> PageResult {
    let page = page_of(&state, &user.caller(), &params).await?;
    let content = html! {
        @if let Some(text) = notice.text() { div.notice.ok role="status" { (text) } }
        p.muted { "共 " (thousands(page.total)) " 条，未读 " (thousands(page.unread)) " 条" }
        @if page.unread > 0 {
            form method="post" action="/notifications/read" id="read-all" {
                input type="hidden" name="_csrf" value=(user.csrf());
                input type="hidden" name="all" value="true";
                button type="submit" { "全部标为已读" }
            }
        }
        @if page.items.is_empty() {
            p.muted { "暂无通知" }
        } @else {
            table id="notifications" {
                tr { th { "时间" } th { "内容" } th { "状态" } th { "" } }
                @for n in &page.items {
                    tr id={"notification-" (n.id)} class=[(!n.read).then_some("unread")] {
                        td { (crate::page::beijing(&n.created_at)) }
                        td { (n.text) }
                        td { @if n.read { span.muted { "已读" } } @else { strong { "未读" } } }
                        td {
                            @if !n.read {
                                form.inline method="post" action="/notifications/read" {
                                    input type="hidden" name="_csrf" value=(user.csrf());
                                    input type="hidden" name="id" value=(n.id);
                                    button type="submit" { "标为已读" }
                                }
                            }
                            " " a href="/" { "去办理" }
                        }
                    }
                }
            }
        }
        div.pager {
            @if params.cursor.is_some() { a href="/notifications" { "第一页" } }
            @if let Some(next) = page.next { a href={"/notifications?cursor=" (next)} { "下一页" } }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/notifications",
        &[("", "通知")],
        "通知",
        content,
    ))
}

/// 标为已读 / 全部标为已读.
pub async fn read(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> Result<Response, crate::page::PageError> {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = audit_context(Some(&user.0), &meta);
    let ids: Vec<i64> = form
        .get("id")
        .into_iter()
        .flatten()
        .filter_map(|id| id.parse().ok())
        .collect();
    let all = form_value(&form, "all") == "true";
    let marked = state
        .store
        .mark_notifications_read((!all).then_some(ids.as_slice()), &ctx)
        .await
        .map_err(ApiError::from)?;
    redirect_to("/notifications", &format!("已将 {marked} 条通知标为已读"))
}
