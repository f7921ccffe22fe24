//! The data API (`/api/v1/data/{code}/…`): what an application system reads under its
//! grant. Only granted items are selected (the SQL never names another), personal items
//! are masked unless granted in clear, the grant's row filter always applies, calls are
//! rate-limited and counted against a daily quota, and every call is in the access log
//! before its answer leaves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::json::Path;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use domain::calendar::beijing_date;
use domain::catalogue::{Item, ResourceBody};
use domain::sharing::{projection, GrantedItem, MaskKind};
use domain::storage::ColumnType;
use domain::values::{check_value, TypedValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::data_access::{AccessRecord, Column, RecordQuery};
use store::sessions::ApiToken;
use store::sharing::Grant;

use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, Query};
use crate::AppState;
use domain::access::{self, Act};

/// Parameters of `records` that are not filters.
const RESERVED: [&str; 3] = ["fields", "after", "limit"];
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1_000;

/// Per-grant call counters: a one-minute window, and per Beijing day the calls and the
/// verifications.
#[derive(Default)]
pub struct RateLimiter {
    minutes: Mutex<HashMap<i64, (Instant, i64)>>,
    days: Mutex<HashMap<(i64, NaiveDate, Quota), i64>>,
    /// Held while a grant's day count is read from the log, so that the many concurrent
    /// first calls of a day (after midnight, after a restart) read it once, not each.
    seeding: tokio::sync::Mutex<()>,
}

/// What a day's allowance counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Quota {
    /// Every call (the grant's daily quota).
    Calls,
    /// Verifications (the grant's verify quota, far smaller).
    Verifications,
}

impl Quota {
    fn limit(self, grant: &Grant) -> i64 {
        match self {
            Quota::Calls => grant.daily_quota,
            Quota::Verifications => grant.verify_quota,
        }
    }

    /// The access log's endpoint it counts, when not every call.
    fn endpoint(self) -> Option<&'static str> {
        match self {
            Quota::Calls => None,
            Quota::Verifications => Some("verify"),
        }
    }
}

impl RateLimiter {
    /// Counts a call against the grant's per-minute limit; the seconds to wait when over.
    fn per_minute(&self, grant: &Grant) -> Result<(), u64> {
        let mut minutes = self.minutes.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (start, count) = minutes.entry(grant.id).or_insert((now, 0));
        if now.duration_since(*start).as_secs() >= 60 {
            *start = now;
            *count = 0;
        }
        if *count >= grant.rate_per_minute {
            return Err(60u64
                .saturating_sub(now.duration_since(*start).as_secs())
                .max(1));
        }
        *count += 1;
        Ok(())
    }
}

/// Seconds until the next Beijing midnight.
fn seconds_to_beijing_midnight(now: DateTime<Utc>) -> u64 {
    let tomorrow = beijing_date(now).succ_opt().unwrap_or(NaiveDate::MAX);
    tomorrow
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(domain::calendar::beijing()).single())
        .map_or(3600, |t| {
            (t.with_timezone(&Utc) - now).num_seconds().max(1) as u64
        })
}

/// Counts a call against one of the grant's daily allowances (seeded from the log after
/// a restart).
pub(super) async fn per_day(
    state: &AppState,
    token: &ApiToken,
    grant: &Grant,
    quota: Quota,
) -> ApiResult<()> {
    let now = Utc::now();
    let today = beijing_date(now);
    let key = (grant.id, today, quota);
    let counted = |days: &HashMap<(i64, NaiveDate, Quota), i64>| days.get(&key).copied();
    let known = counted(&state.limiter.days.lock().unwrap_or_else(|p| p.into_inner()));
    let _seeding = match known {
        Some(_) => None,
        None => Some(state.limiter.seeding.lock().await),
    };
    let known =
        known.or_else(|| counted(&state.limiter.days.lock().unwrap_or_else(|p| p.into_inner())));
    if known.is_none() {
        let midnight = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(domain::calendar::beijing()).single())
            .map_or(now, |t| t.with_timezone(&Utc));
        let used = state
            .store
            .access_count_since(
                &token.application,
                token.department_id,
                grant.resource_id,
                midnight,
                quota.endpoint(),
            )
            .await?;
        let mut days = state.limiter.days.lock().unwrap_or_else(|p| p.into_inner());
        // A grant's first call of the day: forget the counts of earlier days.
        days.retain(|(_, day, _), _| *day == today);
        days.entry(key).or_insert(used);
    }
    let mut days = state.limiter.days.lock().unwrap_or_else(|p| p.into_inner());
    let used = days.entry(key).or_insert(0);
    if *used >= quota.limit(grant) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: seconds_to_beijing_midnight(now),
        });
    }
    *used += 1;
    Ok(())
}

