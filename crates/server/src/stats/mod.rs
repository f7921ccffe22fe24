//! Statistics (归集统计): aggregation rates against the targets, freshness and quality.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::aggregation))
        .route("/stats", get(pages::page))
}
