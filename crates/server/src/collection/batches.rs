//! Collection through the API: `POST /api/v1/resources/{prefix}/{seq}/batches` takes a
//! data file (CSV, XLSX or JSON), streamed to disk as it arrives, and applies it as one
//! atomic batch; `POST …/records` lets an application push rows as JSON; `GET
//! /api/v1/batches/{id}` reports a batch's quality.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use collect::file::{BatchIdentity, FileImport};
use collect::CollectError;
use domain::values::RejectedRow;
use ingest::csv_file::TextEncoding;
use ingest::pipeline::{parse_mapping, ColumnMapping, FileFormat};
use serde::{Deserialize, Serialize};
use store::batches::BatchReport;

use crate::auth::{audit_context, Auth, Meta, Principal, RequestMeta};
use crate::catalogue::api::{visibility, visible_at};
use crate::error::{ApiError, ApiResult};
use crate::json::Query;
use crate::AppState;
use domain::access::{check, Act, Channel};

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// CSV: `auto` (default), `utf8` or `gb18030` (also for GBK files).
    pub encoding: Option<String>,
    /// CSV: one character (or `\t`); sniffed from the header when absent.
    pub delimiter: Option<String>,
    /// XLSX: the sheet to read; the first when absent.
    pub sheet: Option<String>,
    /// Column matches, `文件列=信息项` separated by commas (`列=-` ignores a column).
    /// Remembered for the entry; when absent the remembered mapping applies.
    pub mapping: Option<String>,
    /// A key naming this batch: a batch with the same key is applied once. Defaults to
    /// the content's SHA-256.
    pub batch_key: Option<String>,
}

/// The batch and the first quarantined rows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UploadReport {
    pub batch: BatchReport,
    /// At most the first 100 rejected rows, in file order.
    pub quarantine: Vec<RejectedRow>,
}

pub fn parse_encoding(text: Option<&str>) -> ApiResult<TextEncoding> {
    let name = text.unwrap_or("auto");
    TextEncoding::from_name(name).ok_or_else(|| {
        ApiError::field(
            "encoding",
            format!("编码“{name}”无法识别，可选 auto、utf8、gb18030"),
        )
    })
}

fn parse_delimiter(text: Option<&str>) -> ApiResult<Option<u8>> {
    match text {
        None | Some("") => Ok(None),
        Some("\\t") => Ok(Some(b'\t')),
        Some(d) if d.len() == 1 => Ok(Some(d.as_bytes()[0])),
        Some(_) => Err(ApiError::field("delimiter", "分隔符应为单个字符")),
    }
}

/// The uploader's column mapping, if one was given.
pub fn parse_mapping_param(text: Option<&str>) -> ApiResult<Option<ColumnMapping>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => parse_mapping(text)
            .map(Some)
            .map_err(|e| ApiError::field("mapping", e.to_string())),
    }
}

/// The entry at `/{prefix}/{seq}`, if the caller may collect into it by `channel`. The
/// store asks the same rule again when the batch begins.
pub async fn collectable(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    channel: Channel,
) -> ApiResult<store::resources::Resource> {
    let (_, resource) = visible_at(state, principal, prefix, seq).await?;
    check(
        &principal.caller(),
        Act::Collect {
            provider: resource.provider.id,
            channel,
        },
    )?;
    Ok(resource)
}

/// The identity of an upload: the client's batch key, or the content (hashed while
/// spooled) with the settings it is read with.
pub fn batch_identity(file: &crate::spool::Spooled, batch_key: Option<String>) -> BatchIdentity {
    batch_key.map_or_else(
        || BatchIdentity::Content {
            hash: Some(file.hash.clone()),
        },
        BatchIdentity::ClientKey,
    )
}

/// Imports a spooled upload as one batch; shared by the API and the upload page.
pub async fn import_spooled(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    import: FileImport,
) -> ApiResult<UploadReport> {
    let ctx = audit_context(Some(principal), meta);
    let batch = collect::file::import_file(&state.store, import, &ctx, |_| {})
        .await
        .map_err(collect_error)?;
    let quarantine = state.store.quarantine_page(batch.id, None, 100).await?;
    Ok(UploadReport { batch, quarantine })
}

pub fn collect_error(error: CollectError) -> ApiError {
    match error {
        CollectError::File(message) => ApiError::bad_request("bad_file", message),
        CollectError::Columns(e) => ApiError::bad_request("bad_columns", e.to_string()),
        CollectError::Source(message) => ApiError::bad_request("source_failed", message),
        CollectError::Timeout(message) => ApiError::bad_request("source_timeout", message),
        CollectError::NotAllowed(message) => {
            ApiError::field_with_code("source_not_allowed", "url", message)
        }
        CollectError::Store(e) => e.into(),
    }
}

