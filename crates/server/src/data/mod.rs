//! The data API (数据接口): what an application system reads under its grant — records,
//! one record, verification, the change feed and the bulk export — and who uses an
//! entry's data. Every call is in the access log before its answer leaves.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub mod access_log;
pub mod feed;
mod parquet_file;
pub mod records;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(records::records))
        .routes(routes!(records::record))
        .routes(routes!(records::verify))
        .routes(routes!(feed::changes))
        .routes(routes!(feed::export))
        .routes(routes!(records::usage))
}
