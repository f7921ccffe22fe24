//! Parquet for exports, written row group by row group so that an export of any size needs
//! the memory of one group. Columns keep their types when granted in clear (integers, reals,
//! booleans, dates, UTC timestamps); text, decimals (as text, every digit kept) and masked
//! items are strings.

use std::io::Write;
use std::sync::{Arc, Mutex};

use domain::catalogue::Item;
use domain::sharing::GrantedItem;
use domain::storage::ColumnType;
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::{Map, Value};

/// Rows per row group: big enough for good compression, small enough to hold in memory.
const ROWS_PER_GROUP: usize = 20_000;

/// What a column holds in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Real,
    Bool,
    Date,
    Timestamp,
}

impl Kind {
    fn of(item: &Item, grant: &GrantedItem) -> Self {
        if !grant.clear {
            return Kind::Text; // a masked value is a string whatever the item's type
        }
        match ColumnType::of(item) {
            ColumnType::Integer => Kind::Integer,
            ColumnType::Double => Kind::Real,
            ColumnType::Bool => Kind::Bool,
            ColumnType::Date => Kind::Date,
            ColumnType::Timestamp => Kind::Timestamp,
            _ => Kind::Text,
        }
    }

    fn schema(self, name: &str) -> String {
        match self {
            Kind::Text => format!("OPTIONAL BYTE_ARRAY {name} (STRING);"),
            Kind::Integer => format!("OPTIONAL INT64 {name};"),
            Kind::Real => format!("OPTIONAL DOUBLE {name};"),
            Kind::Bool => format!("OPTIONAL BOOLEAN {name};"),
            Kind::Date => format!("OPTIONAL INT32 {name} (DATE);"),
            Kind::Timestamp => format!("OPTIONAL INT64 {name} (TIMESTAMP(MICROS,true));"),
        }
    }
}

/// The bytes the file writer has produced and the export has not sent yet.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct Writer {
    file: SerializedFileWriter<Pending>,
    out: Pending,
    columns: Vec<(String, Kind)>,
    rows: Vec<Map<String, Value>>,
}

impl Writer {
    pub fn new(columns: &[(&Item, GrantedItem)]) -> Result<Self, ParquetError> {
        let columns: Vec<(String, Kind)> = columns
            .iter()
            .map(|(item, grant)| (item.identifier.clone(), Kind::of(item, grant)))
            .collect();
        let fields: Vec<String> = columns.iter().map(|(n, k)| k.schema(n)).collect();
        let schema = parse_message_type(&format!(
            "message datahall_export {{ {} }}",
            fields.join(" ")
        ))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("datahall".into())
            .build();
        let out = Pending::default();
        let file = SerializedFileWriter::new(out.clone(), Arc::new(schema), Arc::new(properties))?;
        Ok(Self {
            file,
            out,
            columns,
            rows: Vec::new(),
        })
    }

    /// Takes rows; answers the bytes of any row group they completed.
    pub fn push(&mut self, rows: Vec<Map<String, Value>>) -> Result<Vec<u8>, ParquetError> {
        self.rows.extend(rows);
        while self.rows.len() >= ROWS_PER_GROUP {
            let rest = self.rows.split_off(ROWS_PER_GROUP);
            let group = std::mem::replace(&mut self.rows, rest);
            self.write_group(&group)?;
        }
        Ok(self.out.take())
    }

    /// The last row group and the footer.
    pub fn finish(mut self) -> Result<Vec<u8>, ParquetError> {
        let rows = std::mem::take(&mut self.rows);
        if !rows.is_empty() {
            self.write_group(&rows)?;
        }
        self.file.close()?;
        Ok(self.out.take())
    }

    fn write_group(&mut self, rows: &[Map<String, Value>]) -> Result<(), ParquetError> {
        let mut group = self.file.next_row_group()?;
        for (name, kind) in &self.columns {
            let mut column = group
                .next_column()?
                .ok_or_else(|| ParquetError::General(format!("no writer for column {name}")))?;
            let cells = rows.iter().map(|row| row.get(name).unwrap_or(&Value::Null));
            let levels: Vec<i16> = cells.clone().map(|v| i16::from(!v.is_null())).collect();
            let present = cells.filter(|v| !v.is_null());
            match kind {
                Kind::Text => {
                    let values: Vec<ByteArray> = present
                        .map(|v| match v {
                            Value::String(s) => ByteArray::from(s.as_str()),
                            other => ByteArray::from(other.to_string().as_str()),
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Kind::Integer => {
                    let values = present
                        .map(|v| v.as_i64().ok_or_else(|| wrong(name, v)))
                        .collect::<Result<Vec<_>, _>>()?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Kind::Real => {
                    let values = present
                        .map(|v| v.as_f64().ok_or_else(|| wrong(name, v)))
                        .collect::<Result<Vec<_>, _>>()?;
                    column
                        .typed::<DoubleType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Kind::Bool => {
                    let values = present
                        .map(|v| v.as_bool().ok_or_else(|| wrong(name, v)))
                        .collect::<Result<Vec<_>, _>>()?;
                    column
                        .typed::<BoolType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Kind::Date => {
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    let values = present
                        .map(|v| {
                            v.as_str()
                                .and_then(|s| s.parse::<chrono::NaiveDate>().ok())
                                .map(|d| (d - epoch).num_days() as i32)
                                .ok_or_else(|| wrong(name, v))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    column
                        .typed::<Int32Type>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Kind::Timestamp => {
                    let values = present
                        .map(|v| {
                            v.as_str()
                                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                                .map(|t| t.timestamp_micros())
                                .ok_or_else(|| wrong(name, v))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&levels), None)?;
                }
            }
            column.close()?;
        }
        group.close()?;
        Ok(())
    }
}

fn wrong(column: &str, value: &Value) -> ParquetError {
    ParquetError::General(format!(
        "column {column}: a value of type {} does not fit",
        match value {
            Value::String(_) => "text",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            _ => "other",
        }
    ))
}
