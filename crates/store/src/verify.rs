//! Verifying the two logs (审计日志, 数据访问日志) from one consistent snapshot.
//!
//! The audit log is a hash chain: each record's hash covers its fields and the previous
//! hash, and since sealing began each record also carries an HMAC of its hash under a key
//! derived from the platform's secret, which someone with database access alone does not
//! have. So a rewritten record breaks the chain, and a recomputed chain lacks valid seals.
//! What seals cannot show is a tail deleted (with the database's triggers dropped): each
//! verification therefore returns a sealed anchor (the head it saw), which the platform
//! keeps outside the database, and the next verification checks the chain still holds it.
//!
//! The access log is written in groups at tens of thousands of calls a second, so it is
//! not chained row by row: each row is sealed, and checkpoints in the audit chain
//! (`access_log.checkpoint`, written hourly and at every verification) record the digest
//! of every row up to a point, so that a row deleted or altered later is detected.

use chrono::{DateTime, Utc};
use domain::audit::{chain_hash, GENESIS_HASH};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{seal_message, Anchor, AuditRecord, ChainReport};
use crate::data_access::AccessRecord;
use crate::{on_pool, AuditContext, Store, StoreResult};

const PAGE: i64 = 2000;
/// Rows younger than this are left to the next checkpoint: on PostgreSQL a row can commit
/// after one with a higher id, and a checkpoint must never skip a row it later finds.
const SETTLE_SECONDS: i64 = 10;

/// What a checkpoint of the access log records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// Rows with `from < id <= to`.
    from: i64,
    to: i64,
    rows: i64,
    digest: String,
}

#[derive(sqlx::FromRow)]
struct AccessRow {
    id: i64,
    at: DateTime<Utc>,
    token_id: Option<i64>,
    department_id: Option<i64>,
    application: Option<String>,
    resource_id: Option<i64>,
    endpoint: String,
    items: String,
    filter_shape: String,
    row_count: i64,
    outcome: String,
    status: i32,
    latency_us: i64,
    request_id: Option<String>,
    seal: Option<String>,
    journal: Option<i64>,
    journal_seq: Option<i64>,
}

impl AccessRow {
    fn message(&self) -> String {
        let record = AccessRecord {
            at: self.at,
            token_id: self.token_id,
            department_id: self.department_id,
            application: self.application.clone(),
            resource_id: self.resource_id,
            endpoint: self.endpoint.clone(),
            items: self.items.clone(),
            filter_shape: self.filter_shape.clone(),
            row_count: self.row_count,
            outcome: self.outcome.clone(),
            status: self.status,
            latency_us: self.latency_us,
            request_id: self.request_id.clone().unwrap_or_default(),
            subjects: Vec::new(),
        };
        match (self.journal, self.journal_seq) {
            (Some(journal), Some(seq)) => record.journaled_seal_message(journal, seq),
            _ => record.seal_message(),
        }
    }

    /// What a checkpoint's digest folds in for this row.
    fn fingerprint(&self) -> String {
        let body = self
            .seal
            .clone()
            .unwrap_or_else(|| hex::encode(Sha256::digest(self.message().as_bytes())));
        format!("{}:{body}\n", self.id)
    }
}

const ACCESS_COLUMNS: &str =
    "id, at, token_id, department_id, application, resource_id, endpoint, items, \
     filter_shape, row_count, outcome, status, latency_us, request_id, seal, journal, journal_seq";

/// A broken report.
fn broken(report: &mut ChainReport, seq: i64, reason: String) {
    if report.intact {
        report.intact = false;
        report.first_broken_seq = Some(seq);
        report.reason = Some(reason);
    }
}

/// Each local journal's sequence numbers as shipped: dense from 1, so a record removed
/// from a journal before it reached the database is a gap.
#[derive(Default)]
struct JournalSpans(std::collections::BTreeMap<i64, (i64, i64, i64)>);

impl JournalSpans {
    fn add(&mut self, row: &AccessRow) {
        if let (Some(journal), Some(seq)) = (row.journal, row.journal_seq) {
            let span = self.0.entry(journal).or_insert((0, seq, seq));
            *span = (span.0 + 1, span.1.min(seq), span.2.max(seq));
        }
    }

