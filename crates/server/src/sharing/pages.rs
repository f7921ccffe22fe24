//! 共享申请 pages: apply for an entry, the requests a department made or must decide (with
//! their working-day countdowns), decisions and revocations, reviews of a not-shared
//! basis. JSON twins: `/api/v1/share-requests…`, `/api/v1/basis-reviews…`.
//!
//! A refused form comes back as the same page, with what was typed and the message next
//! to the field ([`FormState`]); a form that succeeded redirects to the list with a notice.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum_extra::extract::Form;
use domain::access::{matter_scope, Act, Decider};
use domain::catalogue::ShareType;
use domain::sharing::{Decision, RequestInput, RequestStatus};
use maud::{html, Markup};
use store::sharing::{RequestScope, ShareRequest};

use super::api::{view, ShareRequestView};
use crate::auth::{audit_context, Meta};
use crate::error::ApiError;
use crate::json::Path;
use crate::page::{
    code_path, countdown_tag, csrf_field, form_value, layout, redirect_to, with_status, FormState,
    Notice, PageResult, WebUser,
};
use crate::AppState;

type Fields = HashMap<String, Vec<String>>;

/// The state tag of a request (SPEC §6 vocabulary and colours).
fn request_tag(status: RequestStatus) -> Markup {
    crate::page::tag(status.label(), crate::page::tones::request(status))
}

/// 共享申请: every request the person may see, newest first.
pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    list_page(&state, &user, notice.text(), &FormState::default()).await
}

async fn list_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    form: &FormState,
) -> PageResult {
    let scope: RequestScope = matter_scope(&user.caller()).map_err(ApiError::from)?;
    let calendar = state.store.calendar().await?;
    let requests: Vec<ShareRequestView> = state
        .store
        .share_requests(scope)
        .await?
        .into_iter()
        .map(|r| view(state, &calendar, r))
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
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        p.muted { "无条件共享的申请由平台即时授权（3 个工作日时限当即办结）；有条件共享的申请由提供方在 10 个工作日内审批，拒绝须说明理由并转管理方协调。申请明文提供个人信息的，须由提供方首席代表审批。时限按国务院节假日安排计算。" }
        table id="share-requests" {
            tr { th { "编号" } th { "目录" } th { "提供方" } th { "申请方" } th { "应用系统" } th { "信息项" } th { "状态" } th { "时限" } th { "操作" } }
            @for v in &requests {
                @let r = &v.request;
                tr id={"request-" (r.id)} {
                    td.num { (r.id) }
                    td { a href=(code_path(&r.code)) { (r.resource_name) } br; span.mono.muted { (r.code) } }
                    td { (r.provider_name) }
                    td { (r.consumer_name) }
                    td { (r.application) }
                    td { (r.granted_items.as_ref().unwrap_or(&r.items).join("、"))
                         @if !r.clear_items.is_empty() { br; span.muted { "申请明文：" (r.clear_items.join("、")) } } }
                    td { (request_tag(r.status)) @if let Some(reason) = &r.reason { br; span.muted { (reason) } } }
                    td { @if let Some(c) = &v.countdown { (countdown_tag(c)) } }
                    td { (actions(user, r, deciders.get(&r.id).copied().flatten(), form)) }
                }
            }
        }
        @if requests.is_empty() { p.muted { "暂无共享申请。在目录详情页可申请共享。" } }
        @if !reviews.is_empty() {
            h2 id="basis-reviews" { "不予共享依据复核" }
            (reviews_table(state, user, &calendar, &reviews, form))
        }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/sharing",
            &[("", "共享申请")],
            "共享申请",
            content,
        ),
        form,
    ))
}

