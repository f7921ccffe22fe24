//! Pulling an entry's data from a department's own database (PostgreSQL or
//! MySQL/MariaDB).
//!
//! Every column is read as text (the source's own text form) and checked exactly as an
//! uploaded cell would be. A full pull is a snapshot: rows the source no longer has are
//! deleted. An incremental pull reads rows whose change column (an update timestamp or an
//! increasing key) is at or after the watermark minus an overlap, so ties on the watermark
//! and rows committed late are read again; upserting by key makes the re-reads harmless.
//! The new watermark is the largest change value read, saved in the batch's transaction.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use domain::catalogue::Item;
use domain::values::{check_value, TypedValue};
use futures_util::TryStreamExt;
use ingest::pipeline::check_values;
use sqlx::{Column, Connection, Executor, Row};
use store::batch_writer::{BatchStart, Reconcile, SourceProgress};
use store::batches::BatchReport;
use store::sources::Source;
use store::{AuditContext, Store};

use crate::file::{abandon, Chunk};
use crate::network::SourcePolicy;
use crate::secret::SecretKey;
use crate::{CollectError, CHUNK_ROWS};

/// The most an incremental read may step back behind its watermark: a week of seconds
/// for a timestamp, a billion values for a key. More is a mistake (and would overflow
/// date arithmetic); a full re-read is a `full` source's job.
pub const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 3600;
pub const MAX_OVERLAP_KEYS: i64 = 1_000_000_000;

/// A source database of either kind.
enum SourceConnection {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
}

fn source_error(context: &str, error: impl std::fmt::Display) -> CollectError {
    CollectError::Source(format!("{context}：{error}"))
}

