//! The catalogue (政务数据资源目录): entries drafted by departments, signed by their chief,
//! reviewed and published by the bureau; search, versions, the XLSX template.

use axum::routing::{get, post};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;

pub mod api;
mod editor;
pub(crate) mod pages;
pub mod transfer;

pub fn routes() -> OpenApiRouter<AppState> {
    let upload_limit = || axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT);
    OpenApiRouter::new()
        .routes(routes!(api::search, api::create))
        .routes(routes!(api::show_encoded))
        .routes(routes!(api::show, api::update))
        .routes(routes!(api::versions))
        .routes(routes!(api::diff))
        .routes(routes!(api::workflow))
        .routes(routes!(api::conflicts))
        .routes(routes!(transfer::export_json))
        .routes(routes!(transfer::import_json))
        .routes(routes!(transfer::export_xlsx))
        .routes(routes!(transfer::import_xlsx).layer(upload_limit()))
        .route("/catalogue", get(pages::list))
        .route("/catalogue/new", get(editor::new_page).post(editor::create))
        .route(
            "/catalogue/import",
            get(pages::import_page)
                .post(pages::import_submit)
                .layer(upload_limit()),
        )
        .route("/catalogue/template.xlsx", get(pages::template))
        .route("/catalogue/{prefix}/{seq}", get(pages::detail))
        .route(
            "/catalogue/{prefix}/{seq}/edit",
            get(editor::edit_page).post(editor::update),
        )
        .route("/catalogue/{prefix}/{seq}/workflow", post(pages::workflow))
        .route("/catalogue/{prefix}/{seq}/diff", get(pages::diff))
        .route("/review", get(pages::review))
}
