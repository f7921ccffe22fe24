//! The XLSX catalogue template, read and written as a department would use it.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use calamine::{Data, Reader, Xlsx};
use datahall_ingest::{
    blank_template, read_template, write_template, TemplateEntry, TemplateError, TemplateImport,
};
use domain::catalogue::{
    DataType, FormatKind, Item, OpenAttributes, ResourceBody, ResourceFormat, SecurityGrade,
    ShareAttributes, ShareMode, ShareType, UpdateCycle, ValidationRule,
};
use domain::code::{ClassKind, ResourceClass, ResourceCode};
use rust_xlsxwriter::Workbook;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const ENTRY_HEADERS: [&str; 24] = [
    "序号",
    "信息资源代码",
    "信息资源名称",
    "提供方",
    "状态",
    "类",
    "项",
    "目",
    "细目",
    "内设机构",
    "信息资源摘要",
    "格式分类",
    "格式类型",
    "共享类型",
    "共享条件",
    "不予共享依据",
    "共享方式",
    "非平台方式理由",
    "是否向社会开放",
    "开放条件",
    "更新周期",
    "安全级别",
    "关联资源代码",
    "扩展元数据",
];

const ITEM_HEADERS: [&str; 13] = [
    "序号",
    "信息项名称",
    "标识符",
    "数据类型",
    "数据长度",
    "是否必填",
    "是否主键",
    "代码表",
    "校验规则",
    "安全级别",
    "是否个人信息",
    "共享类型",
    "是否权威来源",
];

/// The catalogue branch number of the uploading department in these tests.
const BRANCH: u8 = 4;

// ---------------------------------------------------------------------------------------
// Realistic entries

fn item(name: &str, identifier: &str, data_type: DataType, length: Option<u32>) -> Item {
    Item {
        name: name.into(),
        identifier: identifier.into(),
        data_type,
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
    }
}

fn household_register() -> ResourceBody {
    ResourceBody {
        name: "常住人口户籍信息".into(),
        class: ResourceClass {
            kind: ClassKind::Basic,
            subclass: 1,
            category: 1,
            detail: "01".into(),
        },
        provider_unit: Some("户政管理支队".into()),
        summary: "全市常住人口户籍登记信息，包括身份号码、姓名、出生日期和户籍地址".into(),
        format: ResourceFormat {
            kind: FormatKind::Database,
            detail: "PostgreSQL".into(),
        },
        items: vec![
            Item {
                required: true,
                key: true,
                rule: Some(ValidationRule::IdCard),
                security_grade: SecurityGrade::Important,
                personal: true,
                authoritative: true,
                mask: Some(domain::sharing::MaskKind::Full),
                ..item("公民身份号码", "id_number", DataType::Char, Some(18))
            },
            Item {
                required: true,
                personal: true,
                ..item("姓名", "name", DataType::Char, Some(50))
            },
            Item {
                rule: Some(ValidationRule::Date),
                ..item("出生日期", "birth_date", DataType::Date, None)
            },
            Item {
                rule: Some(ValidationRule::Range {
                    min: 0.0,
                    max: 150.0,
                }),
                ..item("年龄", "age", DataType::Integer, None)
            },
            Item {
                code_table: Some("GB/T 2260".into()),
                rule: Some(ValidationRule::RegionCode),
                share_type: Some(ShareType::NotShared),
                ..item("户籍地行政区划", "region_code", DataType::Char, Some(6))
            },
        ],
        share: ShareAttributes {
            share_type: ShareType::Conditional,
            conditions: Some("仅用于政务服务身份核验，须经公安局审核".into()),
            legal_basis: None,
            mode: Some(ShareMode::Platform),
            mode_reason: None,
        },
        open: OpenAttributes::default(),
        update_cycle: UpdateCycle::Daily,
        related_codes: vec![
            ResourceCode::parse("101002/000003").unwrap(),
            ResourceCode::parse("201003/000010").unwrap(),
        ],
        security_grade: SecurityGrade::Important,
        extensions: BTreeMap::from([
            ("数据来源".into(), "人口管理信息系统".into()),
            ("联系人".into(), "王某 0571-12345678".into()),
        ]),
    }
}

