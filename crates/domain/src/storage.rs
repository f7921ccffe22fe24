//! The typed table that holds a published entry's data (issue: collection). One column per
//! item, typed from the item's data type and length, the key items as primary key, plus
//! lineage columns. A new published version may add items or widen them; anything that
//! could lose or misread existing rows is refused with the reason.

use crate::catalogue::{DataType, Item, ResourceBody};

/// The storage type of a column, independent of the database dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Bounded text (C), length in bytes as catalogued.
    Text(Option<u32>),
    /// Unbounded text (M).
    LongText,
    /// Exact decimal (N, Y).
    Decimal,
    Integer,
    /// Floating point (B, F).
    Double,
    Date,
    Timestamp,
    Bool,
    Bytes,
}

impl ColumnType {
    pub fn of(item: &Item) -> Self {
        match item.data_type {
            DataType::Char => ColumnType::Text(item.length),
            DataType::Memo => ColumnType::LongText,
            DataType::Numeric | DataType::Currency => ColumnType::Decimal,
            DataType::Integer => ColumnType::Integer,
            DataType::Double | DataType::Float => ColumnType::Double,
            DataType::Date => ColumnType::Date,
            DataType::DateTime => ColumnType::Timestamp,
            DataType::Logical => ColumnType::Bool,
            DataType::General => ColumnType::Bytes,
        }
    }

    /// Whether every value stored as `self` reads back unchanged as `to`.
    fn widens_to(self, to: ColumnType) -> bool {
        use ColumnType::*;
        match (self, to) {
            (a, b) if a == b => true,
            (Text(Some(old)), Text(Some(new))) => new >= old,
            (Text(_), Text(None) | LongText) => true,
            (Integer, Decimal | Double) | (Decimal, Double) | (Date, Timestamp) => true,
            _ => false,
        }
    }
}

/// Lineage columns every data table carries (names start with `_`, which item
/// identifiers cannot).
pub const LINEAGE_COLUMNS: [&str; 4] = ["_batch_id", "_source", "_received_at", "_updated_at"];

/// One step that turns the table of one published version into the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    AddColumn {
        identifier: String,
        column: ColumnType,
    },
    WidenColumn {
        identifier: String,
        column: ColumnType,
    },
}

/// Item identifiers are case-insensitive column names.
pub fn column_name(item: &Item) -> String {
    item.identifier.to_ascii_lowercase()
}

fn key_of(body: &ResourceBody) -> Vec<String> {
    body.items
        .iter()
        .filter(|i| i.key)
        .map(column_name)
        .collect()
}

/// The columns of a new table: every item, then nothing else (lineage is added by the
/// store). Returns (column, type, is key).
pub fn table_columns(body: &ResourceBody) -> Vec<(String, ColumnType, bool)> {
    body.items
        .iter()
        .map(|i| (column_name(i), ColumnType::of(i), i.key))
        .collect()
}

/// The changes from the table of `old` to that of `new`, or why it cannot be done without
/// losing or misreading rows. Items removed from the catalogue keep their column, so no
/// collected value is ever dropped.
pub fn migration(old: &ResourceBody, new: &ResourceBody) -> Result<Vec<TableChange>, String> {
    if key_of(old) != key_of(new) {
        return Err(format!(
            "主键信息项不能变更（原为 {}，现为 {}）；已归集的数据按主键存储，请新建目录",
            key_of(old).join("、"),
            key_of(new).join("、")
        ));
    }
    let mut changes = Vec::new();
    for item in &new.items {
        let name = column_name(item);
        let column = ColumnType::of(item);
        match old.items.iter().find(|o| column_name(o) == name) {
            None => changes.push(TableChange::AddColumn {
                identifier: name,
                column,
            }),
            Some(before) => {
                let was = ColumnType::of(before);
                if was == column {
                    continue;
                }
                if !was.widens_to(column) {
                    return Err(format!(
                        "信息项“{}”的类型从{}{}改为{}{}，已归集的数据无法无损转换；请新增一个信息项代替",
                        item.name,
                        before.data_type.label(),
                        before.length.map(|l| format!("({l})")).unwrap_or_default(),
                        item.data_type.label(),
                        item.length.map(|l| format!("({l})")).unwrap_or_default(),
                    ));
                }
                changes.push(TableChange::WidenColumn {
                    identifier: name,
                    column,
                });
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::tests::sample_body;

    fn with_item(
        mut body: ResourceBody,
        identifier: &str,
        data_type: DataType,
        length: Option<u32>,
    ) -> ResourceBody {
        let mut item = body.items[0].clone();
        item.identifier = identifier.into();
        item.name = identifier.into();
        item.key = false;
        item.data_type = data_type;
        item.length = length;
        body.items.push(item);
        body
    }

    #[test]
    fn adding_and_widening_items_migrates() {
        let old = with_item(sample_body(), "amount", DataType::Integer, None);
        let new = with_item(
            with_item(sample_body(), "amount", DataType::Numeric, Some(16)),
            "note",
            DataType::Memo,
            None,
        );
        assert_eq!(
            migration(&old, &new).unwrap(),
            [
                TableChange::WidenColumn {
                    identifier: "amount".into(),
                    column: ColumnType::Decimal
                },
                TableChange::AddColumn {
                    identifier: "note".into(),
                    column: ColumnType::LongText
                },
            ]
        );
        assert_eq!(migration(&old, &old).unwrap(), []);
    }

    #[test]
    fn lossy_changes_are_refused_with_the_reason() {
        let old = with_item(sample_body(), "name", DataType::Char, Some(50));
        let narrower = with_item(sample_body(), "name", DataType::Char, Some(20));
        assert!(migration(&old, &narrower)
            .unwrap_err()
            .contains("字符型(50)改为字符型(20)"));
        let retyped = with_item(sample_body(), "name", DataType::Integer, None);
        assert!(migration(&old, &retyped).is_err());
        let mut rekeyed = old.clone();
        rekeyed.items[1].key = true;
        rekeyed.items[1].required = true;
        assert!(migration(&old, &rekeyed).unwrap_err().contains("主键"));
    }

    #[test]
    fn removed_items_keep_their_column() {
        let old = with_item(sample_body(), "name", DataType::Char, Some(50));
        assert_eq!(migration(&old, &sample_body()).unwrap(), []);
    }
}
