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
        (name = "data", description = "数据接口：按授权读取、核验"),
        (name = "hall", description = "线上政务数据大厅：待办与督办"))
)]
pub struct ApiDoc;

/// Completes the document assembled from the routes with the errors every operation of
/// a kind may answer, in the error shape of SPEC §5: a malformed query or path (400), a
/// missing or invalid credential (401) and a refusal (403) on every secured operation, an
/// unknown id in the path (404), and a body too large or of the wrong shape (413, 422).
pub fn finish(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let in_path = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == ParameterIn::Path);
            let has_body = operation.request_body.is_some();
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description).into());
            };
            add("400", "请求参数有误");
            if secured {
                add("401", "缺少或无效的身份凭证");
                add("403", "无权执行该操作");
            }
            if in_path {
                add("404", "对象不存在或不可见");
            }
            if has_body {
                add("413", "请求体过大");
                add("422", "请求内容不符合接口定义");
            }
        }
    }
    document
}