/// Reviews of the not-shared basis, with the bureau's decision form on open ones.
fn reviews_table(
    state: &AppState,
    user: &WebUser,
    calendar: &domain::calendar::Calendar,
    reviews: &[store::basis_reviews::BasisReview],
    form: &FormState,
) -> Markup {
    use domain::sharing::ReviewStatus;
    html! {
        table id="basis-review-list" {
            tr { th { "编号" } th { "目录" } th { "不予共享的信息项" } th { "申请方" } th { "理由" } th { "结论" } th { "时限" } th { "复核" } }
            @for b in reviews {
                @let id = format!("review-{}", b.id);
                tr id=(id) {
                    td.num { (b.id) }
                    td { a href=(code_path(&b.code)) { (b.resource_name) } br; span.muted { (b.provider_name) } }
                    td { @if b.items.is_empty() { "整个目录" } @else { (b.items.join("、")) } }
                    td { (b.consumer_name) }
                    td { (b.reason) }
                    td { (crate::page::tag(b.status.label(), crate::page::tones::review(b.status)))
                         @if let Some(a) = &b.answer { br; span.muted { (a) } } }
                    td { @if let Some(d) = &b.duty { (countdown_tag(&crate::hall::tasks::countdown(state, calendar, d))) } }
                    td {
                        @if b.status == ReviewStatus::Submitted && user.may(Act::DecideBasisReview) {
                            (form.banner(&id))
                            form.stack method="post" action={"/basis-reviews/" (b.id) "/decision"} {
                                (csrf_field(user))
                                label { "复核意见及依据 " input type="text" name="answer" required minlength="4" value=(form.value(&id, "answer", "")); }
                                (form.errors(&id, "answer"))
                                label { "结论 " select name="decision" {
                                    option value="uphold" selected[form.value(&id, "decision", "") == "uphold"] { "维持不予共享" }
                                    option value="overturn" selected[form.value(&id, "decision", "") == "overturn"] { "应予共享" }
                                } }
                                button type="submit" { "提交复核结论" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The decision and revocation forms this person may use on a request: `decider` is who
/// they would decide it as (the store's `share_decider`, the rule the decision checks).
/// Approving and refusing are separate forms, so that Enter in the reason refuses.
fn actions(user: &WebUser, r: &ShareRequest, decider: Option<Decider>, form: &FormState) -> Markup {
    let revokes = r.status == RequestStatus::Approved
        && user.may(Act::RevokeShare {
            provider: r.provider_id,
        });
    let renews = r.status == RequestStatus::Approved
        && user.may(Act::RenewShare {
            consumer: r.consumer_id,
        });
    let (approve, refuse, revoke, renew) = (
        format!("approve-{}", r.id),
        format!("refuse-{}", r.id),
        format!("revoke-{}", r.id),
        format!("renew-{}", r.id),
    );
    let a_year_on = (r.valid_until + chrono::Duration::days(365)).to_string();
    html! {
        @if let Some(decider) = decider {
            (form.banner(&approve))
            form.stack method="post" action={"/sharing/" (r.id) "/decision"} {
                (csrf_field(user))
                input type="hidden" name="decision" value="approve";
                fieldset {
                    legend { "同意提供的信息项" }
                    @for item in &r.items {
                        label { input type="checkbox" name="items" value=(item) checked[form.checked(&approve, "items", item, true)]; (item) } " "
                    }
                    (form.errors(&approve, "items"))
                }
                // Personal items asked in clear: only the provider's chief may grant them so.
                @if decider == Decider::Provider && !r.clear_items.is_empty() {
                    fieldset {
                        legend { "同意明文提供（个人信息，默认脱敏）" }
                        @for item in &r.clear_items {
                            label { input type="checkbox" name="clear_items" value=(item) checked[form.checked(&approve, "clear_items", item, false)]; (item) } " "
                        }
                        (form.errors(&approve, "clear_items"))
                    }
                }
                button type="submit" { "同意" }
            }
            (form.banner(&refuse))
            form.stack method="post" action={"/sharing/" (r.id) "/decision"} {
                (csrf_field(user))
                input type="hidden" name="decision" value="refuse";
                label { "拒绝理由 " input type="text" name="reason" required minlength="4" value=(form.value(&refuse, "reason", "")); }
                (form.errors(&refuse, "reason"))
                button.danger type="submit" { "拒绝" }
            }
        }
        @if revokes {
            (form.banner(&revoke))
            form.stack method="post" action={"/sharing/" (r.id) "/revoke"} {
                (csrf_field(user))
                label { "撤销理由 " input type="text" name="reason" required minlength="4" value=(form.value(&revoke, "reason", "")); }
                (form.errors(&revoke, "reason"))
                button.danger type="submit" { "撤销授权" }
            }
        }
        @if renews {
            (form.banner(&renew))
            form.stack method="post" action={"/sharing/" (r.id) "/renew"} {
                (csrf_field(user))
                label { "续期至 " input type="date" name="valid_until" required value=(form.value(&renew, "valid_until", &a_year_on)); }
                (form.errors(&renew, "valid_until"))
                button type="submit" { "申请续期" }
            }
        }
    }
}

/// The decision a form states; an approval must name at least one item.
fn decision_of(form: &Fields) -> Result<Decision, ApiError> {
    match form_value(form, "decision") {
        "refuse" => Ok(Decision::Refuse {
            reason: form_value(form, "reason").to_string(),
        }),
        "approve" => {
            let items = form.get("items").cloned().unwrap_or_default();
            if items.is_empty() {
                return Err(ApiError::field("items", "请至少选择一个同意提供的信息项"));
            }
            Ok(Decision::Approve {
                items,
                clear_items: form.get("clear_items").cloned().unwrap_or_default(),
                row_filter: None,
                rate_per_minute: None,
                daily_quota: None,
                verify_quota: None,
            })
        }
        _ => Err(ApiError::field("decision", "请选择同意或拒绝")),
    }
}

pub async fn decide(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let name = match form_value(&form, "decision") {
        "refuse" => format!("refuse-{id}"),
        _ => format!("approve-{id}"),
    };
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = match decision_of(&form) {
        Ok(decision) => state
            .store
            .decide_share_request(id, &decision, &ctx)
            .await
            .map_err(ApiError::from),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(decided) => redirect_to(
            "/sharing",
            &format!("申请 {} 已处理：{}", decided.id, decided.status.label()),
        ),
        Err(error) => list_page(&state, &user, None, &FormState::failed(&name, form, error)).await,
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = audit_context(Some(&user.0), &meta);
    match state
        .store
        .revoke_share_request(id, form_value(&form, "reason"), &ctx)
        .await
    {
        Ok(_) => redirect_to("/sharing", &format!("申请 {id} 的授权已撤销")),
        Err(error) => {
            let failed = FormState::failed(&format!("revoke-{id}"), form, error.into());
            list_page(&state, &user, None, &failed).await
        }
    }
}

pub async fn renew(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = async {
        let valid_until =
            chrono::NaiveDate::parse_from_str(form_value(&form, "valid_until"), "%Y-%m-%d")
                .map_err(|_| ApiError::field("valid_until", "请填写续期后的有效期（年-月-日）"))?;
        Ok::<_, ApiError>(
            state
                .store
                .renew_share_request(id, valid_until, &ctx)
                .await?,
        )
    }
    .await;
    match outcome {
        Ok(renewal) => redirect_to(
            "/sharing",
            &format!("已提交续期申请 {}：{}", renewal.id, renewal.status.label()),
        ),
        Err(error) => {
            let failed = FormState::failed(&format!("renew-{id}"), form, error);
            list_page(&state, &user, None, &failed).await
        }
    }
}

pub async fn decide_review(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let name = format!("review-{id}");
    let upheld = match form_value(&form, "decision") {
        "uphold" => Some(true),
        "overturn" => Some(false),
        _ => None,
    };
    let ctx = audit_context(Some(&user.0), &meta);
    let outcome = match upheld {
        None => Err(ApiError::field("decision", "请选择复核结论")),
        Some(upheld) => state
            .store
            .decide_basis_review(
                id,
                &store::basis_reviews::ReviewDecision {
                    upheld,
                    answer: form_value(&form, "answer"),
                },
                &ctx,
            )
            .await
            .map_err(ApiError::from),
    };
    match outcome {
        Ok(review) => redirect_to("/sharing", &format!("复核 {id}：{}", review.status.label())),
        Err(error) => list_page(&state, &user, None, &FormState::failed(&name, form, error)).await,
    }
}

/// 申请共享: the form on an entry of another department.
pub async fn apply_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    apply_form(
        &state,
        &user,
        &format!("{prefix}/{seq}"),
        &FormState::default(),
    )
    .await
}

async fn apply_form(state: &AppState, user: &WebUser, code: &str, form: &FormState) -> PageResult {
    let resource = state.store.shared_entry(code, &user.caller()).await?;
    let body = state.store.published_body(&resource).await?;
    let a_year = (chrono::Utc::now().date_naive() + chrono::Duration::days(365)).to_string();
    let not_shared: Vec<&domain::catalogue::Item> = body
        .items
        .iter()
        .filter(|i| body.item_share_type(i) == ShareType::NotShared)
        .collect();
    let content = html! {
        p { "提供方：" (resource.provider.name) " · 共享类型：" (body.share.share_type.label())
            @if let Some(c) = &body.share.conditions { " · 共享条件：" (c) } }
        @if body.share.share_type != ShareType::NotShared {
            (form.banner("apply"))
            form.stack method="post" action={(code_path(code)) "/apply"} id="apply" {
                (csrf_field(user))
                fieldset {
                    legend { "申请的信息项" }
                    @for item in &body.items {
                        @let share = body.item_share_type(item);
                        @let shared = share != ShareType::NotShared;
                        label {
                            input type="checkbox" name="items" value=(item.identifier)
                                checked[shared && form.checked("apply", "items", &item.identifier, true)]
                                disabled[!shared];
                            (item.name) " " span.mono.muted { (item.identifier) } " " span.muted { (share.label()) @if item.personal { " · 个人信息（默认脱敏）" } }
                        }
                        @if item.personal && shared {
                            " " label.muted { input type="checkbox" name="clear_items" value=(item.identifier)
                                checked[form.checked("apply", "clear_items", &item.identifier, false)]; "申请明文（须提供方首席代表审批）" }
                        }
                        br;
                    }
                    (form.errors("apply", "items"))
                    (form.errors("apply", "clear_items"))
                }
                label { "用途 " input type="text" name="purpose" required maxlength="500" value=(form.value("apply", "purpose", "")); }
                (form.errors("apply", "purpose"))
                label { "法律法规或政策依据 " input type="text" name="legal_basis" required maxlength="500" value=(form.value("apply", "legal_basis", "")); }
                (form.errors("apply", "legal_basis"))
                label { "使用的应用系统（与应用令牌名称一致） " input type="text" name="application" required maxlength="500" value=(form.value("apply", "application", "")); }
                (form.errors("apply", "application"))
                label { "有效期至 " input type="date" name="valid_until" value=(form.value("apply", "valid_until", &a_year)) required; }
                (form.errors("apply", "valid_until"))
                (form.errors("apply", "resource"))
                button type="submit" { "提交申请" }
            }
        }
        @if !not_shared.is_empty() || body.share.share_type == ShareType::NotShared {
            h2 { "申请复核不予共享依据" }
            @if let Some(basis) = &body.share.legal_basis { p { "列明的不予共享依据：" (basis) } }
            p.muted { "以共享为原则、不共享为例外。认为不予共享的依据不成立时，可请管理方复核；管理方在协调时限内作出结论。" }
            (form.banner("review"))
            form.stack method="post" action={(code_path(code)) "/review"} id="review-basis" {
                (csrf_field(user))
                @for item in &not_shared {
                    label { input type="checkbox" name="review_items" value=(item.identifier)
                        checked[form.checked("review", "review_items", &item.identifier, false)]; (item.name) }
                    br;
                }
                (form.errors("review", "items"))
                label { "用途与依据 " textarea name="reason" required maxlength="2000" rows="2" { (form.value("review", "reason", "")) } }
                (form.errors("review", "reason"))
                button type="submit" { "申请复核" }
            }
        }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/sharing",
            &[
                ("/sharing", "共享申请"),
                (&code_path(code), code),
                ("", "申请共享"),
            ],
            &format!("申请共享：{}", body.name),
            content,
        ),
        form,
    ))
}

pub async fn apply(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let code = format!("{prefix}/{seq}");
    let outcome = match submit_request(&state, &user, &meta, &code, &form).await {
        Ok(request) => {
            return redirect_to(
                "/sharing",
                &format!("申请 {} 已提交：{}", request.id, request.status.label()),
            )
        }
        Err(error) => error,
    };
    apply_form(
        &state,
        &user,
        &code,
        &FormState::failed("apply", form, outcome),
    )
    .await
}

async fn submit_request(
    state: &AppState,
    user: &WebUser,
    meta: &crate::auth::RequestMeta,
    code: &str,
    form: &Fields,
) -> Result<ShareRequest, ApiError> {
    let valid_until =
        chrono::NaiveDate::parse_from_str(form_value(form, "valid_until"), "%Y-%m-%d")
            .map_err(|_| ApiError::field("valid_until", "请填写有效期（年-月-日）"))?;
    let items = form.get("items").cloned().unwrap_or_default();
    if items.is_empty() {
        return Err(ApiError::field("items", "请至少选择一个信息项"));
    }
    let input = RequestInput {
        items,
        purpose: form_value(form, "purpose").to_string(),
        legal_basis: form_value(form, "legal_basis").to_string(),
        application: form_value(form, "application").to_string(),
        valid_until,
        clear_items: form.get("clear_items").cloned().unwrap_or_default(),
    };
    Ok(state
        .store
        .submit_share_request(code, &input, &audit_context(Some(&user.0), meta))
        .await?)
}

pub async fn request_review(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let code = format!("{prefix}/{seq}");
    let ctx = audit_context(Some(&user.0), &meta);
    let items = form.get("review_items").cloned().unwrap_or_default();
    let outcome = state
        .store
        .request_basis_review(
            &store::basis_reviews::ReviewRequest {
                code: &code,
                items: &items,
                reason: form_value(&form, "reason"),
            },
            &ctx,
        )
        .await;
    match outcome {
        Ok(review) => redirect_to("/sharing", &format!("复核申请 {} 已提交管理方", review.id)),
        Err(error) => {
            apply_form(
                &state,
                &user,
                &code,
                &FormState::failed("review", form, error.into()),
            )
            .await
        }
    }
}
