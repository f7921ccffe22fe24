//! Collection (归集): uploads, pushes and pulls into a published entry, their batches,
//! quarantine and quality.

use axum::routing::{get, post};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;

pub mod batches;
mod pages;
pub mod sources;

pub fn routes() -> OpenApiRouter<AppState> {
    // Uploads are streamed to disk; `max_upload_bytes` is enforced while spooling.
    let unlimited = axum::extract::DefaultBodyLimit::disable;
    OpenApiRouter::new()
        .routes(routes!(batches::upload).layer(unlimited()))
        .routes(
            routes!(batches::push).layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT)),
        )
        .routes(routes!(sources::list, sources::create))
        .routes(routes!(sources::run))
        .routes(routes!(sources::set_enabled))
        .routes(routes!(batches::show))
        .routes(routes!(batches::quarantine_download))
        .routes(routes!(batches::quality))
        .route(
            "/catalogue/{prefix}/{seq}/upload",
            get(pages::page).post(pages::submit).layer(unlimited()),
        )
        .route("/catalogue/{prefix}/{seq}/sources", post(pages::add_source))
        .route("/sources/{id}/run", post(pages::run_source))
        .route(
            "/batches/{id}/quarantine.csv",
            get(pages::quarantine_download),
        )
}
