//! Reading an entry's data for the data API. Field access is decided by the caller and
//! enforced here, in the SQL: only the columns asked for are selected, so an item outside a
//! grant never leaves the database, not even into this process.
//!
//! Also the access log, written in groups (one transaction, one fsync, for many calls).

use chrono::{DateTime, NaiveDate, Utc};
use domain::storage::ColumnType;
use domain::values::TypedValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

use crate::{on_pool, Store, StoreResult};

/// A column to read or filter on: its name and storage type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub column_type: ColumnType,
}

impl Column {
    /// The column that holds an item's values.
    pub fn of(item: &domain::catalogue::Item) -> Self {
        Column {
            name: domain::storage::column_name(item),
            column_type: ColumnType::of(item),
        }
    }
}

/// A record's key values as text: how objections store them and cursors carry them.
pub fn key_text(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// A page of records by key order.
#[derive(Debug, Clone)]
pub struct RecordQuery {
    pub table: String,
    /// The key columns: ordering, the cursor, and the record's identity.
    pub keys: Vec<Column>,
    /// The columns returned, after the keys.
    pub columns: Vec<Column>,
    /// `column IN (values)` conditions, all of which must hold.
    pub filters: Vec<(Column, Vec<TypedValue>)>,
    /// Rows strictly after this key (keyset paging).
    pub after: Option<Vec<TypedValue>>,
    pub limit: i64,
}

/// One record: its key values, then the requested columns, as JSON values.
pub type Record = (Vec<Value>, Vec<Value>);

/// Binds a typed value to a query of either backend.
#[macro_export]
#[doc(hidden)]
macro_rules! bind_typed {
    ($query:expr, $value:expr) => {
        match $value {
            TypedValue::Null => $query.bind(None::<String>),
            TypedValue::Text(text) | TypedValue::Decimal(text) => $query.bind(text.clone()),
            TypedValue::Integer(i) => $query.bind(*i),
            TypedValue::Float(f) => $query.bind(*f),
            TypedValue::Date(d) => $query.bind(*d),
            TypedValue::DateTime(t) => $query.bind(*t),
            TypedValue::Bool(b) => $query.bind(*b),
        }
    };
}

pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

/// The select expression of a column: decimals are read as text so no digit is lost.
pub(crate) fn select_expression(column: &Column, dialect: crate::Dialect) -> String {
    match (column.column_type, dialect) {
        (ColumnType::Decimal, crate::Dialect::Postgres) => {
            format!("CAST({} AS TEXT)", quoted(&column.name))
        }
        _ => quoted(&column.name),
    }
}

/// A placeholder typed like its column. Text needs no cast (and a cast to `VARCHAR(n)`
/// would silently cut a longer value short).
pub(crate) fn placeholder(n: usize, column: &Column, dialect: crate::Dialect) -> String {
    match column.column_type {
        ColumnType::Text(_) | ColumnType::LongText => format!("${n}"),
        other => format!("${n}{}", dialect.cast(other)),
    }
}

/// The SQL of a page and the values to bind, in order.
pub(crate) fn page_sql(query: &RecordQuery, dialect: crate::Dialect) -> (String, Vec<TypedValue>) {
    let (conditions, binds) = where_clause(query, dialect);
    let selected: Vec<String> = query
        .keys
        .iter()
        .chain(&query.columns)
        .map(|c| select_expression(c, dialect))
        .collect();
    let order: Vec<String> = query.keys.iter().map(|k| quoted(&k.name)).collect();
    let sql = format!(
        "SELECT {} FROM {}{conditions} ORDER BY {} LIMIT {}",
        selected.join(", "),
        quoted(&query.table),
        order.join(", "),
        query.limit.max(0)
    );
    (sql, binds)
}

/// ` WHERE …` for a query's filters and keyset position (empty when it has neither), and
/// the values to bind, in order.
pub(crate) fn where_clause(
    query: &RecordQuery,
    dialect: crate::Dialect,
) -> (String, Vec<TypedValue>) {
    let mut binds = Vec::new();
    let mut next = |value: &TypedValue, column: &Column| {
        binds.push(value.clone());
        placeholder(binds.len(), column, dialect)
    };
    let mut conditions = Vec::new();
    for (column, values) in &query.filters {
        let list: Vec<String> = values.iter().map(|v| next(v, column)).collect();
        conditions.push(format!("{} IN ({})", quoted(&column.name), list.join(", ")));
    }
    if let Some(after) = &query.after {
        let names: Vec<String> = query.keys.iter().map(|k| quoted(&k.name)).collect();
        let values: Vec<String> = query
            .keys
            .iter()
            .zip(after)
            .map(|(k, v)| next(v, k))
            .collect();
        conditions.push(format!("({}) > ({})", names.join(", "), values.join(", ")));
    }
    if conditions.is_empty() {
        (String::new(), binds)
    } else {
        (format!(" WHERE {}", conditions.join(" AND ")), binds)
    }
}

#[macro_export]
#[doc(hidden)]
macro_rules! decode_cell {
    ($row:expr, $index:expr, $column_type:expr) => {{
        let row = $row;
        let index = $index;
        match $column_type {
            ColumnType::Integer => row
                .try_get::<Option<i64>, _>(index)?
                .map_or(Value::Null, Value::from),
            ColumnType::Double => row
                .try_get::<Option<f64>, _>(index)?
                .map_or(Value::Null, Value::from),
            ColumnType::Bool => row
                .try_get::<Option<bool>, _>(index)?
                .map_or(Value::Null, Value::from),
            ColumnType::Date => row
                .try_get::<Option<NaiveDate>, _>(index)?
                .map_or(Value::Null, |d| Value::from(d.to_string())),
            ColumnType::Timestamp => row
                .try_get::<Option<DateTime<Utc>>, _>(index)?
                .map_or(Value::Null, |t| Value::from(t.to_rfc3339())),
            _ => row
                .try_get::<Option<String>, _>(index)?
                .map_or(Value::Null, Value::from),
        }
    }};
}

/// Runs a [`RecordQuery`] on an executor of either backend: the page's records.
#[macro_export]
#[doc(hidden)]
macro_rules! fetch_records {
    ($executor:expr, $query:expr, $dialect:expr) => {{
        let query: &$crate::data_access::RecordQuery = $query;
        let types: Vec<ColumnType> = query
            .keys
            .iter()
            .chain(&query.columns)
            .map(|c| c.column_type)
            .collect();
        let (sql, binds) = $crate::data_access::page_sql(query, $dialect);
        let mut q = sqlx::query(&sql);
        for value in &binds {
            q = $crate::bind_typed!(q, value);
        }
        let rows = q.fetch_all($executor).await?;
        let mut records: Vec<$crate::data_access::Record> = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(types.len());
            for (index, column_type) in types.iter().enumerate() {
                values.push($crate::decode_cell!(row, index, *column_type));
            }
            let columns = values.split_off(query.keys.len());
            records.push((values, columns));
        }
        records
    }};
}

