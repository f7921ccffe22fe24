//! 需求清单 pages: every department's needs; post one, the bureau assigns, the provider
//! answers. JSON twin: `/api/v1/needs`. A refused form comes back with what was typed.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::Act;
use domain::sharing::NeedStatus;
use maud::html;
use store::needs::NeedAnswer;

use crate::auth::{audit_context, Meta};
use crate::error::ApiError;
use crate::json::Path;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, with_status, FormState,
    Notice, PageResult, WebUser,
};
use crate::AppState;

type Fields = HashMap<String, Vec<String>>;

/// 需求清单: every department's needs; post one, the bureau assigns, the provider answers.
pub async fn needs(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    page(&state, &user, notice.text(), &FormState::default()).await
}

async fn page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    form: &FormState,
) -> PageResult {
    user.require(Act::ViewNeeds)?;
    let calendar = state.store.calendar().await?;
    let needs = state.store.needs().await?;
    let assigns = user.may(Act::AssignNeed);
    let departments = if assigns {
        state.store.departments().await?
    } else {
        Vec::new()
    };
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        @if user.may(Act::PostNeed) {
            (form.banner("post"))
            form.stack method="post" action="/needs" id="post-need" {
                (csrf_field(user))
                label { "需要的数据 " input type="text" name="title" required maxlength="100" value=(form.value("post", "title", "")); }
                (form.errors("post", "title"))
                label { "用途与依据 " textarea name="description" required maxlength="2000" rows="2" { (form.value("post", "description", "")) } }
                (form.errors("post", "description"))
                button type="submit" { "提出需求" }
            }
        }
        table id="needs" {
            tr { th { "编号" } th { "需求" } th { "提出部门" } th { "提供方" } th { "状态" } th { "时限" } th { "处理" } }
            @for n in &needs {
                @let assign_form = format!("assign-{}", n.id);
                @let answer_form = format!("answer-{}", n.id);
                tr id={"need-" (n.id)} {
                    td.num { (n.id) }
                    td { strong { (n.title) } br; span.muted { (n.description) }
                         @if let Some(a) = &n.answer { br; span.muted { "答复：" (a) } }
                         @if let Some(code) = &n.resource_code { " " a href=(code_path(code)) { (code) } } }
                    td { (n.consumer_name) }
                    td { (n.provider_name.as_deref().unwrap_or("—")) }
                    td { (crate::page::tag(n.status.label(), crate::page::tones::need(n.status))) }
                    td { @if let Some(d) = &n.duty { (countdown_tag(&crate::hall::tasks::countdown(state, &calendar, d))) } }
                    td {
                        @if n.status == NeedStatus::Submitted && assigns {
                            (form.banner(&assign_form))
                            form.inline method="post" action={"/needs/" (n.id) "/assign"} {
                                (csrf_field(user))
                                label { "提供方 " select name="department_id" {
                                    @for d in departments.iter().filter(|d| d.id != n.consumer_id) {
                                        option value=(d.id) selected[form.value(&assign_form, "department_id", "") == d.id.to_string()] { (d.name) }
                                    }
                                } }
                                (form.errors(&assign_form, "department_id"))
                                button type="submit" { "分派" }
                            }
                        }
                        @if n.status == NeedStatus::Assigned && n.provider_id.is_some_and(|provider| user.may(Act::AnswerNeed { provider })) {
                            (form.banner(&answer_form))
                            form.stack method="post" action={"/needs/" (n.id) "/answer"} {
                                (csrf_field(user))
                                label { "信息资源代码 " input type="text" name="resource" placeholder="已编目的信息资源代码" value=(form.value(&answer_form, "resource", "")); }
                                (form.errors(&answer_form, "resource"))
                                button type="submit" name="outcome" value="catalogued" { "已编目" }
                                label { "不能提供的理由 " input type="text" name="reason" value=(form.value(&answer_form, "reason", "")); }
                                (form.errors(&answer_form, "reason"))
                                button type="submit" name="outcome" value="declined" { "不能提供" }
                            }
                        }
                    }
                }
            }
        }
        @if needs.is_empty() { p.muted { "暂无数据需求。" } }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/needs",
            &[("", "需求清单")],
            "需求清单",
            content,
        ),
        form,
    ))
}

/// Runs a form's action; on refusal, shows the page again with the form's values kept.
async fn finish<T>(
    state: &AppState,
    user: &WebUser,
    form_name: &str,
    form: Fields,
    outcome: Result<T, ApiError>,
    notice: impl FnOnce(T) -> String,
) -> PageResult {
    match outcome {
        Ok(done) => redirect_to("/needs", &notice(done)),
        Err(error) => {
            page(
                state,
                user,
                None,
                &FormState::failed(form_name, form, error),
            )
            .await
        }
    }
}

pub async fn post_need(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = state
        .store
        .post_need(
            form_value(&form, "title"),
            form_value(&form, "description"),
            &ctx,
        )
        .await
        .map_err(ApiError::from);
    finish(&state, &user, "post", form, outcome, |need| {
        format!("需求 {} 已提出，待管理方分派", need.id)
    })
    .await
}

pub async fn assign_need(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = async {
        let department: i64 = form_value(&form, "department_id")
            .parse()
            .map_err(|_| ApiError::field("department_id", "请选择提供方"))?;
        state.store.assign_need(id, department, &ctx).await?;
        Ok(())
    }
    .await;
    let form_name = format!("assign-{id}");
    finish(&state, &user, &form_name, form, outcome, |()| {
        format!("需求 {id} 已分派")
    })
    .await
}

pub async fn answer_need(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
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
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = state
        .store
        .answer_need(id, &answer, &ctx)
        .await
        .map_err(ApiError::from);
    let form_name = format!("answer-{id}");
    finish(&state, &user, &form_name, form, outcome, |need| {
        format!("需求 {id}：{}", need.status.label())
    })
    .await
}
