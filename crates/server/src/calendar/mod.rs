//! The working-day calendar (工作日历): the State Council's holiday schedules with their
//! make-up working days, and deadlines counted in working days.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api::years, api::import_year))
        .routes(routes!(api::days))
        .routes(routes!(api::deadline))
        .route("/calendar", get(pages::calendar))
}
