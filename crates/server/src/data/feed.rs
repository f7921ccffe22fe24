//! The granted slice of an entry for consumers that keep a copy: the change feed
//! (`GET /api/v1/data/{code}/changes?since=`) and the bulk export (`GET …/export`, CSV or
//! Parquet, streamed). Both go through the same grant, projection, row filter, masking and
//! access log as the record reads in [`super::records`].

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::json::Path;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use domain::catalogue::Item;
use domain::sharing::GrantedItem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::changes::{Change, ExportEvent, FeedAfter, FeedQuery, FeedResume};
use tokio::sync::mpsc;

use super::records::{
    filters, key_columns, limit_param, logged, open_cursor, param, parse_key, projected,
    record_json, record_query, resolve, seal_cursor, shown, Access, SubjectPlan, Trace,
};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::Query;
use crate::AppState;

const FEED_RESERVED: [&str; 3] = ["since", "fields", "limit"];
const EXPORT_RESERVED: [&str; 2] = ["format", "fields"];
const FEED_DEFAULT_LIMIT: i64 = 500;
const FEED_MAX_LIMIT: i64 = 5_000;
/// Rows an export reads per query inside its snapshot.
const EXPORT_PAGE: i64 = 5_000;

/// A position in an entry's change feed, as sealed into `since`/`next`.
#[derive(Serialize, Deserialize)]
struct Position {
    /// Published sequence of the batch.
    s: i64,
    /// Inside the batch: after this row key…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<Vec<Value>>,
    /// …or after this deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<i64>,
}

/// Changes since a position.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangePage {
    /// `{"op": "upsert", "record": {…}}` with the record's current granted items, or
    /// `{"op": "delete", "key": {…}}` with its granted key items.
    pub changes: Vec<Map<String, Value>>,
    /// Pass as `since=` next time, also when no change came (it is the current position).
    pub next: String,
    /// More changes are ready now; otherwise poll later.
    pub more: bool,
}

#[utoipa::path(get, path = "/api/v1/data/{prefix}/{seq}/changes", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path),
           ("since" = Option<String>, Query, description = "The `next` of the previous call (or the export's `X-Changes-Cursor`); absent: from the beginning"),
           ("fields" = Option<String>, Query, description = "Granted items to return, comma-separated"),
           ("limit" = Option<i64>, Query, description = "Changes per call, 1–5000 (500)")),
    responses((status = 200, body = ChangePage), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
               (status = 403, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody),
               (status = 503, body = crate::error::ErrorBody)))]
/// An entry's changes in the order they were published: each changed record once, in its
/// current state, and the keys of deleted records, within the grant.
pub async fn changes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<axum::Json<ChangePage>> {
    let started = Instant::now();
    logged(&state, "changes", started, async {
        let mut trace = Trace::of(&meta);
        let result = read_feed(&state, &principal, &prefix, &seq, &params, &mut trace).await;
        (result, trace)
    })
    .await
    .map(axum::Json)
}

async fn read_feed(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    params: &[(String, String)],
    trace: &mut Trace,
) -> ApiResult<ChangePage> {
    let access = resolve(state, principal, prefix, seq, trace).await?;
    let columns = projected(&access, param(params, "fields"), trace)?;
    let limit = limit_param(params, FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT)?;
    let keys = key_columns(access.body());
    let position: Position = match param(params, "since") {
        Some(cursor) => open_cursor(state, cursor)?,
        None => Position {
            s: 0,
            r: None,
            d: None,
        },
    };
    if position.s > 0 {
        let retention = chrono::Duration::days(state.config.feed_retention_days);
        let published = state.store.published_at(position.s).await?;
        if published.is_none_or(|at| at < chrono::Utc::now() - retention) {
            return Err(ApiError::Gone(format!(
                "游标早于变更记录的保留期（{} 天），请先重新导出（export）再从其游标继续",
                state.config.feed_retention_days
            )));
        }
    }
    let after = match (&position.r, position.d) {
        (Some(key), _) => FeedAfter::Row(parse_key(&keys, &store::data_access::key_text(key))?),
        (None, Some(id)) => FeedAfter::Deletion(id),
        (None, None) => FeedAfter::BatchDone,
    };
    let filters = filters(&access, params, &FEED_RESERVED, trace)?;
    let (rows, subjects) = record_query(&access, &keys, &columns, filters, None, limit);
    let query = FeedQuery {
        resource_id: access.grant.resource_id,
        table: rows.table,
        keys: rows.keys,
        columns: rows.columns,
        filters: rows.filters,
        seq: position.s,
        after,
        limit,
    };
    let page = state.store.read_changes(&query).await?;
    trace.rows = page.changes.len() as i64;
    let key_items: Vec<Option<&Item>> = keys.iter().map(|(i, _)| *i).collect();
    let changes = page
        .changes
        .into_iter()
        .map(|change| {
            let (json, people) =
                change_json(state, &access, &columns, &key_items, &subjects, change);
            trace.subjects.extend(people);
            json
        })
        .collect();
    let next = Position {
        s: page.seq,
        r: match &page.resume {
            FeedResume::Row(key) => Some(key.clone()),
            _ => None,
        },
        d: match page.resume {
            FeedResume::Deletion(id) => Some(id),
            _ => None,
        },
    };
    Ok(ChangePage {
        changes,
        next: seal_cursor(state, &next),
        more: page.more,
    })
}

