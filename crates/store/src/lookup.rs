//! Reads of one record by its key, coalesced on PostgreSQL.
//!
//! Under load most of a key lookup's cost is the round trip, not the index probe: the
//! server wakes a backend, parses the protocol, plans, answers, and both sides switch
//! tasks. Lookups of the same shape (the same table, columns and row filter with the same
//! values) that arrive while such a query is running wait for the next one, which reads
//! all their keys at once: `UNNEST` of the keys `WITH ORDINALITY`, joined to the table by
//! its key, so each row comes back with the position of the caller that asked for it. A
//! lookup that finds nothing running starts a query at once, so coalescing adds no
//! waiting when the platform is quiet.
//!
//! Field access is unchanged: the batched query selects only the shape's columns and
//! applies its row filter, and lookups of different grants never share a query because the
//! filter's values are part of the shape. The table's columns are named after item
//! identifiers, which begin with a letter, so they never meet the `__keys` columns. SQLite answers in this process, without a round
//! trip worth saving, and reads each key on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use domain::storage::ColumnType;
use domain::values::TypedValue;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgPool, Row};
use tokio::sync::oneshot;

use crate::data_access::{quoted, select_expression, where_clause, Column, Record, RecordQuery};
use crate::{Dialect, Store, StoreError, StoreResult};

/// Queries of one shape running at once; a lookup that finds them all busy joins the next.
/// One: with four, each query found about one key waiting, and the data API answered
/// fewer lookups (28,000 a second unaudited in benches/sharing, against 33,000 with one).
const MAX_IN_FLIGHT: usize = 1;
/// The most keys one query reads.
const MAX_BATCH: usize = 256;

impl Store {
    /// The record with this key among the rows `query` may read (its filters apply, its
    /// `after` and `limit` do not), with the key columns first as in
    /// [`Store::read_records`].
    pub async fn read_record(
        &self,
        query: &RecordQuery,
        key: &[TypedValue],
    ) -> StoreResult<Option<Record>> {
        if let Some(pool) = &self.lookups.pool {
            if let Some(texts) = key_texts(&query.keys, key) {
                return self.lookups.read(pool, query, texts).await;
            }
        }
        let mut single = query.clone();
        single.after = None;
        single.limit = 1;
        single.filters.extend(
            query
                .keys
                .iter()
                .cloned()
                .zip(key.iter().map(|value| vec![value.clone()])),
        );
        Ok(self.read_records(&single).await?.pop())
    }

