//! What consumers read besides single pages: an entry's change feed and its whole granted
//! slice as an export.
//!
//! The feed walks the entry's batches in the order they were published (`published_seq`,
//! assigned under the write lock) and, for each, lists the rows that batch last wrote and the
//! rows it deleted. A row changed by several batches appears once, under the latest: the
//! feed gives each record's current state, which is what an incremental consumer applies.
//! Like the page reads, it selects only the columns it is given.

use std::future::Future;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use domain::storage::ColumnType;
use domain::values::TypedValue;
use serde_json::Value;
use sqlx::Row;

use crate::data_access::{placeholder, quoted, Column, Record, RecordQuery};
use crate::{on_pool, Dialect, Store, StoreResult};

/// Batches looked at per feed call: bounds the work of a call that finds few matching rows.
const BATCHES_PER_CALL: i64 = 64;

/// `json_build_object` takes at most 100 arguments: 50 columns per call, merged.
const COLUMNS_PER_JSON_CALL: usize = 50;

/// A column name as a JSON key or SQL string literal (names are `[a-z0-9_]`; anything else
/// is dropped rather than escaped).
fn literal(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The key of a row as a JSON array, in key order.
fn key_json(dialect: Dialect, keys: &[String]) -> String {
    let list: Vec<String> = keys.iter().map(|k| quoted(k)).collect();
    match dialect {
        Dialect::Postgres => format!("CAST(json_build_array({}) AS TEXT)", list.join(", ")),
        Dialect::Sqlite => format!("json_array({})", list.join(", ")),
    }
}

/// A row's values as a JSON object keyed by column name.
fn row_json(dialect: Dialect, names: &[String]) -> String {
    let objects: Vec<String> = names
        .chunks(COLUMNS_PER_JSON_CALL)
        .map(|chunk| {
            let pairs: Vec<String> = chunk
                .iter()
                .map(|n| format!("'{}', {}", literal(n), quoted(n)))
                .collect();
            match dialect {
                Dialect::Postgres => {
                    format!("CAST(json_build_object({}) AS JSONB)", pairs.join(", "))
                }
                Dialect::Sqlite => format!("json_object({})", pairs.join(", ")),
            }
        })
        .collect();
    match dialect {
        Dialect::Postgres => format!("CAST(({}) AS TEXT)", objects.join(" || ")),
        Dialect::Sqlite => objects
            .into_iter()
            .reduce(|merged, next| format!("json_patch({merged}, {next})"))
            .unwrap_or_else(|| "json_object()".into()),
    }
}

/// The statement that records the rows about to be deleted by `condition` (binds: `$1`
/// the entry, `$2` the batch, `$3` the time). Run just before the `DELETE`, in its
/// transaction.
pub(crate) fn record_deletions(
    dialect: Dialect,
    table: &str,
    names: &[String],
    keys: &[String],
    condition: &str,
) -> String {
    format!(
        "INSERT INTO data_deletions (resource_id, batch_id, key_values, row_values, deleted_at) \
         SELECT $1, $2, {}, {}, $3 FROM {} WHERE {condition}",
        key_json(dialect, keys),
        row_json(dialect, names),
        quoted(table)
    )
}

/// A recorded deletion's value of a column, typed like the column, for filters.
fn deleted_value(dialect: Dialect, column: &Column) -> String {
    let name = literal(&column.name);
    match (dialect, column.column_type) {
        (Dialect::Sqlite, _) => format!("json_extract(row_values, '$.{name}')"),
        (Dialect::Postgres, ColumnType::Text(_) | ColumnType::LongText) => {
            format!("(CAST(row_values AS JSONB) ->> '{name}')")
        }
        (Dialect::Postgres, other) => format!(
            "CAST(CAST(row_values AS JSONB) ->> '{name}' AS {})",
            dialect.column_type(other)
        ),
    }
}

/// Where a feed call starts within the batch of its position.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedAfter {
    /// The batch is read whole: go on with the next one.
    BatchDone,
    /// Rows after this key, then the batch's deletions.
    Row(Vec<TypedValue>),
    /// Deletions after this one.
    Deletion(i64),
}

/// Where a feed call ended: pass back (sealed) to continue.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedResume {
    BatchDone,
    Row(Vec<Value>),
    Deletion(i64),
}

/// One call's read of an entry's change feed.
#[derive(Debug, Clone)]
pub struct FeedQuery {
    pub resource_id: i64,
    pub table: String,
    pub keys: Vec<Column>,
    /// The columns returned for a changed row.
    pub columns: Vec<Column>,
    /// `column IN (values)` conditions on the row (for deletions, on its recorded values).
    pub filters: Vec<(Column, Vec<TypedValue>)>,
    /// The published sequence of the batch the position is in (0: before the first).
    pub seq: i64,
    pub after: FeedAfter,
    pub limit: i64,
}

/// One change: a record's current state, or the key of a record that was deleted.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert(Record),
    Delete { key: Vec<Value> },
}

