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
    #[error("列映射中的“{0}”不是本目录的信息项")]
    UnknownItem(String),
    #[error("列映射“{0}”应写作“文件列名=信息项”，忽略一列写作“文件列名=-”")]
    BadMapping(String),
}

/// Columns the uploader matched by hand: file column → item name or identifier, or `None`
/// to ignore the column. Columns not in it are matched by item name or identifier.
pub type ColumnMapping = std::collections::BTreeMap<String, Option<String>>;

/// Parses `文件列=信息项, 另一列=-` (`-` ignores a column); separators `,` `，` `;` or
/// new lines.
pub fn parse_mapping(text: &str) -> Result<ColumnMapping, MappingError> {
    let mut mapping = ColumnMapping::new();
    for pair in text
        .split([',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (column, item) = pair
            .split_once('=')
            .map(|(c, i)| (c.trim(), i.trim()))
            .filter(|(c, i)| !c.is_empty() && !i.is_empty())
            .ok_or_else(|| MappingError::BadMapping(pair.to_string()))?;
        let item = (item != "-").then(|| item.to_string());
        mapping.insert(column.to_string(), item);
    }
    Ok(mapping)
}

/// Like [`map_columns`], with the uploader's own matches taking precedence.
pub fn map_columns_with(
    header: &[String],
    items: &[Item],
    mapping: &ColumnMapping,
) -> Result<Vec<Option<usize>>, MappingError> {
    let find = |name: &str| {
        items
            .iter()
            .position(|i| i.name == name || i.identifier.eq_ignore_ascii_case(name))
    };
    if let Some(unknown) = mapping.values().flatten().find(|item| find(item).is_none()) {
        return Err(MappingError::UnknownItem(unknown.clone()));
    }
    // Rename mapped columns to their item's identifier; drop ignored ones.
    const IGNORED: &str = "\u{0}ignored";
    let renamed: Vec<String> = header
        .iter()
        .map(|column| match mapping.get(column.trim()) {
            Some(Some(item)) => items[find(item).unwrap_or_default()].identifier.clone(),
            Some(None) => IGNORED.to_string(),
            None => column.clone(),
        })
        .collect();
    let kept: Vec<usize> = (0..header.len())
        .filter(|&i| renamed[i] != IGNORED)
        .collect();
    let kept_header: Vec<String> = kept.iter().map(|&i| renamed[i].clone()).collect();
    let columns = map_columns(&kept_header, items)?;
    Ok(columns.into_iter().map(|c| c.map(|c| kept[c])).collect())
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

/// One row of a file, checked.
pub type RowOutcome = Result<AcceptedRow, RejectedRow>;

/// What the consumer of checked rows says: go on, or stop reading (it gave up).
pub type Next = std::ops::ControlFlow<()>;

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

/// How an uploaded file is to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    Csv {
        encoding: crate::csv_file::TextEncoding,
        delimiter: Option<u8>,
    },
    /// NDJSON or a JSON array of objects keyed by item identifier or name.
    Json,
    /// The named sheet, or the first.
    Xlsx { sheet: Option<String> },
}

impl FileFormat {
    /// `csv`, `json` or `xlsx`: the batch's source label.
    pub fn label(&self) -> &'static str {
        match self {
            FileFormat::Csv { .. } => "csv",
            FileFormat::Json => "json",
            FileFormat::Xlsx { .. } => "xlsx",
        }
    }

    /// Guesses the format from a file name: `.xlsx`, `.json`/`.ndjson`, otherwise CSV.
    pub fn from_file_name(name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".xlsx") {
            FileFormat::Xlsx { sheet: None }
        } else if name.ends_with(".json") || name.ends_with(".ndjson") || name.ends_with(".jsonl") {
            FileFormat::Json
        } else {
            FileFormat::Csv {
                encoding: crate::csv_file::TextEncoding::Auto,
                delimiter: None,
            }
        }
    }
}

