//! The validation pipeline: a file's columns are matched to the entry's items, every cell
//! is checked (`domain::values`), and each row is either accepted with typed values or
//! rejected with the first problem found, its line, column and (masked) value.

use domain::catalogue::Item;
use domain::values::{check_value, displayable, AcceptedRow, RejectedRow};

/// Why a file's columns cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("未知的列：{}。列名应为信息项名称或标识符", .0.join("、"))]
    UnknownColumns(Vec<String>),
    #[error("缺少必填信息项的列：{}", .0.join("、"))]
    MissingColumns(Vec<String>),
    #[error("列“{0}”出现了不止一次")]
    DuplicateColumn(String),
}

/// For each item, the index of the file column that holds it (if any).
pub fn map_columns(header: &[String], items: &[Item]) -> Result<Vec<Option<usize>>, MappingError> {
    let find = |column: &str| {
        let column = column.trim();
        items
            .iter()
            .position(|i| i.name == column || i.identifier.eq_ignore_ascii_case(column))
    };
    let mut mapping = vec![None; items.len()];
    let mut unknown = Vec::new();
    for (index, column) in header.iter().enumerate() {
        match find(column) {
            None => unknown.push(column.clone()),
            Some(item) if mapping[item].is_some() => {
                return Err(MappingError::DuplicateColumn(column.clone()))
            }
            Some(item) => mapping[item] = Some(index),
        }
    }
    if !unknown.is_empty() {
        return Err(MappingError::UnknownColumns(unknown));
    }
    let missing: Vec<String> = items
        .iter()
        .zip(&mapping)
        .filter(|(i, m)| i.required && m.is_none())
        .map(|(i, _)| i.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(MappingError::MissingColumns(missing));
    }
    Ok(mapping)
}

/// Checks one row; the first failing cell decides its rejection.
pub fn check_row(
    line: u64,
    fields: &[String],
    items: &[Item],
    mapping: &[Option<usize>],
) -> Result<AcceptedRow, RejectedRow> {
    let raw: Vec<Option<&str>> = mapping
        .iter()
        .map(|column| column.and_then(|c| fields.get(c)).map(String::as_str))
        .collect();
    check_values(line, &raw, items)
}

/// Checks the raw values of one row, one per item (`None` where the file has none).
pub fn check_values(
    line: u64,
    raw: &[Option<&str>],
    items: &[Item],
) -> Result<AcceptedRow, RejectedRow> {
    let mut values = Vec::with_capacity(items.len());
    for (item, raw) in items.iter().zip(raw) {
        match check_value(item, *raw, None) {
            Ok(value) => values.push(value),
            Err(problem) => {
                return Err(RejectedRow {
                    line,
                    column: Some(item.name.clone()),
                    value: raw.map(|r| displayable(item, r)),
                    reason: problem.to_string(),
                })
            }
        }
    }
    Ok(AcceptedRow { line, values })
}

/// Checks one JSON object (a line of NDJSON or an element of an array), whose keys are item
/// identifiers or names. Unknown keys reject the row: a typo must not silently drop data.
pub fn check_object(
    line: u64,
    object: &serde_json::Map<String, serde_json::Value>,
    items: &[Item],
) -> Result<AcceptedRow, RejectedRow> {
    let reject = |column: Option<String>, reason: String| RejectedRow {
        line,
        column,
        value: None,
        reason,
    };
    let mut texts: Vec<Option<String>> = vec![None; items.len()];
    for (key, value) in object {
        let Some(index) = items
            .iter()
            .position(|i| i.name == *key || i.identifier.eq_ignore_ascii_case(key))
        else {
            return Err(reject(Some(key.clone()), format!("未知字段“{key}”")));
        };
        texts[index] = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => {
                return Err(reject(
                    Some(items[index].name.clone()),
                    "值应为文本、数字、布尔值或 null".into(),
                ))
            }
        };
    }
    let raw: Vec<Option<&str>> = texts.iter().map(Option::as_deref).collect();
    check_values(line, &raw, items)
}

