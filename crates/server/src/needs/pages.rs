//! 需求清单 pages: every department's needs; post one, the bureau assigns, the provider
//! answers. JSON twin: `/api/v1/needs`.

use std::collections::HashMap;

use crate::json::Path;
use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::Act;
use maud::html;

use crate::error::ApiError;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, Notice, PageResult,
    WebUser,
};
use crate::AppState;

/// 需求清单: every department's needs; post one, the bureau assigns, the provider answers.
pub async fn needs(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    use domain::sharing::NeedStatus;
    let calendar = state.store.calendar().await?;
    let needs = state.store.needs().await?;
    let assigns = user.may(Act::AssignNeed);
    let departments = if assigns {
        state.store.departments().await?
    } else {
        Vec::new()
    };
    let content = html! {
        @if let Some(text) = &notice.notice { div.notice.ok { (text) } }
        @if user.may(Act::PostNeed) {
            form.stack method="post" action="/needs" {
                (csrf_field(&user))
                label { "需要的数据 " input type="text" name="title" required maxlength="100"; }
                label { "用途与依据 " textarea name="description" required maxlength="2000" rows="2" {} }
                button type="submit" { "提出需求" }
            }
        }
        table id="needs" {
            tr { th { "编号" } th { "需求" } th { "提出部门" } th { "提供方" } th { "状态" } th { "时限" } th { "处理" } }
            @for n in &needs {
                tr {
                    td.num { (n.id) }
                    td { strong { (n.title) } br; span.muted { (n.description) }
                         @if let Some(a) = &n.answer { br; span.muted { "答复：" (a) } }
                         @if let Some(code) = &n.resource_code { " " a href=(code_path(code)) { (code) } } }
                    td { (n.consumer_name) }
                    td { (n.provider_name.as_deref().unwrap_or("—")) }
                    td { span class={"tag " (match n.status { NeedStatus::Submitted | NeedStatus::Assigned => "in-progress", NeedStatus::Catalogued => "done", NeedStatus::Declined => "refused" })} { (n.status.label()) } }
                    td { @if let Some(d) = &n.duty { (countdown_tag(&crate::sharing::api::countdown(&state, &calendar, d))) } }
                    td {
                        @if n.status == NeedStatus::Submitted && assigns {
                            form.inline method="post" action={"/needs/" (n.id) "/assign"} {
                                (csrf_field(&user))
                                select name="department_id" {
                                    @for d in departments.iter().filter(|d| d.id != n.consumer_id) { option value=(d.id) { (d.name) } }
                                }
                                button type="submit" { "分派" }
                            }
                        }
                        @if n.status == NeedStatus::Assigned && n.provider_id.is_some_and(|provider| user.may(Act::AnswerNeed { provider })) {
                            form.inline method="post" action={"/needs/" (n.id) "/answer"} {
                                (csrf_field(&user))
                                input type="text" name="resource" placeholder="已编目的信息资源代码";
                                button type="submit" name="outcome" value="catalogued" { "已编目" }
                                input type="text" name="reason" placeholder="不能提供的理由";
                                button type="submit" name="outcome" value="declined" { "不能提供" }
                            }
                        }
                    }
                }
            }
        }
        @if needs.is_empty() { p.muted { "暂无数据需求。" } }
    };
    Ok(layout(
        &state,
        &user,
        "/needs",
        &[("", "需求清单")],
        "需求清单",
        content,
    ))
}

pub async fn post_need(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let need = state
        .store
        .post_need(
            form_value(&form, "title"),
            form_value(&form, "description"),
            &ctx,
        )
        .await?;
    redirect_to("/needs", &format!("需求 {} 已提出，待管理方分派", need.id))
}

pub async fn assign_need(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let department: i64 = form_value(&form, "department_id")
        .parse()
        .map_err(|_| ApiError::field("department_id", "请选择提供方"))?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let calendar = state.store.calendar().await?;
    state
        .store
        .assign_need(
            id,
            department,
            &state.config.deadline_rules,
            &calendar,
            &ctx,
        )
        .await?;
    redirect_to("/needs", &format!("需求 {id} 已分派"))
}

pub async fn answer_need(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    use store::needs::NeedAnswer;
    user.check_csrf(form_value(&form, "_csrf"))?;
    let answer = match form_value(&form, "outcome") {
        "catalogued" => NeedAnswer::Catalogued {
            resource: form_value(&form, "resource").trim().to_string(),
            note: None,
        },
        _ => NeedAnswer::Declined {
            reason: form_value(&form, "reason").to_string(),
        },
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let need = state.store.answer_need(id, &answer, &ctx).await?;
    redirect_to("/needs", &format!("需求 {id}：{}", need.status.label()))
}