/// What a call resolved to, for its access record.
#[derive(Default)]
pub(super) struct Trace {
    pub(super) request_id: String,
    /// Keyed hashes of the ID numbers of the people whose records the call returned.
    pub(super) subjects: Vec<String>,
    pub(super) token: Option<(i64, i64, String)>,
    pub(super) resource_id: Option<i64>,
    pub(super) items: Vec<String>,
    pub(super) filter_shape: Vec<String>,
    pub(super) rows: i64,
}

/// The granted entry a call reads.
pub(super) struct Access {
    /// The calling application's token.
    pub(super) token: ApiToken,
    /// The entry and its published body, shared with the cache (not copied per call).
    entry: std::sync::Arc<(store::resources::Resource, ResourceBody)>,
    pub(super) table: String,
    pub(super) grant: Grant,
    /// Keys of records under an accepted objection: shown with `_objection: 异议中`.
    pub(super) flagged: std::sync::Arc<Vec<Vec<String>>>,
}

impl Trace {
    pub(super) fn of(meta: &crate::auth::RequestMeta) -> Self {
        Trace {
            request_id: meta.request_id.clone(),
            ..Trace::default()
        }
    }
}

impl Access {
    pub(super) fn body(&self) -> &ResourceBody {
        &self.entry.1
    }
}

/// The granted items of one record, with the objection flag when it has one.
pub(super) fn record_json(
    access: &Access,
    columns: &[(&Item, GrantedItem)],
    key: &[Value],
    values: Vec<Value>,
) -> Map<String, Value> {
    let mut record: Map<String, Value> = columns
        .iter()
        .zip(values)
        .map(|((item, grant), value)| (item.identifier.clone(), shown(item, grant, value)))
        .collect();
    if !access.flagged.is_empty() && access.flagged.contains(&store::data_access::key_text(key)) {
        record.insert("_objection".into(), Value::from("异议中"));
    }
    record
}

/// The application's token, once the caller may read data at all (domain::access).
fn app_token(principal: &Principal) -> ApiResult<&ApiToken> {
    access::check(&principal.caller(), Act::ReadData)?;
    match principal {
        Principal::Application(token) => Ok(token),
        Principal::User { .. } => Err(ApiError::Internal("ReadData allowed a person".into())),
    }
}

pub(super) async fn resolve(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    trace: &mut Trace,
) -> ApiResult<Access> {
    let token = app_token(principal)?;
    trace.token = Some((token.id, token.department_id, token.application.clone()));
    let code = format!("{prefix}/{seq}");
    let entry = state.store.published_entry(&code).await?;
    let resource_id = entry.0.id;
    trace.resource_id = Some(resource_id);
    let mut grant = state
        .store
        .current_grant(
            resource_id,
            token.department_id,
            &token.application,
            Utc::now(),
        )
        .await?
        .ok_or_else(|| {
            ApiError::Forbidden(format!("应用“{}”没有该目录的有效授权", token.application))
        })?;
    if let Err(wait) = state.limiter.per_minute(&grant) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait,
        });
    }
    per_day(state, token, &grant, Quota::Calls).await?;
    if entry.0.status == domain::workflow::Status::Retired {
        return Err(ApiError::Forbidden("该目录已停用，授权不再有效".into()));
    }
    // A grant shows what the entry's current published version shares: an item marked
    // personal or 不予共享 since the grant was given is masked or no longer read.
    grant.items = domain::sharing::effective_items(&grant.items, &entry.1);
    if grant.items.is_empty() {
        return Err(ApiError::Forbidden(
            "该目录（或所授权的信息项）已调整为不予共享，授权不再有效".into(),
        ));
    }
    let parsed =
        domain::code::ResourceCode::parse(&code).map_err(|e| ApiError::NotFound(e.to_string()))?;
    Ok(Access {
        token: token.clone(),
        table: store::data_tables::table_name(&parsed),
        grant,
        flagged: state.store.current_flagged_keys(resource_id).await?,
        entry,
    })
}

