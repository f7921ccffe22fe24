//! `POST /api/v1/resources/{prefix}/{seq}/batches`: a provider uploads a CSV export of an
//! entry's data. Every row is checked against the published items; good rows are upserted
//! by key and bad ones quarantined, in one atomic batch; the same file is applied once.
//!
//! Collection groundwork: the body is read whole (up to the upload limit) rather than
//! streamed, and only CSV is taken so far.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::values::RejectedRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::batches::BatchReport;

use super::resources::{visibility, visible_at};
use super::Query;
use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// `auto` (default), `utf8` or `gb18030` (also for GBK files).
    pub encoding: Option<String>,
    /// One character; sniffed from the header when absent.
    pub delimiter: Option<String>,
}

/// The batch and the first quarantined rows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadReport {
    pub batch: BatchReport,
    /// At most the first 100 rejected rows, in file order.
    pub quarantine: Vec<RejectedRow>,
}

pub fn parse_params(
    params: &UploadParams,
) -> ApiResult<(ingest::csv_file::TextEncoding, Option<u8>)> {
    use ingest::csv_file::TextEncoding;
    let encoding = match params.encoding.as_deref().unwrap_or("auto") {
        "auto" => TextEncoding::Auto,
        "utf8" | "utf-8" => TextEncoding::Utf8,
        "gb18030" | "gbk" => TextEncoding::Gb18030,
        other => {
            return Err(ApiError::field(
                "encoding",
                format!("编码“{other}”无法识别，可选 auto、utf8、gb18030"),
            ))
        }
    };
    let delimiter = match params.delimiter.as_deref() {
        None => None,
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some("\\t") => Some(b'\t'),
        Some(_) => return Err(ApiError::field("delimiter", "分隔符应为单个字符")),
    };
    Ok((encoding, delimiter))
}

/// How an uploaded file is to be read.
#[derive(Debug, Clone, Copy)]
pub enum UploadFormat {
    Csv {
        encoding: ingest::csv_file::TextEncoding,
        delimiter: Option<u8>,
    },
    Json,
    Xlsx,
}

/// Checks an uploaded file against the entry's published items and applies it as one
/// batch; shared by the API and the upload page.
pub async fn ingest_upload(
    state: &AppState,
    principal: &crate::auth::Principal,
    meta: &crate::auth::RequestMeta,
    prefix: &str,
    seq: &str,
    bytes: &[u8],
    format: UploadFormat,
) -> ApiResult<UploadReport> {
    let (code, resource) = visible_at(state, principal, prefix, seq).await?;
    if principal.department_id() != Some(resource.provider.id)
        || principal.role() == Some(domain::account::Role::Auditor)
    {
        return Err(ApiError::Forbidden(
            "只有提供方部门的人员或其应用系统可以归集本目录的数据".into(),
        ));
    }
    let items = state.store.published_body(&resource).await?.items;
    let (accepted, rejected, source) = match format {
        UploadFormat::Json => {
            let (accepted, rejected) =
                ingest::pipeline::check_json(bytes, &items).map_err(file_error)?;
            (accepted, rejected, "upload:json")
        }
        UploadFormat::Xlsx => {
            let (accepted, rejected) =
                ingest::pipeline::check_xlsx(bytes, &items).map_err(file_error)?;
            (accepted, rejected, "upload:xlsx")
        }
        UploadFormat::Csv {
            encoding,
            delimiter,
        } => {
            let (accepted, rejected) =
                ingest::pipeline::check_csv(bytes, encoding, delimiter, &items, |_| {})
                    .map_err(file_error)?;
            (accepted, rejected, "upload:csv")
        }
    };
    let hash = hex::encode(Sha256::digest(bytes));
    let ctx = audit_context(Some(principal), meta);
    let batch = state
        .store
        .apply_batch(&code, source, &hash, &accepted, &rejected, &ctx)
        .await?;
    let mut quarantine = state.store.quarantine(batch.id).await?;
    quarantine.truncate(100);
    Ok(UploadReport { batch, quarantine })
}

fn file_error(error: ingest::pipeline::FileError) -> ApiError {
    match error {
        ingest::pipeline::FileError::File(message) => ApiError::bad_request("bad_file", message),
        ingest::pipeline::FileError::Columns(e) => {
            ApiError::bad_request("bad_columns", e.to_string())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/resources/{prefix}/{seq}/batches", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path), UploadParams),
    request_body(content = String, content_type = "text/csv", description = "CSV (UTF-8 or GBK); NDJSON or a JSON array (Content-Type application/x-ndjson or application/json); or XLSX (first sheet, Content-Type of XLSX)"),
    responses((status = 201, body = UploadReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<UploadParams>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, axum::Json<UploadReport>)> {
    let bytes = super::upload_bytes(body)?;
    let (encoding, delimiter) = parse_params(&params)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = if content_type.starts_with("application/json")
        || content_type.starts_with("application/x-ndjson")
    {
        UploadFormat::Json
    } else if content_type.starts_with(super::catalogue::XLSX_TYPE) {
        UploadFormat::Xlsx
    } else {
        UploadFormat::Csv {
            encoding,
            delimiter,
        }
    };
    let report = ingest_upload(&state, &principal, &meta, &prefix, &seq, &bytes, format).await?;
    Ok((StatusCode::CREATED, axum::Json(report)))
}

/// The pass rate of one item in a batch.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemQuality {
    pub item: String,
    pub identifier: String,
    /// The item's validation rule, if any (id_card, range:…).
    pub rule: Option<String>,
    pub failed: i64,
    /// Share of received rows whose value passed, 0–1.
    pub pass_rate: f64,
}

/// A batch with its quality report.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchDetail {
    pub resource: String,
    pub batch: BatchReport,
    /// Rows rejected as a whole (ragged, unreadable).
    pub malformed_rows: i64,
    pub items: Vec<ItemQuality>,
    pub quarantine: Vec<RejectedRow>,
}

#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "collection", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = BatchDetail), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<BatchDetail>> {
    let (batch, code) = state.store.batch(id).await?;
    let resource = state
        .store
        .visible_resource(&code, visibility(&principal))
        .await?;
    let oversight = matches!(
        principal.role(),
        Some(domain::account::Role::Admin | domain::account::Role::Auditor)
    );
    if !oversight && principal.department_id() != Some(resource.provider.id) {
        return Err(ApiError::Forbidden(
            "只有提供方部门、管理方和审计员可以查看归集批次".into(),
        ));
    }
    let failures = state.store.quarantine_by_column(id).await?;
    let failed_on = |name: Option<&str>| {
        failures
            .iter()
            .find(|(c, _)| c.as_deref() == name)
            .map_or(0, |(_, n)| *n)
    };
    let received = batch.rows_received.max(1) as f64;
    let items = state
        .store
        .published_body(&resource)
        .await?
        .items
        .iter()
        .map(|item| {
            let failed = failed_on(Some(&item.name));
            ItemQuality {
                item: item.name.clone(),
                identifier: item.identifier.clone(),
                rule: item.rule.as_ref().map(|r| r.to_string()),
                failed,
                pass_rate: (batch.rows_received - failed) as f64 / received,
            }
        })
        .collect();
    let mut quarantine = state.store.quarantine(id).await?;
    quarantine.truncate(100);
    Ok(axum::Json(BatchDetail {
        resource: code,
        malformed_rows: failed_on(None),
        batch,
        items,
        quarantine,
    }))
}
