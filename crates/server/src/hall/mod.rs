//! The online data hall (线上政务数据大厅): each person's queue of work.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod home;
pub mod tasks;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/", get(home::page))
        .routes(routes!(tasks::tasks))
}