/// Reads a file of any format and calls `row` for every data row, checked against
/// `items`, with the columns matched by `mapping` and then by name. Returns the number of
/// rows; a file without a data row is an error. Every format is streamed: a row at a time
/// (XLSX keeps its shared strings, bounded by the zip guard).
pub fn for_each_row<R: std::io::Read + std::io::Seek>(
    reader: R,
    format: &FileFormat,
    items: &[Item],
    mapping: &ColumnMapping,
    row: impl FnMut(RowOutcome) -> Next,
) -> Result<u64, FileError> {
    let rows = match format {
        FileFormat::Csv {
            encoding,
            delimiter,
        } => for_each_csv_row(reader, *encoding, *delimiter, items, mapping, row)?,
        FileFormat::Json => for_each_json_row(reader, items, row)?,
        FileFormat::Xlsx { sheet } => {
            for_each_xlsx_row(reader, sheet.as_deref(), items, mapping, row)?
        }
    };
    if rows == 0 {
        return Err(FileError::File("文件只有表头，没有数据行".into()));
    }
    Ok(rows)
}

/// A CSV file: header mapped to items, then every record checked.
pub fn for_each_csv_row<R: std::io::Read>(
    reader: R,
    encoding: crate::csv_file::TextEncoding,
    delimiter: Option<u8>,
    items: &[Item],
    mapping: &ColumnMapping,
    mut row: impl FnMut(RowOutcome) -> Next,
) -> Result<u64, FileError> {
    let mut file = crate::csv_file::open_csv(reader, encoding, delimiter)
        .map_err(|e| FileError::File(e.to_string()))?;
    let columns = map_columns_with(&file.header, items, mapping)?;
    let mut count = 0;
    for record in file.by_ref() {
        let outcome = match record {
            Ok(record) => check_row(record.line, &record.fields, items, &columns),
            Err(crate::csv_file::CsvError::Row { row, message }) => Err(RejectedRow {
                line: row,
                column: None,
                value: None,
                reason: message,
            }),
            Err(other) => return Err(FileError::File(other.to_string())),
        };
        count += 1;
        if row(outcome).is_break() {
            break;
        }
    }
    Ok(count)
}

/// An XLSX export: the header of the named (or first) sheet mapped to items, then every
/// row checked as it is read.
pub fn for_each_xlsx_row<R: std::io::Read + std::io::Seek>(
    reader: R,
    sheet: Option<&str>,
    items: &[Item],
    mapping: &ColumnMapping,
    mut row: impl FnMut(RowOutcome) -> Next,
) -> Result<u64, FileError> {
    use crate::catalogue_xlsx::SheetLine;
    let mut columns = None;
    let mut count = 0;
    crate::catalogue_xlsx::stream_sheet(reader, sheet, |line| {
        Ok::<_, FileError>(match line {
            SheetLine::Header(header) => {
                columns = Some(map_columns_with(&header, items, mapping)?);
                std::ops::ControlFlow::Continue(())
            }
            SheetLine::Record(line, fields) => {
                count += 1;
                let columns = columns.as_ref().expect("the header comes first");
                row(check_row(u64::from(line), &fields, items, columns))
            }
        })
    })?;
    Ok(count)
}

impl From<crate::catalogue_xlsx::TemplateError> for FileError {
    fn from(error: crate::catalogue_xlsx::TemplateError) -> Self {
        FileError::File(error.to_string())
    }
}

/// The most one JSON record (an NDJSON line, an array element) may take. Records are read
/// one at a time; without a bound, one 100 MB line would be held whole, and a file of them
/// would exhaust the memory. A longer NDJSON line is quarantined (the rest of the file is
/// read); a longer array element refuses the file.
pub const MAX_JSON_RECORD_BYTES: usize = 1 << 20;

/// Counts the bytes read since the last array element, failing past the record limit.
struct Bounded<R> {
    inner: R,
    since_element: std::rc::Rc<std::cell::Cell<usize>>,
}

impl<R: std::io::Read> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let total = self.since_element.get() + read;
        self.since_element.set(total);
        if total > MAX_JSON_RECORD_BYTES + (1 << 16) {
            return Err(std::io::Error::other(format!(
                "一个数组元素超过 {} MiB（一条记录的上限）",
                MAX_JSON_RECORD_BYTES >> 20
            )));
        }
        Ok(read)
    }
}

