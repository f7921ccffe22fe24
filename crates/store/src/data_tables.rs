//! The typed table of each published entry. Names come from the validated resource code
//! (digits only), so they are safe to quote into DDL.

use domain::catalogue::ResourceBody;
use domain::code::ResourceCode;
use domain::storage::{migration, table_columns, TableChange};

use crate::{Dialect, StoreResult};

/// `data_101001_000123` for `101001/000123`.
pub fn table_name(code: &ResourceCode) -> String {
    format!("data_{}_{}", code.prefix(), code.sequence())
}

/// The statements that create the table of a first published version.
pub fn create_statements(dialect: Dialect, table: &str, body: &ResourceBody) -> Vec<String> {
    let columns = table_columns(body);
    let mut definitions: Vec<String> = columns
        .iter()
        .map(|(name, column, _)| format!("\"{name}\" {}", dialect.column_type(*column)))
        .collect();
    let timestamp = dialect.column_type(domain::storage::ColumnType::Timestamp);
    definitions.push("\"_batch_id\" BIGINT".into());
    definitions.push("\"_source\" TEXT".into());
    definitions.push(format!("\"_received_at\" {timestamp}"));
    definitions.push(format!("\"_updated_at\" {timestamp}"));
    let keys: Vec<String> = columns
        .iter()
        .filter(|(_, _, key)| *key)
        .map(|(name, _, _)| format!("\"{name}\""))
        .collect();
    if keys.is_empty() {
        definitions.insert(0, dialect.surrogate_key().to_string());
    } else {
        definitions.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    vec![
        format!("CREATE TABLE \"{table}\" ({})", definitions.join(", ")),
        format!("CREATE INDEX \"{table}_batch\" ON \"{table}\" (\"_batch_id\")"),
    ]
}

/// The statements that bring the table of `old` to `new`, or the reason it cannot be done.
pub fn migrate_statements(
    dialect: Dialect,
    table: &str,
    old: &ResourceBody,
    new: &ResourceBody,
) -> StoreResult<Vec<String>> {
    let changes =
        migration(old, new).map_err(|reason| domain::ValidationErrors::single("items", reason))?;
    Ok(changes
        .into_iter()
        .filter_map(|change| match change {
            TableChange::AddColumn { identifier, column } => Some(format!(
                "ALTER TABLE \"{table}\" ADD COLUMN \"{identifier}\" {}",
                dialect.column_type(column)
            )),
            TableChange::WidenColumn { identifier, column } => {
                dialect.widen_column(table, &identifier, column)
            }
        })
        .collect())
}
