//! The online data hall (线上政务数据大厅): each person's queue of work.

use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod home;
mod notifications;
pub mod tasks;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/", get(home::page))
        .route("/tasks/{id}/urge", post(home::urge))
        .route("/notifications", get(notifications::page))
        .route("/notifications/read", post(notifications::read))
        .routes(routes!(tasks::tasks))
        .routes(routes!(tasks::urge))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::mark_read))
}