    /// Coalesced queries run so far, for tests and diagnostics.
    pub fn coalesced_queries(&self) -> u64 {
        self.lookups
            .queries
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The key as text, to be cast back in SQL, when every column's text form is exact and
/// the key has a value in each column; otherwise the lookup is not coalesced.
fn key_texts(columns: &[Column], key: &[TypedValue]) -> Option<Vec<String>> {
    if columns.is_empty() || columns.len() != key.len() {
        return None;
    }
    columns
        .iter()
        .zip(key)
        .map(|(column, value)| match (column.column_type, value) {
            (ColumnType::Text(_) | ColumnType::LongText, TypedValue::Text(text)) => {
                Some(text.clone())
            }
            (ColumnType::Integer, TypedValue::Integer(i)) => Some(i.to_string()),
            (ColumnType::Date, TypedValue::Date(d)) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

/// Connections kept for coalesced lookups.
const POOL_SIZE: u32 = 8;

/// The pool coalesced lookups run on, connected when first used. Its sessions plan the
/// batched query once, generically: left to choose, PostgreSQL keeps planning it afresh
/// for every batch size, and planning cost more than the lookups themselves.
pub(crate) fn pool(options: &PgConnectOptions) -> PgPool {
    crate::postgres_pool_options(POOL_SIZE).connect_lazy_with(
        options
            .clone()
            .options([("plan_cache_mode", "force_generic_plan")]),
    )
}

/// Lookups waiting for a query, by shape.
pub(crate) struct Lookups {
    /// PostgreSQL's lookup pool; SQLite has none and reads each key on its own.
    pool: Option<PgPool>,
    shapes: Mutex<HashMap<ShapeKey, Queue>>,
    queries: std::sync::atomic::AtomicU64,
}

impl Lookups {
    pub(crate) fn new(pool: Option<PgPool>) -> Self {
        Self {
            pool,
            shapes: Mutex::default(),
            queries: Default::default(),
        }
    }
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("shapes", &self.lock().len())
            .field("queries", &self.queries)
            .finish()
    }
}

/// The SQL and the row filter's values, as text: lookups agreeing on both may share a query.
type ShapeKey = (String, String);

struct Queue {
    shape: Arc<Shape>,
    in_flight: usize,
    waiting: Vec<Waiter>,
}

struct Shape {
    sql: String,
    filter_values: Vec<TypedValue>,
    /// Key columns, then the selected ones.
    types: Vec<ColumnType>,
    key_count: usize,
}

struct Waiter {
    key: Vec<String>,
    answer: oneshot::Sender<Result<Option<Record>, String>>,
}

impl Lookups {
    async fn read(
        self: &Arc<Self>,
        pool: &PgPool,
        query: &RecordQuery,
        key: Vec<String>,
    ) -> StoreResult<Option<Record>> {
        let shape = shape(query);
        let shape_key = (shape.sql.clone(), format!("{:?}", shape.filter_values));
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut shapes = self.lock();
            let queue = shapes.entry(shape_key.clone()).or_insert_with(|| Queue {
                shape: Arc::new(shape),
                in_flight: 0,
                waiting: Vec::new(),
            });
            queue.waiting.push(Waiter { key, answer });
            (queue.in_flight < MAX_IN_FLIGHT).then(|| {
                queue.in_flight += 1;
                queue.shape.clone()
            })
        };
        if let Some(shape) = start {
            // Its own task, so that a caller who goes away does not take the others'
            // answers with it.
            tokio::spawn(self.clone().drive(pool.clone(), shape_key, shape));
        }
        match answered.await {
            Ok(result) => result.map_err(StoreError::Coalesced),
            Err(_) => Err(StoreError::Coalesced("the lookup was abandoned".into())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ShapeKey, Queue>> {
        self.shapes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs queries for the shape's waiting lookups until none is left.
    async fn drive(self: Arc<Self>, pool: PgPool, shape_key: ShapeKey, shape: Arc<Shape>) {
        loop {
            let batch: Vec<Waiter> = {
                let mut shapes = self.lock();
                let Some(queue) = shapes.get_mut(&shape_key) else {
                    return;
                };
                if queue.waiting.is_empty() {
                    queue.in_flight -= 1;
                    if queue.in_flight == 0 {
                        shapes.remove(&shape_key);
                    }
                    return;
                }
                let take = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..take).collect()
            };
            self.queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match fetch(&pool, &shape, &batch).await {
                Ok(mut records) => {
                    for (waiter, record) in batch.into_iter().zip(records.iter_mut()) {
                        let _ = waiter.answer.send(Ok(record.take()));
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, lookups = batch.len(), "coalesced key lookup failed");
                    let message = error.to_string();
                    for waiter in batch {
                        let _ = waiter.answer.send(Err(message.clone()));
                    }
                }
            }
        }
    }
}

/// The batched query of a lookup: the row filter's placeholders first, then one text
/// array per key column.
fn shape(query: &RecordQuery) -> Shape {
    let dialect = Dialect::Postgres;
    let filters_only = RecordQuery {
        after: None,
        ..query.clone()
    };
    let (conditions, filter_values) = where_clause(&filters_only, dialect);
    let first_array = filter_values.len() + 1;
    let arrays: Vec<String> = (0..query.keys.len())
        .map(|i| format!("${}::text[]", first_array + i))
        .collect();
    let aliases: Vec<String> = (0..query.keys.len()).map(|i| format!("__k{i}")).collect();
    let join: Vec<String> = query
        .keys
        .iter()
        .zip(&aliases)
        .map(|(column, alias)| {
            let cast = match column.column_type {
                ColumnType::Text(_) | ColumnType::LongText => String::new(),
                other => dialect.cast(other),
            };
            format!("{} = __keys.{alias}{cast}", quoted(&column.name))
        })
        .collect();
    let selected: Vec<String> = query
        .keys
        .iter()
        .chain(&query.columns)
        .map(|column| select_expression(column, dialect))
        .collect();
    let sql = format!(
        "SELECT __keys.__ord, {} FROM UNNEST({}) WITH ORDINALITY AS __keys({}, __ord) \
         JOIN {} ON {}{conditions}",
        selected.join(", "),
        arrays.join(", "),
        aliases.join(", "),
        quoted(&query.table),
        join.join(" AND "),
    );
    Shape {
        sql,
        filter_values,
        types: query
            .keys
            .iter()
            .chain(&query.columns)
            .map(|c| c.column_type)
            .collect(),
        key_count: query.keys.len(),
    }
}

/// One query for the batch: each waiter's record, in the batch's order.
async fn fetch(pool: &PgPool, shape: &Shape, batch: &[Waiter]) -> StoreResult<Vec<Option<Record>>> {
    let mut q = sqlx::query(&shape.sql);
    for value in &shape.filter_values {
        q = crate::bind_typed!(q, value);
    }
    for column in 0..shape.key_count {
        let values: Vec<&str> = batch.iter().map(|w| w.key[column].as_str()).collect();
        q = q.bind(values);
    }
    let rows = q.fetch_all(pool).await?;
    let mut records: Vec<Option<Record>> = (0..batch.len()).map(|_| None).collect();
    for row in &rows {
        let ordinal: i64 = row.try_get(0)?;
        let mut values = Vec::with_capacity(shape.types.len());
        for (index, column_type) in shape.types.iter().enumerate() {
            values.push(crate::decode_cell!(row, index + 1, *column_type));
        }
        let columns = values.split_off(shape.key_count);
        let slot = usize::try_from(ordinal - 1)
            .ok()
            .and_then(|i| records.get_mut(i))
            .ok_or_else(|| StoreError::Corrupt(format!("lookup ordinal {ordinal} out of range")))?;
        *slot = Some((values, columns));
    }
    Ok(records)
}