pub(super) fn item<'a>(body: &'a ResourceBody, identifier: &str) -> Option<&'a Item> {
    body.items.iter().find(|i| i.identifier == identifier)
}

/// A value given for an item, checked and typed like an uploaded cell.
pub(crate) fn typed(item: &Item, text: &str, field: &str) -> ApiResult<TypedValue> {
    check_value(item, Some(text), None)
        .map_err(|problem| ApiError::field(field, format!("“{}”：{}", item.name, problem)))
}

/// The key columns (the surrogate row id when the entry has no key items).
pub(super) fn key_columns(body: &ResourceBody) -> Vec<(Option<&Item>, Column)> {
    let keys: Vec<(Option<&Item>, Column)> = body
        .items
        .iter()
        .filter(|i| i.key)
        .map(|i| (Some(i), Column::of(i)))
        .collect();
    if keys.is_empty() {
        vec![(
            None,
            Column {
                name: "_row_id".into(),
                column_type: ColumnType::Integer,
            },
        )]
    } else {
        keys
    }
}

pub(super) fn parse_key(
    keys: &[(Option<&Item>, Column)],
    texts: &[String],
) -> ApiResult<Vec<TypedValue>> {
    if texts.len() != keys.len() {
        return Err(ApiError::bad_request(
            "bad_key",
            format!("主键应有 {} 个值", keys.len()),
        ));
    }
    keys.iter()
        .zip(texts)
        .map(|((item, _), text)| match item {
            Some(item) => typed(item, text, "key"),
            None => text
                .parse()
                .map(TypedValue::Integer)
                .map_err(|_| ApiError::bad_request("bad_key", "行号应为整数")),
        })
        .collect()
}

pub(super) fn granted<'a>(grant: &'a Grant, identifier: &str) -> Option<&'a GrantedItem> {
    grant.items.iter().find(|g| g.item == identifier)
}

/// Filters from the query string plus the grant's row filter. Filtering on an item outside
/// the grant is refused: its values would leak through the answers.
pub(super) fn filters(
    access: &Access,
    params: &[(String, String)],
    reserved: &[&str],
    trace: &mut Trace,
) -> ApiResult<Vec<(Column, Vec<TypedValue>)>> {
    let mut by_item: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in params
        .iter()
        .filter(|(n, _)| !reserved.contains(&n.as_str()))
    {
        if item(access.body(), name).is_none() {
            return Err(ApiError::field(name, "目录中没有该信息项"));
        }
        if granted(&access.grant, name).is_none() {
            return Err(ApiError::Forbidden(format!(
                "不能按未获授权的信息项“{name}”筛选"
            )));
        }
        match by_item.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value.clone()),
            None => by_item.push((name.clone(), vec![value.clone()])),
        }
    }
    // An item granted masked is looked up by one exact value per call, which the call's
    // quota counts: a list of candidate values would guess the hidden digits at once.
    for (name, values) in &by_item {
        let masked = granted(&access.grant, name).is_some_and(|g| !g.clear);
        if masked && values.len() > 1 {
            return Err(ApiError::field(
                name,
                "该信息项按授权脱敏提供，只能按一个值精确查询（每次查询计入调用配额）",
            ));
        }
    }
    trace.filter_shape = by_item
        .iter()
        .map(|(n, v)| format!("{n}[{}]", v.len()))
        .collect();
    if let Some(row_filter) = &access.grant.row_filter {
        by_item.extend(row_filter.iter().map(|(n, v)| (n.clone(), v.clone())));
    }
    by_item
        .into_iter()
        .map(|(name, values)| {
            let item = item(access.body(), &name).ok_or_else(|| {
                ApiError::Internal(format!("grant filters on unknown item {name}"))
            })?;
            let values = values
                .iter()
                .map(|v| typed(item, v, &name))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((Column::of(item), values))
        })
        .collect()
}