/// Changes and the position after them.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub changes: Vec<Change>,
    pub seq: i64,
    pub resume: FeedResume,
    /// Whether more changes may follow right away (the call stopped at its limit).
    pub more: bool,
}

/// What an export hands its sink.
pub enum ExportEvent {
    /// First, before any row: how many rows the export holds, and the feed position it
    /// reflects (continue from there with the change feed).
    Start {
        rows: i64,
        seq: i64,
    },
    Page(Vec<Record>),
}

impl Store {
    /// The published sequence of an entry's latest batch: the feed position of "now".
    pub async fn feed_head(&self, resource_id: i64) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COALESCE(MAX(published_seq), 0) FROM batches WHERE resource_id = $1")
                .bind(resource_id).fetch_one(pool).await?
        }))
    }

    /// When the batch at a feed position was published (`None`: no such batch).
    pub async fn published_at(&self, seq: i64) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT finished_at FROM batches WHERE published_seq = $1")
                .bind(seq).fetch_optional(pool).await?.flatten()
        }))
    }

    /// Reads an entry's changes after a position; see [`FeedQuery`].
    pub async fn read_changes(&self, query: &FeedQuery) -> StoreResult<FeedPage> {
        let comparison = if query.after == FeedAfter::BatchDone {
            ">"
        } else {
            ">="
        };
        let batches: Vec<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(&format!(
                "SELECT id, published_seq FROM batches WHERE resource_id = $1 AND published_seq {comparison} $2 \
                 ORDER BY published_seq LIMIT $3"
            ))
            .bind(query.resource_id).bind(query.seq).bind(BATCHES_PER_CALL)
            .fetch_all(pool).await?
        });
        let mut page = FeedPage {
            changes: Vec::new(),
            seq: query.seq,
            resume: FeedResume::BatchDone,
            more: batches.len() as i64 == BATCHES_PER_CALL,
        };
        for (batch_id, seq) in batches {
            let resuming = seq == query.seq;
            let (after_row, after_deletion) = match (&query.after, resuming) {
                (FeedAfter::Row(key), true) => (Some(key.clone()), Some(0)),
                (FeedAfter::Deletion(id), true) => (None, Some(*id)),
                _ => (None, Some(0)),
            };
            let rows_done = matches!((&query.after, resuming), (FeedAfter::Deletion(_), true));
            page.seq = seq;
            if !rows_done {
                let remaining = query.limit - page.changes.len() as i64;
                let rows = self
                    .batch_rows(query, batch_id, after_row, remaining)
                    .await?;
                let full = rows.len() as i64 == remaining;
                let last = rows.last().map(|(key, _)| key.clone());
                page.changes.extend(rows.into_iter().map(Change::Upsert));
                if full {
                    page.resume = FeedResume::Row(last.unwrap_or_default());
                    page.more = true;
                    return Ok(page);
                }
            }
            let remaining = query.limit - page.changes.len() as i64;
            let deletions = self
                .batch_deletions(query, batch_id, after_deletion.unwrap_or(0), remaining)
                .await?;
            let full = deletions.len() as i64 == remaining;
            let last = deletions.last().map(|(id, _)| *id);
            page.changes
                .extend(deletions.into_iter().map(|(_, key)| Change::Delete { key }));
            if full {
                page.resume = FeedResume::Deletion(last.unwrap_or(0));
                page.more = true;
                return Ok(page);
            }
            page.resume = FeedResume::BatchDone;
        }
        Ok(page)
    }

    /// The rows a batch last wrote, after a key.
    async fn batch_rows(
        &self,
        query: &FeedQuery,
        batch_id: i64,
        after: Option<Vec<TypedValue>>,
        limit: i64,
    ) -> StoreResult<Vec<Record>> {
        let mut filters = query.filters.clone();
        filters.push((
            Column {
                name: "_batch_id".into(),
                column_type: ColumnType::Integer,
            },
            vec![TypedValue::Integer(batch_id)],
        ));
        self.read_records(&RecordQuery {
            table: query.table.clone(),
            keys: query.keys.clone(),
            columns: query.columns.clone(),
            filters,
            after,
            limit,
        })
        .await
    }

    /// The rows a batch deleted that pass the filters, after a deletion: (id, key).
    async fn batch_deletions(
        &self,
        query: &FeedQuery,
        batch_id: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, Vec<Value>)>> {
        let found: Vec<(i64, String)> = on_pool!(self, pool, dialect => {
            let mut conditions = vec!["batch_id = $1".to_string(), "id > $2".to_string()];
            let mut n = 2;
            for (column, values) in &query.filters {
                let list: Vec<String> = values
                    .iter()
                    .map(|_| {
                        n += 1;
                        placeholder(n, column, dialect)
                    })
                    .collect();
                conditions.push(format!("{} IN ({})", deleted_value(dialect, column), list.join(", ")));
            }
            let sql = format!(
                "SELECT id, key_values FROM data_deletions WHERE {} ORDER BY id LIMIT {}",
                conditions.join(" AND "),
                limit.max(0)
            );
            let mut q = sqlx::query(&sql).bind(batch_id).bind(after);
            for value in query.filters.iter().flat_map(|(_, values)| values) {
                q = crate::bind_typed!(q, value);
            }
            let rows = q.fetch_all(pool).await?;
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                found.push((row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?));
            }
            found
        });
        Ok(found
            .into_iter()
            .map(|(id, key)| (id, serde_json::from_str(&key).unwrap_or_default()))
            .collect())
    }

    /// Forgets deletions older than the feed's retention; returns how many.
    pub async fn prune_deletions(&self, retention_days: i64) -> StoreResult<u64> {
        let before = Utc::now() - Duration::days(retention_days);
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM data_deletions WHERE deleted_at < $1")
                .bind(before).execute(pool).await?.rows_affected()
        }))
    }

    /// Reads every record of a query, a page of `query.limit` at a time, inside one
    /// read-only snapshot: the export is consistent however long the consumer takes.
    /// Stops early when the sink answers `false` (the consumer went away).
    pub async fn export_records<F, Fut>(
        &self,
        resource_id: i64,
        query: &RecordQuery,
        mut sink: F,
    ) -> StoreResult<()>
    where
        F: FnMut(ExportEvent) -> Fut,
        Fut: Future<Output = bool>,
    {
        let mut page = query.clone();
        on_pool!(self, pool, dialect => {
            let mut tx = match dialect {
                Dialect::Postgres => pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?,
                // A deferred transaction reads one WAL snapshot from its first read on.
                Dialect::Sqlite => pool.begin_with("BEGIN DEFERRED").await?,
            };
            let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(published_seq), 0) FROM batches WHERE resource_id = $1")
                .bind(resource_id).fetch_one(&mut *tx).await?;
            let (conditions, binds) = crate::data_access::where_clause(query, dialect);
            let count_sql = format!("SELECT COUNT(*) FROM {}{conditions}", quoted(&query.table));
            let mut q = sqlx::query_scalar(&count_sql);
            for value in &binds {
                q = crate::bind_typed!(q, value);
            }
            let rows: i64 = q.fetch_one(&mut *tx).await?;
            if !sink(ExportEvent::Start { rows, seq }).await {
                return Ok(());
            }
            loop {
                let records = crate::fetch_records!(&mut *tx, &page, dialect);
                let last = records.len() as i64 == page.limit;
                let next_after = records.last().map(|(key, _)| key.clone());
                if !records.is_empty() && !sink(ExportEvent::Page(records)).await {
                    return Ok(());
                }
                match next_after {
                    Some(key) if last => page.after = Some(typed_key(&page.keys, &key)),
                    _ => break,
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// A key read back as JSON, typed again for the next page's condition.
fn typed_key(keys: &[Column], values: &[Value]) -> Vec<TypedValue> {
    keys.iter()
        .zip(values)
        .map(|(column, value)| match (column.column_type, value) {
            (_, Value::Null) => TypedValue::Null,
            (ColumnType::Integer, Value::Number(n)) => {
                n.as_i64().map_or(TypedValue::Null, TypedValue::Integer)
            }
            (ColumnType::Double, Value::Number(n)) => {
                n.as_f64().map_or(TypedValue::Null, TypedValue::Float)
            }
            (ColumnType::Bool, Value::Bool(b)) => TypedValue::Bool(*b),
            (ColumnType::Date, Value::String(s)) => s
                .parse::<NaiveDate>()
                .map_or(TypedValue::Null, TypedValue::Date),
            (ColumnType::Timestamp, Value::String(s)) => DateTime::parse_from_rfc3339(s)
                .map_or(TypedValue::Null, |t| {
                    TypedValue::DateTime(t.with_timezone(&Utc))
                }),
            (ColumnType::Decimal, Value::String(s)) => TypedValue::Decimal(s.clone()),
            (_, Value::String(s)) => TypedValue::Text(s.clone()),
            (_, other) => TypedValue::Text(other.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_row_is_recorded_in_merged_objects() {
        let names: Vec<String> = (0..120).map(|i| format!("c{i}")).collect();
        let pg = row_json(Dialect::Postgres, &names);
        assert_eq!(pg.matches("json_build_object(").count(), 3);
        assert!(pg.contains("'c119', \"c119\""));
        let sqlite = row_json(Dialect::Sqlite, &names);
        assert_eq!(sqlite.matches("json_patch(").count(), 2);
    }

    #[test]
    fn a_deleted_value_is_compared_as_its_column_type() {
        let date = Column {
            name: "birth\"; DROP".into(),
            column_type: ColumnType::Date,
        };
        assert_eq!(
            deleted_value(Dialect::Postgres, &date),
            "CAST(CAST(row_values AS JSONB) ->> 'birthDROP' AS DATE)"
        );
        assert_eq!(
            deleted_value(Dialect::Sqlite, &date),
            "json_extract(row_values, '$.birthDROP')"
        );
    }
}
