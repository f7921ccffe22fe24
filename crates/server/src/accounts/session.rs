//! Sign-in for API clients: `POST /api/v1/auth/login` answers a bearer token.

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use domain::account::DEMO_PASSWORD;
use serde::{Deserialize, Serialize};
use store::users::User;

use crate::auth::{
    audit_context, random_token, token_hash, verify_password, Auth, Meta, Principal, RequestMeta,
};
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A new session after checking the password; shared by the API and the login page.
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

pub async fn sign_in(
    state: &AppState,
    meta: &RequestMeta,
    username: &str,
    password: &str,
    kind: &str,
) -> ApiResult<SignedIn> {
    let username = username.trim();
    let refused = || ApiError::Unauthorized("用户名或密码错误".into());
    let source = meta.source_ip.as_deref();
    if let Some(retry_after_secs) = state.throttle.check(username, source) {
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    if domain::account::check_username(username).is_err() {
        // No account has this name: it counts against the source, not an account.
        state.throttle.failed_source(source);
        return Err(refused());
    }
    // Count the attempt before the slow hash check, so parallel guesses are counted too.
    state.throttle.failed(username, source);
    let credentials = state.store.credentials(username).await?;
    let user = match credentials {
        Some((user, hash)) if verify_password(password, &hash).await => user,
        Some(_) => return Err(refused()),
        None => {
            verify_password(password, crate::auth::dummy_hash()).await;
            return Err(refused());
        }
    };
    if password == DEMO_PASSWORD && !state.config.demo_mode {
        return Err(ApiError::Unauthorized(
            "演示密码只能在演示模式下使用，请由管理员重置密码".into(),
        ));
    }
    state.throttle.succeeded(username, source);
    let token = random_token();
    let csrf_token = random_token();
    let expires_at = Utc::now() + Duration::hours(state.config.session_hours);
    state
        .store
        .create_session(user.id, kind, &token_hash(&token), &csrf_token, expires_at)
        .await?;
    let principal = Principal::User {
        user: user.clone(),
        csrf_token: csrf_token.clone(),
    };
    state
        .store
        .audit(
            audit_context(Some(&principal), meta)
                .event("auth.login", format!("user:{}", user.username)),
        )
        .await?;
    Ok(SignedIn {
        token,
        csrf_token,
        expires_at,
        user,
    })
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    Json(request): Json<LoginRequest>,
) -> ApiResult<axum::Json<LoginResponse>> {
    let signed_in = sign_in(&state, &meta, &request.username, &request.password, "api").await?;
    Ok(axum::Json(LoginResponse {
        token: signed_in.token,
        expires_at: signed_in.expires_at,
        user: signed_in.user,
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::http::StatusCode> {
    if let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        state
            .store
            .delete_session(&token_hash(token.trim()))
            .await?;
    }
    let event = audit_context(Some(&principal), &meta)
        .event("auth.logout", format!("user:{}", principal.name()));
    state.store.audit(event).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Who the caller is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Option<String>,
    pub department_id: Option<i64>,
    pub application: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(Auth(principal): Auth) -> axum::Json<Me> {
    axum::Json(Me {
        name: principal.name(),
        role: Some(principal.caller().role_code().to_string()),
        department_id: principal.caller().department_id(),
        application: match &principal {
            Principal::Application(token) => Some(token.application.clone()),
            Principal::User { .. } => None,
        },
    })
}