/// Reads NDJSON (one object per line) or a JSON array of objects, calling `row` for each
/// with its line number (NDJSON) or 1-based position (array). Lines that are not objects
/// become rejected rows; a file that is neither form is an error.
pub fn read_json_rows(
    text: &str,
    items: &[Item],
    mut row: impl FnMut(Result<AcceptedRow, RejectedRow>),
) -> Result<(), String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|e| format!("JSON 数组无法解析：{e}"))?;
        for (i, value) in values.iter().enumerate() {
            let line = i as u64 + 1;
            row(match value.as_object() {
                Some(object) => check_object(line, object, items),
                None => Err(RejectedRow {
                    line,
                    column: None,
                    value: None,
                    reason: "数组元素应为对象".into(),
                }),
            });
        }
        return Ok(());
    }
    for (i, text) in trimmed.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let line = i as u64 + 1;
        row(match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(object)) => check_object(line, &object, items),
            Ok(_) => Err(RejectedRow {
                line,
                column: None,
                value: None,
                reason: "每行应为一个 JSON 对象".into(),
            }),
            Err(e) => Err(RejectedRow {
                line,
                column: None,
                value: None,
                reason: format!("JSON 无法解析：{e}"),
            }),
        });
    }
    Ok(())
}

/// Accepted and rejected rows of one file.
pub type Checked = (Vec<AcceptedRow>, Vec<RejectedRow>);

/// Why a file could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    File(String),
    #[error(transparent)]
    Columns(#[from] MappingError),
}

/// A CSV file: header mapped to items, then every record checked. `progress` is called
/// after each record with the number of records read so far.
pub fn check_csv<R: std::io::Read>(
    reader: R,
    encoding: crate::csv_file::TextEncoding,
    delimiter: Option<u8>,
    items: &[Item],
    mut progress: impl FnMut(u64),
) -> Result<Checked, FileError> {
    let mut file = crate::csv_file::open_csv(reader, encoding, delimiter)
        .map_err(|e| FileError::File(e.to_string()))?;
    let mapping = map_columns(&file.header, items)?;
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for (count, record) in file.by_ref().enumerate() {
        match record {
            Ok(record) => match check_row(record.line, &record.fields, items, &mapping) {
                Ok(row) => accepted.push(row),
                Err(row) => rejected.push(row),
            },
            Err(crate::csv_file::CsvError::Row { row, message }) => rejected.push(RejectedRow {
                line: row,
                column: None,
                value: None,
                reason: message,
            }),
            Err(other) => return Err(FileError::File(other.to_string())),
        }
        progress(count as u64 + 1);
    }
    Ok((accepted, rejected))
}

/// An XLSX export: the first sheet's header mapped to items, then every row checked.
pub fn check_xlsx(bytes: &[u8], items: &[Item]) -> Result<Checked, FileError> {
    let sheet = crate::catalogue_xlsx::read_sheet(bytes, None)
        .map_err(|e| FileError::File(e.to_string()))?;
    let mapping = map_columns(&sheet.header, items)?;
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for (row, fields) in &sheet.rows {
        match check_row(u64::from(*row), fields, items, &mapping) {
            Ok(good) => accepted.push(good),
            Err(bad) => rejected.push(bad),
        }
    }
    Ok((accepted, rejected))
}

