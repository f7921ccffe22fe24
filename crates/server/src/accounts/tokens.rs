//! `/api/v1/tokens`: API tokens of departments' application systems. The secret is shown
//! once, at creation; only its hash is kept.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::access::{self, check, Act};
use serde::{Deserialize, Serialize};
use store::sessions::ApiToken;

use crate::auth::{
    audit_context, random_token, token_hash, Auth, Meta, Principal, APP_TOKEN_PREFIX,
};
use crate::error::ApiResult;
use crate::json::{Json, List};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The application system's name, e.g. 低保审批系统.
    pub application: String,
    /// A chief's tokens are for their own department (the default).
    pub department_id: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret, shown only now. Send as `Authorization: Bearer <token>`.
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

/// A new application token: its secret and what is stored of it (hash and prefix).
pub fn new_app_token() -> (String, String, String) {
    let secret = format!("{APP_TOKEN_PREFIX}{}", random_token());
    let prefix: String = secret.chars().take(APP_TOKEN_PREFIX.len() + 6).collect();
    let hash = token_hash(&secret);
    (secret, hash, prefix)
}

/// The department a token request is about: the one named, else the caller's own.
fn department_of(principal: &Principal, requested: Option<i64>) -> Option<i64> {
    requested.or_else(|| principal.caller().department_id())
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = List<ApiToken>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<ApiToken>>> {
    let caller = principal.caller();
    // The bureau and the auditor see every department's tokens; a chief their own.
    let department = (!access::allows(&caller, Act::ViewTokens { department: None }))
        .then(|| caller.department_id())
        .flatten();
    check(&caller, Act::ViewTokens { department })?;
    Ok(axum::Json(List::all(
        state.store.api_tokens(department).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])), request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(request): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let department = department_of(&principal, request.department_id).unwrap_or(-1);
    check(&principal.caller(), Act::IssueToken { department })?;
    let (secret, hash, prefix) = new_app_token();
    let info = state
        .store
        .create_api_token(
            department,
            &request.application,
            &hash,
            &prefix,
            request.expires_at,
            &audit_context(Some(&principal), &meta),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: secret,
            info,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ApiToken>> {
    // Whoever may revoke no token at all is refused before the token is looked up; the
    // store answers "not found" for a token the caller may not revoke.
    let caller = principal.caller();
    check(
        &caller,
        Act::RevokeToken {
            department: caller.department_id().unwrap_or(-1),
        },
    )?;
    Ok(axum::Json(
        state
            .store
            .revoke_api_token(id, &audit_context(Some(&principal), &meta))
            .await?,
    ))
}