#[utoipa::path(post, path = "/api/v1/resources/{prefix}/{seq}/batches", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path), UploadParams),
    request_body(content = String, content_type = "text/csv", description = "CSV (UTF-8 or GBK, any delimiter); NDJSON or a JSON array (Content-Type application/x-ndjson or application/json); or XLSX (Content-Type of XLSX). Streamed to disk; the limit is `max_upload_bytes`."),
    responses((status = 201, body = UploadReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<UploadParams>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, axum::Json<UploadReport>)> {
    let resource = collectable(&state, &principal, &prefix, &seq, Channel::Upload).await?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = if content_type.starts_with("application/json")
        || content_type.starts_with("application/x-ndjson")
    {
        FileFormat::Json
    } else if content_type.starts_with(crate::catalogue::transfer::XLSX_TYPE) {
        FileFormat::Xlsx {
            sheet: params.sheet.clone(),
        }
    } else {
        FileFormat::Csv {
            encoding: parse_encoding(params.encoding.as_deref())?,
            delimiter: parse_delimiter(params.delimiter.as_deref())?,
        }
    };
    let mapping = parse_mapping_param(params.mapping.as_deref())?;
    let file =
        crate::spool::spool_body(body, &state.config.spool_dir, state.config.max_upload_bytes)
            .await?;
    let import = FileImport {
        code: resource.code.clone(),
        path: file.path.to_path_buf(),
        format,
        mapping,
        channel: "api",
        identity: batch_identity(&file, params.batch_key),
    };
    let report = import_spooled(&state, &principal, &meta, import).await?;
    Ok((StatusCode::CREATED, axum::Json(report)))
}

/// Rows pushed by an application.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Names the push: the same key is applied once (retry safely after a timeout).
    pub batch_key: String,
    /// Objects keyed by item identifier or name; at most 10,000.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The most records one push may carry; larger loads go through `…/batches`.
pub const PUSH_MAX_RECORDS: usize = 10_000;

#[utoipa::path(post, path = "/api/v1/resources/{prefix}/{seq}/records", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)), request_body = PushRequest,
    responses((status = 201, body = UploadReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn push(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    crate::json::Json(request): crate::json::Json<PushRequest>,
) -> ApiResult<(StatusCode, axum::Json<UploadReport>)> {
    let resource = collectable(&state, &principal, &prefix, &seq, Channel::Push).await?;
    let key = request.batch_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::field("batch_key", "batch_key 应为 1–200 个字符"));
    }
    if request.records.is_empty() {
        return Err(ApiError::field("records", "records 不能为空"));
    }
    if request.records.len() > PUSH_MAX_RECORDS {
        return Err(ApiError::PayloadTooLarge(format!(
            "一次最多推送 {PUSH_MAX_RECORDS} 条，更大的数据请用文件批次接口"
        )));
    }
    let items = state.store.published_body(&resource).await?.items;
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for (i, record) in request.records.iter().enumerate() {
        match ingest::pipeline::check_object(i as u64 + 1, record, &items) {
            Ok(row) => accepted.push(row),
            Err(row) => rejected.push(row),
        }
    }
    let ctx = audit_context(Some(&principal), &meta);
    let batch = state
        .store
        .apply_batch(
            &resource.code,
            "push:json",
            &format!("key:{key}"),
            &accepted,
            &rejected,
            &ctx,
        )
        .await?;
    let quarantine = state.store.quarantine_page(batch.id, None, 100).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(UploadReport { batch, quarantine }),
    ))
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
    may_see_collection(&principal, &resource)?;
    let failures = state.store.quarantine_by_column(id).await?;
    let items = state.store.published_body(&resource).await?.items;
    let items = item_quality(&items, &failures, batch.rows_received);
    let quarantine = state.store.quarantine_page(id, None, 100).await?;
    Ok(axum::Json(BatchDetail {
        resource: code,
        malformed_rows: failed_on(&failures, None),
        batch,
        items,
        quarantine,
    }))
}

/// The provider department, the bureau and auditors see an entry's collection.
pub fn may_see_collection(
    principal: &Principal,
    resource: &store::resources::Resource,
) -> ApiResult<()> {
    Ok(check(
        &principal.caller(),
        Act::ViewCollection {
            provider: resource.provider.id,
        },
    )?)
}

fn failed_on(failures: &[(Option<String>, i64)], name: Option<&str>) -> i64 {
    failures
        .iter()
        .find(|(c, _)| c.as_deref() == name)
        .map_or(0, |(_, n)| *n)
}

/// The pass rate of each item, from failures per item name over `received` rows.
pub fn item_quality(
    items: &[domain::catalogue::Item],
    failures: &[(Option<String>, i64)],
    received: i64,
) -> Vec<ItemQuality> {
    items
        .iter()
        .map(|item| {
            let failed = failed_on(failures, Some(&item.name));
            ItemQuality {
                item: item.name.clone(),
                identifier: item.identifier.clone(),
                rule: item.rule.as_ref().map(|r| r.to_string()),
                failed,
                pass_rate: if received == 0 {
                    1.0
                } else {
                    (received - failed) as f64 / received as f64
                },
            }
        })
        .collect()
}