/// Shows a value as granted: masked (as text) unless granted in clear.
pub(super) fn shown(item: &Item, grant: &GrantedItem, value: Value) -> Value {
    if grant.clear {
        return value;
    }
    match value {
        Value::Null => Value::Null,
        Value::String(text) => Value::String(MaskKind::of(item).apply(&text)),
        other => Value::String(MaskKind::of(item).apply(&other.to_string())),
    }
}

/// Opaque, tamper-proof cursors (a page's last key, a feed position), sealed with the
/// platform's cursor key: a consumer can neither read nor forge one.
pub(super) fn seal_cursor(state: &AppState, position: &impl Serialize) -> String {
    let plain = serde_json::to_string(position).unwrap_or_default();
    let sealed = state.cursor_key.seal(&plain);
    sealed
        .trim_start_matches("v1:")
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_string()
}

pub(super) fn open_cursor<T: serde::de::DeserializeOwned>(
    state: &AppState,
    cursor: &str,
) -> ApiResult<T> {
    let bad = || ApiError::bad_request("bad_cursor", "分页游标无效或已过期，请从第一页重新读取");
    let mut text = cursor.replace('-', "+").replace('_', "/");
    while !text.len().is_multiple_of(4) {
        text.push('=');
    }
    let plain = state
        .cursor_key
        .open(&format!("v1:{text}"))
        .map_err(|_| bad())?;
    serde_json::from_str(&plain).map_err(|_| bad())
}

/// A page of records.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordPage {
    pub items: Vec<Map<String, Value>>,
    /// Not counted (counting a large entry on every page would cost more than the page).
    pub total: Option<i64>,
    /// Pass as `after=` for the next page; null on the last page.
    pub next: Option<String>,
}

/// Runs a call, then logs it; the answer leaves only once its record is durable.
pub(super) async fn logged<T>(
    state: &AppState,
    endpoint: &str,
    started: Instant,
    call: impl std::future::Future<Output = (ApiResult<T>, Trace)>,
) -> ApiResult<T> {
    let (result, trace) = call.await;
    if !state.config.audit_data_access {
        return result;
    }
    let (status, outcome) = match &result {
        Ok(_) => (200, "ok"),
        Err(e) => (
            e.status().as_u16() as i32,
            match e.status().as_u16() {
                401 | 403 => "denied",
                404 => "not_found",
                429 => "rate_limited",
                400 | 422 => "bad_request",
                _ => "error",
            },
        ),
    };
    let (token_id, department_id, application) = match trace.token {
        Some((t, d, a)) => (Some(t), Some(d), Some(a)),
        None => (None, None, None),
    };
    state
        .access_log
        .record(AccessRecord {
            at: Utc::now(),
            token_id,
            department_id,
            application,
            resource_id: trace.resource_id,
            endpoint: endpoint.to_string(),
            items: trace.items.join(","),
            filter_shape: trace.filter_shape.join(","),
            row_count: trace.rows,
            outcome: outcome.to_string(),
            status,
            latency_us: started.elapsed().as_micros() as i64,
            request_id: trace.request_id,
            subjects: trace.subjects,
        })
        .await?;
    result
}

#[utoipa::path(get, path = "/api/v1/data/{prefix}/{seq}/records", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path),
           ("fields" = Option<String>, Query, description = "Granted items to return, comma-separated"),
           ("after" = Option<String>, Query, description = "The `next` cursor of the previous page"),
           ("limit" = Option<i64>, Query, description = "Rows per page, 1–1000 (100)")),
    responses((status = 200, body = RecordPage), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
               (status = 403, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody),
               (status = 503, body = crate::error::ErrorBody)))]