fn enterprise_register() -> ResourceBody {
    ResourceBody {
        name: "企业登记注册信息".into(),
        class: ResourceClass {
            kind: ClassKind::Basic,
            subclass: 2,
            category: 1,
            detail: String::new(),
        },
        provider_unit: None,
        summary: "市场主体登记注册的基本信息".into(),
        format: ResourceFormat {
            kind: FormatKind::Spreadsheet,
            detail: "XLSX".into(),
        },
        items: vec![
            Item {
                required: true,
                key: true,
                rule: Some(ValidationRule::Uscc),
                authoritative: true,
                mask: None,
                ..item("统一社会信用代码", "uscc", DataType::Char, Some(18))
            },
            Item {
                required: true,
                ..item("企业名称", "enterprise_name", DataType::Char, Some(200))
            },
            Item {
                rule: Some(ValidationRule::Regex("^[0-9]+(\\.[0-9]{1,2})?$".into())),
                ..item(
                    "注册资本",
                    "registered_capital",
                    DataType::Currency,
                    Some(20),
                )
            },
        ],
        share: ShareAttributes {
            share_type: ShareType::Unconditional,
            conditions: None,
            legal_basis: None,
            mode: Some(ShareMode::Email),
            mode_reason: Some("共享平台接口改造中，暂以邮件报送".into()),
        },
        open: OpenAttributes {
            open_to_public: true,
            conditions: Some("注册资本脱敏后开放".into()),
        },
        update_cycle: UpdateCycle::Weekly,
        related_codes: vec![],
        security_grade: SecurityGrade::General,
        extensions: BTreeMap::new(),
    }
}

fn sealed_archives() -> ResourceBody {
    ResourceBody {
        name: "涉密档案目录".into(),
        class: ResourceClass {
            kind: ClassKind::Departmental,
            subclass: BRANCH,
            category: 2,
            detail: String::new(),
        },
        provider_unit: Some("档案管理处".into()),
        summary: "本部门涉及国家秘密的档案目录".into(),
        format: ResourceFormat {
            kind: FormatKind::Document,
            detail: "PDF".into(),
        },
        items: vec![],
        share: ShareAttributes {
            share_type: ShareType::NotShared,
            conditions: None,
            legal_basis: Some("《中华人民共和国保守国家秘密法》第三十条".into()),
            mode: None,
            mode_reason: None,
        },
        open: OpenAttributes::default(),
        update_cycle: UpdateCycle::Irregular,
        related_codes: vec![],
        security_grade: SecurityGrade::Core,
        extensions: BTreeMap::from([("密级".into(), "机密".into())]),
    }
}

fn realistic_entries() -> Vec<TemplateEntry> {
    vec![
        TemplateEntry {
            code: Some("10100101/000123".into()),
            provider_name: "市公安局".into(),
            status_label: "已发布".into(),
            body: household_register(),
        },
        TemplateEntry {
            code: None,
            provider_name: "市市场监督管理局".into(),
            status_label: "草稿".into(),
            body: enterprise_register(),
        },
        TemplateEntry {
            code: Some("304002/000001".into()),
            provider_name: "市档案局".into(),
            status_label: "待审核".into(),
            body: sealed_archives(),
        },
    ]
}

// ---------------------------------------------------------------------------------------
// A department's own file, written cell by cell as Excel would store what they typed

type Row = Vec<(&'static str, &'static str)>;

/// A valid 目录 row, changed by `changes` (header → value).
fn entry_row(changes: &[(&'static str, &'static str)]) -> Row {
    with_changes(
        vec![
            ("序号", "1"),
            ("信息资源名称", "行政许可事项清单"),
            ("类", "主题"),
            ("项", "1"),
            ("目", "3"),
            ("信息资源摘要", "本部门实施的行政许可事项"),
            ("格式分类", "电子文件"),
            ("格式类型", "PDF"),
            ("共享类型", "无条件共享"),
            ("共享方式", "共享平台方式"),
            ("是否向社会开放", "否"),
            ("更新周期", "每月"),
            ("安全级别", "一般数据"),
        ],
        changes,
    )
}