/// Waits for one answer of the source (columns, clock, next row), at most `idle`: a source
/// that accepts a query and then says nothing fails the pull instead of holding it.
async fn answer<T>(
    idle: std::time::Duration,
    context: &str,
    waiting: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, CollectError> {
    match tokio::time::timeout(idle, waiting).await {
        Ok(answered) => answered.map_err(|e| source_error(context, e)),
        Err(_) => Err(CollectError::Timeout(format!(
            "采集超时：源库 {} 秒没有应答（{context}），本次归集已中止，数据保持不变",
            idle.as_secs()
        ))),
    }
}

/// `true` for a bare table name (`people`, `hr.people`), which is read whole.
fn is_table_name(query: &str) -> bool {
    !query.is_empty()
        && query.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

impl SourceConnection {
    /// Connects to a source the policy admits, at the address the policy checked. A
    /// failure says only that: its cause (refused, timed out, wrong password) goes to the
    /// server's log, since texts that tell them apart map the network they point into.
    async fn connect(
        kind: &'static str,
        url: &str,
        policy: &SourcePolicy,
    ) -> Result<Self, CollectError> {
        let target = policy.check(kind, url).await?;
        let connecting = async {
            Ok::<_, sqlx::Error>(match kind {
                "postgres" => {
                    SourceConnection::Postgres(sqlx::PgConnection::connect(&target.url).await?)
                }
                _ => SourceConnection::MySql(sqlx::MySqlConnection::connect(&target.url).await?),
            })
        };
        let failed = || {
            CollectError::Source(
                "无法连接源库：连接失败或认证未通过，请核对地址、端口、库名、用户名和密码".into(),
            )
        };
        match tokio::time::timeout(policy.timeouts.connect, connecting).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => {
                tracing::warn!(source = %store::redact_url(url), %error, "source connection failed");
                Err(failed())
            }
            Err(_) => {
                tracing::warn!(source = %store::redact_url(url), "source connection timed out");
                Err(failed())
            }
        }
    }

    fn quote(&self, name: &str) -> String {
        match self {
            SourceConnection::Postgres(_) => format!("\"{}\"", name.replace('"', "\"\"")),
            SourceConnection::MySql(_) => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// The source query as a derived table.
    fn derived_table(&self, query: &str) -> String {
        if is_table_name(query) {
            let table: Vec<String> = query.split('.').map(|p| self.quote(p)).collect();
            format!("(SELECT * FROM {}) src", table.join("."))
        } else {
            format!("({query}) src")
        }
    }

    fn as_text(&self, column: &str) -> String {
        let column = format!("src.{}", self.quote(column));
        match self {
            SourceConnection::Postgres(_) => format!("{column}::text"),
            SourceConnection::MySql(_) => format!("CAST({column} AS CHAR)"),
        }
    }

    /// The condition `change column ≥ bound`, the bound bound as text.
    fn at_or_after(&self, column: &str, kind: &str, bound: &Mark) -> String {
        let column = format!("src.{}", self.quote(column));
        match (self, kind) {
            (SourceConnection::Postgres(_), "key") => format!("{column} >= CAST($1 AS BIGINT)"),
            // A `timestamptz` column: compared as instants, whatever the session's zone.
            (SourceConnection::Postgres(_), _) if matches!(bound, Mark::Zoned(_)) => {
                format!("{column} >= CAST($1 AS TIMESTAMPTZ)")
            }
            (SourceConnection::Postgres(_), _) => format!("{column} >= CAST($1 AS TIMESTAMP)"),
            (SourceConnection::MySql(_), "key") => format!("{column} >= CAST(? AS SIGNED)"),
            (SourceConnection::MySql(_), _) => format!("{column} >= CAST(? AS DATETIME(6))"),
        }
    }

    /// The column names of the query's result, without running it.
    async fn columns(
        &mut self,
        from: &str,
        idle: std::time::Duration,
    ) -> Result<Vec<String>, CollectError> {
        let sql = format!("SELECT * FROM {from} WHERE 1 = 0");
        let context = "源表或查询无法读取（表结构可能已变化）";
        match self {
            SourceConnection::Postgres(c) => {
                answer(idle, context, async {
                    c.describe(&sql)
                        .await
                        .map(|d| d.columns().iter().map(|c| c.name().to_string()).collect())
                })
                .await
            }
            SourceConnection::MySql(c) => {
                answer(idle, context, async {
                    c.describe(&sql)
                        .await
                        .map(|d| d.columns().iter().map(|c| c.name().to_string()).collect())
                })
                .await
            }
        }
    }

    /// Starts a read-only snapshot: everything the pull reads (rows, then perhaps all keys,
    /// and the clock) sees one state of the source, so a table emptied and refilled while
    /// it is read is seen before or after, never half-way.
    async fn begin_snapshot(&mut self, idle: std::time::Duration) -> Result<(), CollectError> {
        let context = "源库无法开始一致性读取";
        match self {
            SourceConnection::Postgres(c) => {
                answer(idle, context, async {
                    c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                        .await
                        .map(|_| ())
                })
                .await
            }
            SourceConnection::MySql(c) => {
                answer(idle, context, async {
                    c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        .await?;
                    c.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                        .await
                        .map(|_| ())
                })
                .await
            }
        }
    }

    /// The source's own clock as change values of each kind its columns may have (local
    /// time, and on PostgreSQL also the zoned instant): the latest a watermark may move
    /// to, so one row dated in the future does not hide every later change.
    async fn clock(&mut self, idle: std::time::Duration) -> Result<Vec<Mark>, CollectError> {
        let context = "源库时钟无法读取";
        let texts: Vec<String> = match self {
            SourceConnection::Postgres(c) => {
                let (local, zoned): (String, String) = answer(
                    idle,
                    context,
                    sqlx::query_as("SELECT LOCALTIMESTAMP::text, CURRENT_TIMESTAMP::text")
                        .fetch_one(&mut *c),
                )
                .await?;
                vec![local, zoned]
            }
            SourceConnection::MySql(c) => vec![
                answer(
                    idle,
                    context,
                    sqlx::query_scalar("SELECT CAST(NOW(6) AS CHAR)").fetch_one(&mut *c),
                )
                .await?,
            ],
        };
        Ok(texts
            .iter()
            .filter_map(|t| parse_mark(t, "timestamp"))
            .collect())
    }
}

/// Source column of each item (`None`: not provided), from the saved mapping and then by
/// identifier or name. Fails when the source lacks a mapped or required column.
fn map_source_columns(
    source_columns: &[String],
    items: &[Item],
    mapping: &BTreeMap<String, String>,
) -> Result<Vec<Option<String>>, CollectError> {
    let find_item = |name: &str| {
        items
            .iter()
            .position(|i| i.name == name || i.identifier.eq_ignore_ascii_case(name))
    };
    let mut columns: Vec<Option<String>> = vec![None; items.len()];
    for (column, item) in mapping {
        let index = find_item(item)
            .ok_or_else(|| CollectError::Source(format!("列映射中的“{item}”不是本目录的信息项")))?;
        if !source_columns.contains(column) {
            return Err(CollectError::Source(format!(
                "源表结构已变化：缺少列“{column}”（现有列：{}）",
                source_columns.join("、")
            )));
        }
        columns[index] = Some(column.clone());
    }
    for (index, item) in items.iter().enumerate() {
        if columns[index].is_none() {
            columns[index] = source_columns
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&item.identifier) || **c == item.name)
                .cloned();
        }
    }
    let missing: Vec<&str> = items
        .iter()
        .zip(&columns)
        .filter(|(item, column)| (item.required || item.key) && column.is_none())
        .map(|(item, _)| item.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(CollectError::Source(format!(
            "源表结构已变化或未映射：缺少必填信息项 {}（现有列：{}）",
            missing.join("、"),
            source_columns.join("、")
        )));
    }
    Ok(columns)
}

/// What the reading side hands to the staging task.
enum Staged {
    Rows(Chunk),
    Deleted(Vec<Vec<TypedValue>>),
    /// Keys of quarantined rows, which the source still holds.
    Held(Vec<Vec<TypedValue>>),
}

/// A change value, ordered: timestamps as time (a `timestamptz` as an instant), keys as
/// numbers.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Mark {
    Time(NaiveDateTime),
    /// A timestamp with its zone (PostgreSQL's `timestamptz` reads as `2026-03-01 08:00:00+08`).
    Zoned(chrono::DateTime<chrono::FixedOffset>),
    Key(i64),
}

