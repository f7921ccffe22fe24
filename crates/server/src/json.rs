//! What every JSON endpoint under `/api/v1/` shares: lists (`{"items", "total", "next"}`)
//! and body and query extractors whose rejections use the API's error shape.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

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

/// Path-parameter extractor with the API's error shape: `/share-requests/abc` is a 400
/// naming the parameter, not a plain-text rejection.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| {
                ApiError::bad_request("bad_path", format!("路径参数错误：{}", e.body_text()))
            })
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