/// A valid 信息项 row, changed by `changes`.
fn item_row(changes: &[(&'static str, &'static str)]) -> Row {
    with_changes(
        vec![
            ("序号", "1"),
            ("信息项名称", "事项名称"),
            ("标识符", "item_name"),
            ("数据类型", "字符型"),
            ("数据长度", "200"),
            ("是否必填", "是"),
            ("是否主键", "否"),
            ("安全级别", "一般数据"),
            ("是否个人信息", "否"),
            ("是否权威来源", "是"),
        ],
        changes,
    )
}

fn with_changes(mut row: Row, changes: &[(&'static str, &'static str)]) -> Row {
    for &(header, value) in changes {
        row.retain(|(h, _)| *h != header);
        row.push((header, value));
    }
    row
}

/// Writes a sheet with the given headers; `None` rows are left blank. Numbers are stored as
/// numbers, as Excel does with what is typed into a General cell.
fn write_sheet(workbook: &mut Workbook, name: &str, headers: &[&str], rows: &[Option<Row>]) {
    let sheet = workbook.add_worksheet();
    sheet.set_name(name).unwrap();
    for (c, header) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (header, value) in row.iter().flatten() {
            let c = headers.iter().position(|h| h == header).unwrap() as u16;
            let r = r as u32 + 1;
            match value.parse::<f64>() {
                Ok(number) if !value.starts_with('0') => sheet.write_number(r, c, number),
                _ => sheet.write_string(r, c, *value),
            }
            .unwrap();
        }
    }
}

fn department_file(entries: &[Option<Row>], items: &[Option<Row>]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    write_sheet(&mut workbook, "目录", &ENTRY_HEADERS, entries);
    write_sheet(&mut workbook, "信息项", &ITEM_HEADERS, items);
    workbook.save_to_buffer().unwrap()
}

fn read(bytes: &[u8]) -> TemplateImport {
    read_template(bytes, BRANCH).unwrap()
}

/// The problems as (sheet, row, column), in report order.
fn places(import: &TemplateImport) -> Vec<(&str, u32, &str)> {
    import
        .problems
        .iter()
        .map(|p| (p.sheet.as_str(), p.row, p.column.as_str()))
        .collect()
}

fn message_at<'a>(import: &'a TemplateImport, column: &str) -> &'a str {
    &import
        .problems
        .iter()
        .find(|p| p.column == column)
        .unwrap_or_else(|| panic!("no problem in {column}: {:?}", import.problems))
        .message
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

// ---------------------------------------------------------------------------------------
// Round trip

#[test]
fn written_entries_read_back_unchanged_without_problems() {
    let entries = realistic_entries();
    let bytes = write_template(&entries).unwrap();
    let import = read(&bytes);

    assert_eq!(import.problems, vec![]);
    assert_eq!(import.entries.len(), entries.len());
    for (i, (read, written)) in import.entries.iter().zip(&entries).enumerate() {
        assert_eq!(read.body, written.body, "entry {}", i + 1);
        assert_eq!(read.code, written.code);
        assert_eq!(read.serial, (i + 1).to_string());
        assert_eq!(read.row, i as u32 + 2);
    }
}

