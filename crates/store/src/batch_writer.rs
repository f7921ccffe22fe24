//! Writing a collection batch so that it becomes visible whole or not at all, whatever its
//! size and even if the process dies half-way.
//!
//! Rows are streamed into temporary tables on a connection of the batch's own (SQLite:
//! multi-row inserts; PostgreSQL: `COPY`), which takes no lock on the entry's table and
//! holds nothing in memory. [`BatchWriter::finish`] then publishes them in one short write
//! transaction: upsert by key (the last of repeated keys wins), deletions, quarantine,
//! counts, the batch's status and its audit record. If the process is killed before that
//! commit, the temporary tables vanish with the connection and the entry keeps its previous
//! data; the batch row, committed as `running` at the start, is then marked `failed` by
//! [`Store::recover_interrupted_batches`], and submitting the same content again resumes it
//! under the same id.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Datelike;
use domain::code::ResourceCode;
use domain::storage::{table_columns, ColumnType};
use domain::values::{AcceptedRow, RejectedRow, TypedValue};
use sqlx::{Connection, PgConnection, SqliteConnection};

use crate::audit::snapshot;
use crate::batches::{BatchReport, REPORT_COLUMNS};
use crate::{now, on_pool, AuditContext, Dialect, Store, StoreError, StoreResult};

/// PostgreSQL advisory lock class held (with the batch id) by the connection writing a
/// batch: a `running` batch whose lock is free has lost its writer.
const BATCH_LOCK_CLASS: i32 = 7_340_101;

/// The advisory lock of a batch: the class plus the id's high half, and its low half, so
/// every id has its own lock (a cast to `i32` would give batch 2³² the lock of batch 0).
fn batch_lock_key(batch_id: i64) -> (i32, i32) {
    let high = (batch_id >> 32) as i32;
    (BATCH_LOCK_CLASS.wrapping_add(high), batch_id as u32 as i32)
}

/// SQLite allows 32,766 bound values per statement; stay well below.
const SQLITE_VALUES_PER_STATEMENT: usize = 8_000;

/// A batch's own connection; its temporary tables live and die with it.
enum Staging {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    /// PostgreSQL direct load: a task owns the connection while it copies a chunk, so the
    /// next chunk is formatted while the server takes this one. [`BatchWriter::settle`]
    /// takes the connection back.
    Copying(tokio::task::JoinHandle<(PgConnection, sqlx::Result<()>)>),
    /// Only while the connection changes hands, or after a copy task failed.
    Gone,
}

/// Runs `$body` with `$conn` bound to the staging connection and `$dialect` to its dialect.
macro_rules! on_staging {
    ($staging:expr, $conn:ident, $dialect:ident => $body:expr) => {
        match $staging {
            Staging::Sqlite($conn) => {
                #[allow(unused_variables)]
                let $dialect = Dialect::Sqlite;
                $body
            }
            Staging::Postgres($conn) => {
                #[allow(unused_variables)]
                let $dialect = Dialect::Postgres;
                $body
            }
            Staging::Copying(_) | Staging::Gone => {
                return Err(StoreError::Corrupt(
                    "the batch's connection is not settled".into(),
                ))
            }
        }
    };
}

/// Binds a typed cell to a query of either backend.
macro_rules! bind_value {
    ($query:expr, $value:expr) => {
        match $value {
            TypedValue::Null => $query.bind(None::<String>),
            TypedValue::Text(text) | TypedValue::Decimal(text) => $query.bind(text.as_str()),
            TypedValue::Integer(i) => $query.bind(*i),
            TypedValue::Float(f) => $query.bind(*f),
            TypedValue::Date(d) => $query.bind(*d),
            TypedValue::DateTime(t) => $query.bind(*t),
            TypedValue::Bool(b) => $query.bind(*b),
        }
    };
}

/// How a batch treats rows of the entry it did not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconcile {
    /// Upsert only: rows not in the batch stay (uploads, pushes, incremental pulls).
    None,
    /// The batch is the whole source: rows whose key is not in it (nor among the keys
    /// sent with [`BatchWriter::keep_keys`]: rows the source has but that were held back
    /// in quarantine) are deleted (full pulls).
    AgainstRows,
    /// Keys sent with [`BatchWriter::keep_keys`] are the source's whole key set: rows whose
    /// key is not among them are deleted (periodic key reconciliation of incremental pulls).
    AgainstKeys,
}

/// What a saved source's run changes together with its batch.
#[derive(Debug, Clone)]
pub struct SourceProgress {
    pub source_id: i64,
    pub watermark: Option<String>,
}

/// Either a batch being written, or the report of the identical batch applied before.
pub enum BatchStart {
    Started(Box<BatchWriter>),
    AlreadyApplied(BatchReport),
}

/// Lists a batch among this process's live writers until dropped (finished, failed, or
/// abandoned by a panic or a cancelled request). On a SQLite file it also holds the
/// batch's lock file, which the kernel releases when the process dies: another process
/// (`datahall import` beside `datahall serve`) then knows the batch is live.
struct LiveBatch {
    live: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    id: i64,
    lock: Option<(std::path::PathBuf, std::fs::File)>,
}

impl LiveBatch {
    fn new(store: &Store, id: i64) -> StoreResult<Self> {
        let lock = match &store.batch_locks {
            Some(dir) => Some(take_batch_file_lock(dir, id)?),
            None => None,
        };
        let live = store.live_batches.clone();
        live.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        Ok(Self { live, id, lock })
    }
}