/// An entry's collection quality over all its successful batches.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryQualityReport {
    pub resource: String,
    pub batches: i64,
    pub rows_received: i64,
    pub rows_accepted: i64,
    pub rows_quarantined: i64,
    /// Share of received rows accepted, 0–1 (1 when nothing was received).
    pub pass_rate: f64,
    pub malformed_rows: i64,
    pub items: Vec<ItemQuality>,
    /// Per validation rule: rows failing an item that carries the rule.
    pub rules: Vec<RuleQuality>,
    /// The latest batches, newest first.
    pub recent: Vec<BatchReport>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RuleQuality {
    pub rule: String,
    pub failed: i64,
    pub pass_rate: f64,
}

pub async fn entry_quality(
    state: &AppState,
    resource: &store::resources::Resource,
) -> ApiResult<EntryQualityReport> {
    let quality = state.store.entry_quality(resource.id).await?;
    let items = state.store.published_body(resource).await?.items;
    let per_item = item_quality(&items, &quality.failures, quality.rows_received);
    let mut rules: std::collections::BTreeMap<String, i64> = Default::default();
    for item in &per_item {
        if let Some(rule) = &item.rule {
            let name = rule.split(':').next().unwrap_or(rule).to_string();
            *rules.entry(name).or_default() += item.failed;
        }
    }
    let received = quality.rows_received.max(1) as f64;
    Ok(EntryQualityReport {
        resource: resource.code.clone(),
        batches: quality.batches,
        rows_received: quality.rows_received,
        rows_accepted: quality.rows_accepted,
        rows_quarantined: quality.rows_quarantined,
        pass_rate: if quality.rows_received == 0 {
            1.0
        } else {
            quality.rows_accepted as f64 / received
        },
        malformed_rows: failed_on(&quality.failures, None),
        items: per_item,
        rules: rules
            .into_iter()
            .map(|(rule, failed)| RuleQuality {
                pass_rate: 1.0 - failed as f64 / received,
                rule,
                failed,
            })
            .collect(),
        recent: state.store.recent_batches(resource.id, 20).await?,
    })
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}/quality", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = EntryQualityReport), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn quality(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
) -> ApiResult<axum::Json<EntryQualityReport>> {
    let (_, resource) = visible_at(&state, &principal, &prefix, &seq).await?;
    may_see_collection(&principal, &resource)?;
    Ok(axum::Json(entry_quality(&state, &resource).await?))
}

/// Rows of the quarantine read and written per step of its download.
const QUARANTINE_PAGE: i64 = 5_000;

/// The quarantined rows of a batch as a CSV file (UTF-8 with BOM, for Excel), streamed a
/// page at a time: a million rows never sit in memory. Returns the file's name and body.
pub async fn quarantine_csv(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> ApiResult<(String, axum::body::Body)> {
    let (_, code) = state.store.batch(id).await?;
    let resource = state
        .store
        .visible_resource(&code, visibility(principal))
        .await?;
    may_see_collection(principal, &resource)?;
    let store = state.store.clone();
    // The state between pages: the last line written (`None` before the first page), and
    // whether the end was reached.
    let pages = futures_util::stream::unfold((None::<u64>, false), move |(after, finished)| {
        let store = store.clone();
        async move {
            if finished {
                return None;
            }
            let rows = match store.quarantine_page(id, after, QUARANTINE_PAGE).await {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::error!(batch = id, %error, "quarantine download cut");
                    let failed = std::io::Error::other("quarantine read failed");
                    return Some((Err(failed), (after, true)));
                }
            };
            let first = after.is_none();
            let bom: &[u8] = if first { b"\xEF\xBB\xBF" } else { b"" };
            let mut out = csv::Writer::from_writer(bom.to_vec());
            if first {
                let _ = write_cells(&mut out, ["行号", "信息项", "值", "原因"]);
            }
            for row in &rows {
                let _ = write_cells(
                    &mut out,
                    [
                        &row.line.to_string(),
                        row.column.as_deref().unwrap_or(""),
                        row.value.as_deref().unwrap_or(""),
                        &row.reason,
                    ],
                );
            }
            let done = (rows.len() as i64) < QUARANTINE_PAGE;
            let next = rows.last().map(|r| r.line).or(after).or(Some(0));
            let bytes = out.into_inner().unwrap_or_default();
            Some((Ok::<_, std::io::Error>(bytes), (next, done)))
        }
    });
    Ok((
        format!("quarantine-{id}.csv"),
        axum::body::Body::from_stream(pages),
    ))
}

/// One CSV record, each cell guarded against formula injection.
fn write_cells(out: &mut csv::Writer<Vec<u8>>, row: [&str; 4]) -> csv::Result<()> {
    out.write_record(
        row.map(crate::csv_cell::safe_cell)
            .iter()
            .map(|c| c.as_ref()),
    )
}

#[utoipa::path(get, path = "/api/v1/batches/{id}/quarantine.csv", tag = "collection", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn quarantine_download(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::response::Response> {
    let (name, body) = quarantine_csv(&state, &principal, id).await?;
    Ok(csv_response(&name, body))
}

pub fn csv_response(name: &str, bytes: impl Into<axum::body::Body>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes.into(),
    )
        .into_response()
}