#[test]
fn written_template_puts_one_item_row_per_item_under_its_serial() {
    let bytes = write_template(&realistic_entries()).unwrap();
    let mut workbook = Xlsx::new(Cursor::new(bytes)).unwrap();
    let items = workbook.worksheet_range("信息项").unwrap();
    let serials: Vec<String> = (1..=8)
        .map(|r| items.get_value((r, 0)).unwrap().to_string())
        .collect();
    assert_eq!(serials, ["1", "1", "1", "1", "1", "2", "2", "2"]);
    assert_eq!(
        items.get_value((1, 8)),
        Some(&Data::String("id_card".into()))
    );
    assert_eq!(
        items.get_value((4, 8)),
        Some(&Data::String("range:0..150".into()))
    );
    let entries = workbook.worksheet_range("目录").unwrap();
    assert_eq!(
        entries.get_value((1, 22)),
        Some(&Data::String("101002/000003;201003/000010".into()))
    );
}

// ---------------------------------------------------------------------------------------
// A department's file with mistakes

#[test]
fn mistakes_are_reported_at_their_cells_and_only_clean_entries_are_kept() {
    let bytes = department_file(
        &[
            Some(entry_row(&[
                ("序号", "1"),
                ("格式分类", "数据库"),
                ("格式类型", "MySQL"),
            ])),
            Some(entry_row(&[("序号", "2"), ("共享类型", "有条件共享")])),
            Some(entry_row(&[("序号", "3"), ("更新周期", "每两天")])),
            Some(entry_row(&[("序号", "4"), ("格式分类", "电子表格")])),
        ],
        &[
            Some(item_row(&[("序号", "1")])),
            Some(item_row(&[
                ("序号", "4"),
                ("数据类型", "C"),
                ("数据长度", ""),
            ])),
            Some(item_row(&[("序号", "9")])),
            None,
            Some(item_row(&[
                ("序号", "1"),
                ("信息项名称", "许可编号"),
                ("标识符", "licence_no"),
                ("数据长度", "32"),
            ])),
        ],
    );

    let import = read(&bytes);

    assert_eq!(
        places(&import),
        [
            ("目录", 3, "共享条件"),
            ("目录", 4, "更新周期"),
            ("信息项", 3, "数据长度"),
            ("信息项", 4, "序号"),
        ]
    );
    assert!(message_at(&import, "更新周期").contains("每两天"));
    assert!(
        message_at(&import, "更新周期").contains("每日"),
        "names the allowed values"
    );
    assert!(message_at(&import, "共享条件").contains("共享条件"));
    assert!(message_at(&import, "序号").contains('9'));

    let kept: Vec<(&str, u32)> = import
        .entries
        .iter()
        .map(|e| (e.serial.as_str(), e.row))
        .collect();
    assert_eq!(kept, [("1", 2)]);
    let names: Vec<&str> = import.entries[0]
        .body
        .items
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["事项名称", "许可编号"],
        "blank item rows are skipped"
    );
}

#[test]
fn departmental_subclass_other_than_the_branch_points_at_the_subclass_cell() {
    let bytes = department_file(&[Some(entry_row(&[("类", "部门"), ("项", "5")]))], &[]);
    let import = read(&bytes);
    assert_eq!(places(&import), [("目录", 2, "项")]);
    assert!(import.entries.is_empty());
}

#[test]
fn an_item_breaking_a_rule_keeps_its_entry_out() {
    let bytes = department_file(
        &[Some(entry_row(&[]))],
        &[
            Some(item_row(&[])),
            Some(item_row(&[
                ("信息项名称", "许可证号"),
                ("标识符", "licence_no"),
                ("是否主键", "是"),
                ("是否必填", "否"),
            ])),
        ],
    );
    let import = read(&bytes);
    assert_eq!(places(&import), [("信息项", 3, "是否必填")]);
    assert!(import.entries.is_empty());
}

#[test]
fn bad_related_codes_rules_and_extensions_are_reported_at_their_cells() {
    let bytes = department_file(
        &[Some(entry_row(&[
            ("关联资源代码", "101001/000001;12345"),
            ("扩展元数据", "来源=系统;备注"),
        ]))],
        &[Some(item_row(&[("校验规则", "phone")]))],
    );
    let import = read(&bytes);
    assert_eq!(
        places(&import),
        [
            ("目录", 2, "关联资源代码"),
            ("目录", 2, "扩展元数据"),
            ("信息项", 2, "校验规则"),
        ]
    );
    assert!(message_at(&import, "关联资源代码").contains("12345"));
    assert!(message_at(&import, "扩展元数据").contains("备注"));
}