pub async fn records(
    State(state): State<AppState>,
    Auth(principal): Auth,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<axum::Json<RecordPage>> {
    let started = Instant::now();
    logged(&state, "records", started, async {
        let mut trace = Trace::of(&meta);
        let result = read_page(&state, &principal, &prefix, &seq, &params, &mut trace).await;
        (result, trace)
    })
    .await
    .map(axum::Json)
}

/// The granted items a call reads (narrowed by `fields=`), each with its item.
pub(super) fn projected<'a>(
    access: &'a Access,
    fields: Option<&str>,
    trace: &mut Trace,
) -> ApiResult<Vec<(&'a Item, GrantedItem)>> {
    let granted = projection(&access.grant.items, fields).map_err(ApiError::Forbidden)?;
    trace.items = granted.iter().map(|g| g.item.clone()).collect();
    Ok(granted
        .into_iter()
        .filter_map(|g| item(access.body(), &g.item).map(|i| (i, g)))
        .collect())
}

/// `limit=`: `default` when absent, else a whole number in 1–`max`.
pub(super) fn limit_param(params: &[(String, String)], default: i64, max: i64) -> ApiResult<i64> {
    match param(params, "limit") {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::field("limit", format!("应为 1–{max} 的整数"))),
    }
}

/// Where each record's subjects are (the ID numbers of the people it is about, for the
/// access log's 个人信息查询记录): in its key, or in columns the query reads beyond the
/// projection, which the answer never shows.
pub(super) struct SubjectPlan {
    at: Vec<SubjectAt>,
    /// Columns the caller asked for; any after them were read for the subjects only.
    projected: usize,
}

enum SubjectAt {
    Key(usize),
    Column(usize),
}

impl SubjectPlan {
    /// Takes a read record's subjects (as keyed hashes) and drops the columns read for
    /// them.
    pub(super) fn take(
        &self,
        state: &AppState,
        key: &[Value],
        values: &mut Vec<Value>,
    ) -> Vec<String> {
        let text = |value: Option<&Value>| match value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let subjects = self
            .at
            .iter()
            .filter_map(|at| match at {
                SubjectAt::Key(i) => text(key.get(*i)),
                SubjectAt::Column(i) => text(values.get(*i)),
            })
            .filter_map(|id| state.store.subject_hash(&id))
            .collect();
        values.truncate(self.projected);
        subjects
    }
}

/// The items of an entry that name a person: ID numbers (GB 11643).
fn subject_items(body: &ResourceBody) -> impl Iterator<Item = &Item> {
    body.items
        .iter()
        .filter(|i| i.rule == Some(domain::catalogue::ValidationRule::IdCard))
}

pub(super) fn record_query(
    access: &Access,
    keys: &[(Option<&Item>, Column)],
    columns: &[(&Item, GrantedItem)],
    filters: Vec<(Column, Vec<TypedValue>)>,
    after: Option<Vec<TypedValue>>,
    limit: i64,
) -> (RecordQuery, SubjectPlan) {
    let mut read: Vec<Column> = columns.iter().map(|(i, _)| Column::of(i)).collect();
    let mut at = Vec::new();
    for item in subject_items(access.body()) {
        if let Some(k) = keys
            .iter()
            .position(|(key, _)| key.is_some_and(|k| k.identifier == item.identifier))
        {
            at.push(SubjectAt::Key(k));
        } else if let Some(c) = columns
            .iter()
            .position(|(i, _)| i.identifier == item.identifier)
        {
            at.push(SubjectAt::Column(c));
        } else {
            at.push(SubjectAt::Column(read.len()));
            read.push(Column::of(item));
        }
    }
    let query = RecordQuery {
        table: access.table.clone(),
        keys: keys.iter().map(|(_, c)| c.clone()).collect(),
        columns: read,
        filters,
        after,
        limit,
    };
    (
        query,
        SubjectPlan {
            at,
            projected: columns.len(),
        },
    )
}