    fn check(&self, report: &mut ChainReport) {
        for (journal, &(rows, first, last)) in &self.0 {
            if first != 1 || rows != last {
                broken(
                    report,
                    0,
                    format!(
                        "数据访问日志缺少本地日志 {journal} 的 {} 条记录（第 1–{last} 条中只有 {rows} 条：在送入数据库之前被删除）",
                        last - rows
                    ),
                );
            }
        }
    }
}

/// The digest of a range of access rows, folded row by row.
#[derive(Default)]
struct Fold {
    hasher: Sha256,
    rows: i64,
}

impl Fold {
    fn add(&mut self, row: &AccessRow) {
        self.hasher.update(row.fingerprint().as_bytes());
        self.rows += 1;
    }

    fn finish(self) -> (i64, String) {
        (self.rows, hex::encode(self.hasher.finalize()))
    }
}

impl Store {
    /// Recomputes both logs (see the module's documentation) and names the first record
    /// that does not verify. `anchor` is the head an earlier verification saw.
    pub async fn verify_logs(&self, anchor: Option<&Anchor>) -> StoreResult<ChainReport> {
        let mut report = ChainReport {
            checked: 0,
            intact: true,
            first_broken_seq: None,
            reason: None,
            sealed: 0,
            access_checked: 0,
            access_checkpointed: 0,
            anchor: None,
        };
        let audit_sql = "SELECT seq, at, actor, role, department, action, target, before_state, after_state, request_id, \
             source_ip, outcome, detail, prev_hash, hash, occurrences, seal FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
        let access_sql =
            format!("SELECT {ACCESS_COLUMNS} FROM access_log WHERE id > $1 ORDER BY id LIMIT $2");
        on_pool!(self, pool, dialect => {
            let mut tx = pool.begin().await?;
            if dialect == crate::Dialect::Postgres {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            }
            // The audit chain.
            let (mut expected, mut prev) = (1i64, GENESIS_HASH.to_string());
            let mut sealing = false;
            let mut last_sealed = false;
            let mut checkpoints: Vec<(i64, Checkpoint)> = Vec::new();
            let mut at_anchor: Option<String> = None;
            'chain: loop {
                let rows: Vec<(AuditRecord, Option<String>)> = {
                    let raw: Vec<SealedRecord> = sqlx::query_as(audit_sql).bind(expected - 1).bind(PAGE).fetch_all(&mut *tx).await?;
                    raw.into_iter().map(|r| (r.record, r.seal)).collect()
                };
                if rows.is_empty() {
                    break;
                }
                for (row, seal) in rows {
                    if row.seq != expected {
                        broken(&mut report, expected, format!("第{expected}条记录缺失"));
                        break 'chain;
                    }
                    if row.prev_hash != prev {
                        broken(&mut report, row.seq, "与前一条记录的链接不一致".into());
                        break 'chain;
                    }
                    if chain_hash(&prev, row.seq, row.at, &row.event()?) != row.hash {
                        broken(&mut report, row.seq, "记录内容与其哈希不一致（已被篡改）".into());
                        break 'chain;
                    }
                    if self.seals() {
                        match &seal {
                            Some(seal) if Some(seal) == self.seal(&seal_message(row.seq, &row.hash)).as_ref() => {
                                sealing = true;
                                last_sealed = true;
                                report.sealed += 1;
                            }
                            Some(_) => {
                                broken(&mut report, row.seq, "记录的封印不符（记录被伪造或整条链被重算）".into());
                                break 'chain;
                            }
                            None if sealing => {
                                broken(&mut report, row.seq, "开始加封之后出现未加封的记录（被插入或重算）".into());
                                break 'chain;
                            }
                            None => last_sealed = false,
                        }
                    }
                    if row.action == "access_log.checkpoint" {
                        if let Some(checkpoint) = row.detail.as_deref().and_then(|d| serde_json::from_str(d).ok()) {
                            checkpoints.push((row.seq, checkpoint));
                        }
                    }
                    if anchor.is_some_and(|a| a.seq == row.seq) {
                        at_anchor = Some(row.hash.clone());
                    }
                    prev = row.hash.clone();
                    report.checked = row.seq;
                    expected += 1;
                }
            }
            let (head_seq, head_hash): (i64, String) =
                sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
            if report.intact && (head_seq != report.checked || head_hash != prev) {
                let checked = report.checked;
                broken(&mut report, checked + 1, format!("链头指向第{head_seq}条记录，但只找到{checked}条"));
            }
            // The platform seals every record it writes (and one at every start), so its
            // chain ends sealed: an unsealed tail means the seals were stripped, e.g. to
            // rewrite records without the key.
            if report.intact && self.seals() && report.checked > 0 && !last_sealed {
                let checked = report.checked;
                broken(&mut report, checked, format!("链尾第{checked}条记录未加封（封印被去除，或整条链被重算）"));
            }
            if let Some(anchor) = anchor {
                self.check_anchor(&mut report, anchor, at_anchor.as_deref());
            }
            // The access log, against the checkpoints.
            let mut after = 0i64;
            let mut pending = checkpoints.into_iter().peekable();
            let mut fold = Fold::default();
            let mut access_sealing = false;
            let mut journals = JournalSpans::default();
            loop {
                let rows: Vec<AccessRow> = sqlx::query_as(&access_sql).bind(after).bind(PAGE).fetch_all(&mut *tx).await?;
                if rows.is_empty() {
                    break;
                }
                for row in &rows {
                    report.access_checked += 1;
                    journals.add(row);
                    if self.seals() {
                        match &row.seal {
                            Some(seal) if Some(seal) != self.seal(&row.message()).as_ref() => {
                                broken(&mut report, 0, format!("数据访问日志第{}条的封印不符（被改动或伪造）", row.id));
                            }
                            Some(_) => access_sealing = true,
                            None if access_sealing => {
                                broken(&mut report, 0, format!("数据访问日志第{}条未加封（被插入）", row.id));
                            }
                            None => {}
                        }
                    }
                    while let Some((seq, checkpoint)) = pending.peek() {
                        if row.id <= checkpoint.to {
                            break;
                        }
                        let (seq, checkpoint) = (*seq, checkpoint.clone());
                        close_checkpoint(&mut report, seq, &checkpoint, std::mem::take(&mut fold));
                        pending.next();
                    }
                    if pending.peek().is_some_and(|(_, c)| row.id > c.from) {
                        fold.add(row);
                        report.access_checkpointed += 1;
                    }
                }
                after = rows.last().map_or(after, |r| r.id);
            }
            for (seq, checkpoint) in pending {
                close_checkpoint(&mut report, seq, &checkpoint, std::mem::take(&mut fold));
            }
            journals.check(&mut report);
            tx.rollback().await?;
        });
        if report.intact {
            report.anchor = Some(self.sealed_anchor(report.checked, prev_of(&report, self).await?));
        }
        Ok(report)
    }

    /// The audit record of the last anchor a verification left outside the database.
    pub async fn last_anchor_seq(&self) -> StoreResult<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(seq) FROM audit_log WHERE action = 'audit.anchor'")
                .fetch_one(pool).await?
        }))
    }

    /// `verify_logs` without an earlier anchor.
    pub async fn audit_verify(&self) -> StoreResult<ChainReport> {
        self.verify_logs(None).await
    }

    fn check_anchor(&self, report: &mut ChainReport, anchor: &Anchor, found: Option<&str>) {
        if self.seals() && anchor.seal != self.seal(&anchor.message()) {
            broken(
                report,
                anchor.seq,
                "上次校验留下的锚点与平台密钥不符（锚点文件被改动）".into(),
            );
        } else if anchor.seq > report.checked && report.intact {
            broken(
                report,
                report.checked + 1,
                format!(
                    "上次校验时已有{}条记录，现在只有{}条（日志末尾被删除）",
                    anchor.seq, report.checked
                ),
            );
        } else if found.is_some_and(|hash| hash != anchor.hash) {
            broken(
                report,
                anchor.seq,
                "与上次校验的锚点不一致（日志被重算）".into(),
            );
        }
    }

    fn sealed_anchor(&self, seq: i64, hash: String) -> Anchor {
        let mut anchor = Anchor {
            seq,
            hash,
            at: crate::now(),
            seal: None,
        };
        anchor.seal = self.seal(&anchor.message());
        anchor
    }

    /// Records in the audit chain the digest of every settled access-log row since the
    /// last checkpoint. Returns how many rows it covers (0: nothing new).
    pub async fn checkpoint_access_log(&self, ctx: &AuditContext) -> StoreResult<i64> {
        domain::access::check(&ctx.caller, domain::access::Act::VerifyAudit)?;
        let settled = crate::now() - chrono::Duration::seconds(SETTLE_SECONDS);
        let sql = format!(
            "SELECT {ACCESS_COLUMNS} FROM access_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
        );
        on_pool!(self, pool, dialect => {
            // Where this checkpoint ends is fixed behind the fence, while no shipment from a
            // journal is in flight (so no row below it commits later); the fold itself runs
            // without it, so that shipping never waits for a long checkpoint.
            let (from, to) = {
                let mut fenced = pool.begin().await?;
                if let Some(fence) = dialect.access_log_fence(true) {
                    sqlx::query(fence).execute(&mut *fenced).await?;
                }
                let last: Option<String> = sqlx::query_scalar(LAST_CHECKPOINT).fetch_optional(&mut *fenced).await?;
                let from = checkpoint_end(last);
                let first_recent: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM access_log WHERE id > $1 AND at >= $2")
                    .bind(from).bind(settled).fetch_one(&mut *fenced).await?;
                let to: i64 = match first_recent {
                    Some(id) => id - 1,
                    None => sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM access_log")
                        .fetch_one(&mut *fenced).await?.unwrap_or(0),
                };
                fenced.commit().await?;
                (from, to)
            };
            if to <= from {
                return Ok(0);
            }
            let mut tx = crate::begin_write!(pool, dialect);
            let last: Option<String> = sqlx::query_scalar(LAST_CHECKPOINT).fetch_optional(&mut *tx).await?;
            if checkpoint_end(last) != from {
                // Another process checkpointed in between.
                return Ok(0);
            }
            let mut fold = Fold::default();
            let mut after = from;
            loop {
                let rows: Vec<AccessRow> = sqlx::query_as(&sql).bind(after).bind(to).bind(PAGE).fetch_all(&mut *tx).await?;
                let Some(last) = rows.last() else { break };
                after = last.id;
                rows.iter().for_each(|row| fold.add(row));
            }
            let (rows, digest) = fold.finish();
            let checkpoint = Checkpoint { from, to, rows, digest };
            let mut event = ctx.event("access_log.checkpoint", format!("access_log:{to}"));
            event.detail = Some(serde_json::to_string(&checkpoint)?);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(rows)
        })
    }
}