/// 脱敏方式 came after the first templates: a workbook made from an older one (the
/// headers above end before it) still imports; in a current one, a wrong value is a problem
/// at its cell.
#[test]
fn the_mask_column_is_optional_and_checked_when_present() {
    let older = read(&department_file(
        &[Some(entry_row(&[]))],
        &[Some(item_row(&[]))],
    ));
    assert_eq!(older.problems, vec![]);
    assert_eq!(older.entries[0].body.items[0].mask, None);

    let mut workbook = Workbook::new();
    let mut headers = ITEM_HEADERS.to_vec();
    headers.push("脱敏方式");
    write_sheet(
        &mut workbook,
        "目录",
        &ENTRY_HEADERS,
        &[Some(entry_row(&[]))],
    );
    write_sheet(
        &mut workbook,
        "信息项",
        &headers,
        &[
            Some(item_row(&[("脱敏方式", "全部隐藏")])),
            Some(item_row(&[("标识符", "other"), ("脱敏方式", "打码")])),
        ],
    );
    let current = read(&workbook.save_to_buffer().unwrap());
    assert_eq!(places(&current), [("信息项", 3, "脱敏方式")]);
    assert!(
        message_at(&current, "脱敏方式").contains("全部隐藏"),
        "lists the allowed values"
    );
}

#[test]
fn non_numeric_subclass_and_length_are_reported() {
    let bytes = department_file(
        &[Some(entry_row(&[("项", "一"), ("目", "3.5")]))],
        &[Some(item_row(&[("数据长度", "十八")]))],
    );
    let import = read(&bytes);
    assert_eq!(
        places(&import),
        [
            ("目录", 2, "项"),
            ("目录", 2, "目"),
            ("信息项", 2, "数据长度")
        ]
    );
}

#[test]
fn a_repeated_serial_is_reported_on_every_row_using_it() {
    let bytes = department_file(
        &[
            Some(entry_row(&[("序号", "1")])),
            Some(entry_row(&[
                ("序号", "1"),
                ("信息资源名称", "行政处罚事项清单"),
            ])),
            Some(entry_row(&[("序号", "2")])),
        ],
        &[],
    );
    let import = read(&bytes);
    assert_eq!(places(&import), [("目录", 2, "序号"), ("目录", 3, "序号")]);
    let kept: Vec<&str> = import.entries.iter().map(|e| e.serial.as_str()).collect();
    assert_eq!(kept, ["2"]);
}

#[test]
fn booleans_codes_and_numbers_are_read_leniently() {
    let bytes = department_file(
        &[Some(entry_row(&[
            ("项", "01"),
            ("细目", "01"),
            ("是否向社会开放", "Y"),
            ("开放条件", "脱敏后开放"),
            ("更新周期", "monthly"),
        ]))],
        &[Some(item_row(&[
            ("数据类型", "C"),
            ("数据长度", "18"),
            ("是否必填", "true"),
            ("是否主键", "1"),
            ("是否个人信息", "N"),
            ("是否权威来源", "false"),
            ("安全级别", ""),
            ("代码表", "123"),
        ]))],
    );
    let import = read(&bytes);
    assert_eq!(import.problems, vec![]);
    let body = &import.entries[0].body;
    assert_eq!(body.class.subclass, 1);
    assert_eq!(body.class.detail, "01");
    assert!(body.open.open_to_public);
    assert_eq!(body.update_cycle, UpdateCycle::Monthly);
    let item = &body.items[0];
    assert_eq!(item.data_type, DataType::Char);
    assert_eq!(item.length, Some(18));
    assert!(item.required && item.key && !item.personal && !item.authoritative);
    assert_eq!(
        item.security_grade,
        SecurityGrade::General,
        "blank is 一般数据"
    );
    assert_eq!(
        item.code_table.as_deref(),
        Some("123"),
        "a number read as text"
    );
}

