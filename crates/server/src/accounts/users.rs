//! `/api/v1/users`: the bureau appoints chiefs and staff; the auditor only reads.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::access::{self, check, may_manage_accounts, Act};
use domain::account::{check_password, Role};
use serde::Deserialize;
use store::users::{NewUser, User};

use crate::auth::{audit_context, hash_password, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List, Query};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    /// `admin`, `chief`, `staff` or `auditor`.
    pub role: String,
    pub department_id: Option<i64>,
    /// At least 10 characters.
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: String,
    pub department_id: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password: at least 10 characters.
    pub password: String,
    /// The password now: required to change one's own. Nobody but the operator on the
    /// server (`datahall user reset-password`) sets another person's password.
    #[serde(default)]
    pub current_password: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UserFilter {
    pub department_id: Option<i64>,
}

fn parse_role(text: &str) -> ApiResult<Role> {
    Role::parse(text)
        .ok_or_else(|| ApiError::field("role", "角色应为 admin、chief、staff 或 auditor"))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserFilter),
    responses((status = 200, body = List<User>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(filter): Query<UserFilter>,
) -> ApiResult<axum::Json<List<User>>> {
    let caller = principal.caller();
    // Without a filter: everyone for the bureau and the auditor, a chief's own people.
    let department = filter.department_id.or_else(|| {
        (!access::allows(&caller, Act::ViewPeople { department: None }))
            .then(|| caller.department_id())
            .flatten()
    });
    check(&caller, Act::ViewPeople { department })?;
    Ok(axum::Json(List::all(state.store.users(department).await?)))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = User), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(request): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    may_manage_accounts(&principal.caller())?;
    let role = parse_role(&request.role)?;
    // Asked before the (slow) password hash; the store asks again when it writes.
    check(
        &principal.caller(),
        Act::ManageAccount {
            role,
            new_role: role,
        },
    )?;
    check_password(&request.password, state.config.demo_mode)
        .map_err(|e| ApiError::field("password", e.to_string()))?;
    let new = NewUser {
        username: request.username,
        display_name: request.display_name,
        role,
        department_id: request.department_id,
        password_hash: hash_password(&request.password).await?,
    };
    let user = state
        .store
        .create_user(&new, &audit_context(Some(&principal), &meta))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

#[utoipa::path(put, path = "/api/v1/users/{username}/role", tag = "users", security(("bearer" = [])), request_body = SetRole,
    params(("username" = String, Path)), responses((status = 200, body = User), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Json(request): Json<SetRole>,
) -> ApiResult<axum::Json<User>> {
    may_manage_accounts(&principal.caller())?;
    let role = parse_role(&request.role)?;
    let user = state
        .store
        .set_role(
            &username,
            role,
            request.department_id,
            &audit_context(Some(&principal), &meta),
        )
        .await?;
    Ok(axum::Json(user))
}

/// A person changes their own password (with the current one); nobody else's (三员分立).
#[utoipa::path(put, path = "/api/v1/users/{username}/password", tag = "users", security(("bearer" = [])), request_body = ResetPassword,
    params(("username" = String, Path)), responses((status = 204), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Json(request): Json<ResetPassword>,
) -> ApiResult<StatusCode> {
    let caller = principal.caller();
    let own = caller.person().is_some_and(|me| me.username == username);
    check(&caller, Act::SetPassword { own })?;
    if own {
        let current = request.current_password.as_deref().unwrap_or_default();
        let known = match state.store.credentials(&username).await? {
            Some((_, hash)) => crate::auth::verify_password(current, &hash).await,
            None => false,
        };
        if !known {
            // Guessing the current password through a stolen session counts as guessing.
            state.throttle.failed(&username, meta.source_ip.as_deref());
            return Err(ApiError::field("current_password", "当前密码不正确"));
        }
    }
    check_password(&request.password, state.config.demo_mode)
        .map_err(|e| ApiError::field("password", e.to_string()))?;
    state
        .store
        .set_password(
            &username,
            &hash_password(&request.password).await?,
            &audit_context(Some(&principal), &meta),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetActive {
    /// `false` deactivates the account: its sessions end at once and it cannot sign in.
    pub active: bool,
}

#[utoipa::path(put, path = "/api/v1/users/{username}/active", tag = "users", security(("bearer" = [])), request_body = SetActive,
    params(("username" = String, Path)),
    responses((status = 200, body = User), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_active(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Json(request): Json<SetActive>,
) -> ApiResult<axum::Json<User>> {
    let user = state
        .store
        .set_active(
            &username,
            request.active,
            &audit_context(Some(&principal), &meta),
        )
        .await?;
    Ok(axum::Json(user))
}