pub(super) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn read_page(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    params: &[(String, String)],
    trace: &mut Trace,
) -> ApiResult<RecordPage> {
    let access = resolve(state, principal, prefix, seq, trace).await?;
    let columns = projected(&access, param(params, "fields"), trace)?;
    let limit = limit_param(params, DEFAULT_LIMIT, MAX_LIMIT)?;
    let keys = key_columns(access.body());
    let after = match param(params, "after") {
        Some(cursor) => {
            let key: Vec<Value> = open_cursor(state, cursor)?;
            Some(parse_key(&keys, &store::data_access::key_text(&key))?)
        }
        None => None,
    };
    let filters = filters(&access, params, &RESERVED, trace)?;
    // One more than asked: whether there is a next page.
    let (query, subjects) = record_query(&access, &keys, &columns, filters, after, limit + 1);
    let mut records = state.store.read_records(&query).await?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    trace.rows = records.len() as i64;
    let next = if more {
        records.last().map(|(key, _)| seal_cursor(state, &key))
    } else {
        None
    };
    let items = records
        .into_iter()
        .map(|(key, mut values)| {
            trace
                .subjects
                .extend(subjects.take(state, &key, &mut values));
            record_json(&access, &columns, &key, values)
        })
        .collect();
    Ok(RecordPage {
        items,
        total: None,
        next,
    })
}

#[utoipa::path(get, path = "/api/v1/data/{prefix}/{seq}/records/{key}", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path), ("key" = String, Path, description = "The key's value; a composite key's values joined by commas"),
           ("fields" = Option<String>, Query, description = "Granted items to return, comma-separated")),
    responses((status = 200, description = "The record's granted items"), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn record(
    State(state): State<AppState>,
    Auth(principal): Auth,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq, key)): Path<(String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult<axum::Json<Map<String, Value>>> {
    let started = Instant::now();
    logged(&state, "record", started, async {
        let mut trace = Trace::of(&meta);
        let result = read_one(&state, &principal, &prefix, &seq, &key, &params, &mut trace).await;
        (result, trace)
    })
    .await
    .map(axum::Json)
}

async fn read_one(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    key: &str,
    params: &[(String, String)],
    trace: &mut Trace,
) -> ApiResult<Map<String, Value>> {
    if let Some((name, _)) = params.iter().find(|(n, _)| n != "fields") {
        return Err(ApiError::field(name, "按主键读取时只接受 fields 参数"));
    }
    let access = resolve(state, principal, prefix, seq, trace).await?;
    let columns = projected(&access, param(params, "fields"), trace)?;
    let keys = key_columns(access.body());
    if let Some((Some(item), _)) = keys
        .iter()
        .find(|(item, _)| item.is_some_and(|i| granted(&access.grant, &i.identifier).is_none()))
    {
        return Err(ApiError::Forbidden(format!(
            "主键信息项“{}”未获授权，不能按主键读取",
            item.name
        )));
    }
    let texts: Vec<String> = if keys.len() == 1 {
        vec![key.to_string()]
    } else {
        key.split(',').map(str::to_string).collect()
    };
    let values = parse_key(&keys, &texts)?;
    let filters = filters(&access, &[], &[], trace)?;
    let (query, subjects) = record_query(&access, &keys, &columns, filters, None, 1);
    let record = state.store.read_record(&query, &values).await?;
    let Some((key, mut values)) = record else {
        return Err(ApiError::NotFound("记录不存在或不在授权范围内".into()));
    };
    trace.rows = 1;
    trace.subjects = subjects.take(state, &key, &mut values);
    Ok(record_json(&access, &columns, &key, values))
}

/// Values to check against one record.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The record's key: item → value.
    pub key: std::collections::BTreeMap<String, String>,
    /// Item → the value the caller holds.
    pub values: std::collections::BTreeMap<String, String>,
}

/// Whether each given value matches; never the stored data.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifyAnswer {
    pub found: bool,
    pub matches: std::collections::BTreeMap<String, bool>,
}

