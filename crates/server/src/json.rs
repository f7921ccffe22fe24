//! JSON API under `/api/v1/`. Lists answer `{"items", "total", "next"}`.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use crate::AppState;

pub mod audit;
pub mod basis_reviews;
pub mod batches;
pub mod catalogue;
pub mod data;
pub mod departments;
pub mod feed;
pub mod needs;
pub mod objections;
pub mod resources;
pub mod session;
pub mod sharing;
pub mod sources;
pub mod stats;
pub mod tokens;
pub mod users;

/// A list page.
#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// Cursor of the next page, or null on the last page.
    pub next: Option<String>,
}

impl<T> List<T> {
    pub fn all(items: Vec<T>) -> Self {
        let total = items.len() as i64;
        Self {
            items,
            total,
            next: None,
        }
    }
}

/// JSON body extractor whose rejections use the API's error shape: malformed JSON is 400,
/// a well-formed body of the wrong shape (unknown field, wrong type) is 422, too large 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::Unprocessable {
            message: format!("请求内容不符合接口定义：{text}"),
            details: vec![domain::FieldError::new("body", text)],
        },
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("malformed_json", format!("JSON 格式错误：{text}"))
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("content_type", "请求头 Content-Type 应为 application/json")
        }
        JsonRejection::BytesRejection(_)
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge(format!("请求体超过上限 {} 字节", crate::JSON_BODY_LIMIT))
        }
        _ => ApiError::bad_request("bad_body", text),
    }
}

/// An uploaded file's bytes, or the API error for a body that is too large or unreadable.
pub fn upload_bytes(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "文件超过上限 {} MiB",
                crate::UPLOAD_LIMIT / 1024 / 1024
            ))
        } else {
            ApiError::bad_request("bad_body", e.body_text())
        }
    })
}

/// Query-string extractor with the API's error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::bad_request("bad_query", format!("查询参数错误：{}", e.body_text()))
            })
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/logout", post(session::logout))
        .route("/api/v1/me", get(session::me))
        .route(
            "/api/v1/departments",
            get(departments::list).post(departments::create),
        )
        .route("/api/v1/departments/{id}", get(departments::show))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{username}/role", put(users::set_role))
        .route(
            "/api/v1/users/{username}/password",
            put(users::reset_password),
        )
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route(
            "/api/v1/resources",
            get(resources::search).post(resources::create),
        )
        .route("/api/v1/resources/{code}", get(resources::show_encoded))
        .route(
            "/api/v1/resources/{prefix}/{seq}",
            get(resources::show).put(resources::update),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/versions",
            get(resources::versions),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/diff",
            get(resources::diff),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/workflow",
            post(resources::workflow),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/batches",
            // Streamed to disk; `max_upload_bytes` is enforced while spooling.
            post(batches::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/records",
            post(batches::push).layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/sources",
            get(sources::list).post(sources::create),
        )
        .route("/api/v1/sources/{id}/run", post(sources::run))
        .route("/api/v1/stats/aggregation", get(stats::aggregation))
        .route("/api/v1/sources/{id}/enabled", post(sources::set_enabled))
        .route("/api/v1/batches/{id}", get(batches::show))
        .route(
            "/api/v1/batches/{id}/quarantine.csv",
            get(batches::quarantine_download),
        )
        .route(
            "/api/v1/resources/{prefix}/{seq}/quality",
            get(batches::quality),
        )
        .route("/api/v1/source-conflicts", get(resources::conflicts))
        .route("/api/v1/catalogue/export", get(catalogue::export_json))
        .route("/api/v1/catalogue/import", post(catalogue::import_json))
        .route(
            "/api/v1/catalogue/template.xlsx",
            get(catalogue::export_xlsx),
        )
        .route(
            "/api/v1/catalogue/import.xlsx",
            post(catalogue::import_xlsx)
                .layer(axum::extract::DefaultBodyLimit::max(crate::UPLOAD_LIMIT)),
        )
        .route(
            "/api/v1/share-requests",
            get(sharing::list).post(sharing::submit),
        )
        .route("/api/v1/share-requests/{id}", get(sharing::show))
        .route(
            "/api/v1/share-requests/{id}/decision",
            post(sharing::decide),
        )
        .route("/api/v1/share-requests/{id}/revoke", post(sharing::revoke))
        .route("/api/v1/share-requests/{id}/renew", post(sharing::renew))
        .route("/api/v1/delegates/{username}", put(sharing::set_delegate))
        .route("/api/v1/duties", get(sharing::duties))
        .route(
            "/api/v1/objections",
            get(objections::list).post(objections::raise),
        )
        .route("/api/v1/objections/{id}/answer", post(objections::answer))
        .route(
            "/api/v1/basis-reviews",
            get(basis_reviews::list).post(basis_reviews::request),
        )
        .route(
            "/api/v1/basis-reviews/{id}/decision",
            post(basis_reviews::decide),
        )
        .route("/api/v1/needs", get(needs::list).post(needs::post))
        .route("/api/v1/needs/{id}/assign", post(needs::assign))
        .route("/api/v1/needs/{id}/answer", post(needs::answer))
        .route("/api/v1/accountability", get(sharing::accountability))
        .route(
            "/api/v1/calendar/years",
            get(sharing::years).post(sharing::import_year),
        )
        .route("/api/v1/calendar/days", get(sharing::days))
        .route("/api/v1/calendar/deadline", get(sharing::deadline))
        .route("/api/v1/data/{prefix}/{seq}/records", get(data::records))
        .route(
            "/api/v1/data/{prefix}/{seq}/records/{key}",
            get(data::record),
        )
        .route("/api/v1/data/{prefix}/{seq}/verify", post(data::verify))
        .route("/api/v1/data/{prefix}/{seq}/changes", get(feed::changes))
        .route("/api/v1/data/{prefix}/{seq}/export", get(feed::export))
        .route("/api/v1/resources/{prefix}/{seq}/usage", get(data::usage))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
}
