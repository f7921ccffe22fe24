//! 共享申请 pages: apply for an entry, the requests a department made or must decide (with
//! their working-day countdowns), decisions and revocations, and the 工作日历 page.
//! JSON twins: `/api/v1/share-requests…` and `/api/v1/calendar/…`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::Form;
use domain::account::Role;
use domain::deadline::{Countdown, DutyState};
use domain::sharing::{Decision, RequestInput, RequestStatus};
use maud::{html, Markup};
use store::sharing::{RequestScope, ShareRequest};

use super::{code_path, csrf_field, layout, PageError, PageResult, WebUser};
use crate::api::sharing::{view, ShareRequestView};
use crate::error::ApiError;
use crate::AppState;

/// The state tag of a request (SPEC §6 vocabulary and colours).
fn request_tag(status: RequestStatus) -> Markup {
    let class = match status {
        RequestStatus::Pending => "in-progress",
        RequestStatus::Approved => "done",
        RequestStatus::Coordinating => "due-soon",
        RequestStatus::Refused | RequestStatus::Revoked => "refused",
    };
    html! { span class={"tag " (class)} { (status.label()) } }
}

pub fn countdown_tag(countdown: &Countdown) -> Markup {
    let class = match countdown.state {
        DutyState::OnTime => "in-progress",
        DutyState::DueSoon => "due-soon",
        DutyState::Overdue | DutyState::DoneLate => "overdue",
        DutyState::Done => "done",
    };
    html! {
        span class={"tag " (class)} { (countdown.state.label()) }
        " " span.muted { (countdown.text) "（" (countdown.due) "）" }
    }
}

fn form_value<'a>(form: &'a HashMap<String, Vec<String>>, name: &str) -> &'a str {
    form.get(name)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("")
}

#[derive(serde::Deserialize)]
pub struct Notice {
    #[serde(default)]
    notice: Option<String>,
}

/// 共享申请: every request the person may see, newest first.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let scope = crate::api::sharing::oversight_scope(&user.0, "无权查看共享申请")?
        .map_or(RequestScope::All, RequestScope::Department);
    let calendar = state.store.calendar().await?;
    let requests: Vec<ShareRequestView> = state
        .store
        .share_requests(scope)
        .await?
        .into_iter()
        .map(|r| view(&state, &calendar, r))
        .collect();
    let own = user.0.department_id();
    let scope = crate::api::sharing::oversight_scope(&user.0, "无权查看共享申请")?;
    let reviews = state.store.basis_reviews(scope).await?;
    let content = html! {
        @if let Some(text) = &notice.notice { div.notice.ok { (text) } }
        p.muted { "无条件共享的申请由平台即时授权（3 个工作日时限当即办结）；有条件共享的申请由提供方在 10 个工作日内审批，拒绝须说明理由并转管理方协调。时限按国务院节假日安排计算。" }
        table id="share-requests" {
            tr { th { "编号" } th { "目录" } th { "提供方" } th { "申请方" } th { "应用系统" } th { "信息项" } th { "状态" } th { "时限" } th { "操作" } }
            @for v in &requests {
                @let r = &v.request;
                tr {
                    td.num { (r.id) }
                    td { a href=(code_path(&r.code)) { (r.resource_name) } br; span.mono.muted { (r.code) } }
                    td { (r.provider_name) }
                    td { (r.consumer_name) }
                    td { (r.application) }
                    td { (r.granted_items.as_ref().unwrap_or(&r.items).join("、")) }
                    td { (request_tag(r.status)) @if let Some(reason) = &r.reason { br; span.muted { (reason) } } }
                    td { @if let Some(c) = &v.countdown { (countdown_tag(c)) } }
                    td { (actions(&user, r, own)) }
                }
            }
        }
        @if requests.is_empty() { p.muted { "暂无共享申请。在目录详情页可申请共享。" } }
        @if !reviews.is_empty() {
            h2 id="basis-reviews" { "不予共享依据复核" }
            (reviews_table(&state, &user, &calendar, &reviews))
        }
    };
    Ok(layout(
        &state,
        &user,
        "/sharing",
        &[("", "共享申请")],
        "共享申请",
        content,
    ))
}