/// NDJSON or a JSON array of objects keyed by item identifier or name.
pub fn check_json(bytes: &[u8], items: &[Item]) -> Result<Checked, FileError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FileError::File(format!("JSON 应为 UTF-8 编码：{e}")))?;
    if text.trim().is_empty() {
        return Err(FileError::File("文件为空".into()));
    }
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    read_json_rows(text, items, |row| match row {
        Ok(row) => accepted.push(row),
        Err(row) => rejected.push(row),
    })
    .map_err(FileError::File)?;
    Ok((accepted, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::catalogue::*;
    use domain::code::{ClassKind, ResourceClass};
    use domain::values::TypedValue;

    fn body() -> ResourceBody {
        let item = |name: &str, identifier: &str, rule: Option<&str>, key: bool| Item {
            name: name.into(),
            identifier: identifier.into(),
            data_type: DataType::Char,
            length: Some(18),
            required: key,
            key,
            code_table: None,
            rule: rule.map(|r| r.parse().unwrap()),
            security_grade: SecurityGrade::General,
            personal: key,
            share_type: None,
            authoritative: false,
        };
        ResourceBody {
            name: "人口".into(),
            class: ResourceClass {
                kind: ClassKind::Basic,
                subclass: 1,
                category: 1,
                detail: String::new(),
            },
            provider_unit: None,
            summary: "x".into(),
            format: ResourceFormat {
                kind: FormatKind::Database,
                detail: String::new(),
            },
            items: vec![
                item("公民身份号码", "id_number", Some("id_card"), true),
                item("姓名", "full_name", None, false),
            ],
            share: ShareAttributes {
                share_type: ShareType::Unconditional,
                conditions: None,
                legal_basis: None,
                mode: Some(ShareMode::Platform),
                mode_reason: None,
            },
            open: OpenAttributes::default(),
            update_cycle: UpdateCycle::Daily,
            related_codes: vec![],
            security_grade: SecurityGrade::General,
            extensions: Default::default(),
        }
    }

    #[test]
    fn maps_columns_by_name_or_identifier() {
        let header = vec!["FULL_NAME".to_string(), "公民身份号码".to_string()];
        assert_eq!(
            map_columns(&header, &body().items).unwrap(),
            [Some(1), Some(0)]
        );
        let unknown = vec!["公民身份号码".to_string(), "年龄".to_string()];
        assert_eq!(
            map_columns(&unknown, &body().items),
            Err(MappingError::UnknownColumns(vec!["年龄".into()]))
        );
        let missing = vec!["姓名".to_string()];
        assert_eq!(
            map_columns(&missing, &body().items),
            Err(MappingError::MissingColumns(vec!["公民身份号码".into()]))
        );
    }

    #[test]
    fn reads_ndjson_and_arrays_rejecting_unknown_fields() {
        let items = body().items;
        let mut rows = Vec::new();
        let ndjson = "{\"id_number\": \"11010519491231002X\", \"姓名\": \"张三\"}\n\n{\"id_number\": \"11010519491231002X\", \"age\": 3}\nnot json\n";
        read_json_rows(ndjson, &items, |r| rows.push(r)).unwrap();
        assert!(rows[0].is_ok());
        let unknown = rows[1].as_ref().unwrap_err();
        assert_eq!((unknown.line, unknown.column.as_deref()), (3, Some("age")));
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
        let mut array_rows = Vec::new();
        read_json_rows(
            "[{\"id_number\": \"11010519491231002X\", \"full_name\": null}, 5]",
            &items,
            |r| array_rows.push(r),
        )
        .unwrap();
        assert_eq!(array_rows[0].as_ref().unwrap().values[1], TypedValue::Null);
        assert_eq!(array_rows[1].as_ref().unwrap_err().line, 2);
        assert!(read_json_rows("[1,", &items, |_| {}).is_err());
    }

    #[test]
    fn rejects_a_row_with_its_line_column_and_masked_value() {
        let body = body();
        let mapping = [Some(0), Some(1)];
        let good = check_row(
            2,
            &["11010519491231002x".into(), "张三".into()],
            &body.items,
            &mapping,
        )
        .unwrap();
        assert_eq!(
            good.values,
            [
                TypedValue::Text("11010519491231002X".into()),
                TypedValue::Text("张三".into())
            ]
        );
        let bad = check_row(
            3,
            &["110105194912310021".into(), "李四".into()],
            &body.items,
            &mapping,
        )
        .unwrap_err();
        assert_eq!(
            (bad.line, bad.column.as_deref(), bad.value.as_deref()),
            (3, Some("公民身份号码"), Some("110105********0021"))
        );
        assert!(bad.reason.contains("校验位"), "{}", bad.reason);
    }
}