#[utoipa::path(post, path = "/api/v1/data/{prefix}/{seq}/verify", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)), request_body = VerifyRequest,
    responses((status = 200, body = VerifyAnswer), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 429, body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Auth(principal): Auth,
    crate::auth::Meta(meta): crate::auth::Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Json(request): Json<VerifyRequest>,
) -> ApiResult<axum::Json<VerifyAnswer>> {
    let started = Instant::now();
    logged(&state, "verify", started, async {
        let mut trace = Trace::of(&meta);
        let result = check(&state, &principal, &prefix, &seq, &request, &mut trace).await;
        (result, trace)
    })
    .await
    .map(axum::Json)
}

async fn check(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
    request: &VerifyRequest,
    trace: &mut Trace,
) -> ApiResult<VerifyAnswer> {
    let access = resolve(state, principal, prefix, seq, trace).await?;
    per_day(state, &access.token, &access.grant, Quota::Verifications).await?;
    if request.values.is_empty() {
        return Err(ApiError::field("values", "至少给出一个要核验的信息项"));
    }
    let typed_pairs = |pairs: &std::collections::BTreeMap<String, String>, field: &str| {
        pairs
            .iter()
            .map(|(name, value)| {
                let item = item(access.body(), name).ok_or_else(|| {
                    ApiError::field(&format!("{field}.{name}"), "目录中没有该信息项")
                })?;
                if granted(&access.grant, name).is_none() {
                    return Err(ApiError::Forbidden(format!(
                        "信息项“{name}”未获授权，不能核验"
                    )));
                }
                Ok((
                    Column::of(item),
                    typed(item, value, &format!("{field}.{name}"))?,
                ))
            })
            .collect::<ApiResult<Vec<_>>>()
    };
    let key_items: Vec<&Item> = access.body().items.iter().filter(|i| i.key).collect();
    if key_items.is_empty()
        || key_items.len() != request.key.len()
        || key_items
            .iter()
            .any(|i| !request.key.contains_key(&i.identifier))
    {
        let names: Vec<&str> = key_items.iter().map(|i| i.identifier.as_str()).collect();
        return Err(ApiError::field(
            "key",
            format!("应给出主键信息项：{}", names.join("、")),
        ));
    }
    let key = typed_pairs(&request.key, "key")?;
    let given = typed_pairs(&request.values, "values")?;
    trace.items = request.values.keys().cloned().collect();
    trace.filter_shape = request.key.keys().cloned().collect();
    // The grant's row filter bounds verification too: a record outside it is "not found".
    let mut conditions: Vec<(Column, Vec<TypedValue>)> =
        key.into_iter().map(|(c, v)| (c, vec![v])).collect();
    conditions.extend(filters(&access, &[], &[], trace)?);
    let matches = state
        .store
        .verify_record(&access.table, &conditions, &given)
        .await?;
    trace.rows = i64::from(matches.is_some());
    if matches.is_some() {
        // Whose record was checked: its ID number, when the key names the person.
        trace.subjects = subject_items(access.body())
            .filter_map(|item| request.key.get(&item.identifier))
            .filter_map(|id| state.store.subject_hash(id))
            .collect();
    }
    Ok(VerifyAnswer {
        found: matches.is_some(),
        matches: match matches {
            Some(flags) => request.values.keys().cloned().zip(flags).collect(),
            None => Default::default(),
        },
    })
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}/usage", tag = "data", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = crate::json::List<store::data_access::Usage>), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
/// Who uses an entry's data ("谁在使用我的数据"): calls and rows per consuming application,
/// for the provider department, the bureau and the auditor.
pub async fn usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
) -> ApiResult<axum::Json<crate::json::List<store::data_access::Usage>>> {
    let (_, resource) =
        crate::catalogue::api::visible_at(&state, &principal, &prefix, &seq).await?;
    access::check(
        &principal.caller(),
        Act::ViewUsage {
            provider: resource.provider.id,
        },
    )?;
    // Usage as far as it has reached the database.
    let _ = state.access_log.settle().await;
    Ok(axum::Json(crate::json::List::all(
        state.store.usage(resource.id).await?,
    )))
}