const LAST_CHECKPOINT: &str =
    "SELECT detail FROM audit_log WHERE action = 'access_log.checkpoint' ORDER BY seq DESC LIMIT 1";

/// Where the last checkpoint (its audit record's detail) ended; 0 before the first.
fn checkpoint_end(detail: Option<String>) -> i64 {
    detail
        .and_then(|d| serde_json::from_str::<Checkpoint>(&d).ok())
        .map_or(0, |c| c.to)
}

/// The head's hash as the report ends (the last record checked).
async fn prev_of(report: &ChainReport, store: &Store) -> StoreResult<String> {
    if report.checked == 0 {
        return Ok(GENESIS_HASH.to_string());
    }
    Ok(on_pool!(store, pool => {
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1").bind(report.checked).fetch_one(pool).await?
    }))
}

fn close_checkpoint(report: &mut ChainReport, seq: i64, checkpoint: &Checkpoint, fold: Fold) {
    let (rows, digest) = fold.finish();
    if rows != checkpoint.rows || digest != checkpoint.digest {
        broken(
            report,
            seq,
            format!(
                "数据访问日志第{}–{}条与第{seq}条审计记录中的检查点不一致（检查点记录{}条，现有{rows}条）",
                checkpoint.from + 1,
                checkpoint.to,
                checkpoint.rows
            ),
        );
    }
}

/// An audit record with its seal, as verification reads it.
#[derive(sqlx::FromRow)]
struct SealedRecord {
    #[sqlx(flatten)]
    record: AuditRecord,
    seal: Option<String>,
}
