//! Share requests (`/api/v1/share-requests`), decision delegates and accountability
//! records.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use domain::access::{check, matter_scope, Act};
use domain::calendar::Calendar;
use domain::deadline::Countdown;
use domain::sharing::{Decision, RequestInput};
use serde::{Deserialize, Serialize};
use store::sharing::{Accountability, RequestScope, ShareRequest};

use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::error::ApiResult;
use crate::json::{Json, List};
use crate::AppState;

/// A request with its deadline's countdown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ShareRequestView {
    #[serde(flatten)]
    pub request: ShareRequest,
    pub countdown: Option<Countdown>,
}

pub fn view(state: &AppState, calendar: &Calendar, request: ShareRequest) -> ShareRequestView {
    let countdown = request
        .duty
        .as_ref()
        .map(|d| crate::hall::tasks::countdown(state, calendar, d));
    ShareRequestView { request, countdown }
}

/// One request's view, with the calendar read for it.
async fn view_one(state: &AppState, request: ShareRequest) -> ApiResult<ShareRequestView> {
    Ok(view(state, &state.store.calendar().await?, request))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareRequest {
    /// The entry's resource code.
    pub resource: String,
    /// Item identifiers; empty asks for every shareable item.
    #[serde(default)]
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    /// The consuming application system, as named on its API token.
    pub application: String,
    pub valid_until: NaiveDate,
    /// Personal items asked for in clear.
    #[serde(default)]
    pub clear_items: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/share-requests", tag = "sharing", security(("bearer" = [])), request_body = NewShareRequest,
    responses((status = 201, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
               (status = 422, body = crate::error::ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(new): Json<NewShareRequest>,
) -> ApiResult<(StatusCode, axum::Json<ShareRequestView>)> {
    let input = RequestInput {
        items: new.items,
        purpose: new.purpose,
        legal_basis: new.legal_basis,
        application: new.application,
        valid_until: new.valid_until,
        clear_items: new.clear_items,
    };
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .submit_share_request(&new.resource, &input, &ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view_one(&state, request).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/share-requests", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<ShareRequestView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<ShareRequestView>>> {
    let scope: RequestScope = matter_scope(&principal.caller())?;
    let calendar = state.store.calendar().await?;
    let requests = state.store.share_requests(scope).await?;
    Ok(axum::Json(List::all(
        requests
            .into_iter()
            .map(|r| view(&state, &calendar, r))
            .collect(),
    )))
}

/// A request the caller may see; "not found" for anyone else.
async fn visible_request(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> ApiResult<ShareRequest> {
    Ok(state
        .store
        .visible_share_request(id, &principal.caller())
        .await?)
}

#[utoipa::path(get, path = "/api/v1/share-requests/{id}", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    let request = visible_request(&state, &principal, id).await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/decision", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(decision): Json<Decision>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .decide_share_request(id, &decision, &ctx)
        .await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/revoke", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Revocation,
    responses((status = 200, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(revocation): Json<Revocation>,
) -> ApiResult<axum::Json<ShareRequestView>> {
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .revoke_share_request(id, &revocation.reason, &ctx)
        .await?;
    Ok(axum::Json(view_one(&state, request).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    pub valid_until: NaiveDate,
}

#[utoipa::path(post, path = "/api/v1/share-requests/{id}/renew", tag = "sharing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Renewal,
    responses((status = 201, body = ShareRequestView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn renew(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Json(renewal): Json<Renewal>,
) -> ApiResult<(StatusCode, axum::Json<ShareRequestView>)> {
    let ctx = audit_context(Some(&principal), &meta);
    let request = state
        .store
        .renew_share_request(id, renewal.valid_until, &ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(view_one(&state, request).await?),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    pub allowed: bool,
}

#[utoipa::path(put, path = "/api/v1/delegates/{username}", tag = "sharing", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = Delegation,
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_delegate(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Json(delegation): Json<Delegation>,
) -> ApiResult<StatusCode> {
    let ctx = audit_context(Some(&principal), &meta);
    state
        .store
        .set_delegate(&username, delegation.allowed, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/accountability", tag = "sharing", security(("bearer" = [])),
    responses((status = 200, body = List<Accountability>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn accountability(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<Accountability>>> {
    check(&principal.caller(), Act::ViewAccountability)?;
    Ok(axum::Json(List::all(state.store.accountability().await?)))
}