/// Reads one line of at most `limit` bytes into `text`; a longer one is skipped to its
/// end without being held. Returns the bytes consumed (0 at the end) and whether the line
/// was too long.
fn read_bounded_line(
    reader: &mut impl std::io::BufRead,
    text: &mut String,
    limit: usize,
) -> std::io::Result<(usize, bool)> {
    use std::io::{BufRead, Read};
    let mut bytes = Vec::new();
    let read = reader
        .by_ref()
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut bytes)?;
    if read <= limit || bytes.ends_with(b"\n") {
        let line = String::from_utf8(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        text.push_str(&line);
        return Ok((read, false));
    }
    drop(bytes);
    let mut skipped = read;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok((skipped, true));
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok((skipped + end + 1, true));
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
                skipped += len;
            }
        }
    }
}

/// NDJSON (one object per line) or a JSON array of objects, streamed either way.
pub fn for_each_json_row<R: std::io::Read>(
    reader: R,
    items: &[Item],
    mut row: impl FnMut(RowOutcome) -> Next,
) -> Result<u64, FileError> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
    let io = |e: std::io::Error| FileError::File(format!("读取文件失败：{e}"));
    // Skip a byte-order mark and leading blanks to see which form this is.
    let first = loop {
        let buffer = reader.fill_buf().map_err(io)?;
        let Some(&byte) = buffer.first() else {
            return Err(FileError::File("文件为空".into()));
        };
        if buffer.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        } else if byte.is_ascii_whitespace() {
            reader.consume(1);
        } else {
            break byte;
        }
    };
    let mut count = 0;
    if first == b'[' {
        let since_element = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut deserializer = serde_json::Deserializer::from_reader(Bounded {
            inner: reader,
            since_element: since_element.clone(),
        });
        let visitor = ArrayVisitor {
            items,
            row: &mut row,
            count: &mut count,
            since_element,
        };
        serde::Deserializer::deserialize_seq(&mut deserializer, visitor)
            .and_then(|()| deserializer.end())
            .map_err(|e| FileError::File(format!("JSON 数组无法解析：{e}")))?;
        return Ok(count);
    }
    let mut line = 0;
    let mut text = String::new();
    loop {
        text.clear();
        let (read, too_long) = read_bounded_line(&mut reader, &mut text, MAX_JSON_RECORD_BYTES)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    FileError::File(format!("第{}行：JSON 应为 UTF-8 编码", line + 1))
                }
                _ => io(e),
            })?;
        if read == 0 {
            break;
        }
        line += 1;
        if !too_long && text.trim().is_empty() {
            continue;
        }
        count += 1;
        let outcome = if too_long {
            Err(RejectedRow {
                line,
                column: None,
                value: None,
                reason: format!(
                    "该行超过 {} MiB（一条记录的上限），已跳过",
                    MAX_JSON_RECORD_BYTES >> 20
                ),
            })
        } else {
            check_line(line, &text, items)
        };
        if row(outcome).is_break() {
            break;
        }
    }
    Ok(count)
}

/// Checks one NDJSON line.
fn check_line(line: u64, text: &str, items: &[Item]) -> RowOutcome {
    let refused = |reason: String| RejectedRow {
        line,
        column: None,
        value: None,
        reason,
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => check_object(line, &object, items),
        Ok(_) => Err(refused("每行应为一个 JSON 对象".into())),
        Err(e) => Err(refused(format!("JSON 无法解析：{e}"))),
    }
}

/// Visits the elements of a JSON array one at a time, so the array is never held whole.
struct ArrayVisitor<'a, F> {
    items: &'a [Item],
    row: &'a mut F,
    count: &'a mut u64,
    /// Reset after each element: the reader's count of the bytes of the next one.
    since_element: std::rc::Rc<std::cell::Cell<usize>>,
}