/// One logged data API call (never the values).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessRecord {
    pub at: DateTime<Utc>,
    pub token_id: Option<i64>,
    pub department_id: Option<i64>,
    pub application: Option<String>,
    pub resource_id: Option<i64>,
    /// `records`, `record`, `verify`, …
    pub endpoint: String,
    /// The items read, comma-separated.
    pub items: String,
    /// The filter's shape: the items filtered on, never their values.
    pub filter_shape: String,
    pub row_count: i64,
    /// `ok`, `denied`, `rate_limited`, `bad_request`, `not_found`, `error`.
    pub outcome: String,
    pub status: i32,
    pub latency_us: i64,
    /// The request's id (also in the server's log lines).
    pub request_id: String,
    /// Keyed hashes of the ID numbers of the people whose records the call returned
    /// ([`Store::subject_hash`]): never the numbers.
    pub subjects: Vec<String>,
}

impl AccessRecord {
    /// What the record's seal covers: every field, each length-prefixed, and its time at
    /// the database's resolution.
    pub fn seal_message(&self) -> String {
        let at = domain::audit::chain_time(self.at)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let fields = [
            at,
            self.token_id.map_or_else(|| "-".into(), |t| t.to_string()),
            self.department_id
                .map_or_else(|| "-".into(), |d| d.to_string()),
            self.application.clone().unwrap_or_else(|| "-".into()),
            self.resource_id
                .map_or_else(|| "-".into(), |r| r.to_string()),
            self.endpoint.clone(),
            self.items.clone(),
            self.filter_shape.clone(),
            self.row_count.to_string(),
            self.outcome.clone(),
            self.status.to_string(),
            self.request_id.clone(),
        ];
        let mut message = String::from("access");
        for field in fields {
            push_field(&mut message, &field);
        }
        message
    }

    /// The seal message of a record that came through a local journal: its place there
    /// is sealed too, so that a record cannot be moved, and a gap cannot be filled.
    pub fn journaled_seal_message(&self, journal: i64, seq: i64) -> String {
        let mut message = self.seal_message();
        push_field(&mut message, &journal.to_string());
        push_field(&mut message, &seq.to_string());
        message
    }
}

