//! Applying a collection batch to an entry's data table: every accepted row is upserted by
//! key and every rejected row quarantined, in one transaction, so a batch becomes visible
//! whole or not at all. The same content (by hash) is applied once.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use domain::code::ResourceCode;
use domain::storage::{table_columns, ColumnType};
use domain::values::TypedValue;
use serde::Serialize;

use crate::audit::snapshot;
use crate::{now, on_pool, AuditContext, Store, StoreError, StoreResult};

pub use domain::values::{AcceptedRow, RejectedRow};

/// What a batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct BatchReport {
    pub id: i64,
    pub source: String,
    pub status: String,
    pub rows_received: i64,
    pub rows_accepted: i64,
    pub rows_quarantined: i64,
    /// Rows whose key repeated an earlier row of the same batch; the last one wins.
    pub duplicate_keys: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const REPORT_COLUMNS: &str =
    "id, source, status, rows_received, rows_accepted, rows_quarantined, duplicate_keys, started_at, finished_at";

/// The upsert statement for a data table: insert, or replace the non-key columns.
fn upsert_sql(
    dialect: crate::Dialect,
    table: &str,
    columns: &[(String, ColumnType, bool)],
) -> String {
    let mut names: Vec<String> = columns.iter().map(|(n, _, _)| format!("\"{n}\"")).collect();
    let mut values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty, _))| format!("${}{}", i + 1, dialect.cast(*ty)))
        .collect();
    let n = columns.len();
    let timestamp = dialect.cast(ColumnType::Timestamp);
    names.extend(
        [
            "\"_batch_id\"",
            "\"_source\"",
            "\"_received_at\"",
            "\"_updated_at\"",
        ]
        .map(String::from),
    );
    values.extend([
        format!("${}", n + 1),
        format!("${}", n + 2),
        format!("${}{timestamp}", n + 3),
        format!("${}{timestamp}", n + 3),
    ]);
    let keys: Vec<String> = columns
        .iter()
        .filter(|(_, _, key)| *key)
        .map(|(n, _, _)| format!("\"{n}\""))
        .collect();
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({})",
        names.join(", "),
        values.join(", ")
    );
    if !keys.is_empty() {
        let updates: Vec<String> = names
            .iter()
            .filter(|name| !keys.contains(name) && name.as_str() != "\"_received_at\"")
            .map(|name| format!("{name} = excluded.{name}"))
            .collect();
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            keys.join(", "),
            updates.join(", ")
        ));
    }
    sql
}

