//! 数据异议 pages: objections a department raised or must answer, with the provider's
//! forms. JSON twin: `/api/v1/objections`. A refused form comes back with what was typed.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::{matter_scope, Act};
use domain::sharing::{ObjectionStatus, ObjectionStep, RequestStatus};
use maud::html;
use store::sharing::RequestScope;

use crate::auth::Meta;
use crate::error::ApiError;
use crate::json::Path;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, with_status, FormState,
    Notice, PageResult, WebUser,
};
use crate::AppState;

type Fields = HashMap<String, Vec<String>>;

/// 数据异议: objections a department raised or must answer, with the provider's forms.
pub async fn objections(
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
    let scope: RequestScope = matter_scope(&user.caller()).map_err(ApiError::from)?;
    let calendar = state.store.calendar().await?;
    let objections = state.store.objections(scope).await?;
    // Entries this department holds a grant on: the ones it may raise an objection about.
    let granted = match scope {
        RequestScope::Department(department) => granted_entries(state, department).await?,
        RequestScope::All => Vec::new(),
    };
    let chosen = form.value("raise", "resource", "");
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        p.muted { "获得授权的使用部门发现数据错误可提出异议；提供方受理后，该记录对所有使用方标注“异议中”，核实后更正或确认无误。" }
        @if !granted.is_empty() {
            (form.banner("raise"))
            form.stack method="post" action="/objections" id="raise-objection" {
                (csrf_field(user))
                label { "目录 " select name="resource" required {
                    @for (code, name) in &granted { option value=(code) selected[chosen == code] { (name) "（" (code) "）" } }
                } }
                (form.errors("raise", "resource"))
                label { "记录主键 " input type="text" name="key" required maxlength="200" placeholder="如身份证号；多个主键用逗号分隔" value=(form.value("raise", "key", "")); }
                (form.errors("raise", "key"))
                label { "有误的信息项 " input type="text" name="items" required maxlength="500" placeholder="信息项名称或标识，用逗号分隔" value=(form.value("raise", "items", "")); }
                (form.errors("raise", "items"))
                label { "错误说明 " textarea name="description" required maxlength="1000" rows="2" { (form.value("raise", "description", "")) } }
                (form.errors("raise", "description"))
                button type="submit" { "提出异议" }
            }
        }
        table id="objections" {
            tr { th { "编号" } th { "目录" } th { "提出部门" } th { "信息项" } th { "说明" } th { "状态" } th { "时限" } th { "处理" } }
            @for o in &objections {
                @let id = format!("answer-{}", o.id);
                tr id={"objection-" (o.id)} {
                    td.num { (o.id) }
                    td { a href=(code_path(&o.code)) { (o.resource_name) } }
                    td { (o.consumer_name) }
                    td { (o.items.join("、")) }
                    td { (o.description) @if let Some(a) = &o.answer { br; span.muted { "答复：" (a) } } }
                    td { (crate::page::tag(o.status.label(), crate::page::tones::objection(o.status))) }
                    td { @if let Some(d) = &o.duty { (countdown_tag(&crate::hall::tasks::countdown(state, &calendar, d))) } }
                    td {
                        @if !o.status.closed() && user.may(Act::AnswerObjection { provider: o.provider_id }) {
                            (form.banner(&id))
                            form.stack method="post" action={"/objections/" (o.id) "/answer"} {
                                (csrf_field(user))
                                label { "处理 " select name="step" {
                                    @let steps: &[(&str, &str)] = if o.status == ObjectionStatus::Submitted {
                                        &[("accept", "受理（标注异议中）"), ("reject", "不予受理")]
                                    } else {
                                        &[("correct", "已更正"), ("confirm", "核实无误")]
                                    };
                                    @for (code, label) in steps {
                                        option value=(code) selected[form.value(&id, "step", "") == *code] { (label) }
                                    }
                                } }
                                label { "处理说明 " input type="text" name="answer" value=(form.value(&id, "answer", "")); }
                                (form.errors(&id, "answer"))
                                button type="submit" { "提交" }
                            }
                        }
                    }
                }
            }
        }
        @if objections.is_empty() { p.muted { "暂无数据异议。" } }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/objections",
            &[("", "数据异议")],
            "数据异议",
            content,
        ),
        form,
    ))
}

/// (code, name) of the entries a department holds an approved request for.
async fn granted_entries(
    state: &AppState,
    department: i64,
) -> crate::error::ApiResult<Vec<(String, String)>> {
    let mut entries: Vec<(String, String)> = state
        .store
        .share_requests(RequestScope::Department(department))
        .await?
        .into_iter()
        .filter(|r| r.consumer_id == department && r.status == RequestStatus::Approved)
        .map(|r| (r.code, r.resource_name))
        .collect();
    entries.sort();
    entries.dedup();
    Ok(entries)
}

/// Splits a form list on commas (ASCII or Chinese) and 、.
fn list_field(text: &str) -> Vec<String> {
    text.split([',', '，', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn raise_objection(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let outcome = raise(&state, &user, &meta, &form).await;
    match outcome {
        Ok(id) => redirect_to("/objections", &format!("异议 {id} 已提出，待提供方受理")),
        Err(error) => {
            page(
                &state,
                &user,
                None,
                &FormState::failed("raise", form, error),
            )
            .await
        }
    }
}

async fn raise(
    state: &AppState,
    user: &WebUser,
    meta: &crate::auth::RequestMeta,
    form: &Fields,
) -> Result<i64, ApiError> {
    let code = form_value(form, "resource").trim().to_string();
    // Staff name items as they read them: a name is taken for its identifier.
    let entry = state.store.shared_entry(&code, &user.caller()).await?;
    let body = state.store.published_body(&entry).await?;
    let items = list_field(form_value(form, "items"))
        .into_iter()
        .map(|named| {
            body.items
                .iter()
                .find(|i| i.name == named || i.identifier == named)
                .map_or(named, |i| i.identifier.clone())
        })
        .collect();
    let objection = super::api::raise_objection(
        state,
        &user.0,
        meta,
        super::api::NewObjectionBody {
            resource: code,
            key: list_field(form_value(form, "key")),
            items,
            description: form_value(form, "description").to_string(),
        },
    )
    .await?;
    Ok(objection.id)
}

pub async fn answer_objection(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let step = match form_value(&form, "step") {
        "accept" => Some(ObjectionStep::Accept),
        "reject" => Some(ObjectionStep::Reject),
        "correct" => Some(ObjectionStep::Correct),
        "confirm" => Some(ObjectionStep::Confirm),
        _ => None,
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let outcome = match step {
        None => Err(ApiError::field("step", "请选择处理方式")),
        Some(step) => state
            .store
            .answer_objection(id, step, form_value(&form, "answer"), &ctx)
            .await
            .map_err(ApiError::from),
    };
    match outcome {
        Ok(answered) => redirect_to(
            "/objections",
            &format!("异议 {id}：{}", answered.status.label()),
        ),
        Err(error) => {
            let failed = FormState::failed(&format!("answer-{id}"), form, error);
            page(&state, &user, None, &failed).await
        }
    }
}