/// A journal whose records do not follow on from, or match, what the database holds.
fn diverged(journal: i64, seq: i64) -> crate::StoreError {
    crate::StoreError::Conflict(format!(
        "访问日志 {journal} 第 {seq} 条与数据库中的记录不接续或不一致：日志目录被复制或改动"
    ))
}

/// Appends a length-prefixed field to a seal message.
fn push_field(message: &mut String, field: &str) {
    message.push_str(&format!(":{}:{field}", field.len()));
}

/// One row of the access log as written: the record, its seal, and its place in a local
/// journal when it was shipped from one.
struct LogRow<'a> {
    record: &'a AccessRecord,
    seal: Option<String>,
    journal: Option<(i64, i64)>,
}

/// Usage of an entry's data: calls and rows per consuming department and application.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Usage {
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub application: Option<String>,
    pub calls: i64,
    pub rows: i64,
    pub last_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Reads a page of records; see [`RecordQuery`].
    pub async fn read_records(&self, query: &RecordQuery) -> StoreResult<Vec<Record>> {
        on_pool!(self, pool, dialect => {
            Ok(fetch_records!(pool, query, dialect))
        })
    }

    /// Compares given values with one record's, in the database: answers, per column,
    /// whether it matches, and never the stored value. `None` when no record has the key.
    pub async fn verify_record(
        &self,
        table: &str,
        key: &[(Column, Vec<TypedValue>)],
        given: &[(Column, TypedValue)],
    ) -> StoreResult<Option<Vec<bool>>> {
        on_pool!(self, pool, dialect => {
            let mut n = 0;
            let mut placeholder = |column: &Column| {
                n += 1;
                placeholder(n, column, dialect)
            };
            let comparisons: Vec<String> = given
                .iter()
                .map(|(c, _)| format!("CASE WHEN {} = {} THEN 1 ELSE 0 END", quoted(&c.name), placeholder(c)))
                .collect();
            let conditions: Vec<String> = key
                .iter()
                .map(|(c, values)| {
                    let list: Vec<String> = values.iter().map(|_| placeholder(c)).collect();
                    format!("{} IN ({})", quoted(&c.name), list.join(", "))
                })
                .collect();
            let sql = format!(
                "SELECT 1{}{} FROM {} WHERE {}",
                if comparisons.is_empty() { "" } else { ", " },
                comparisons.join(", "),
                quoted(table),
                conditions.join(" AND ")
            );
            let mut q = sqlx::query(&sql);
            for value in given.iter().map(|(_, v)| v).chain(key.iter().flat_map(|(_, v)| v)) {
                q = bind_typed!(q, value);
            }
            let Some(row) = q.fetch_optional(pool).await? else {
                return Ok(None);
            };
            let mut matches = Vec::with_capacity(given.len());
            for index in 0..given.len() {
                matches.push(row.try_get::<i32, _>(index + 1)? == 1);
            }
            Ok(Some(matches))
        })
    }

    /// Writes access records in one transaction: one commit (one fsync) for the group.
    pub async fn append_access_log(&self, records: &[AccessRecord]) -> StoreResult<()> {
        let rows: Vec<LogRow> = records
            .iter()
            .map(|record| LogRow {
                record,
                seal: self.seal(&record.seal_message()),
                journal: None,
            })
            .collect();
        self.insert_access_rows(&rows).await
    }

    /// The highest sequence number of `journal` in the access log (0: none yet).
    pub async fn journal_shipped(&self, journal: i64) -> StoreResult<i64> {
        // Not MAX(): for a journal the statistics have not seen yet, PostgreSQL would plan
        // an aggregate over all of its rows rather than one step back along the index.
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT journal_seq FROM access_log WHERE journal = $1 \
                                          ORDER BY journal_seq DESC LIMIT 1")
                .bind(journal).fetch_optional(pool).await?.unwrap_or(0)
        }))
    }

    /// Ships records of a local journal, in sequence order, with the seals they were
    /// journaled with. A shipment must go on right after what the database holds; records
    /// it holds already must be the same calls (a shipment repeated after its answer was
    /// lost), else the journal was copied or changed and nothing is stored. One journal has
    /// one shipper (its directory's lock), and `(journal, journal_seq)` is unique besides.
    pub async fn ship_journaled(
        &self,
        journal: i64,
        records: &[crate::access_journal::JournaledRecord],
    ) -> StoreResult<()> {
        let shipped = self.journal_shipped(journal).await?;
        let (held, fresh): (Vec<_>, Vec<_>) = records.iter().partition(|r| r.seq <= shipped);
        if let (Some(first), Some(last)) = (held.first(), held.last()) {
            let stored: std::collections::HashMap<i64, String> = on_pool!(self, pool => {
                sqlx::query_as::<_, (i64, String)>("SELECT journal_seq, request_id FROM access_log \
                     WHERE journal = $1 AND journal_seq >= $2 AND journal_seq <= $3")
                    .bind(journal).bind(first.seq).bind(last.seq).fetch_all(pool).await?
            })
            .into_iter()
            .collect();
            if let Some(other) = held
                .iter()
                .find(|r| stored.get(&r.seq) != Some(&r.record.request_id))
            {
                return Err(diverged(journal, other.seq));
            }
        }
        let in_order = fresh
            .iter()
            .enumerate()
            .all(|(n, r)| r.seq == shipped + 1 + n as i64);
        if let (false, Some(first)) = (in_order, fresh.first()) {
            return Err(diverged(journal, first.seq));
        }
        let rows: Vec<LogRow> = fresh
            .into_iter()
            .map(|r| LogRow {
                record: &r.record,
                seal: r.seal.clone(),
                journal: Some((journal, r.seq)),
            })
            .collect();
        self.insert_access_rows(&rows).await
    }

    async fn insert_access_rows(&self, rows: &[LogRow<'_>]) -> StoreResult<()> {
        // (Shipping and group commit share this one statement per dialect.)
        if rows.is_empty() {
            return Ok(());
        }
        let at: Vec<DateTime<Utc>> = rows
            .iter()
            .map(|r| domain::audit::chain_time(r.record.at))
            .collect();
        let (subject_requests, subjects): (Vec<&str>, Vec<&str>) = rows
            .iter()
            .flat_map(|r| {
                r.record
                    .subjects
                    .iter()
                    .map(move |s| (r.record.request_id.as_str(), s.as_str()))
            })
            .unzip();
        let journaled = rows.iter().any(|r| r.journal.is_some());
        if let crate::Backend::Postgres(pool) = self.backend() {
            // One statement of one shape whatever the group's size: prepared once per
            // connection (a multi-row VALUES list would be a new statement for every size),
            // and a single statement commits on its own, with the records' subjects.
            let records = || rows.iter().map(|r| r.record);
            let insert = sqlx::query(
                "WITH subjects AS (INSERT INTO access_subjects (request_id, subject) \
                 SELECT * FROM UNNEST($15::text[], $16::text[])) \
                 INSERT INTO access_log (at, token_id, department_id, application, resource_id, endpoint, items, \
                 filter_shape, row_count, outcome, status, latency_us, request_id, seal, journal, journal_seq) \
                 SELECT * FROM UNNEST($1::timestamptz[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], \
                 $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::int[], $12::bigint[], \
                 $13::text[], $14::text[], $17::bigint[], $18::bigint[])",
            )
            .bind(&at)
            .bind(records().map(|r| r.token_id).collect::<Vec<_>>())
            .bind(records().map(|r| r.department_id).collect::<Vec<_>>())
            .bind(records().map(|r| r.application.clone()).collect::<Vec<_>>())
            .bind(records().map(|r| r.resource_id).collect::<Vec<_>>())
            .bind(records().map(|r| r.endpoint.as_str()).collect::<Vec<_>>())
            .bind(records().map(|r| r.items.as_str()).collect::<Vec<_>>())
            .bind(records().map(|r| r.filter_shape.as_str()).collect::<Vec<_>>())
            .bind(records().map(|r| r.row_count).collect::<Vec<_>>())
            .bind(records().map(|r| r.outcome.as_str()).collect::<Vec<_>>())
            .bind(records().map(|r| r.status).collect::<Vec<_>>())
            .bind(records().map(|r| r.latency_us).collect::<Vec<_>>())
            .bind(records().map(|r| r.request_id.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.seal.as_deref()).collect::<Vec<_>>())
            .bind(&subject_requests)
            .bind(&subjects)
            .bind(rows.iter().map(|r| r.journal.map(|(j, _)| j)).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.journal.map(|(_, s)| s)).collect::<Vec<_>>());
            if journaled {
                // Shipped rows carry times from before their commit: the fence keeps a
                // checkpoint from reading where the log ends while a shipment is in flight.
                let mut tx = pool.begin().await?;
                if let Some(fence) = crate::Dialect::Postgres.access_log_fence(false) {
                    sqlx::query(fence).execute(&mut *tx).await?;
                }
                insert.execute(&mut *tx).await?;
                tx.commit().await?;
            } else {
                insert.execute(pool).await?;
            }
            return Ok(());
        }
        // SQLite: multi-row inserts in one transaction.
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let numbered: Vec<(usize, &LogRow)> = rows.iter().enumerate().collect();
            for chunk in numbered.chunks(500) {
                let mut builder = sqlx::QueryBuilder::new(
                    "INSERT INTO access_log (at, token_id, department_id, application, resource_id, endpoint, items, \
                     filter_shape, row_count, outcome, status, latency_us, request_id, seal, journal, journal_seq) ",
                );
                builder.push_values(chunk, |mut b, (n, row)| {
                    let r = row.record;
                    b.push_bind(at[*n])
                        .push_bind(r.token_id)
                        .push_bind(r.department_id)
                        .push_bind(r.application.clone())
                        .push_bind(r.resource_id)
                        .push_bind(r.endpoint.clone())
                        .push_bind(r.items.clone())
                        .push_bind(r.filter_shape.clone())
                        .push_bind(r.row_count)
                        .push_bind(r.outcome.clone())
                        .push_bind(r.status)
                        .push_bind(r.latency_us)
                        .push_bind(r.request_id.clone())
                        .push_bind(row.seal.clone())
                        .push_bind(row.journal.map(|(j, _)| j))
                        .push_bind(row.journal.map(|(_, s)| s));
                });
                builder.build().execute(&mut *tx).await?;
            }
            let pairs: Vec<(&str, &str)> = subject_requests.iter().copied().zip(subjects.iter().copied()).collect();
            for chunk in pairs.chunks(500) {
                let mut builder = sqlx::QueryBuilder::new("INSERT INTO access_subjects (request_id, subject) ");
                builder.push_values(chunk, |mut b, (request, subject)| {
                    b.push_bind(*request).push_bind(*subject);
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds subjects to a logged call whose records are streamed after it was logged
    /// (an export, a page of the change feed).
    pub async fn append_access_subjects(
        &self,
        request_id: &str,
        subjects: &[String],
    ) -> StoreResult<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in subjects.chunks(1000) {
                let mut builder = sqlx::QueryBuilder::new("INSERT INTO access_subjects (request_id, subject) ");
                builder.push_values(chunk, |mut b, subject| {
                    b.push_bind(request_id).push_bind(subject.as_str());
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Successful calls of a grant since `since` (for the daily quota after a restart).
    pub async fn access_count_since(
        &self,
        token_application: &str,
        department_id: i64,
        resource_id: i64,
        since: DateTime<Utc>,
        endpoint: Option<&str>,
    ) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM access_log WHERE application = $1 AND department_id = $2 \
                                AND resource_id = $3 AND at >= $4 AND outcome = 'ok' AND ($5 IS NULL OR endpoint = $5)")
                .bind(token_application).bind(department_id).bind(resource_id).bind(since).bind(endpoint)
                .fetch_one(pool).await?
        }))
    }

    /// Who uses an entry's data: successful calls and rows per consumer.
    pub async fn usage(&self, resource_id: i64) -> StoreResult<Vec<Usage>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT a.department_id, d.name AS department_name, a.application, COUNT(*) AS calls, \
                            CAST(COALESCE(SUM(a.row_count), 0) AS BIGINT) AS rows, MAX(a.at) AS last_at \
                            FROM access_log a LEFT JOIN departments d ON d.id = a.department_id \
                            WHERE a.resource_id = $1 AND a.outcome = 'ok' \
                            GROUP BY a.department_id, d.name, a.application ORDER BY calls DESC")
                .bind(resource_id).fetch_all(pool).await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: ColumnType) -> Column {
        Column {
            name: name.into(),
            column_type,
        }
    }

    #[test]
    fn a_page_binds_every_value_and_orders_by_key() {
        let query = RecordQuery {
            table: "data_1".into(),
            keys: vec![column("id", ColumnType::Text(Some(18)))],
            columns: vec![column("amount", ColumnType::Decimal)],
            filters: vec![(
                column("region", ColumnType::Text(Some(6))),
                vec![TypedValue::Text("341002' OR 1=1 --".into())],
            )],
            after: Some(vec![TypedValue::Text("3410".into())]),
            limit: 50,
        };
        let (sql, binds) = page_sql(&query, crate::Dialect::Postgres);
        assert_eq!(
            sql,
            "SELECT \"id\", CAST(\"amount\" AS TEXT) FROM \"data_1\" WHERE \"region\" IN ($1) \
             AND (\"id\") > ($2) ORDER BY \"id\" LIMIT 50"
        );
        assert_eq!(
            binds.len(),
            2,
            "values travel as parameters, never in the text"
        );
    }
}