/// A key's identity within a batch, for counting repeats.
fn key_of(row: &AcceptedRow, columns: &[(String, ColumnType, bool)]) -> String {
    columns
        .iter()
        .zip(&row.values)
        .filter(|((_, _, key), _)| *key)
        .map(|(_, v)| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

impl Store {
    /// The body of the entry's last published version: what its data must conform to.
    pub async fn published_body(
        &self,
        resource: &crate::resources::Resource,
    ) -> StoreResult<domain::catalogue::ResourceBody> {
        let published = resource.published_version.ok_or_else(|| {
            StoreError::Conflict(format!("目录 {} 尚未发布，不能归集数据", resource.code))
        })?;
        self.resource_versions(resource.id)
            .await?
            .into_iter()
            .find(|v| v.version == published)
            .map(|v| v.body)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "published version {published} of {} is missing",
                    resource.code
                ))
            })
    }

    /// Applies a batch to the published entry `code`. Re-applying the same content (same
    /// `content_hash`) returns the earlier report and changes nothing.
    pub async fn apply_batch(
        &self,
        code: &str,
        source: &str,
        content_hash: &str,
        accepted: &[AcceptedRow],
        rejected: &[RejectedRow],
        ctx: &AuditContext,
    ) -> StoreResult<BatchReport> {
        let resource = self.resource(code).await?;
        let body = self.published_body(&resource).await?;
        let columns = table_columns(&body);
        if let Some(bad) = accepted.iter().find(|r| r.values.len() != columns.len()) {
            return Err(StoreError::Corrupt(format!(
                "row {} has {} values for {} items",
                bad.line,
                bad.values.len(),
                columns.len()
            )));
        }
        let table = crate::data_tables::table_name(
            &ResourceCode::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        let mut seen = HashSet::new();
        let duplicates = accepted
            .iter()
            .filter(|row| !seen.insert(key_of(row, &columns)))
            .count() as i64;
        let report_sql = format!(
            "SELECT {REPORT_COLUMNS} FROM batches WHERE resource_id = $1 AND content_hash = $2"
        );
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let earlier: Option<BatchReport> = sqlx::query_as(&report_sql).bind(resource.id).bind(content_hash).fetch_optional(&mut *tx).await?;
            if let Some(earlier) = earlier {
                return Ok(earlier);
            }
            let at = now();
            let batch_id: i64 = sqlx::query_scalar(
                "INSERT INTO batches (resource_id, source, content_hash, status, rows_received, rows_accepted, rows_quarantined, \
                 duplicate_keys, created_by, started_at, finished_at) VALUES ($1, $2, $3, 'succeeded', $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(resource.id)
            .bind(source)
            .bind(content_hash)
            .bind((accepted.len() + rejected.len()) as i64)
            .bind(accepted.len() as i64)
            .bind(rejected.len() as i64)
            .bind(duplicates)
            .bind(ctx.actor.as_deref().unwrap_or("system"))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let sql = upsert_sql(dialect, &table, &columns);
            for row in accepted {
                let mut query = sqlx::query(&sql);
                for value in &row.values {
                    query = match value {
                        TypedValue::Null => query.bind(None::<String>),
                        TypedValue::Text(text) | TypedValue::Decimal(text) => query.bind(text.clone()),
                        TypedValue::Integer(i) => query.bind(*i),
                        TypedValue::Float(f) => query.bind(*f),
                        TypedValue::Date(d) => query.bind(*d),
                        TypedValue::DateTime(t) => query.bind(*t),
                        TypedValue::Bool(b) => query.bind(*b),
                    };
                }
                query.bind(batch_id).bind(source).bind(at).execute(&mut *tx).await?;
            }
            for row in rejected {
                sqlx::query("INSERT INTO quarantine (batch_id, line, column_name, value, reason) VALUES ($1, $2, $3, $4, $5)")
                    .bind(batch_id)
                    .bind(row.line as i64)
                    .bind(&row.column)
                    .bind(&row.value)
                    .bind(&row.reason)
                    .execute(&mut *tx)
                    .await?;
            }
            let report: BatchReport = sqlx::query_as(&format!("SELECT {REPORT_COLUMNS} FROM batches WHERE id = $1")).bind(batch_id).fetch_one(&mut *tx).await?;
            let mut event = ctx.event("batch.apply", format!("resource:{code}"));
            event.after = snapshot(&report);
            crate::append_audit!(tx, event);
            tx.commit().await?;
            Ok(report)
        })
    }

    /// A batch's report and the code of its entry.
    pub async fn batch(&self, batch_id: i64) -> StoreResult<(BatchReport, String)> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM batches WHERE id = $1");
        let report: Option<BatchReport> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(batch_id).fetch_optional(pool).await?);
        let report = report.ok_or_else(|| StoreError::NotFound(format!("批次 {batch_id}")))?;
        let code: String = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT r.code FROM batches b JOIN resources r ON r.id = b.resource_id WHERE b.id = $1").bind(batch_id).fetch_one(pool).await?
        });
        Ok((report, code))
    }

    /// How many rows of a batch failed on each column (`None`: the row itself was malformed).
    pub async fn quarantine_by_column(
        &self,
        batch_id: i64,
    ) -> StoreResult<Vec<(Option<String>, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT column_name, COUNT(*) FROM quarantine WHERE batch_id = $1 GROUP BY column_name ORDER BY column_name")
                .bind(batch_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The quarantined rows of a batch, in file order.
    pub async fn quarantine(&self, batch_id: i64) -> StoreResult<Vec<RejectedRow>> {
        let rows: Vec<(i64, Option<String>, Option<String>, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT line, column_name, value, reason FROM quarantine WHERE batch_id = $1 ORDER BY line")
                .bind(batch_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(line, column, value, reason)| RejectedRow {
                line: line as u64,
                column,
                value,
                reason,
            })
            .collect())
    }
}