#[test]
fn an_unknown_yes_no_value_is_reported() {
    let bytes = department_file(&[Some(entry_row(&[("是否向社会开放", "也许")]))], &[]);
    let import = read(&bytes);
    assert_eq!(places(&import), [("目录", 2, "是否向社会开放")]);
}

// ---------------------------------------------------------------------------------------
// Whole-file problems

#[test]
fn a_file_without_the_item_sheet_is_refused_naming_it() {
    let mut workbook = Workbook::new();
    write_sheet(
        &mut workbook,
        "目录",
        &ENTRY_HEADERS,
        &[Some(entry_row(&[]))],
    );
    let bytes = workbook.save_to_buffer().unwrap();

    let error = read_template(&bytes, BRANCH).unwrap_err();
    assert!(
        matches!(&error, TemplateError::MissingSheet(sheet) if sheet == "信息项"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "缺少工作表“信息项”");
}

#[test]
fn a_renamed_column_is_refused_naming_sheet_position_and_headers() {
    let mut headers = ENTRY_HEADERS;
    headers[2] = "名称";
    let mut workbook = Workbook::new();
    write_sheet(&mut workbook, "目录", &headers, &[]);
    write_sheet(&mut workbook, "信息项", &ITEM_HEADERS, &[]);
    let bytes = workbook.save_to_buffer().unwrap();

    let error = read_template(&bytes, BRANCH).unwrap_err();
    match &error {
        TemplateError::WrongHeader {
            sheet,
            position,
            expected,
            found,
            ..
        } => {
            assert_eq!(
                (sheet.as_str(), *position, expected.as_str(), found.as_str()),
                ("目录", 3, "信息资源名称", "名称")
            );
        }
        other => panic!("expected a header error, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("目录") && message.contains("第3列"),
        "{message}"
    );
}

#[test]
fn garbage_bytes_are_not_an_xlsx_file() {
    let error = read_template(b"PK\x03\x04 this is not a spreadsheet", BRANCH).unwrap_err();
    assert!(matches!(error, TemplateError::NotXlsx), "{error:?}");
    assert_eq!(error.to_string(), "文件不是有效的 XLSX 文件");
}

#[test]
fn a_zip_that_is_not_a_workbook_is_not_an_xlsx_file() {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file("readme.txt", SimpleFileOptions::default())
        .unwrap();
    writer.write_all("你好".as_bytes()).unwrap();
    let bytes = writer.finish().unwrap().into_inner();

    let error = read_template(&bytes, BRANCH).unwrap_err();
    assert!(matches!(error, TemplateError::NotXlsx), "{error:?}");
}

#[test]
fn the_blank_template_has_no_entries() {
    let error = read_template(&blank_template().unwrap(), BRANCH).unwrap_err();
    assert!(matches!(error, TemplateError::NoEntries), "{error:?}");
}

/// A zip holding `size` bytes of zeros as xl/workbook.xml, written without holding them
/// in memory.
fn zeros_zip(size: usize) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    writer.start_file("xl/workbook.xml", options).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        writer.write_all(&chunk).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_from_its_central_directory() {
    let bytes = zeros_zip(100 << 20);
    assert!(bytes.len() < 1 << 20, "the bomb itself is small");

    let error = read_template(&bytes, BRANCH).unwrap_err();
    match &error {
        // Refused on what the central directory declares, before inflating anything.
        TemplateError::TooLarge(detail) => {
            assert!(detail.contains("声明的解压后大小超过 64 MiB"), "{detail}")
        }
        other => panic!("expected too large, got {other:?}"),
    }
}

/// Overwrites the uncompressed size recorded for the (only) entry in both the local header
/// and the central directory.
fn lie_about_size(bytes: &mut [u8], claimed: u32) {
    let patch = |bytes: &mut [u8], signature: &[u8; 4], offset: usize| {
        let at = bytes.windows(4).position(|w| w == signature).unwrap() + offset;
        bytes[at..at + 4].copy_from_slice(&claimed.to_le_bytes());
    };
    patch(bytes, b"PK\x03\x04", 22);
    patch(bytes, b"PK\x01\x02", 24);
}

#[test]
fn a_zip_understating_its_sizes_is_refused_while_inflating() {
    let mut bytes = zeros_zip(80 << 20);
    lie_about_size(&mut bytes, 1000);

    let error = read_template(&bytes, BRANCH).unwrap_err();
    match &error {
        TemplateError::TooLarge(detail) => assert!(detail.contains("实际解压后"), "{detail}"),
        other => panic!("expected too large, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The template's furniture

#[test]
fn enumeration_columns_have_drop_downs_down_to_row_2000() {
    let bytes = blank_template().unwrap();
    let entries = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(entries.contains("<dataValidation "), "{entries}");
    assert!(entries.contains(r#"type="list""#));
    // 类 is column F, its values A2:A4 on 枚举.
    assert!(entries.contains(r#"sqref="F2:F2000""#), "{entries}");
    assert!(entries.contains("'枚举'!$A$2:$A$4"), "{entries}");

    let items = zip_entry(&bytes, "xl/worksheets/sheet2.xml");
    // 数据类型 (D) and 是否必填 (F) on 信息项.
    assert!(items.contains(r#"sqref="D2:D2000""#), "{items}");
    assert!(items.contains(r#"sqref="F2:F2000""#), "{items}");
}

#[test]
fn drop_down_values_are_on_the_enumeration_sheet() {
    let bytes = blank_template().unwrap();
    let mut workbook = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), ["目录", "信息项", "说明", "枚举"]);
    let lists = workbook.worksheet_range("枚举").unwrap();
    let column = |c: u32, rows: u32| -> Vec<String> {
        (0..=rows)
            .map(|r| lists.get_value((r, c)).unwrap().to_string())
            .collect()
    };
    assert_eq!(column(0, 3), ["类", "基础", "主题", "部门"]);
    assert_eq!(
        column(2, 3),
        ["共享类型", "无条件共享", "有条件共享", "不予共享"]
    );
    assert_eq!(column(7, 2), ["是/否", "是", "否"]);
}

#[test]
fn headers_are_bold_frozen_and_the_guide_is_read_only() {
    let bytes = blank_template().unwrap();
    let entries = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(entries.contains(r#"state="frozen""#), "{entries}");
    let styles = zip_entry(&bytes, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "a bold font exists");
    let guide = zip_entry(&bytes, "xl/worksheets/sheet3.xml");
    assert!(guide.contains("<sheetProtection"), "{guide}");

    let mut workbook = Xlsx::new(Cursor::new(bytes)).unwrap();
    let headers = workbook.worksheet_range("目录").unwrap();
    let found: Vec<String> = (0..24)
        .map(|c| headers.get_value((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(found, ENTRY_HEADERS);
}

#[test]
fn an_absurdly_compressed_entry_is_refused() {
    // 20 MiB is under the size limit, but no honest sheet compresses 1000:1.
    let error = read_template(&zeros_zip(20 << 20), BRANCH).unwrap_err();
    match &error {
        TemplateError::TooLarge(detail) => assert!(detail.contains("压缩比"), "{detail}"),
        other => panic!("expected too large, got {other:?}"),
    }
}

#[test]
fn a_large_honest_template_is_accepted() {
    // Thousands of near-identical rows compress about 10:1, far from the ratio limit.
    let entries: Vec<TemplateEntry> = (0..1000).flat_map(|_| realistic_entries()).collect();
    let bytes = write_template(&entries).unwrap();
    let import = read(&bytes);
    assert_eq!(import.problems, vec![]);
    assert_eq!(import.entries.len(), 3000);
    // Drop-downs reach past row 2000 when the entries do.
    let sheet = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains(r#"sqref="F2:F3001""#));
}
