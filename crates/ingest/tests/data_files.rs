//! Bad data files: each gives a precise error or a quarantined row, never a panic, and the
//! good rows around it are kept.

use datahall_ingest::csv_file::TextEncoding;
use datahall_ingest::pipeline::{for_each_csv_row, ColumnMapping, FileError, Next, RowOutcome};
use domain::catalogue::{DataType, Item, SecurityGrade, ValidationRule};

fn items() -> Vec<Item> {
    let item = |name: &str, identifier: &str, length: Option<u32>| Item {
        name: name.into(),
        identifier: identifier.into(),
        data_type: DataType::Char,
        length,
        required: false,
        key: false,
        code_table: None,
        rule: None,
        security_grade: SecurityGrade::General,
        personal: false,
        share_type: None,
        authoritative: false,
        mask: None,
    };
    let mut key = item("公民身份号码", "id_number", Some(18));
    key.key = true;
    key.required = true;
    key.rule = Some(ValidationRule::IdCard);
    vec![
        key,
        item("姓名", "full_name", Some(50)),
        item("备注", "remarks", None),
    ]
}

fn rows(bytes: &[u8]) -> Result<Vec<RowOutcome>, FileError> {
    let mut rows = Vec::new();
    for_each_csv_row(
        bytes,
        TextEncoding::Auto,
        None,
        &items(),
        &ColumnMapping::new(),
        |row| {
            rows.push(row);
            Next::Continue(())
        },
    )?;
    Ok(rows)
}

#[test]
fn a_ten_megabyte_cell_is_quarantined_by_length_or_kept_in_a_memo() {
    let id = "11010519491231002X";
    let huge = "长".repeat(10 << 20 >> 2);
    let csv = format!("公民身份号码,姓名,备注\n{id},{huge},\n{id},张三,{huge}\n");
    let rows = rows(csv.as_bytes()).unwrap();
    let bad = rows[0].as_ref().unwrap_err();
    assert_eq!((bad.line, bad.column.as_deref()), (2, Some("姓名")));
    assert!(
        bad.value.as_ref().unwrap().len() < 1000,
        "the quarantine keeps a short excerpt, not 10 MB"
    );
    assert!(rows[1].is_ok(), "an unbounded item (M) takes it");
}

#[test]
fn a_quote_left_open_stops_the_file_with_a_reason_instead_of_eating_memory() {
    let id = "11010519491231002X";
    let mut csv = format!("公民身份号码,姓名,备注\n{id},张三,\n{id},\"李四,\n").into_bytes();
    csv.extend(std::iter::repeat_n(
        b'x',
        (datahall_ingest::csv_file::MAX_RECORD_BYTES + (1 << 20)) as usize,
    ));
    match rows(&csv) {
        Err(FileError::File(message)) => assert!(message.contains("引号未闭合"), "{message}"),
        other => panic!("expected a file error, got {other:?}"),
    }
}

#[test]
fn ragged_rows_and_a_wrong_declared_encoding_are_reported_per_row() {
    let csv = "公民身份号码,姓名\n11010519491231002X,张三,多余\n11010519491231002X,李四\n";
    let rows = rows(csv.as_bytes()).unwrap();
    let ragged = rows[0].as_ref().unwrap_err();
    assert_eq!(ragged.line, 2);
    assert!(ragged.reason.contains("3列"), "{}", ragged.reason);
    assert!(rows[1].is_ok());
    // A GBK file declared as UTF-8: the header cannot match, and the error names the columns.
    let (gbk, _, _) = encoding_rs::GBK.encode("公民身份号码,姓名\n11010519491231002X,张三\n");
    let mut out = Vec::new();
    let declared = for_each_csv_row(
        &gbk[..],
        TextEncoding::Utf8,
        None,
        &items(),
        &ColumnMapping::new(),
        |r| {
            out.push(r);
            Next::Continue(())
        },
    );
    assert!(
        matches!(declared, Err(FileError::Columns(_))),
        "{declared:?}"
    );
}

/// A department's export past the catalogue template's 64 MiB limit is streamed a row at a
/// time and read whole; it was refused as too large while sheets were read into memory.
#[test]
fn a_data_workbook_larger_than_a_template_is_streamed_whole() {
    use datahall_ingest::pipeline::for_each_xlsx_row;
    let rows = 500_000u32;
    let remark = "一段足够长的备注文字，使工作表解压后超过目录模板的上限";
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, name) in ["公民身份号码", "姓名", "备注"].into_iter().enumerate() {
        sheet.write_string(0, column as u16, name).unwrap();
    }
    for n in 1..=rows {
        let legacy = format!(
            "110105{:02}{:02}{:02}{:03}",
            30 + n / 336_000,
            1 + (n / 28_000) % 12,
            1 + (n / 1000) % 28,
            n % 1000
        );
        let id = domain::ids::IdCardNumber::parse(&legacy)
            .unwrap()
            .to_string();
        sheet.write_string(n, 0, id).unwrap();
        sheet.write_string(n, 1, format!("居民{n}")).unwrap();
        sheet.write_string(n, 2, remark).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.as_slice())).unwrap();
    let unzipped: u64 = (0..archive.len())
        .map(|i| archive.by_index_raw(i).unwrap().size())
        .sum();
    assert!(
        unzipped > datahall_ingest::MAX_UNZIPPED_BYTES,
        "past the template's limit: {unzipped} bytes"
    );
    let mut accepted = 0u32;
    let mut last_line = 0;
    let read = for_each_xlsx_row(
        std::io::Cursor::new(bytes.as_slice()),
        None,
        &items(),
        &ColumnMapping::new(),
        |row| {
            let row = row.unwrap_or_else(|rejected| panic!("{rejected:?}"));
            accepted += 1;
            last_line = row.line;
            Next::Continue(())
        },
    )
    .unwrap();
    assert_eq!((read, accepted), (u64::from(rows), rows));
    assert_eq!(
        last_line,
        u64::from(rows) + 1,
        "Excel's row number of the last row"
    );
}
