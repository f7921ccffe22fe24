//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the handlers.

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "datahall API", description = "政务数据归集共享平台 API: catalogue, accounts, collection, sharing, audit."),
    paths(
        api::session::login, api::session::logout, api::session::me,
        api::departments::list, api::departments::show, api::departments::create,
        api::users::list, api::users::create, api::users::set_role, api::users::reset_password,
        api::tokens::list, api::tokens::create, api::tokens::revoke,
        api::resources::search, api::resources::create, api::resources::show, api::resources::show_encoded,
        api::resources::update, api::resources::workflow, api::resources::versions, api::resources::diff,
        api::resources::conflicts, api::batches::upload, api::batches::push, api::batches::show, api::batches::quality, api::batches::quarantine_download,
        api::sources::create, api::sources::list, api::sources::run, api::sources::set_enabled, api::stats::aggregation,
        api::catalogue::export_json, api::catalogue::import_json, api::catalogue::export_xlsx, api::catalogue::import_xlsx,
        api::audit::list, api::audit::verify,
        api::sharing::submit, api::sharing::list, api::sharing::show, api::sharing::decide, api::sharing::revoke, api::sharing::renew,
        api::sharing::set_delegate, api::sharing::duties, api::sharing::accountability,
        api::sharing::years, api::sharing::import_year, api::sharing::days, api::sharing::deadline,
        api::data::records, api::data::record, api::data::verify, api::data::usage,
        api::feed::changes, api::feed::export,
        api::objections::raise, api::objections::list, api::objections::answer,
        api::needs::post, api::needs::list, api::needs::assign, api::needs::answer,
        api::basis_reviews::request, api::basis_reviews::list, api::basis_reviews::decide,
        healthz_doc,
    ),
    modifiers(&BearerAuth),
    tags((name = "catalogue", description = "政务数据资源目录"), (name = "audit", description = "审计日志"),
        (name = "sharing", description = "共享申请、授权与办理时限"), (name = "calendar", description = "工作日历"),
        (name = "data", description = "数据接口：按授权读取、核验"))
)]
pub struct ApiDoc;

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok"), (status = 503, description = "database unavailable")))]
#[allow(dead_code)]
fn healthz_doc() {}

pub async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
