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
