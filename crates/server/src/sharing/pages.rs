//! 共享申请 pages: apply for an entry, the requests a department made or must decide (with
//! their working-day countdowns), decisions and revocations, reviews of a not-shared
//! basis. JSON twins: `/api/v1/share-requests…`, `/api/v1/basis-reviews…`.

use std::collections::HashMap;

use crate::json::Path;
use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::{matter_scope, Act, Decider};
use domain::sharing::{Decision, RequestInput, RequestStatus};
use maud::{html, Markup};
use store::sharing::{RequestScope, ShareRequest};

use super::api::{view, ShareRequestView};
use crate::error::ApiError;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, Notice, PageError,
    PageResult, WebUser,
};
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

/// 共享申请: every request the person may see, newest first.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    let scope: RequestScope = matter_scope(&user.caller()).map_err(ApiError::from)?;
    let calendar = state.store.calendar().await?;
    let requests: Vec<ShareRequestView> = state
        .store
        .share_requests(scope)
        .await?
        .into_iter()
        .map(|r| view(&state, &calendar, r))
        .collect();
    let reviews = state.store.basis_reviews(scope).await?;
    let caller = user.caller();
    let mut deciders = HashMap::new();
    for v in &requests {
        deciders.insert(
            v.request.id,
            state.store.share_decider(&v.request, &caller).await?,
        );
    }
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
                    td { (actions(&user, r, deciders.get(&r.id).copied().flatten())) }
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
                    td { @if let Some(d) = &b.duty { (countdown_tag(&super::api::countdown(state, calendar, d))) } }
                    td {
                        @if b.status == ReviewStatus::Submitted && user.may(Act::DecideBasisReview) {
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
            &ctx,
        )
        .await?;
    redirect_to("/sharing", &format!("复核 {id}：{}", review.status.label()))
}

/// The decision and revocation forms this person may use on a request: `decider` is who
/// they would decide it as (the store's `share_decider`, the rule the decision checks).
fn actions(user: &WebUser, r: &ShareRequest, decider: Option<Decider>) -> Markup {
    let revokes = r.status == RequestStatus::Approved
        && user.may(Act::RevokeShare {
            provider: r.provider_id,
        });
    html! {
        @if decider.is_some() {
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
            verify_quota: None,
        },
    };
    let ctx = crate::auth::audit_context(Some(&user.0), &meta);
    let decided = state
        .store
        .decide_share_request(id, &decision, &state.config.deadline_rules, &ctx)
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
        .revoke_share_request(id, form_value(&form, "reason"), &ctx)
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
    let resource = state.store.shared_entry(&code, &user.caller()).await?;
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
        .submit_share_request(&code, &input, &state.config.deadline_rules, &ctx)
        .await?;
    redirect_with(&format!(
        "申请 {} 已提交：{}",
        request.id,
        request.status.label()
    ))
}