fn parse_mark(text: &str, kind: &str) -> Option<Mark> {
    let text = text.trim();
    if kind == "key" {
        return text.parse().ok().map(Mark::Key);
    }
    let zoned = ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"]
        .iter()
        .find_map(|f| chrono::DateTime::parse_from_str(text, f).ok())
        .map(Mark::Zoned);
    zoned.or_else(|| {
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d"]
            .iter()
            .find_map(|f| {
                NaiveDateTime::parse_from_str(text, f).ok().or_else(|| {
                    chrono::NaiveDate::parse_from_str(text, f)
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
            })
            .map(Mark::Time)
    })
}

impl Mark {
    /// The text a watermark is saved and bound as.
    fn text(&self) -> String {
        match self {
            Mark::Key(key) => key.to_string(),
            Mark::Time(at) => at.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            Mark::Zoned(at) => at.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string(),
        }
    }
}

/// Where an incremental read starts: the watermark minus the overlap. `None` when that
/// is before any representable time or key: the read is then a whole one.
fn lower_bound(watermark: &Mark, overlap: i64) -> Option<Mark> {
    Some(match watermark {
        Mark::Key(key) => Mark::Key(key.checked_sub(overlap)?),
        Mark::Time(at) => {
            Mark::Time(at.checked_sub_signed(chrono::TimeDelta::try_seconds(overlap)?)?)
        }
        Mark::Zoned(at) => {
            Mark::Zoned(at.checked_sub_signed(chrono::TimeDelta::try_seconds(overlap)?)?)
        }
    })
}

/// The watermark after a read: the largest change value read, but never past the source's
/// clock when the read began (rows dated in the future are read again every time, and do
/// not hide the changes made until they fall due). A zoned value is capped at the clock's
/// instant. A value without a zone is in whatever zone the department writes (usually
/// Beijing time) while the session's clock reads UTC: it is capped a day past the clock,
/// which no zone reaches, so a row dated years ahead still cannot freeze the watermark.
fn next_watermark(highest: Option<Mark>, clock: &[Mark]) -> Option<Mark> {
    let highest = highest?;
    let cap = clock.iter().find_map(|c| match (c, &highest) {
        (Mark::Zoned(_), Mark::Zoned(_)) => Some(c.clone()),
        (Mark::Time(at), Mark::Time(_)) => at
            .checked_add_signed(chrono::TimeDelta::days(1))
            .map(Mark::Time),
        _ => None,
    });
    match cap {
        Some(cap) if highest > cap => Some(cap),
        _ => Some(highest),
    }
}

fn is_true(text: Option<&str>) -> bool {
    matches!(
        text.map(|t| t.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "t" | "true" | "y" | "yes" | "是")
    )
}

/// A source as a department describes it, before it is checked and saved.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceDefinition {
    pub name: String,
    /// `postgres://user:password@host:5432/db` or `mysql://user:password@host:3306/db`
    /// (MariaDB too). Stored encrypted; never shown again.
    pub url: String,
    /// A table name (`people`, `hr.people`) or a SELECT.
    pub query: String,
    /// Source column → item identifier or name; other columns match by identifier or name.
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// `full` (default) or `incremental`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Incremental: the column that grows with every insert or update.
    #[serde(default)]
    pub change_column: Option<String>,
    /// `timestamp` (default) or `key`.
    #[serde(default)]
    pub change_kind: Option<String>,
    /// Seconds (timestamp) or values (key) re-read behind the watermark; default 300 / 1000.
    #[serde(default)]
    pub overlap: Option<i64>,
    /// A column that is true for rows deleted at the source.
    #[serde(default)]
    pub delete_column: Option<String>,
    /// Incremental: every N-th run also reconciles all keys (0: never).
    #[serde(default)]
    pub reconcile_every: Option<i64>,
}

/// Checks a definition against the source itself (it must connect, and its columns must
/// cover the entry's key and required items) and seals its credentials. The mapping saved
/// is explicit, so a later change of the source's columns is reported, not guessed around.
pub async fn define_source(
    key: &SecretKey,
    policy: &SourcePolicy,
    items: &[Item],
    definition: &SourceDefinition,
) -> Result<store::sources::NewSource, CollectError> {
    let invalid = |m: &str| CollectError::Source(m.to_string());
    let name = definition.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(invalid("数据源名称应为 1–50 个字"));
    }
    let kind = if definition.url.starts_with("postgres://")
        || definition.url.starts_with("postgresql://")
    {
        "postgres"
    } else if definition.url.starts_with("mysql://") || definition.url.starts_with("mariadb://") {
        "mysql"
    } else {
        return Err(invalid("连接地址应以 postgres:// 或 mysql:// 开头"));
    };
    let url = definition.url.replacen("mariadb://", "mysql://", 1);
    let mode = definition.mode.as_deref().unwrap_or("full");
    if !["full", "incremental"].contains(&mode) {
        return Err(invalid("mode 应为 full 或 incremental"));
    }
    let change_kind = definition.change_kind.as_deref().unwrap_or("timestamp");
    if !["timestamp", "key"].contains(&change_kind) {
        return Err(invalid("change_kind 应为 timestamp 或 key"));
    }
    if mode == "incremental" && definition.change_column.is_none() {
        return Err(invalid(
            "增量归集需要指定变化列 change_column（更新时间或递增主键）",
        ));
    }
    let overlap = definition
        .overlap
        .unwrap_or(if change_kind == "key" { 1000 } else { 300 });
    let most = if change_kind == "key" {
        MAX_OVERLAP_KEYS
    } else {
        MAX_OVERLAP_SECONDS
    };
    if !(0..=most).contains(&overlap) {
        return Err(invalid(&if change_kind == "key" {
            format!("overlap（回读范围）应为 0–{most} 个主键值")
        } else {
            format!("overlap（回读范围）应为 0–{most} 秒（至多 7 天）")
        }));
    }
    let query = definition.query.trim();
    if query.is_empty() || query.contains(';') {
        return Err(invalid("query 应为表名或一条 SELECT 语句（不含分号）"));
    }
    let mut conn = SourceConnection::connect(kind, &url, policy).await?;
    let from = conn.derived_table(query);
    let source_columns = conn.columns(&from, policy.timeouts.idle).await?;
    let columns = map_source_columns(&source_columns, items, &definition.mapping)?;
    for extra in [&definition.change_column, &definition.delete_column]
        .into_iter()
        .flatten()
    {
        if !source_columns.contains(extra) {
            return Err(CollectError::Source(format!(
                "源表没有列“{extra}”（现有列：{}）",
                source_columns.join("、")
            )));
        }
    }
    let explicit: BTreeMap<String, String> = items
        .iter()
        .zip(columns)
        .filter_map(|(item, column)| column.map(|c| (c, item.identifier.clone())))
        .collect();
    Ok(store::sources::NewSource {
        name: name.to_string(),
        kind: kind.to_string(),
        url_sealed: key.seal(&url),
        url_display: store::redact_url(&url),
        query: query.to_string(),
        mapping: serde_json::to_string(&explicit)
            .map_err(|e| CollectError::Source(e.to_string()))?,
        mode: mode.to_string(),
        change_column: definition.change_column.clone(),
        change_kind: definition
            .change_column
            .as_ref()
            .map(|_| change_kind.to_string()),
        overlap,
        delete_column: definition.delete_column.clone(),
        reconcile_every: definition.reconcile_every.unwrap_or(0).max(0),
    })
}