impl Drop for LiveBatch {
    fn drop(&mut self) {
        if let Some((path, file)) = self.lock.take() {
            // Removed while still locked, so nobody locks a fresh file of the same name.
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

fn batch_lock_path(dir: &std::path::Path, id: i64) -> std::path::PathBuf {
    dir.join(format!("batch-{id}.lock"))
}

/// Creates and locks the batch's lock file; `Conflict` if another process holds it.
fn take_batch_file_lock(
    dir: &std::path::Path,
    id: i64,
) -> StoreResult<(std::path::PathBuf, std::fs::File)> {
    let failed = |e: std::io::Error| StoreError::Corrupt(format!("batch lock file: {e}"));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let path = batch_lock_path(dir, id);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    match file.try_lock() {
        Ok(()) => Ok((path, file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Conflict(format!(
            "批次 {id} 正由另一个进程归集，请等待其完成"
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
    }
}

/// Whether another process holds the batch's lock file (SQLite).
fn batch_file_locked_elsewhere(dir: &std::path::Path, id: i64) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .write(true)
        .open(batch_lock_path(dir, id))
    else {
        return false; // no file: no writer ever took it, or it finished
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

/// How many batches are written at once, in total and into one department's entries.
/// Each holds a database connection of its own (on PostgreSQL with large temporary
/// buffers), so without a bound a flood of pushes exhausts the server's connections and
/// every other request fails; past the bound a batch is refused at once with a time to
/// retry (429), and nothing else notices.
#[derive(Debug)]
pub struct BatchSlots {
    total: std::sync::Arc<tokio::sync::Semaphore>,
    per_department: usize,
    departments:
        std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Semaphore>>>,
}

/// The defaults: 8 batches at once, 3 of them for one department.
impl Default for BatchSlots {
    fn default() -> Self {
        Self::new(8, 3)
    }
}

/// Seconds a refused batch is told to wait.
const BATCH_RETRY_AFTER_SECS: u64 = 15;

/// The slots a batch holds while it is written.
struct BatchPermit {
    _total: tokio::sync::OwnedSemaphorePermit,
    _department: tokio::sync::OwnedSemaphorePermit,
}

impl BatchSlots {
    pub fn new(total: usize, per_department: usize) -> Self {
        Self {
            total: std::sync::Arc::new(tokio::sync::Semaphore::new(total.max(1))),
            per_department: per_department.max(1),
            departments: Default::default(),
        }
    }

    fn take(&self, department: i64) -> StoreResult<BatchPermit> {
        let busy = |whose: &str| {
            StoreError::Quota {
            message: format!(
                "{whose}正在归集的批次已达上限，本批次未开始，数据保持不变；请 {BATCH_RETRY_AFTER_SECS} 秒后重试"
            ),
            retry_after_secs: BATCH_RETRY_AFTER_SECS,
        }
        };
        let semaphore = self
            .departments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(department)
            .or_insert_with(|| {
                std::sync::Arc::new(tokio::sync::Semaphore::new(self.per_department))
            })
            .clone();
        let department = semaphore.try_acquire_owned().map_err(|_| busy("本部门"))?;
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy("全平台"))?;
        Ok(BatchPermit {
            _total: total,
            _department: department,
        })
    }
}

/// A batch being written; see the module documentation.
pub struct BatchWriter {
    store: Store,
    _live: LiveBatch,
    _slot: BatchPermit,
    staging: Staging,
    batch_id: i64,
    /// Which attempt at the batch this writer is: publishing checks that it is still the
    /// batch's current one, so a batch resumed elsewhere is never published twice.
    attempt: i64,
    resource_id: i64,
    published_version: i64,
    code: String,
    table: String,
    columns: Vec<(String, ColumnType, bool)>,
    source: String,
    ctx: AuditContext,
    staged: i64,
    rejected: i64,
    reconcile: Reconcile,
    /// A person confirmed that reconciling may delete most of the entry.
    mass_deletion_confirmed: bool,
    progress: Option<SourceProgress>,
    /// PostgreSQL: rows go straight into the entry's table (see [`DirectLoad`]).
    direct: Option<DirectLoad>,
    /// PostgreSQL: the staging connection holds a transaction open since the batch began.
    in_transaction: bool,
    /// Rejected rows not yet staged: written when enough gather (or at `finish`), so that a
    /// file with a bad row in every chunk does not wait for each chunk's copy to end.
    pending_rejected: Vec<RejectedRow>,
}

/// A writer dropped without `finish` or `fail` (its task aborted, a panic) stops a copy
/// in flight: the copy would otherwise keep the batch's connection and lock, outside its
/// slot and deadline.
impl Drop for BatchWriter {
    fn drop(&mut self) {
        if let Staging::Copying(task) = &self.staging {
            task.abort();
        }
    }
}

/// Rejected rows gathered before they are staged.
const PENDING_REJECTED_ROWS: usize = 20_000;

/// PostgreSQL's first load of an empty entry: copying rows straight into the entry's table
/// is about twice as fast as staging them and inserting them again. The rows are copied
/// inside a transaction that stays open until [`BatchWriter::finish`], so they are as
/// invisible and as disposable as staged rows. A key repeated within the batch violates
/// the primary key: the rows since the last savepoint are then staged instead, and the
/// upsert at `finish` lets each key's last line win over the rows already copied.
struct DirectLoad {
    /// The rows copied since the last savepoint, in the staging table's `COPY` layout.
    since_savepoint: String,
    /// The `COPY` text of the lineage columns, the same for every row.
    lineage: String,
    /// `COPY` into the entry's table with its item and lineage columns.
    statement: String,
}

/// Rows copied directly between two savepoints: bounds both the text kept for a fallback
/// and the number of subtransactions (PostgreSQL slows every session past 64).
const DIRECT_SEGMENT_BYTES: usize = 32 << 20;

/// A run-unique dedup key for batches that have no content to hash (pulls).
fn run_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "run:{}:{}:{}",
        std::process::id(),
        now().timestamp_micros(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn quoted(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{}\"", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One value in PostgreSQL's COPY text format.
fn push_copy_value(out: &mut String, value: &TypedValue) {
    use std::fmt::Write;
    match value {
        TypedValue::Null => out.push_str("\\N"),
        TypedValue::Text(text) | TypedValue::Decimal(text) => {
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        TypedValue::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        TypedValue::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        // Written field by field: a format string would be parsed again for every cell.
        TypedValue::Date(d) => {
            let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
        }
        TypedValue::DateTime(t) => {
            use chrono::Timelike;
            let _ = write!(
                out,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond() / 1000
            );
        }
        TypedValue::Bool(b) => out.push(if *b { 't' } else { 'f' }),
    }
}

/// PostgreSQL: takes the batch's advisory lock on its own connection (held until the
/// connection ends). Tried, never waited for: the caller holds the write lock.
async fn lock_batch(staging: &mut Staging, batch_id: i64) -> StoreResult<()> {
    if let Staging::Postgres(conn) = staging {
        let (class, object) = batch_lock_key(batch_id);
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(class)
            .bind(object)
            .fetch_one(&mut *conn)
            .await?;
        if !locked {
            return Err(StoreError::Conflict(format!(
                "批次 {batch_id} 仍在另一个会话中归集，请等待其完成"
            )));
        }
    }
    Ok(())
}

impl Store {
    /// Starts a batch for the published entry `code`. `dedup_key` names its content (a
    /// file's hash, or a key the client chose): if a batch with that key already succeeded
    /// its report is returned instead; if one failed, it is resumed under its id.
    pub async fn begin_batch(
        &self,
        code: &str,
        source: &str,
        dedup_key: Option<&str>,
        ctx: &AuditContext,
    ) -> StoreResult<BatchStart> {
        let resource = self.resource(code).await?;
        domain::access::check(
            &ctx.caller,
            domain::access::Act::Collect {
                provider: resource.provider.id,
                channel: domain::access::Channel::of_batch(source, &ctx.caller),
            },
        )?;
        crate::sources::collectable(&resource)?;
        let body = self.published_body(&resource).await?;
        let published_version = resource.published_version.unwrap_or_default();
        let columns = table_columns(&body);
        let table = crate::data_tables::table_name(
            &ResourceCode::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let key = dedup_key.map_or_else(run_key, str::to_string);
        let at = now();
        let actor = ctx.actor_name();
        // The batch's own connection exists before the batch does: its lock is taken
        // before the commit makes the batch visible as running, so no recovery (in this
        // process or another) ever sees a live batch without its lock.
        let slot = self.batch_slots.take(resource.provider.id)?;
        let mut staging = self.open_staging().await?;
        let (batch_id, attempt, live) = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let earlier: Option<(i64, String, i64)> = sqlx::query_as("SELECT id, status, attempts FROM batches WHERE resource_id = $1 AND content_hash = $2")
                .bind(resource.id).bind(&key).fetch_optional(&mut *tx).await?;
            let (id, attempt) = match earlier {
                Some((id, status, _)) if status == "succeeded" => {
                    drop(tx);
                    return Ok(BatchStart::AlreadyApplied(self.batch(id).await?.0));
                }
                Some((id, status, _)) if status == "running" => {
                    return Err(StoreError::Conflict(format!("内容相同的批次 {id} 正在归集，请等待其完成")));
                }
                Some((id, _, attempts)) => {
                    sqlx::query("UPDATE batches SET status = 'running', source = $2, attempts = attempts + 1, error = NULL, \
                                 started_at = $3, finished_at = NULL WHERE id = $1")
                        .bind(id).bind(source).bind(at).execute(&mut *tx).await?;
                    (id, attempts + 1)
                }
                None => (sqlx::query_scalar("INSERT INTO batches (resource_id, source, content_hash, status, created_by, started_at) \
                                            VALUES ($1, $2, $3, 'running', $4, $5) RETURNING id")
                    .bind(resource.id).bind(source).bind(&key).bind(actor).bind(at)
                    .fetch_one(&mut *tx).await?, 1),
            };
            lock_batch(&mut staging, id).await?;
            let live = LiveBatch::new(self, id)?;
            tx.commit().await?;
            (id, attempt, live)
        });
        let mut writer = BatchWriter {
            store: self.clone(),
            _live: live,
            _slot: slot,
            staging,
            batch_id,
            attempt,
            resource_id: resource.id,
            published_version,
            code: code.to_string(),
            table,
            columns,
            source: source.to_string(),
            ctx: ctx.clone(),
            staged: 0,
            rejected: 0,
            reconcile: Reconcile::None,
            mass_deletion_confirmed: false,
            progress: None,
            direct: None,
            in_transaction: false,
            pending_rejected: Vec::new(),
        };
        let prepared = match writer.create_staging_tables().await {
            Ok(()) => writer.start_direct_load().await,
            Err(error) => Err(error),
        };
        if let Err(error) = prepared {
            return Err(writer.fail(&error.to_string()).await.err().unwrap_or(error));
        }
        tracing::info!(batch = batch_id, resource = code, source, "batch started");
        Ok(BatchStart::Started(Box::new(writer)))
    }

    async fn open_staging(&self) -> StoreResult<Staging> {
        use sqlx::ConnectOptions;
        Ok(match self.backend() {
            crate::Backend::Sqlite(pool) => {
                Staging::Sqlite(pool.connect_options().connect().await?)
            }
            crate::Backend::Postgres(pool) => {
                let mut conn = pool.connect_options().connect().await?;
                // Temporary tables live in per-session buffers (8 MB by default); a large
                // batch is copied in and read back whole, so give it room. Must precede
                // the session's first use of a temporary table.
                sqlx::query("SET temp_buffers = '256MB'")
                    .execute(&mut conn)
                    .await?;
                // A killed writer's server process would otherwise finish its statement
                // (a merge of a million rows takes seconds) before noticing, holding the
                // batch's locks meanwhile. PostgreSQL 14 and later check every second.
                if let Err(error) = sqlx::query("SET client_connection_check_interval = '1s'")
                    .execute(&mut conn)
                    .await
                {
                    tracing::debug!(%error, "client_connection_check_interval unsupported");
                }
                Staging::Postgres(conn)
            }
        })
    }

    /// Marks a batch failed with its reason; its staged rows were never visible.
    pub async fn fail_batch(&self, batch_id: i64, reason: &str) -> StoreResult<()> {
        let reason: String = reason.chars().take(2000).collect();
        on_pool!(self, pool => {
            sqlx::query("UPDATE batches SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND status = 'running'")
                .bind(batch_id).bind(&reason).bind(now()).execute(pool).await?;
        });
        tracing::warn!(batch = batch_id, reason, "batch failed");
        Ok(())
    }

    /// Marks as failed the `running` batches whose writer is gone (the process was killed).
    /// SQLite has one writing process, so a running batch it is not writing is orphaned;
    /// on PostgreSQL a batch is orphaned when no session holds its advisory lock.
    pub async fn recover_interrupted_batches(&self) -> StoreResult<Vec<i64>> {
        const REASON: &str = "归集进程中断，本批次数据未生效；重新提交相同内容即可续传";
        let running: Vec<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, attempts FROM batches WHERE status = 'running' ORDER BY id").fetch_all(pool).await?
        });
        let mut recovered = Vec::new();
        for (id, attempt) in running {
            let orphaned = match self.backend() {
                crate::Backend::Sqlite(_) => {
                    let live_here = self
                        .live_batches
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .contains(&id);
                    !live_here
                        && !self
                            .batch_locks
                            .as_deref()
                            .is_some_and(|dir| batch_file_locked_elsewhere(dir, id))
                }
                crate::Backend::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    let (class, object) = batch_lock_key(id);
                    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                        .bind(class)
                        .bind(object)
                        .fetch_one(&mut *conn)
                        .await?;
                    if free {
                        sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                            .bind(class)
                            .bind(object)
                            .execute(&mut *conn)
                            .await?;
                    }
                    free
                }
            };
            if orphaned {
                // Only the attempt found orphaned: one resumed since then is live.
                let failed = on_pool!(self, pool => {
                    sqlx::query("UPDATE batches SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1 AND status = 'running' AND attempts = $4")
                        .bind(id).bind(REASON).bind(now()).bind(attempt).execute(pool).await?.rows_affected()
                });
                if failed == 0 {
                    continue;
                }
                tracing::warn!(batch = id, reason = REASON, "batch failed");
                recovered.push(id);
            }
        }
        Ok(recovered)
    }

    /// Applies a whole batch held in memory (small pushes and tests): begin, write, finish.
    pub async fn apply_batch(
        &self,
        code: &str,
        source: &str,
        dedup_key: &str,
        accepted: &[AcceptedRow],
        rejected: &[RejectedRow],
        ctx: &AuditContext,
    ) -> StoreResult<BatchReport> {
        match self.begin_batch(code, source, Some(dedup_key), ctx).await? {
            BatchStart::AlreadyApplied(report) => Ok(report),
            BatchStart::Started(mut writer) => {
                if let Err(error) = writer.write(accepted, rejected).await {
                    return Err(writer.fail(&error.to_string()).await.err().unwrap_or(error));
                }
                writer.finish().await
            }
        }
    }
}

impl BatchWriter {
    pub fn batch_id(&self) -> i64 {
        self.batch_id
    }

    /// Rows staged so far (accepted, rejected).
    pub fn counts(&self) -> (i64, i64) {
        (self.staged, self.rejected)
    }

    pub fn set_reconcile(&mut self, reconcile: Reconcile) {
        self.reconcile = reconcile;
    }

    /// Lets reconciliation delete more than `domain::collection` allows unconfirmed.
    pub fn confirm_mass_deletion(&mut self) {
        self.mass_deletion_confirmed = true;
    }

    /// Records the source run this batch belongs to; its watermark is saved with the batch.
    pub fn set_source_progress(&mut self, progress: SourceProgress) {
        self.progress = Some(progress);
    }

    fn key_columns(&self) -> Vec<&(String, ColumnType, bool)> {
        self.columns.iter().filter(|(_, _, key)| *key).collect()
    }

    async fn create_staging_tables(&mut self) -> StoreResult<()> {
        let typed = |columns: &[&(String, ColumnType, bool)], dialect: Dialect| {
            columns
                .iter()
                .map(|(name, ty, _)| format!("\"{name}\" {}", dialect.column_type(*ty)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all: Vec<&(String, ColumnType, bool)> = self.columns.iter().collect();
        let keys: Vec<&(String, ColumnType, bool)> =
            self.columns.iter().filter(|(_, _, key)| *key).collect();
        on_staging!(&mut self.staging, conn, dialect => {
            let statements = [
                format!("CREATE TEMP TABLE stage (\"_line\" BIGINT, {})", typed(&all, dialect)),
                "CREATE TEMP TABLE stage_rejected (line BIGINT, column_name TEXT, value TEXT, reason TEXT)".to_string(),
                format!("CREATE TEMP TABLE stage_deleted ({})", typed(&keys, dialect)),
                format!("CREATE TEMP TABLE stage_keys ({})", typed(&keys, dialect)),
            ];
            for statement in statements {
                if keys.is_empty() && (statement.contains("stage_deleted") || statement.contains("stage_keys")) {
                    continue;
                }
                sqlx::query(&statement).execute(&mut *conn).await?;
            }
        });
        Ok(())
    }

    /// PostgreSQL, entry with a key and no rows yet: opens the batch's transaction and
    /// switches to copying rows straight into the entry's table.
    async fn start_direct_load(&mut self) -> StoreResult<()> {
        use sqlx::Executor;
        let Staging::Postgres(conn) = &mut self.staging else {
            return Ok(());
        };
        if !self.columns.iter().any(|(_, _, key)| *key) {
            return Ok(());
        }
        conn.execute("BEGIN").await?;
        self.in_transaction = true;
        let empty: bool = sqlx::query_scalar(&format!(
            "SELECT NOT EXISTS (SELECT 1 FROM \"{}\")",
            self.table
        ))
        .fetch_one(&mut *conn)
        .await?;
        if !empty {
            conn.execute("ROLLBACK").await?;
            self.in_transaction = false;
            return Ok(());
        }
        conn.execute("SAVEPOINT direct_load").await?;
        let received = TypedValue::DateTime(now());
        let mut lineage = format!("\t{}\t", self.batch_id);
        push_copy_value(&mut lineage, &TypedValue::Text(self.source.clone()));
        for _ in 0..2 {
            lineage.push('\t');
            push_copy_value(&mut lineage, &received);
        }
        let names = self.columns.iter().map(|(n, _, _)| n.as_str());
        let statement = format!(
            "COPY \"{}\" ({}, \"_batch_id\", \"_source\", \"_received_at\", \"_updated_at\") FROM STDIN",
            self.table,
            quoted(names)
        );
        self.direct = Some(DirectLoad {
            // Reserved whole: growing it by doubling would copy it again and again.
            since_savepoint: String::with_capacity(DIRECT_SEGMENT_BYTES + (1 << 20)),
            lineage,
            statement,
        });
        Ok(())
    }

    /// Hands the next chunk of accepted rows to a copy into the entry's table. `staged_text`
    /// is the chunk in the staging table's layout, kept until the next savepoint.
    async fn write_direct(&mut self, staged_text: String) -> StoreResult<()> {
        let Some(direct) = &self.direct else {
            return Err(StoreError::Corrupt("direct load without its state".into()));
        };
        // Formatted before waiting for the previous chunk: the server is still copying it.
        let mut entry_text = String::with_capacity(staged_text.len() + staged_text.len() / 4);
        // One row per line (COPY escapes newlines in values); drop the leading `_line`.
        for row in staged_text.split_terminator('\n') {
            let values = row.split_once('\t').map_or("", |(_, values)| values);
            entry_text.push_str(values);
            entry_text.push_str(&direct.lineage);
            entry_text.push('\n');
        }
        self.settle().await?;
        match (
            &mut self.direct,
            std::mem::replace(&mut self.staging, Staging::Gone),
        ) {
            (Some(direct), Staging::Postgres(mut conn)) => {
                direct.since_savepoint.push_str(&staged_text);
                let statement = direct.statement.clone();
                self.staging = Staging::Copying(tokio::spawn(async move {
                    let result = copy_in(&mut conn, &statement, entry_text).await;
                    (conn, result)
                }));
                Ok(())
            }
            // A repeated key ended the direct load while settling: stage this chunk too.
            (None, Staging::Postgres(mut conn)) => {
                let statement = format!("COPY stage ({}) FROM STDIN", self.stage_columns());
                let result = copy_in(&mut conn, &statement, staged_text).await;
                self.staging = Staging::Postgres(conn);
                Ok(result?)
            }
            (_, other) => {
                self.staging = other;
                Err(StoreError::Corrupt(
                    "direct load without its connection".into(),
                ))
            }
        }
    }

    /// Waits for a chunk being copied and takes the connection back. Past a segment's worth
    /// of rows, a new savepoint starts; on a repeated key, the rows since the last savepoint
    /// are undone and staged, and the batch continues by staging.
    async fn settle(&mut self) -> StoreResult<()> {
        use sqlx::Executor;
        if !matches!(self.staging, Staging::Copying(_)) {
            return Ok(());
        }
        let Staging::Copying(task) = std::mem::replace(&mut self.staging, Staging::Gone) else {
            return Ok(());
        };
        let (mut conn, result) = task
            .await
            .map_err(|e| StoreError::Corrupt(format!("copy task ended abnormally: {e}")))?;
        let stage_statement = format!("COPY stage ({}) FROM STDIN", self.stage_columns());
        let outcome = match (result, &mut self.direct) {
            (Ok(()), Some(direct)) => {
                if direct.since_savepoint.len() > DIRECT_SEGMENT_BYTES {
                    direct.since_savepoint.clear();
                    conn.execute("RELEASE SAVEPOINT direct_load; SAVEPOINT direct_load")
                        .await
                        .map(|_| ())
                } else {
                    Ok(())
                }
            }
            (Err(sqlx::Error::Database(e)), Some(direct)) if e.is_unique_violation() => {
                tracing::debug!(
                    batch = self.batch_id,
                    "repeated key: staging the rest of the batch"
                );
                let text = std::mem::take(&mut direct.since_savepoint);
                self.direct = None;
                match conn.execute("ROLLBACK TO SAVEPOINT direct_load").await {
                    Ok(_) => copy_in(&mut conn, &stage_statement, text).await,
                    Err(e) => Err(e),
                }
            }
            (result, _) => result,
        };
        self.staging = Staging::Postgres(conn);
        Ok(outcome?)
    }

    fn stage_columns(&self) -> String {
        quoted(std::iter::once("_line").chain(self.columns.iter().map(|(n, _, _)| n.as_str())))
    }

    /// Stages accepted and rejected rows.
    pub async fn write(
        &mut self,
        accepted: &[AcceptedRow],
        rejected: &[RejectedRow],
    ) -> StoreResult<()> {
        if let Some(bad) = accepted
            .iter()
            .find(|r| r.values.len() != self.columns.len())
        {
            return Err(StoreError::Corrupt(format!(
                "row {} has {} values for {} items",
                bad.line,
                bad.values.len(),
                self.columns.len()
            )));
        }
        if self.direct.is_none() {
            self.settle().await?;
        }
        let names: Vec<&str> = std::iter::once("_line")
            .chain(self.columns.iter().map(|(n, _, _)| n.as_str()))
            .collect();
        let rows: Vec<(i64, &[TypedValue])> = accepted
            .iter()
            .map(|r| (r.line as i64, r.values.as_slice()))
            .collect();
        if self.direct.is_some() {
            if !rows.is_empty() {
                self.write_direct(copy_text(&rows, true)).await?;
            }
        } else {
            stage_values(&mut self.staging, "stage", &names, &rows, true).await?;
        }
        self.pending_rejected.extend_from_slice(rejected);
        if self.pending_rejected.len() >= PENDING_REJECTED_ROWS {
            self.stage_pending_rejected().await?;
        }
        self.staged += accepted.len() as i64;
        self.rejected += rejected.len() as i64;
        Ok(())
    }

    /// Stages the rejected rows gathered so far (waiting for a copy in flight first).
    async fn stage_pending_rejected(&mut self) -> StoreResult<()> {
        if self.pending_rejected.is_empty() {
            return Ok(());
        }
        self.settle().await?;
        stage_rejected(&mut self.staging, &self.pending_rejected).await?;
        self.pending_rejected.clear();
        Ok(())
    }

    /// Stages the keys of rows the source deleted (one value per key item, in item order).
    pub async fn delete(&mut self, keys: &[Vec<TypedValue>]) -> StoreResult<()> {
        self.stage_keys("stage_deleted", keys).await
    }

    /// Stages keys the source still holds, for [`Reconcile::AgainstKeys`].
    pub async fn keep_keys(&mut self, keys: &[Vec<TypedValue>]) -> StoreResult<()> {
        self.stage_keys("stage_keys", keys).await
    }

    async fn stage_keys(&mut self, table: &str, keys: &[Vec<TypedValue>]) -> StoreResult<()> {
        let key_columns = self.key_columns();
        if key_columns.is_empty() {
            return Err(StoreError::Conflict(
                "本目录没有主键信息项，无法按主键删除或对账".into(),
            ));
        }
        if let Some(bad) = keys.iter().find(|k| k.len() != key_columns.len()) {
            return Err(StoreError::Corrupt(format!(
                "a key has {} values for {} key items",
                bad.len(),
                key_columns.len()
            )));
        }
        let names: Vec<String> = key_columns.iter().map(|(n, _, _)| n.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let rows: Vec<(i64, &[TypedValue])> = keys.iter().map(|k| (0, k.as_slice())).collect();
        self.settle().await?;
        stage_values(&mut self.staging, table, &names, &rows, false).await
    }

    /// Gives up the batch: nothing staged becomes visible, the batch is marked failed.
    /// Returns `Ok(())` so callers can report their own error.
    pub async fn fail(self, reason: &str) -> StoreResult<()> {
        let (store, batch_id) = (self.store.clone(), self.batch_id);
        self.close().await;
        store.fail_batch(batch_id, reason).await
    }

    async fn close(mut self) {
        let result = match std::mem::replace(&mut self.staging, Staging::Gone) {
            Staging::Sqlite(conn) => conn.close().await,
            Staging::Postgres(conn) => conn.close().await,
            // Dropping the connection ends its session, and the transaction with it.
            Staging::Copying(task) => {
                task.abort();
                Ok(())
            }
            Staging::Gone => Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(batch = self.batch_id, %error, "closing a batch connection");
        }
    }

    /// Publishes the staged rows in one transaction and returns the batch's report.
    pub async fn finish(mut self) -> StoreResult<BatchReport> {
        match self.publish().await {
            Ok(report) => {
                tracing::info!(
                    batch = report.id,
                    accepted = report.rows_accepted,
                    quarantined = report.rows_quarantined,
                    deleted = report.rows_deleted,
                    "batch applied"
                );
                self.close().await;
                Ok(report)
            }
            Err(error) => Err(self.fail(&error.to_string()).await.err().unwrap_or(error)),
        }
    }

    async fn publish(&mut self) -> StoreResult<BatchReport> {
        self.settle().await?;
        self.stage_pending_rejected().await?;
        let table = self.table.clone();
        let names: Vec<String> = self.columns.iter().map(|(n, _, _)| n.clone()).collect();
        let keys: Vec<String> = self
            .key_columns()
            .iter()
            .map(|(n, _, _)| n.clone())
            .collect();
        let at = now();
        let (batch_id, resource_id, attempt) = (self.batch_id, self.resource_id, self.attempt);
        let (staged, rejected, reconcile) = (self.staged, self.rejected, self.reconcile);
        let mass_deletion_confirmed = self.mass_deletion_confirmed;
        let progress = self.progress.clone();
        let mut event = self
            .ctx
            .event("batch.apply", format!("resource:{}", self.code));
        let source = self.source.clone();
        let published_version = self.published_version;
        let in_transaction = self.in_transaction;
        on_staging!(&mut self.staging, conn, dialect => {
            let mut tx = if in_transaction {
                // The transaction the direct load opened: a savepoint names it to sqlx,
                // whose commit then commits it whole.
                let mut tx = conn.begin_with("SAVEPOINT publish_batch").await?;
                if let Some(lock) = dialect.write_lock() {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                tx
            } else {
                crate::begin_write!(conn, dialect)
            };
            if dialect == Dialect::Postgres {
                // Keeping each key's last line sorts the whole batch: in memory, not on disk.
                sqlx::query("SET LOCAL work_mem = '256MB'").execute(&mut *tx).await?;
            }
            let still_ours: Option<i64> = sqlx::query_scalar("SELECT id FROM batches WHERE id = $1 AND status = 'running' AND attempts = $2")
                .bind(batch_id).bind(attempt).fetch_optional(&mut *tx).await?;
            if still_ours.is_none() {
                return Err(StoreError::Conflict(format!(
                    "批次 {batch_id} 已被判定中断或已由重新提交接续，本次写入作废，数据未重复生效"
                )));
            }
            let current: Option<i64> = sqlx::query_scalar("SELECT published_version FROM resources WHERE id = $1")
                .bind(resource_id).fetch_one(&mut *tx).await?;
            if current != Some(published_version) {
                return Err(StoreError::Conflict("归集期间目录发布了新版本，请按新版本重新提交".into()));
            }
            // (An empty entry's first load on PostgreSQL is already in the table: see
            // `DirectLoad`. The upsert then only applies what a repeated key staged.)
            // The rows the entry held before this batch (a direct load's rows are this
            // batch's): what the deletion guard weighs deletions against.
            let held: i64 = if reconcile == Reconcile::None || keys.is_empty() {
                0
            } else {
                sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"_batch_id\" <> $1 OR \"_batch_id\" IS NULL"))
                    .bind(batch_id).fetch_one(&mut *tx).await?
            };
            let upsert = upsert_from_stage(dialect, &table, &names, &keys);
            sqlx::query(&upsert).bind(batch_id).bind(&source).bind(at).execute(&mut *tx).await?;
            let mut deleted = 0;
            if !keys.is_empty() {
                let key_list = quoted(&keys);
                let gone = format!("({key_list}) IN (SELECT {key_list} FROM stage_deleted)");
                sqlx::query(&crate::changes::record_deletions(dialect, &table, &names, &keys, &gone))
                    .bind(resource_id).bind(batch_id).bind(at).execute(&mut *tx).await?;
                deleted += sqlx::query(&format!("DELETE FROM \"{table}\" WHERE {gone}"))
                    .execute(&mut *tx).await?.rows_affected();
                let kept: &[&str] = match reconcile {
                    Reconcile::None => &[],
                    Reconcile::AgainstRows => &["stage", "stage_keys"],
                    Reconcile::AgainstKeys => &["stage_keys"],
                };
                if !kept.is_empty() {
                    let matches: Vec<String> = keys.iter().map(|k| format!("k.\"{k}\" = \"{table}\".\"{k}\"")).collect();
                    let mut gone = "(\"_batch_id\" <> $2 OR \"_batch_id\" IS NULL)".to_string();
                    for kept in kept {
                        if dialect == Dialect::Sqlite {
                            sqlx::query(&format!("CREATE INDEX temp.{kept}_key_index ON {kept} ({key_list})")).execute(&mut *tx).await?;
                        }
                        gone.push_str(&format!(" AND NOT EXISTS (SELECT 1 FROM {kept} k WHERE {})", matches.join(" AND ")));
                    }
                    // Rows this batch wrote are kept: a direct load's rows are not in `stage`.
                    sqlx::query(&crate::changes::record_deletions(dialect, &table, &names, &keys, &gone))
                        .bind(resource_id).bind(batch_id).bind(at).execute(&mut *tx).await?;
                    // `$2`: the placeholder the deletion record binds the batch id to.
                    let reconciled = sqlx::query(&format!("DELETE FROM \"{table}\" WHERE {}", gone.replace("$2", "$1")))
                        .bind(batch_id)
                        .execute(&mut *tx).await?.rows_affected() as i64;
                    // Dropping the transaction undoes the deletions and their feed records.
                    if !mass_deletion_confirmed
                        && domain::collection::deletion_needs_confirmation(held, reconciled)
                    {
                        return Err(StoreError::Conflict(domain::collection::mass_deletion_message(held, reconciled)));
                    }
                    deleted += reconciled as u64;
                }
            }
            sqlx::query("INSERT INTO quarantine (batch_id, line, column_name, value, reason) \
                         SELECT $1, line, column_name, value, reason FROM stage_rejected")
                .bind(batch_id).execute(&mut *tx).await?;
            let written: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\" WHERE \"_batch_id\" = $1"))
                .bind(batch_id).fetch_one(&mut *tx).await?;
            let duplicates = if keys.is_empty() { 0 } else { staged - written };
            let row_count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\"")).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE batches SET status = 'succeeded', rows_received = $2, rows_accepted = $3, rows_quarantined = $4, \
                         duplicate_keys = $5, rows_deleted = $6, error = NULL, finished_at = $7, \
                         published_seq = (SELECT COALESCE(MAX(published_seq), 0) + 1 FROM batches) WHERE id = $1")
                .bind(batch_id).bind(staged + rejected).bind(staged).bind(rejected).bind(duplicates)
                .bind(deleted as i64).bind(at).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO resource_data (resource_id, row_count, last_batch_id, last_success_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (resource_id) DO UPDATE SET row_count = excluded.row_count, last_batch_id = excluded.last_batch_id, \
                         last_success_at = excluded.last_success_at")
                .bind(resource_id).bind(row_count).bind(batch_id).bind(at).execute(&mut *tx).await?;
            if let Some(progress) = &progress {
                sqlx::query("UPDATE sources SET watermark = COALESCE($2, watermark), runs = runs + 1, last_success_at = $3, \
                             failures = 0, last_error = NULL WHERE id = $1")
                    .bind(progress.source_id).bind(&progress.watermark).bind(at).execute(&mut *tx).await?;
            }
            let report: BatchReport = sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} FROM batches WHERE id = $1"))
                .bind(batch_id).fetch_one(&mut *tx).await?;
            event.after = snapshot(&report);
            crate::append_audit!(self.store, tx, event);
            tx.commit().await?;
            Ok(report)
        })
    }
}

/// Inserts rows into a staging table: `names` are its columns (starting with `_line`
/// when `with_line`), each row its line and one value per remaining column.
async fn stage_values(
    staging: &mut Staging,
    table: &str,
    names: &[&str],
    rows: &[(i64, &[TypedValue])],
    with_line: bool,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match staging {
        Staging::Sqlite(conn) => {
            let per_row = names.len();
            let rows_per_statement = (SQLITE_VALUES_PER_STATEMENT / per_row).max(1);
            for chunk in rows.chunks(rows_per_statement) {
                // Anonymous `?` placeholders: SQLite finds a named one by walking a list,
                // which makes binding thousands of `$n` quadratic.
                let row = format!("({})", vec!["?"; per_row].join(", "));
                let placeholders = vec![row; chunk.len()];
                let sql = format!(
                    "INSERT INTO temp.{table} ({}) VALUES {}",
                    quoted(names),
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (line, values) in chunk {
                    if with_line {
                        query = query.bind(*line);
                    }
                    for value in values.iter() {
                        query = match value {
                            // The text sqlx would write for a date, without parsing a
                            // format string on every cell.
                            TypedValue::Date(d) => query.bind(format!(
                                "{:04}-{:02}-{:02}",
                                d.year(),
                                d.month(),
                                d.day()
                            )),
                            other => bind_value!(query, other),
                        };
                    }
                }
                query.execute(&mut *conn).await?;
            }
        }
        Staging::Postgres(conn) => {
            let statement = format!("COPY {table} ({}) FROM STDIN", quoted(names));
            copy_in(conn, &statement, copy_text(rows, with_line)).await?;
        }
        Staging::Copying(_) | Staging::Gone => {
            return Err(StoreError::Corrupt(
                "the batch's connection is not settled".into(),
            ))
        }
    }
    Ok(())
}

/// Rows in PostgreSQL's `COPY` text format, each led by its line number when `with_line`.
fn copy_text(rows: &[(i64, &[TypedValue])], with_line: bool) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(rows.len() * 128);
    for (line, values) in rows {
        if with_line {
            let _ = write!(text, "{line}\t");
        }
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                text.push('\t');
            }
            push_copy_value(&mut text, value);
        }
        text.push('\n');
    }
    text
}

/// Runs a `COPY … FROM STDIN` with `text` as its data.
async fn copy_in(conn: &mut PgConnection, statement: &str, text: String) -> sqlx::Result<()> {
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(text.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

async fn stage_rejected(staging: &mut Staging, rejected: &[RejectedRow]) -> StoreResult<()> {
    let rows: Vec<(i64, [TypedValue; 3])> = rejected
        .iter()
        .map(|r| {
            let text = |t: &Option<String>| {
                t.clone()
                    .map_or(TypedValue::Null, |t| TypedValue::Text(t.replace('\0', "")))
            };
            (
                r.line as i64,
                [
                    text(&r.column),
                    text(&r.value),
                    TypedValue::Text(r.reason.clone()),
                ],
            )
        })
        .collect();
    let rows: Vec<(i64, &[TypedValue])> = rows.iter().map(|(l, v)| (*l, &v[..])).collect();
    stage_values(
        staging,
        "stage_rejected",
        &["line", "column_name", "value", "reason"],
        &rows,
        true,
    )
    .await
}

/// Moves the staged rows into the entry's table: insert, or replace the non-key columns of
/// the row with the same key. Repeated keys within the batch: the last line wins.
fn upsert_from_stage(dialect: Dialect, table: &str, names: &[String], keys: &[String]) -> String {
    let columns = quoted(names);
    let lineage = "\"_batch_id\", \"_source\", \"_received_at\", \"_updated_at\"";
    let timestamp = dialect.cast(ColumnType::Timestamp);
    let select_lineage = format!("$1, $2, $3{timestamp}, $3{timestamp}");
    if keys.is_empty() {
        return format!(
            "INSERT INTO \"{table}\" ({columns}, {lineage}) SELECT {columns}, {select_lineage} FROM stage ORDER BY \"_line\""
        );
    }
    let key_list = quoted(keys);
    let source = match dialect {
        // SQLite applies the rows in order, so a later line updates the row an earlier
        // line of the same batch inserted. (`WHERE true` resolves the parser's ambiguity
        // between a join constraint and the upsert clause.)
        // Rows were staged in line order, so the temporary table's rowid order is line
        // order and needs no sort.
        Dialect::Sqlite => {
            format!("SELECT {columns}, {select_lineage} FROM stage WHERE true ORDER BY rowid")
        }
        // PostgreSQL refuses to touch one row twice in a statement: keep each key's last line.
        Dialect::Postgres => format!(
            "SELECT DISTINCT ON ({key_list}) {columns}, {select_lineage} FROM stage ORDER BY {key_list}, \"_line\" DESC"
        ),
    };
    let updates: Vec<String> = names
        .iter()
        .filter(|n| !keys.contains(n))
        .map(|n| format!("\"{n}\""))
        .chain(["\"_batch_id\"", "\"_source\"", "\"_updated_at\""].map(String::from))
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    format!(
        "INSERT INTO \"{table}\" ({columns}, {lineage}) {source} ON CONFLICT ({key_list}) DO UPDATE SET {}",
        updates.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_id_has_a_lock_of_its_own() {
        assert_ne!(batch_lock_key(0), batch_lock_key(1 << 32));
        assert_ne!(batch_lock_key(7), batch_lock_key(7 + (1 << 32)));
        assert_eq!(batch_lock_key(5), (BATCH_LOCK_CLASS, 5));
        assert_eq!(batch_lock_key(u32::MAX as i64).1, -1);
    }

    #[test]
    fn copy_text_escapes_control_characters_and_marks_nulls() {
        let mut out = String::new();
        for value in [
            TypedValue::Text("a\tb\\c\nd".into()),
            TypedValue::Null,
            TypedValue::Bool(true),
            TypedValue::Float(1.0),
            TypedValue::Date(chrono::NaiveDate::from_ymd_opt(987, 6, 5).unwrap()),
            TypedValue::DateTime("2026-02-03T04:05:06.789012Z".parse().unwrap()),
        ] {
            push_copy_value(&mut out, &value);
            out.push('|');
        }
        assert_eq!(
            out,
            "a\\tb\\\\c\\nd|\\N|t|1.0|0987-06-05|2026-02-03 04:05:06.789012+00|"
        );
    }

    #[test]
    fn postgres_upsert_keeps_the_last_line_of_each_key() {
        let sql = upsert_from_stage(
            Dialect::Postgres,
            "data_1_2",
            &["id".into(), "name".into()],
            &["id".into()],
        );
        assert!(sql.contains("DISTINCT ON (\"id\")"), "{sql}");
        assert!(sql.contains("ORDER BY \"id\", \"_line\" DESC"), "{sql}");
        assert!(sql.contains("\"name\" = excluded.\"name\""), "{sql}");
        assert!(!sql.contains("\"id\" = excluded"), "{sql}");
    }
}
