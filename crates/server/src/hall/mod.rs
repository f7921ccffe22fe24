//! The online data hall (线上政务数据大厅): each person's queue of work.

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

mod home;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route("/", get(home::page))
}