/// Reviews of the not-shared basis, with the bureau's decision form on open ones.
fn reviews_table(
    state: &AppState,
    user: &WebUser,
    calendar: &domain::calendar::Calendar,
    reviews: &[store::basis_reviews::BasisReview],
) -> Markup {
    use domain::sharing::ReviewStatus;
    html! {
        table id="basis-review-list" {
            tr { th { "编号" } th { "目录" } th { "不予共享的信息项" } th { "申请方" } th { "理由" } th { "结论" } th { "时限" } th { "复核" } }
            @for b in reviews {
                tr {
                    td.num { (b.id) }
                    td { a href=(code_path(&b.code)) { (b.resource_name) } br; span.muted { (b.provider_name) } }
                    td { @if b.items.is_empty() { "整个目录" } @else { (b.items.join("、")) } }
                    td { (b.consumer_name) }
                    td { (b.reason) }
                    td { span class={"tag " (match b.status { ReviewStatus::Submitted => "in-progress", ReviewStatus::Upheld => "refused", ReviewStatus::Overturned => "done" })} { (b.status.label()) }
                         @if let Some(a) = &b.answer { br; span.muted { (a) } } }
                    td { @if let Some(d) = &b.duty { (countdown_tag(&crate::api::sharing::countdown(state, calendar, d))) } }
                    td {
                        @if b.status == ReviewStatus::Submitted && user.role() == Role::Admin {
                            form.inline method="post" action={"/basis-reviews/" (b.id) "/decision"} {
                                (csrf_field(user))
                                input type="text" name="answer" required placeholder="复核意见及依据";
                                button type="submit" name="decision" value="uphold" { "维持不予共享" }
                                button type="submit" name="decision" value="overturn" { "应予共享" }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn request_review(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let calendar = state.store.calendar().await?;
    let items = form.get("review_items").cloned().unwrap_or_default();
    let review = state
        .store
        .request_basis_review(
            &store::basis_reviews::ReviewRequest {
                code: &format!("{prefix}/{seq}"),
                items: &items,
                reason: form_value(&form, "reason"),
            },
            &user.0.actor(),
            &state.config.deadline_rules,
            &calendar,
            &ctx,
        )
        .await?;
    redirect_to("/sharing", &format!("复核申请 {} 已提交管理方", review.id))
}

pub async fn decide_review(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let upheld = match form_value(&form, "decision") {
        "uphold" => true,
        "overturn" => false,
        _ => return Err(PageError(ApiError::field("decision", "未知的复核结论"))),
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let calendar = state.store.calendar().await?;
    let review = state
        .store
        .decide_basis_review(
            id,
            &store::basis_reviews::ReviewDecision {
                upheld,
                answer: form_value(&form, "answer"),
                rules: &state.config.deadline_rules,
                calendar: &calendar,
            },
            &user.0.actor(),
            &ctx,
        )
        .await?;
    redirect_to("/sharing", &format!("复核 {id}：{}", review.status.label()))
}

/// The decision and revocation forms this person may use on a request.
fn actions(user: &WebUser, r: &ShareRequest, own: Option<i64>) -> Markup {
    let role = user.role();
    let provider_side = own == Some(r.provider_id) && matches!(role, Role::Chief | Role::Staff);
    let decides = match r.status {
        RequestStatus::Pending => provider_side || role == Role::Admin,
        RequestStatus::Coordinating => role == Role::Admin,
        _ => false,
    };
    let revokes = r.status == RequestStatus::Approved
        && (role == Role::Admin || (role == Role::Chief && own == Some(r.provider_id)));
    html! {
        @if decides {
            form.inline method="post" action={"/sharing/" (r.id) "/decision"} {
                (csrf_field(user))
                @for item in &r.items {
                    label { input type="checkbox" name="items" value=(item) checked; (item) } " "
                }
                button type="submit" name="decision" value="approve" { "同意" }
                input type="text" name="reason" placeholder="拒绝理由（拒绝时必填）";
                button type="submit" name="decision" value="refuse" { "拒绝" }
            }
        }
        @if revokes {
            form.inline method="post" action={"/sharing/" (r.id) "/revoke"} {
                (csrf_field(user))
                input type="text" name="reason" placeholder="撤销理由" required;
                button type="submit" { "撤销授权" }
            }
        }
    }
}

fn redirect_with(notice: &str) -> PageResult {
    redirect_to("/sharing", notice)
}

pub async fn decide(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let decision = match form_value(&form, "decision") {
        "refuse" => Decision::Refuse {
            reason: form_value(&form, "reason").to_string(),
        },
        _ => Decision::Approve {
            items: form.get("items").cloned().unwrap_or_default(),
            clear_items: vec![],
            row_filter: None,
            rate_per_minute: None,
            daily_quota: None,
        },
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let decided = state
        .store
        .decide_share_request(
            id,
            &decision,
            &user.0.actor(),
            &state.config.deadline_rules,
            &ctx,
        )
        .await?;
    redirect_with(&format!(
        "申请 {} 已处理：{}",
        decided.id,
        decided.status.label()
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    state
        .store
        .revoke_share_request(id, form_value(&form, "reason"), &user.0.actor(), &ctx)
        .await?;
    redirect_with(&format!("申请 {id} 的授权已撤销"))
}

/// 申请共享: the form on an entry of another department.
pub async fn apply_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    let code = format!("{prefix}/{seq}");
    let resource = state.store.resource(&code).await?;
    let body = state.store.published_body(&resource).await?;
    let valid_until = (chrono::Utc::now().date_naive() + chrono::Duration::days(365)).to_string();
    let not_shared: Vec<&domain::catalogue::Item> = body
        .items
        .iter()
        .filter(|i| body.item_share_type(i) == domain::catalogue::ShareType::NotShared)
        .collect();
    let content = html! {
        p { "提供方：" (resource.provider.name) " · 共享类型：" (body.share.share_type.label())
            @if let Some(c) = &body.share.conditions { " · 共享条件：" (c) } }
        form.stack method="post" action={(code_path(&code)) "/apply"} {
            (csrf_field(&user))
            fieldset {
                legend { "申请的信息项" }
                @for item in &body.items {
                    @let share = body.item_share_type(item);
                    label {
                        input type="checkbox" name="items" value=(item.identifier)
                            checked[share != domain::catalogue::ShareType::NotShared]
                            disabled[share == domain::catalogue::ShareType::NotShared];
                        (item.name) " " span.mono.muted { (item.identifier) } " " span.muted { (share.label()) @if item.personal { " · 个人信息（默认脱敏）" } }
                    }
                    br;
                }
            }
            label { "用途 " input type="text" name="purpose" required maxlength="500"; }
            label { "法律法规或政策依据 " input type="text" name="legal_basis" required maxlength="500"; }
            label { "使用的应用系统（与应用令牌名称一致） " input type="text" name="application" required maxlength="500"; }
            label { "有效期至 " input type="date" name="valid_until" value=(valid_until) required; }
            button type="submit" { "提交申请" }
        }
        @if !not_shared.is_empty() || body.share.share_type == domain::catalogue::ShareType::NotShared {
            h2 { "申请复核不予共享依据" }
            @if let Some(basis) = &body.share.legal_basis { p { "列明的不予共享依据：" (basis) } }
            p.muted { "以共享为原则、不共享为例外。认为不予共享的依据不成立时，可请管理方复核；管理方在协调时限内作出结论。" }
            form.stack method="post" action={(code_path(&code)) "/review"} id="review-basis" {
                (csrf_field(&user))
                @for item in &not_shared {
                    label { input type="checkbox" name="review_items" value=(item.identifier); (item.name) }
                    br;
                }
                label { "用途与依据 " textarea name="reason" required maxlength="2000" rows="2" {} }
                button type="submit" { "申请复核" }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/sharing",
        &[
            ("/sharing", "共享申请"),
            (&code_path(&code), &code),
            ("", "申请共享"),
        ],
        &format!("申请共享：{}", body.name),
        content,
    ))
}

pub async fn apply(
    State(state): State<AppState>,
    user: WebUser,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<HashMap<String, Vec<String>>>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let code = format!("{prefix}/{seq}");
    let valid_until =
        chrono::NaiveDate::parse_from_str(form_value(&form, "valid_until"), "%Y-%m-%d")
            .map_err(|_| ApiError::field("valid_until", "请填写有效期（YYYY-MM-DD）"))?;
    let input = RequestInput {
        items: form.get("items").cloned().unwrap_or_default(),
        purpose: form_value(&form, "purpose").to_string(),
        legal_basis: form_value(&form, "legal_basis").to_string(),
        application: form_value(&form, "application").to_string(),
        valid_until,
        clear_items: vec![],
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let request = state
        .store
        .submit_share_request(
            &code,
            &input,
            &user.0.actor(),
            &state.config.deadline_rules,
            &ctx,
        )
        .await?;
    redirect_with(&format!(
        "申请 {} 已提交：{}",
        request.id,
        request.status.label()
    ))
}

#[derive(serde::Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    received: Option<String>,
    #[serde(default)]
    n: Option<u32>,
}

/// 工作日历: the years held, their notices, and a deadline calculator.
pub async fn calendar(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<DeadlineForm>,
) -> PageResult {
    let calendar = state.store.calendar().await?;
    let answer = match (&query.received, query.n) {
        (Some(received), Some(n)) => Some(
            domain::calendar::parse_receipt(received)
                .map(|at| {
                    calendar.working_days_after(at, n.min(366), state.config.deadline_rules.cutoff)
                })
                .ok_or("收到时间应为 YYYY-MM-DD"),
        ),
        _ => None,
    };
    let rules = &state.config.deadline_rules;
    let content = html! {
        h2 { "办理时限" }
        table {
            tr { th { "事项" } th.num { "工作日" } th { "依据" } }
            @for rule in &rules.rules { tr { td { (rule.kind.label()) } td.num { (rule.working_days) } td { (rule.source) } } }
        }
        h2 { "时限计算" }
        form.inline method="get" action="/calendar" {
            label { "收到日期 " input type="date" name="received" value=(query.received.clone().unwrap_or_default()) required; }
            label { " 工作日数 " input type="number" name="n" min="0" max="366" value=(query.n.unwrap_or(10)); }
            button type="submit" { "计算" }
        }
        @match &answer {
            Some(Ok(deadline)) => div.notice.ok id="deadline" {
                "自 " (deadline.counted_from) " 起算，到期日 " strong { (deadline.due) }
                @if deadline.provisional { " " span.tag.due-soon { "暂定" } " " (deadline.missing_years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join("、")) " 年节假日安排尚未导入，按周一至周五计算" }
            },
            Some(Err(message)) => div.notice.error { (message) },
            None => {},
        }
        h2 { "已载入的节假日安排" }
        table id="calendar-years" {
            tr { th { "年份" } th { "通知" } th { "发布日期" } th.num { "放假天数" } th.num { "调休上班天数" } }
            @for s in calendar.schedules() {
                tr { td { (s.year) } td { (s.notice) } td { (s.notice_date) } td.num { (s.holidays.len()) } td.num { (s.make_up_days.len()) } }
            }
        }
        @if user.role() == Role::Admin {
            p.muted { "导入新年度安排：通过接口 POST /api/v1/calendar/years 或命令 datahall calendar import FILE。" }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/calendar",
        &[("", "工作日历")],
        "工作日历",
        content,
    ))
}

fn redirect_to(page: &str, notice: &str) -> PageResult {
    let query = super::query_string(&[("notice", notice)]);
    Ok(Redirect::to(&format!("{page}{query}")).into_response())
}

/// 数据异议: objections a department raised or must answer, with the provider's forms.
pub async fn objections(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let scope = crate::api::sharing::oversight_scope(&user.0, "无权查看数据异议")?;
    let calendar = state.store.calendar().await?;
    let objections = state.store.objections(scope).await?;
    let own = user.0.department_id();
    // Entries this department holds a grant on: the ones it may raise an objection about.
    let granted = match own {
        Some(department) if matches!(user.role(), Role::Chief | Role::Staff) => {
            granted_entries(&state, department).await?
        }
        _ => Vec::new(),
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
                    td { @if let Some(d) = &o.duty { (countdown_tag(&crate::api::sharing::countdown(&state, &calendar, d))) } }
                    td {
                        @if own == Some(o.provider_id) && !o.status.closed() {
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
    let body = state
        .store
        .published_body(&state.store.resource(&code).await?)
        .await?;
    let items = list_field(form_value(&form, "items"))
        .into_iter()
        .map(|named| {
            body.items
                .iter()
                .find(|i| i.name == named || i.identifier == named)
                .map_or(named, |i| i.identifier.clone())
        })
        .collect();
    let objection = crate::api::objections::raise_objection(
        &state,
        &user.0,
        &meta,
        crate::api::objections::NewObjectionBody {
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
        .answer_objection(id, step, form_value(&form, "answer"), &user.0.actor(), &ctx)
        .await?;
    redirect_to(
        "/objections",
        &format!("异议 {id}：{}", answered.status.label()),
    )
}

/// 需求清单: every department's needs; post one, the bureau assigns, the provider answers.
pub async fn needs(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    use domain::sharing::NeedStatus;
    let calendar = state.store.calendar().await?;
    let needs = state.store.needs().await?;
    let departments = if user.role() == Role::Admin {
        state.store.departments().await?
    } else {
        Vec::new()
    };
    let own = user.0.department_id();
    let content = html! {
        @if let Some(text) = &notice.notice { div.notice.ok { (text) } }
        @if matches!(user.role(), Role::Chief | Role::Staff) {
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
                    td { @if let Some(d) = &n.duty { (countdown_tag(&crate::api::sharing::countdown(&state, &calendar, d))) } }
                    td {
                        @if n.status == NeedStatus::Submitted && user.role() == Role::Admin {
                            form.inline method="post" action={"/needs/" (n.id) "/assign"} {
                                (csrf_field(&user))
                                select name="department_id" {
                                    @for d in departments.iter().filter(|d| d.id != n.consumer_id) { option value=(d.id) { (d.name) } }
                                }
                                button type="submit" { "分派" }
                            }
                        }
                        @if n.status == NeedStatus::Assigned && own.is_some() && own == n.provider_id {
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
            &user.0.actor(),
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
            &user.0.actor(),
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
    let need = state
        .store
        .answer_need(id, &answer, &user.0.actor(), &ctx)
        .await?;
    redirect_to("/needs", &format!("需求 {id}：{}", need.status.label()))
}
