//! Sharing (共享使用): share requests and their decisions within working-day deadlines,
//! grants, decision delegates, duties, accountability, and reviews of a not-shared basis.

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;
pub mod reviews;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::list, api::submit))
        .routes(routes!(api::show))
        .routes(routes!(api::decide))
        .routes(routes!(api::revoke))
        .routes(routes!(api::renew))
        .routes(routes!(api::set_delegate))
        .routes(routes!(api::accountability))
        .routes(routes!(reviews::list, reviews::request))
        .routes(routes!(reviews::decide))
        .route("/sharing", get(pages::list))
        .route("/sharing/{id}/decision", post(pages::decide))
        .route("/sharing/{id}/revoke", post(pages::revoke))
        .route("/sharing/{id}/renew", post(pages::renew))
        .route(
            "/catalogue/{prefix}/{seq}/apply",
            get(pages::apply_page).post(pages::apply),
        )
        .route(
            "/catalogue/{prefix}/{seq}/review",
            post(pages::request_review),
        )
        .route("/basis-reviews/{id}/decision", post(pages::decide_review))
}
