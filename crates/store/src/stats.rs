//! The inputs of the aggregation statistics: every department, and every published entry
//! with its rows and last successful update (kept by each batch, so nothing is counted here).

use chrono::{DateTime, Utc};
use domain::account::DepartmentKind;
use domain::aggregation::{DepartmentInput, EntryData};
use domain::catalogue::UpdateCycle;

use crate::{decode, on_pool, Store, StoreResult};

/// An entry whose data is missing or late, for queues.
#[derive(Debug, Clone)]
pub struct EntryFreshness {
    pub code: String,
    pub name: String,
    pub department_id: i64,
    pub update_cycle: UpdateCycle,
    pub rows: i64,
    pub last_success: Option<DateTime<Utc>>,
}

/// A department with the rows received and accepted over its successful batches.
type DepartmentRow = (i64, String, String, Option<i64>, Option<i64>);
/// code, name, provider, update cycle, rows, last success.
type FreshnessRow = (
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<DateTime<Utc>>,
);

impl Store {
    pub async fn aggregation_inputs(&self) -> StoreResult<(Vec<DepartmentInput>, Vec<EntryData>)> {
        let departments: Vec<DepartmentRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT d.id, d.name, d.kind, CAST(SUM(b.rows_received) AS BIGINT), CAST(SUM(b.rows_accepted) AS BIGINT) \
                            FROM departments d LEFT JOIN resources r ON r.provider_id = d.id \
                            LEFT JOIN batches b ON b.resource_id = r.id AND b.status = 'succeeded' \
                            GROUP BY d.id, d.name, d.kind ORDER BY d.id")
                .fetch_all(pool).await?
        });
        let departments = departments
            .into_iter()
            .map(|(id, name, kind, received, accepted)| {
                Ok(DepartmentInput {
                    id,
                    name,
                    kind: decode(&kind, DepartmentKind::parse)?,
                    received: received.unwrap_or(0),
                    accepted: accepted.unwrap_or(0),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let entries = self
            .published_freshness()
            .await?
            .into_iter()
            .map(|e| EntryData {
                department_id: e.department_id,
                update_cycle: e.update_cycle,
                rows: e.rows,
                last_success: e.last_success,
            })
            .collect();
        Ok((departments, entries))
    }

    /// Every published entry with its data state, by code.
    pub async fn published_freshness(&self) -> StoreResult<Vec<EntryFreshness>> {
        let rows: Vec<FreshnessRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT r.code, r.name, r.provider_id, r.update_cycle, d.row_count, d.last_success_at \
                            FROM resources r LEFT JOIN resource_data d ON d.resource_id = r.id \
                            WHERE r.published_version IS NOT NULL AND r.status <> 'retired' ORDER BY r.code")
                .fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(code, name, department_id, cycle, rows, last_success)| {
                Ok(EntryFreshness {
                    code,
                    name,
                    department_id,
                    update_cycle: decode(&cycle, UpdateCycle::parse)?,
                    rows: rows.unwrap_or(0),
                    last_success,
                })
            })
            .collect()
    }
}