/// What a person running a pull may decide for this run.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullOptions {
    /// The provider confirmed that the source really lost most of its rows: a full pull
    /// may delete more than the guard allows (see `domain::collection`).
    pub confirm_mass_deletion: bool,
}

/// Runs one pull of `source` as one batch and returns its report. The caller records the
/// outcome on the source (success is recorded with the batch itself).
pub async fn run_pull(
    store: &Store,
    key: &SecretKey,
    policy: &SourcePolicy,
    source: &Source,
    ctx: &AuditContext,
) -> Result<BatchReport, CollectError> {
    run_pull_with(store, key, policy, source, ctx, PullOptions::default()).await
}

/// [`run_pull`] with the options of a run someone asked for.
pub async fn run_pull_with(
    store: &Store,
    key: &SecretKey,
    policy: &SourcePolicy,
    source: &Source,
    ctx: &AuditContext,
    options: PullOptions,
) -> Result<BatchReport, CollectError> {
    let idle = policy.timeouts.idle;
    let resource = store.resource(&source.code).await?;
    let items = store.published_body(&resource).await?.items;
    let mapping: BTreeMap<String, String> = serde_json::from_str(&source.mapping)
        .map_err(|e| CollectError::Source(format!("列映射无法读取：{e}")))?;
    let url = key
        .open(&source.url_sealed)
        .map_err(|e| CollectError::Source(e.to_string()))?;
    let kind = if source.kind == "postgres" {
        "postgres"
    } else {
        "mysql"
    };
    let mut conn = SourceConnection::connect(kind, &url, policy).await?;
    let from = conn.derived_table(&source.query);
    let source_columns = conn.columns(&from, policy.timeouts.idle).await?;
    let item_columns = map_source_columns(&source_columns, &items, &mapping)?;
    for extra in [&source.change_column, &source.delete_column]
        .into_iter()
        .flatten()
    {
        if !source_columns.contains(extra) {
            return Err(CollectError::Source(format!(
                "源表结构已变化：缺少列“{extra}”"
            )));
        }
    }
    let change_kind = source.change_kind.as_deref().unwrap_or("timestamp");
    let watermark = source
        .watermark
        .as_deref()
        .and_then(|w| parse_mark(w, change_kind));
    let incremental = source.mode == "incremental" && source.change_column.is_some();
    let bound = match (&watermark, incremental) {
        (Some(mark), true) => lower_bound(mark, source.overlap),
        _ => None,
    };
    let reconcile_keys = incremental
        && bound.is_some()
        && source.reconcile_every > 0
        && (source.runs + 1) % source.reconcile_every == 0;

    // The SELECT: one text column per provided item, then the change and delete columns.
    let mut selected: Vec<String> = item_columns
        .iter()
        .flatten()
        .map(|c| conn.as_text(c))
        .collect();
    let provided: Vec<usize> = (0..items.len())
        .filter(|&i| item_columns[i].is_some())
        .collect();
    let change_at = source.change_column.as_ref().map(|c| {
        selected.push(conn.as_text(c));
        selected.len() - 1
    });
    let delete_at = source.delete_column.as_ref().map(|c| {
        selected.push(conn.as_text(c));
        selected.len() - 1
    });
    let mut sql = format!("SELECT {} FROM {from}", selected.join(", "));
    if let (Some(column), Some(bound)) = (&source.change_column, &bound) {
        sql.push_str(&format!(
            " WHERE {}",
            conn.at_or_after(column, change_kind, bound)
        ));
    }
    conn.begin_snapshot(idle).await?;
    let clock = if incremental && change_kind == "timestamp" {
        conn.clock(idle).await?
    } else {
        Vec::new()
    };
    let bound = bound.map(|b| b.text());

    let batch_source = format!("pull:{}", source.name);
    let mut writer = match store
        .begin_batch(&source.code, &batch_source, None, ctx)
        .await?
    {
        BatchStart::Started(writer) => writer,
        BatchStart::AlreadyApplied(report) => return Ok(report),
    };
    let reconcile = if bound.is_none() {
        Reconcile::AgainstRows
    } else if reconcile_keys {
        Reconcile::AgainstKeys
    } else {
        Reconcile::None
    };
    writer.set_reconcile(reconcile);
    if options.confirm_mass_deletion {
        writer.confirm_mass_deletion();
    }
    let key_items: Vec<usize> = (0..items.len()).filter(|&i| items[i].key).collect();
    // The source is read here while a task stages what was read: both databases work at
    // once instead of taking turns.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Staged>(4);
    let writing = tokio::spawn(async move {
        let mut writer = writer;
        while let Some(staged) = receiver.recv().await {
            let written = match &staged {
                Staged::Rows(chunk) => writer.write(&chunk.accepted, &chunk.rejected).await,
                Staged::Deleted(keys) => writer.delete(keys).await,
                Staged::Held(keys) => writer.keep_keys(keys).await,
            };
            if let Err(error) = written {
                return (writer, Err(error));
            }
        }
        (writer, Ok(()))
    });
    let read = async {
        let mut chunk = Chunk::default();
        let mut deleted: Vec<Vec<TypedValue>> = Vec::new();
        // Keys of rows held back in quarantine: the source still has them, so a
        // reconciling pull must not delete the entry's earlier (good) copy.
        let mut held: Vec<Vec<TypedValue>> = Vec::new();
        let mut highest = watermark.clone();
        let mut line = 0u64;
        macro_rules! stream_rows {
            ($conn:expr) => {{
                let mut query = sqlx::query(&sql);
                if let Some(bound) = &bound {
                    query = query.bind(bound.clone());
                }
                let mut rows = query.fetch($conn);
                while let Some(row) = answer(idle, "读取源库中断", rows.try_next()).await? {
                    line += 1;
                    let texts: Vec<Option<String>> = (0..selected.len())
                        .map(|i| row.try_get::<Option<String>, _>(i))
                        .collect::<Result<_, _>>()
                        .map_err(|e| source_error("源库的值无法读取", e))?;
                    if let Some(mark) = change_at
                        .and_then(|i| texts[i].as_deref())
                        .and_then(|t| parse_mark(t, change_kind))
                    {
                        if highest.as_ref().is_none_or(|h| mark > *h) {
                            highest = Some(mark);
                        }
                    }
                    let mut raw: Vec<Option<&str>> = vec![None; items.len()];
                    for (position, &item) in provided.iter().enumerate() {
                        raw[item] = texts[position].as_deref();
                    }
                    if is_true(delete_at.and_then(|i| texts[i].as_deref())) {
                        let texts = key_items.iter().map(|&i| raw[i]);
                        deleted.extend(checked_key(&items, &key_items, texts));
                        continue;
                    }
                    match check_values(line, &raw, &items) {
                        Ok(row) => chunk.accepted.push(row),
                        Err(row) => {
                            chunk.rejected.push(row);
                            if reconcile != Reconcile::None && !key_items.is_empty() {
                                let texts = key_items.iter().map(|&i| raw[i]);
                                held.extend(checked_key(&items, &key_items, texts));
                            }
                        }
                    }
                    if held.len() >= CHUNK_ROWS
                        && sender
                            .send(Staged::Held(std::mem::take(&mut held)))
                            .await
                            .is_err()
                    {
                        break;
                    }
                    if chunk.len() >= CHUNK_ROWS
                        && sender
                            .send(Staged::Rows(std::mem::take(&mut chunk)))
                            .await
                            .is_err()
                    {
                        break; // The writer failed; its error is reported below.
                    }
                    if deleted.len() >= CHUNK_ROWS
                        && sender
                            .send(Staged::Deleted(std::mem::take(&mut deleted)))
                            .await
                            .is_err()
                    {
                        break;
                    }
                }
            }};
        }
        match &mut conn {
            SourceConnection::Postgres(c) => stream_rows!(&mut *c),
            SourceConnection::MySql(c) => stream_rows!(&mut *c),
        }
        let _ = sender.send(Staged::Rows(chunk)).await;
        if !deleted.is_empty() {
            let _ = sender.send(Staged::Deleted(deleted)).await;
        }
        if !held.is_empty() {
            let _ = sender.send(Staged::Held(held)).await;
        }
        Ok::<_, CollectError>(highest)
    };
    let read = read.await;
    drop(sender);
    let (mut writer, written) = writing
        .await
        .map_err(|e| CollectError::Source(format!("staging task failed: {e}")))?;
    let highest = match (read, written) {
        (Err(error), _) => return Err(abandon(writer, error).await),
        (Ok(_), Err(error)) => return Err(abandon(writer, error.into()).await),
        (Ok(highest), Ok(())) => highest,
    };
    if reconcile_keys {
        let read = KeyRead {
            from: &from,
            items: &items,
            key_items: &key_items,
            item_columns: &item_columns,
            delete_column: source.delete_column.as_deref(),
            idle,
        };
        let keys = read_all_keys(&mut conn, &read, &mut writer).await;
        if let Err(error) = keys {
            return Err(abandon(writer, error).await);
        }
    }
    writer.set_source_progress(SourceProgress {
        source_id: source.id,
        watermark: next_watermark(highest, &clock).map(|mark| mark.text()),
    });
    Ok(writer.finish().await?)
}

