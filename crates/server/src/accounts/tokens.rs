//! `/api/v1/tokens`: API tokens of departments' application systems. The secret is shown
//! once, at creation; only its hash is kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::account::Role;
use serde::{Deserialize, Serialize};
use store::sessions::ApiToken;

use super::{Json, List};
use crate::auth::{
    audit_context, random_token, token_hash, Auth, Meta, Principal, APP_TOKEN_PREFIX,
};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// The application system's name, e.g. 低保审批系统.
    pub application: String,
    /// Required for the bureau; a chief's tokens are for their own department.
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

/// The department whose tokens the caller manages: any for the bureau, their own for a chief.
fn managed_department(principal: &Principal, requested: Option<i64>) -> ApiResult<Option<i64>> {
    match principal.role() {
        Some(Role::Admin) => Ok(requested),
        Some(Role::Chief) => match (requested, principal.department_id()) {
            (Some(r), Some(own)) if r != own => Err(ApiError::Forbidden(
                "首席代表只能管理本部门的应用令牌".into(),
            )),
            (_, own) => Ok(own),
        },
        _ => Err(ApiError::Forbidden(
            "只有管理方和首席代表可以管理应用令牌".into(),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = List<ApiToken>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<ApiToken>>> {
    let department = managed_department(&principal, None)?;
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
    let department = managed_department(&principal, request.department_id)?
        .ok_or_else(|| ApiError::field("department_id", "请指定应用所属部门"))?;
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
    let department = managed_department(&principal, None)?;
    let owned = state
        .store
        .api_tokens(department)
        .await?
        .into_iter()
        .any(|t| t.id == id);
    if !owned {
        return Err(ApiError::NotFound(format!("应用令牌 {id} 不存在")));
    }
    Ok(axum::Json(
        state
            .store
            .revoke_api_token(id, &audit_context(Some(&principal), &meta))
            .await?,
    ))
}