/// A change as the consumer reads it, and whose record it is (keyed hashes).
fn change_json(
    state: &AppState,
    access: &Access,
    columns: &[(&Item, GrantedItem)],
    key_items: &[Option<&Item>],
    subjects: &SubjectPlan,
    change: Change,
) -> (Map<String, Value>, Vec<String>) {
    let mut out = Map::new();
    let mut people = Vec::new();
    match change {
        Change::Upsert((key, mut values)) => {
            people = subjects.take(state, &key, &mut values);
            out.insert("op".into(), Value::from("upsert"));
            let record = record_json(access, columns, &key, values);
            out.insert("record".into(), Value::Object(record));
        }
        Change::Delete { key } => {
            out.insert("op".into(), Value::from("delete"));
            // Only granted key items are named, shown as the grant shows them.
            let shown_key: Map<String, Value> = key_items
                .iter()
                .zip(key)
                .filter_map(|(item, value)| {
                    let item = (*item)?;
                    let grant = access
                        .grant
                        .items
                        .iter()
                        .find(|g| g.item == item.identifier)?;
                    Some((item.identifier.clone(), shown(item, grant, value)))
                })
                .collect();
            out.insert("key".into(), Value::Object(shown_key));
        }
    }
    (out, people)
}

/// The formats of an export.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
}

impl Format {
    fn parse(text: Option<&str>) -> ApiResult<Self> {
        match text.unwrap_or("csv") {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            other => Err(ApiError::field(
                "format",
                format!("不支持的导出格式“{other}”，可选 csv 或 parquet"),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// Turns pages of records into the bytes of a file.
enum Encoder {
    Csv { header: Vec<String>, started: bool },
    Parquet(Box<super::parquet_file::Writer>),
}

impl Encoder {
    fn new(format: Format, columns: &[(&Item, GrantedItem)]) -> ApiResult<Self> {
        Ok(match format {
            Format::Csv => Encoder::Csv {
                header: columns.iter().map(|(i, _)| i.identifier.clone()).collect(),
                started: false,
            },
            Format::Parquet => Encoder::Parquet(Box::new(
                super::parquet_file::Writer::new(columns)
                    .map_err(|e| ApiError::Internal(format!("parquet schema: {e}")))?,
            )),
        })
    }

    /// The bytes for one page (possibly none yet: Parquet writes whole row groups).
    fn page(&mut self, rows: Vec<Map<String, Value>>) -> Result<Vec<u8>, String> {
        match self {
            Encoder::Csv { header, started } => {
                let mut out = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 128));
                if !*started {
                    out.write_record(header.iter()).map_err(|e| e.to_string())?;
                    *started = true;
                }
                for row in rows {
                    let cells = header.iter().map(|name| match row.get(name) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => crate::csv_cell::safe_cell(s).into_owned(),
                        Some(other) => other.to_string(),
                    });
                    out.write_record(cells).map_err(|e| e.to_string())?;
                }
                out.into_inner().map_err(|e| e.to_string())
            }
            Encoder::Parquet(writer) => writer.push(rows).map_err(|e| e.to_string()),
        }
    }

    /// The file's last bytes.
    fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Encoder::Csv { header, started } => {
                if started {
                    return Ok(Vec::new());
                }
                // An empty export is still a file with its header.
                let mut out = csv::Writer::from_writer(Vec::new());
                out.write_record(header.iter()).map_err(|e| e.to_string())?;
                out.into_inner().map_err(|e| e.to_string())
            }
            Encoder::Parquet(writer) => writer.finish().map_err(|e| e.to_string()),
        }
    }
}

/// A response body fed by the export task.
struct Chunks(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(http_body::Frame::data)))
    }
}