/// The typed key of a source row from the texts of its key items (in `key_items`
/// order), or `None` when one of them is not a valid value.
fn checked_key<'a>(
    items: &[Item],
    key_items: &[usize],
    texts: impl Iterator<Item = Option<&'a str>>,
) -> Option<Vec<TypedValue>> {
    key_items
        .iter()
        .zip(texts)
        .map(|(&i, text)| check_value(&items[i], text, None).ok())
        .collect()
}

/// Stages every key the source holds (not soft-deleted), for key reconciliation.
/// What reading every key of a source needs to know.
struct KeyRead<'a> {
    from: &'a str,
    items: &'a [Item],
    key_items: &'a [usize],
    item_columns: &'a [Option<String>],
    delete_column: Option<&'a str>,
    idle: std::time::Duration,
}

async fn read_all_keys(
    conn: &mut SourceConnection,
    read: &KeyRead<'_>,
    writer: &mut store::batch_writer::BatchWriter,
) -> Result<(), CollectError> {
    let KeyRead {
        from,
        items,
        key_items,
        item_columns,
        delete_column,
        idle,
    } = *read;
    let mut selected: Vec<String> = key_items
        .iter()
        .filter_map(|&i| item_columns[i].as_deref())
        .map(|c| conn.as_text(c))
        .collect();
    if let Some(column) = delete_column {
        selected.push(conn.as_text(column));
    }
    let sql = format!("SELECT {} FROM {from}", selected.join(", "));
    let mut keys: Vec<Vec<TypedValue>> = Vec::new();
    macro_rules! stream_keys {
        ($conn:expr) => {{
            let mut rows = sqlx::query(&sql).fetch($conn);
            while let Some(row) = answer(idle, "读取源库中断", rows.try_next()).await? {
                let texts: Vec<Option<String>> = (0..selected.len())
                    .map(|i| row.try_get::<Option<String>, _>(i))
                    .collect::<Result<_, _>>()
                    .map_err(|e| source_error("源库的值无法读取", e))?;
                if delete_column.is_some() && is_true(texts.last().and_then(|t| t.as_deref())) {
                    continue;
                }
                let key_texts = texts.iter().take(key_items.len()).map(|t| t.as_deref());
                keys.extend(checked_key(items, key_items, key_texts));
                if keys.len() >= CHUNK_ROWS {
                    writer.keep_keys(&keys).await?;
                    keys.clear();
                }
            }
        }};
    }
    match conn {
        SourceConnection::Postgres(c) => stream_keys!(&mut *c),
        SourceConnection::MySql(c) => stream_keys!(&mut *c),
    }
    writer.keep_keys(&keys).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_order_and_step_back_by_the_overlap() {
        let a = parse_mark("2026-03-01 08:00:00.250000", "timestamp").unwrap();
        let b = parse_mark("2026-03-01 08:00:01", "timestamp").unwrap();
        assert!(b > a);
        assert_eq!(
            lower_bound(&b, 300).unwrap().text(),
            "2026-03-01 07:55:01.000000"
        );
        let key = parse_mark("1000", "key").unwrap();
        assert_eq!(lower_bound(&key, 50).unwrap().text(), "950");
        assert!(parse_mark("soon", "timestamp").is_none());
        assert!(is_table_name("hr.people") && !is_table_name("SELECT 1"));
        assert!(is_true(Some(" 1")) && !is_true(Some("0")) && !is_true(None));
    }

    #[test]
    fn an_overlap_beyond_any_date_reads_whole_instead_of_panicking() {
        let at = parse_mark("2026-03-01 08:00:01", "timestamp").unwrap();
        assert!(lower_bound(&at, i64::MAX).is_none());
        assert!(lower_bound(&at, 10_000_000_000_000).is_none());
        let key = parse_mark("-9223372036854775800", "key").unwrap();
        assert!(lower_bound(&key, 1000).is_none());
    }

    #[test]
    fn a_zoned_change_value_sets_a_watermark_and_compares_as_an_instant() {
        let east = parse_mark("2026-03-01 08:00:20.5+08", "timestamp").unwrap();
        let utc = parse_mark("2026-03-01 00:00:21+00", "timestamp").unwrap();
        assert!(matches!(east, Mark::Zoned(_)), "{east:?}");
        assert!(utc > east, "00:00:21 UTC is after 08:00:20.5 in UTC+8");
        assert_eq!(east.text(), "2026-03-01 08:00:20.500000+08:00");
        assert_eq!(parse_mark(&east.text(), "timestamp"), Some(east.clone()));
        assert!(parse_mark("2026-03-01 08:00:20+05:30", "timestamp").is_some());
    }

    #[test]
    fn a_row_dated_in_the_future_does_not_move_the_watermark_past_the_source_clock() {
        let clock = vec![
            parse_mark("2026-03-01 09:00:00", "timestamp").unwrap(),
            parse_mark("2026-03-01 09:00:00+08", "timestamp").unwrap(),
        ];
        let future = parse_mark("2099-01-01 00:00:00", "timestamp");
        assert_eq!(
            next_watermark(future, &clock),
            parse_mark("2026-03-02 09:00:00", "timestamp"),
            "a day past the (UTC) clock, whatever zone the column is in"
        );
        let beijing_now = parse_mark("2026-03-01 17:00:00", "timestamp");
        assert_eq!(next_watermark(beijing_now.clone(), &clock), beijing_now);
        let zoned_future = parse_mark("2099-01-01 00:00:00+08", "timestamp");
        assert_eq!(next_watermark(zoned_future, &clock), Some(clock[1].clone()));
        let past = parse_mark("2026-03-01 08:59:00", "timestamp");
        assert_eq!(next_watermark(past.clone(), &clock), past);
        let key = parse_mark("77", "key");
        assert_eq!(next_watermark(key.clone(), &clock), key);
    }
}
