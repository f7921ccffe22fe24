//! 数据异议 pages: objections a department raised or must answer, with the provider's
//! forms. JSON twin: `/api/v1/objections`.

use std::collections::HashMap;

use crate::json::Path;
use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::{matter_scope, Act};
use domain::sharing::RequestStatus;
use maud::html;
use store::sharing::RequestScope;

use crate::error::ApiError;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, Notice, PageError,
    PageResult, WebUser,
};
use crate::AppState;

/// 数据异议: objections a department raised or must answer, with the provider's forms.
pub async fn objections(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let scope: RequestScope = matter_scope(&user.caller()).map_err(ApiError::from)?;
    let calendar = state.store.calendar().await?;
    let objections = state.store.objections(scope).await?;
    // Entries this department holds a grant on: the ones it may raise an objection about.
    let granted = match scope {
        RequestScope::Department(department) => granted_entries(&state, department).await?,
        RequestScope::All => Vec::new(),
    };
    let content = html! {
        @if let Some(text) = &notice.notice { div.notice.ok { (text) } }
        p.muted { "获得授权的使用部门发现数据错误可提出异议；提供方受理后，该记录对所有使用方标注“异议中”，核实后更正或确认无误。" }
        @if !granted.is_empty() {
            form.stack method="post" action="/objections" id="raise-objection" {
                (csrf_field(&user))
                label { "目录 " select name="resource" required {
                    @for (code, name) in &granted { option value=(code) { (name) "（" (code) "）" } }
                } }
                label { "记录主键 " input type="text" name="key" required maxlength="200" placeholder="如身份证号；多个主键用逗号分隔"; }
                label { "有误的信息项 " input type="text" name="items" required maxlength="500" placeholder="信息项名称或标识，用逗号分隔"; }
                label { "错误说明 " textarea name="description" required maxlength="1000" rows="2" {} }
                button type="submit" { "提出异议" }
            }
        }
        table id="objections" {
            tr { th { "编号" } th { "目录" } th { "提出部门" } th { "信息项" } th { "说明" } th { "状态" } th { "时限" } th { "处理" } }
            @for o in &objections {
                tr {
                    td.num { (o.id) }
                    td { a href=(code_path(&o.code)) { (o.resource_name) } }
                    td { (o.consumer_name) }
                    td { (o.items.join("、")) }
                    td { (o.description) @if let Some(a) = &o.answer { br; span.muted { "答复：" (a) } } }
                    td { span class={"tag " (if o.status.closed() { "done" } else { "in-progress" })} { (o.status.label()) } }
                    td { @if let Some(d) = &o.duty { (countdown_tag(&crate::sharing::api::countdown(&state, &calendar, d))) } }
                    td {
                        @if !o.status.closed() && user.may(Act::AnswerObjection { provider: o.provider_id }) {
                            form.inline method="post" action={"/objections/" (o.id) "/answer"} {
                                (csrf_field(&user))
                                input type="text" name="answer" placeholder="处理说明";
                                @if o.status == domain::sharing::ObjectionStatus::Submitted {
                                    button type="submit" name="step" value="accept" { "受理" }
                                    button type="submit" name="step" value="reject" { "不予受理" }
                                } @else {
                                    button type="submit" name="step" value="correct" { "已更正" }
                                    button type="submit" name="step" value="confirm" { "核实无误" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if objections.is_empty() { p.muted { "暂无数据异议。" } }
    };
    Ok(layout(
        &state,
        &user,
        "/objections",
        &[("", "数据异议")],
        "数据异议",
        content,
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
    crate::auth::Meta(meta): crate::auth::Meta,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let code = form_value(&form, "resource").trim().to_string();
    // Staff name items as they read them: a name is taken for its identifier.
    let entry = state.store.shared_entry(&code, &user.caller()).await?;
    let body = state.store.published_body(&entry).await?;
    let items = list_field(form_value(&form, "items"))
        .into_iter()
        .map(|named| {
            body.items
                .iter()
                .find(|i| i.name == named || i.identifier == named)
                .map_or(named, |i| i.identifier.clone())
        })
        .collect();
    let objection = super::api::raise_objection(
        &state,
        &user.0,
        &meta,
        super::api::NewObjectionBody {
            resource: code,
            key: list_field(form_value(&form, "key")),
            items,
            description: form_value(&form, "description").to_string(),
        },
    )
    .await?;
    redirect_to(
        "/objections",
        &format!("异议 {} 已提出，待提供方受理", objection.id),
    )
}

pub async fn answer_objection(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    use domain::sharing::ObjectionStep;
    user.check_csrf(form_value(&form, "_csrf"))?;
    let step = match form_value(&form, "step") {
        "accept" => ObjectionStep::Accept,
        "reject" => ObjectionStep::Reject,
        "correct" => ObjectionStep::Correct,
        "confirm" => ObjectionStep::Confirm,
        _ => return Err(PageError(ApiError::field("step", "未知的处理方式"))),
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let answered = state
        .store
        .answer_objection(id, step, form_value(&form, "answer"), &ctx)
        .await?;
    redirect_to(
        "/objections",
        &format!("异议 {id}：{}", answered.status.label()),
    )
}
