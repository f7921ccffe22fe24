//! Collection batches: reports, quarantine, and the per-entry data state. Writing a batch
//! is in [`crate::batch_writer`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{on_pool, Store, StoreError, StoreResult};

pub use domain::values::{AcceptedRow, RejectedRow};

/// What a batch did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct BatchReport {
    pub id: i64,
    pub source: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub rows_received: i64,
    pub rows_accepted: i64,
    pub rows_quarantined: i64,
    /// Rows whose key repeated an earlier row of the same batch; the last one wins.
    pub duplicate_keys: i64,
    /// Rows removed because the source deleted them.
    pub rows_deleted: i64,
    /// Why a failed batch failed.
    pub error: Option<String>,
    /// How many times the batch was started (a failed batch resumes under its id).
    pub attempts: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub(crate) const REPORT_COLUMNS: &str =
    "id, source, status, rows_received, rows_accepted, rows_quarantined, duplicate_keys, \
     rows_deleted, error, attempts, started_at, finished_at";

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
        self.quarantine_page(batch_id, None, i64::MAX).await
    }

    /// At most `limit` quarantined rows of a batch after line `after`, in file order: a
    /// quarantine of a million rows is read (and downloaded) a page at a time.
    pub async fn quarantine_page(
        &self,
        batch_id: i64,
        after: Option<u64>,
        limit: i64,
    ) -> StoreResult<Vec<RejectedRow>> {
        let after = after.map_or(-1, |line| i64::try_from(line).unwrap_or(i64::MAX));
        let rows: Vec<(i64, Option<String>, Option<String>, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT line, column_name, value, reason FROM quarantine WHERE batch_id = $1 AND line > $2 ORDER BY line LIMIT $3")
                .bind(batch_id)
                .bind(after)
                .bind(limit)
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

/// File column → item identifier or name (`None`: ignored), as last used for an entry.
pub type ColumnMapping = std::collections::BTreeMap<String, Option<String>>;

impl Store {
    /// The column mapping last used for an entry's uploads, if any.
    pub async fn column_mapping(&self, resource_id: i64) -> StoreResult<Option<ColumnMapping>> {
        let text: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT mapping FROM column_mappings WHERE resource_id = $1").bind(resource_id).fetch_optional(pool).await?
        });
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Remembers the column mapping of a successful upload for the entry's next one.
    pub async fn save_column_mapping(
        &self,
        resource_id: i64,
        mapping: &ColumnMapping,
        actor: &str,
    ) -> StoreResult<()> {
        let text =
            serde_json::to_string(mapping).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO column_mappings (resource_id, mapping, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (resource_id) DO UPDATE SET mapping = excluded.mapping, updated_by = excluded.updated_by, \
                         updated_at = excluded.updated_at")
                .bind(resource_id).bind(&text).bind(actor).bind(crate::now()).execute(pool).await?;
        });
        Ok(())
    }
}

/// Quality of an entry's data over its successful batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EntryQuality {
    pub batches: i64,
    pub rows_received: i64,
    pub rows_accepted: i64,
    pub rows_quarantined: i64,
    /// Failures per item name (`None`: rows rejected as a whole).
    pub failures: Vec<(Option<String>, i64)>,
}

impl Store {
    /// An entry's latest batches, newest first.
    pub async fn recent_batches(
        &self,
        resource_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<BatchReport>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM batches WHERE resource_id = $1 ORDER BY id DESC LIMIT $2"
        );
        Ok(
            on_pool!(self, pool => sqlx::query_as(&sql).bind(resource_id).bind(limit).fetch_all(pool).await?),
        )
    }

    /// Totals and failures per item over the entry's successful batches.
    pub async fn entry_quality(&self, resource_id: i64) -> StoreResult<EntryQuality> {
        let (batches, received, accepted, quarantined): (
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        ) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*), CAST(SUM(rows_received) AS BIGINT), CAST(SUM(rows_accepted) AS BIGINT), CAST(SUM(rows_quarantined) AS BIGINT) FROM batches \
                            WHERE resource_id = $1 AND status = 'succeeded'")
                .bind(resource_id).fetch_one(pool).await?
        });
        let failures = on_pool!(self, pool => {
            sqlx::query_as("SELECT q.column_name, COUNT(*) FROM quarantine q JOIN batches b ON b.id = q.batch_id \
                            WHERE b.resource_id = $1 AND b.status = 'succeeded' GROUP BY q.column_name ORDER BY q.column_name")
                .bind(resource_id).fetch_all(pool).await?
        });
        Ok(EntryQuality {
            batches,
            rows_received: received.unwrap_or(0),
            rows_accepted: accepted.unwrap_or(0),
            rows_quarantined: quarantined.unwrap_or(0),
            failures,
        })
    }
}

impl Store {
    /// Records a successful batch as received at `at` (history imports and the demo city,
    /// whose data must look as old as the story needs).
    pub async fn backdate_batch(&self, batch_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            sqlx::query("UPDATE batches SET started_at = $2, finished_at = $2 WHERE id = $1 AND status = 'succeeded'")
                .bind(batch_id).bind(at).execute(&mut *tx).await?;
            sqlx::query("UPDATE resource_data SET last_success_at = $2 WHERE last_batch_id = $1")
                .bind(batch_id).bind(at).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
