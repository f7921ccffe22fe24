//! The audit log (审计日志): read by the auditor, verified by anyone who runs the platform.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;
pub mod verification;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list))
        .routes(routes!(api::verify))
        .routes(routes!(api::personal))
        .route("/audit", get(pages::page))
        .route("/audit/verify", axum::routing::post(pages::verify))
        .route(
            "/audit/personal",
            get(pages::personal).post(pages::personal_report),
        )
}
