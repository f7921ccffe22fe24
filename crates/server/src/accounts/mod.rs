//! Accounts (账号): sign-in, departments, people and application tokens. The bureau
//! registers departments and appoints their people; a chief issues its department's
//! application tokens.

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod departments;
pub mod login;
mod pages;
pub mod session;
pub mod tokens;
pub mod users;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(departments::list, departments::create))
        .routes(routes!(departments::show))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::set_role))
        .routes(routes!(users::reset_password))
        .routes(routes!(users::set_active))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/admin/departments",
            get(pages::departments).post(pages::create_department),
        )
        .route("/admin/users", get(pages::users).post(pages::create_user))
        .route("/admin/users/role", post(pages::set_role))
        .route("/admin/users/{username}/active", post(pages::set_active))
        .route(
            "/admin/users/{username}/delegate",
            post(pages::set_delegate),
        )
        .route("/tokens", get(pages::tokens).post(pages::issue_token))
        .route("/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/admin/conflicts", get(pages::conflicts))
}