#[utoipa::path(get, path = "/api/v1/data/{prefix}/{seq}/export", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path),
           ("format" = Option<String>, Query, description = "`csv` (default) or `parquet`"),
           ("fields" = Option<String>, Query, description = "Granted items to export, comma-separated")),
    responses((status = 200, description = "The granted slice, streamed; `X-Row-Count` and `X-Changes-Cursor` (continue with the change feed) in the headers"),
               (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
/// The whole granted slice of an entry as one file, read in one consistent snapshot and
/// streamed: memory stays flat whatever the entry's size.
pub async fn export(
    State(state): State<AppState>,
    Auth(principal): Auth,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let started = Instant::now();
    let logged_start = logged(&state, "export", started, async {
        let mut trace = Trace::of(&meta);
        let result = start_export(&state, &principal, &prefix, &seq, &params, &mut trace).await;
        if let Ok(running) = &result {
            trace.rows = running.rows;
        }
        (result, trace)
    })
    .await;
    // The access record is durable before the first byte leaves (fail closed).
    let running = match logged_start {
        Ok(running) => running,
        Err(error) => return error.into_response(),
    };
    let mut response = Response::new(Body::new(Chunks(running.chunks)));
    let headers = response.headers_mut();
    let name = format!(
        "attachment; filename=\"data_{}_{}.{}\"",
        prefix
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>(),
        seq.chars().filter(char::is_ascii_digit).collect::<String>(),
        running.format.extension()
    );
    for (key, value) in [
        (
            header::CONTENT_TYPE.as_str(),
            running.format.content_type().to_string(),
        ),
        (header::CONTENT_DISPOSITION.as_str(), name),
        ("x-row-count", running.rows.to_string()),
        ("x-changes-cursor", running.cursor),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(key, value);
        }
    }
    response
}

/// An export whose snapshot is open and counted, streaming into `chunks`.
struct RunningExport {
    rows: i64,
    cursor: String,
    format: Format,
    chunks: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

async fn start_export(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    params: &[(String, String)],
    trace: &mut Trace,
) -> ApiResult<RunningExport> {
    let format = Format::parse(param(params, "format"))?;
    let access = resolve(state, principal, prefix, seq, trace).await?;
    let columns = projected(&access, param(params, "fields"), trace)?;
    let keys = key_columns(access.body());
    let filters = filters(&access, params, &EXPORT_RESERVED, trace)?;
    let (query, subjects) = record_query(&access, &keys, &columns, filters, None, EXPORT_PAGE);
    let slot = state
        .export_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyRequests {
            retry_after_secs: 30,
        })?;
    let mut encoder = Encoder::new(format, &columns)?;
    // What the task needs to shape rows: owned copies (the task outlives this call).
    let shape: Vec<(Item, GrantedItem)> = columns
        .iter()
        .map(|(i, g)| ((*i).clone(), g.clone()))
        .collect();
    let access = std::sync::Arc::new(access);
    let (events_tx, mut events_rx) = mpsc::channel::<ExportEvent>(2);
    let (chunks_tx, chunks_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let store = state.store.clone();
    let (subject_state, request_id) = (state.clone(), trace.request_id.clone());
    let resource_id = access.grant.resource_id;
    // Reader: the snapshot, page by page, into `events`, for at most the export deadline:
    // a stalled or very slow consumer must not hold a slot and a snapshot (which holds back
    // the database's cleanup) for ever. Past it the file ends in an error, never as whole.
    let deadline = state.config.export_deadline;
    let reader = tokio::spawn(async move {
        let _slot = slot;
        let reading = store.export_records(resource_id, &query, |event| {
            let events = events_tx.clone();
            async move { events.send(event).await.is_ok() }
        });
        tokio::time::timeout(deadline, reading)
            .await
            .unwrap_or_else(|_| {
                Err(store::StoreError::Quota {
                    message: format!(
                        "导出超过 {} 分钟未完成，已中止；请用 fields 或筛选条件缩小范围，或改用变更游标增量获取",
                        deadline.as_secs().div_ceil(60)
                    ),
                    retry_after_secs: 60,
                })
            })
    });
    let (rows, head) = match events_rx.recv().await {
        Some(ExportEvent::Start { rows, seq }) => (rows, seq),
        _ => {
            return Err(match reader.await {
                Ok(Err(e)) => e.into(),
                _ => ApiError::Internal("the export ended before it started".into()),
            })
        }
    };
    // Encoder: shaped, masked rows into file bytes, into the response.
    tokio::spawn(async move {
        let shape: Vec<(&Item, GrantedItem)> = shape.iter().map(|(i, g)| (i, g.clone())).collect();
        while let Some(event) = events_rx.recv().await {
            let ExportEvent::Page(records) = event else {
                continue;
            };
            let mut people = Vec::new();
            let rows = records
                .into_iter()
                .map(|(key, mut values)| {
                    people.extend(subjects.take(&subject_state, &key, &mut values));
                    record_json(&access, &shape, &key, values)
                })
                .collect();
            // Whose records leave is on record before they leave (fail closed).
            if let Err(e) = subject_state
                .store
                .append_access_subjects(&request_id, &people)
                .await
            {
                tracing::error!(error = %e, "could not record whose records an export returns");
                let _ = chunks_tx
                    .send(Err(std::io::Error::other("访问记录无法写入，导出中止")))
                    .await;
                return;
            }
            match encoder.page(rows) {
                Ok(bytes) if bytes.is_empty() => {}
                Ok(bytes) => {
                    if chunks_tx.send(Ok(Bytes::from(bytes))).await.is_err() {
                        return; // the consumer went away; the reader stops at its next page
                    }
                }
                Err(e) => {
                    let _ = chunks_tx.send(Err(std::io::Error::other(e))).await;
                    return;
                }
            }
        }
        // The reader is done: a failure there must not end the file as if it were whole.
        let outcome = match reader.await {
            Ok(Ok(())) => encoder.finish().map(Bytes::from),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "export failed while streaming");
        }
        let _ = chunks_tx.send(outcome.map_err(std::io::Error::other)).await;
    });
    Ok(RunningExport {
        rows,
        cursor: seal_cursor(
            state,
            &Position {
                s: head,
                r: None,
                d: None,
            },
        ),
        format,
        chunks: chunks_rx,
    })
}
