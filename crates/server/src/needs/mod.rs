//! Needs (需求清单): data nobody catalogued; the bureau assigns a provider, which answers
//! within its deadline.

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list, api::post))
        .routes(routes!(api::assign))
        .routes(routes!(api::answer))
        .route("/needs", get(pages::needs).post(pages::post_need))
        .route("/needs/{id}/assign", post(pages::assign_need))
        .route("/needs/{id}/answer", post(pages::answer_need))
}