impl<'de, F: FnMut(RowOutcome) -> Next> serde::de::Visitor<'de> for ArrayVisitor<'_, F> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an array of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            self.since_element.set(0);
            *self.count += 1;
            let line = *self.count;
            let outcome = match value.as_object() {
                Some(object) => check_object(line, object, self.items),
                None => Err(RejectedRow {
                    line,
                    column: None,
                    value: None,
                    reason: "数组元素应为对象".into(),
                }),
            };
            if (self.row)(outcome).is_break() {
                // Stop early: the rest of the array is not read.
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Collects every checked row of a file in memory: for small files and tests.
pub fn check_file<R: std::io::Read + std::io::Seek>(
    reader: R,
    format: &FileFormat,
    items: &[Item],
    mapping: &ColumnMapping,
) -> Result<Checked, FileError> {
    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    for_each_row(reader, format, items, mapping, |outcome| {
        match outcome {
            Ok(row) => accepted.push(row),
            Err(row) => rejected.push(row),
        }
        Next::Continue(())
    })?;
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
            mask: None,
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

    fn json_rows(text: &str) -> Result<Vec<RowOutcome>, FileError> {
        let mut rows = Vec::new();
        for_each_json_row(text.as_bytes(), &body().items, |r| {
            rows.push(r);
            Next::Continue(())
        })?;
        Ok(rows)
    }

    #[test]
    fn reads_ndjson_and_arrays_rejecting_unknown_fields() {
        let ndjson = "\u{feff}{\"id_number\": \"11010519491231002X\", \"姓名\": \"张三\"}\n\n{\"id_number\": \"11010519491231002X\", \"age\": 3}\nnot json\n";
        let rows = json_rows(ndjson).unwrap();
        assert!(rows[0].is_ok());
        let unknown = rows[1].as_ref().unwrap_err();
        assert_eq!((unknown.line, unknown.column.as_deref()), (3, Some("age")));
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
        let array_rows =
            json_rows(" [{\"id_number\": \"11010519491231002X\", \"full_name\": null}, 5]")
                .unwrap();
        assert_eq!(array_rows[0].as_ref().unwrap().values[1], TypedValue::Null);
        assert_eq!(array_rows[1].as_ref().unwrap_err().line, 2);
        assert!(json_rows("[1,").is_err());
        // One record over the limit: an NDJSON line is held back and the next one read; an
        // array element refuses the file, neither is held whole.
        let huge = format!(
            "{{\"full_name\": \"{}\"}}",
            "长".repeat(MAX_JSON_RECORD_BYTES)
        );
        let ndjson = format!("{huge}\n{{\"id_number\": \"11010519491231002X\"}}\n");
        let rows = json_rows(&ndjson).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(matches!(&rows[0], Err(r) if r.line == 1 && r.reason.contains("超过 1 MiB")));
        assert!(rows[1].is_ok(), "{:?}", rows[1]);
        let array = format!("[{huge}]");
        assert!(matches!(json_rows(&array), Err(FileError::File(m)) if m.contains("超过 1 MiB")));
        assert!(matches!(json_rows("  "), Err(FileError::File(m)) if m.contains("为空")));
    }

    #[test]
    fn remembered_mappings_rename_and_ignore_columns() {
        let items = body().items;
        let mapping = parse_mapping("证件号码=公民身份号码，备注=-").unwrap();
        let header: Vec<String> = ["备注", "姓名", "证件号码"].map(String::from).to_vec();
        assert_eq!(
            map_columns_with(&header, &items, &mapping).unwrap(),
            [Some(2), Some(1)]
        );
        assert_eq!(
            map_columns_with(&header, &items, &ColumnMapping::new()),
            Err(MappingError::UnknownColumns(vec![
                "备注".into(),
                "证件号码".into()
            ]))
        );
        assert_eq!(
            map_columns_with(&header, &items, &parse_mapping("证件号码=身份证").unwrap()),
            Err(MappingError::UnknownItem("身份证".into()))
        );
        assert_eq!(
            parse_mapping("证件号码"),
            Err(MappingError::BadMapping("证件号码".into()))
        );
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
