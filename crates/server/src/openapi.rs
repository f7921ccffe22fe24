//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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

/// The document's frame: title, security scheme and tags. The operations come from the
/// routes themselves (`utoipa_axum::routes!`), declared once in each capability's module.
#[derive(OpenApi)]
#[openapi(
    info(title = "datahall API", description = "政务数据归集共享平台 API: catalogue, accounts, collection, sharing, audit."),
    modifiers(&BearerAuth),
    tags((name = "catalogue", description = "政务数据资源目录"), (name = "audit", description = "审计日志"),
        (name = "sharing", description = "共享申请、授权与办理时限"), (name = "calendar", description = "工作日历"),
        (name = "data", description = "数据接口：按授权读取、核验"))
)]
pub struct ApiDoc;

/// Completes the document assembled from the routes.
pub fn finish(document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    document
}
