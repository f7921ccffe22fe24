//! Objections (数据异议): a consumer holding a grant flags a wrong record; the provider
//! accepts it (the record shows 异议中 to every consumer), then corrects or confirms it.

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list, api::raise))
        .routes(routes!(api::answer))
        .route(
            "/objections",
            get(pages::objections).post(pages::raise_objection),
        )
        .route("/objections/{id}/answer", post(pages::answer_objection))
}
