//! Writing the template, empty or pre-filled with a department's entries.

use domain::catalogue::{DataType, Item};
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, Formula, Workbook, Worksheet,
    XlsxError,
};

use super::columns::{
    Column, EntryCol, ItemCol, List, ENTRY_SHEET, GUIDE_SHEET, ITEM_SHEET, LAST_VALIDATED_ROW,
    LIST_SHEET, NO, YES,
};
use super::{packed, TemplateEntry, TemplateError};

/// A cell to write; blank text is left empty.
enum Value {
    Text(String),
    Number(f64),
}

impl Value {
    fn text(text: impl Into<String>) -> Self {
        Value::Text(text.into())
    }

    fn optional(text: Option<&str>) -> Self {
        Value::text(text.unwrap_or_default())
    }

    fn flag(value: bool) -> Self {
        Value::text(if value { YES } else { NO })
    }
}

/// The template with one 目录 row per entry and one 信息项 row per item.
pub fn write_template(entries: &[TemplateEntry]) -> Result<Vec<u8>, TemplateError> {
    let mut workbook = Workbook::new();
    let formats = Formats::new();
    write_entry_sheet(workbook.add_worksheet(), entries, &formats)?;
    write_item_sheet(workbook.add_worksheet(), entries, &formats)?;
    write_guide_sheet(workbook.add_worksheet(), &formats)?;
    write_list_sheet(workbook.add_worksheet(), &formats)?;
    Ok(workbook.save_to_buffer()?)
}

/// The template with headers, drop-downs and instructions but no entries.
pub fn blank_template() -> Result<Vec<u8>, TemplateError> {
    write_template(&[])
}

struct Formats {
    header: Format,
    text: Format,
    title: Format,
    wrapped: Format,
}

impl Formats {
    fn new() -> Self {
        Self {
            header: Format::new()
                .set_bold()
                .set_background_color(0xDDEBF7)
                .set_align(FormatAlign::Center),
            // "@" keeps 01 and 101001/000123 as typed instead of turning them into numbers.
            text: Format::new().set_num_format("@"),
            title: Format::new().set_bold().set_font_size(14),
            wrapped: Format::new().set_text_wrap(),
        }
    }
}

fn write_entry_sheet(
    sheet: &mut Worksheet,
    entries: &[TemplateEntry],
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name(ENTRY_SHEET)?;
    lay_out_columns(sheet, formats, |c: EntryCol| (c.width(), c.keeps_text()))?;
    // Keep 序号, 代码 and 名称 visible while scrolling right through 24 columns.
    sheet.set_freeze_panes(1, 3)?;
    for (i, entry) in entries.iter().enumerate() {
        let row = i as u32 + 1;
        for &col in EntryCol::ALL {
            write_value(sheet, row, col.index(), entry_value(col, i + 1, entry))?;
        }
    }
    let last_row = LAST_VALIDATED_ROW.max(entries.len() as u32);
    for &col in EntryCol::ALL {
        if let Some(list) = col.list() {
            add_drop_down(sheet, col.index(), list, last_row)?;
        }
    }
    Ok(())
}

fn entry_value(col: EntryCol, serial: usize, entry: &TemplateEntry) -> Value {
    let body = &entry.body;
    let share = &body.share;
    match col {
        EntryCol::Serial => Value::Number(serial as f64),
        EntryCol::Code => Value::optional(entry.code.as_deref()),
        EntryCol::Name => Value::text(&body.name),
        EntryCol::Provider => Value::text(&entry.provider_name),
        EntryCol::Status => Value::text(&entry.status_label),
        EntryCol::Class => Value::text(body.class.kind.label()),
        EntryCol::Subclass => Value::Number(f64::from(body.class.subclass)),
        EntryCol::Category => Value::Number(f64::from(body.class.category)),
        EntryCol::Detail => Value::text(&body.class.detail),
        EntryCol::Unit => Value::optional(body.provider_unit.as_deref()),
        EntryCol::Abstract => Value::text(&body.summary),
        EntryCol::FormatKind => Value::text(body.format.kind.label()),
        EntryCol::FormatDetail => Value::text(&body.format.detail),
        EntryCol::ShareType => Value::text(share.share_type.label()),
        EntryCol::ShareConditions => Value::optional(share.conditions.as_deref()),
        EntryCol::LegalBasis => Value::optional(share.legal_basis.as_deref()),
        EntryCol::ShareMode => Value::optional(share.mode.map(|m| m.label())),
        EntryCol::ModeReason => Value::optional(share.mode_reason.as_deref()),
        EntryCol::OpenToPublic => Value::flag(body.open.open_to_public),
        EntryCol::OpenConditions => Value::optional(body.open.conditions.as_deref()),
        EntryCol::UpdateCycle => Value::text(body.update_cycle.label()),
        EntryCol::SecurityGrade => Value::text(body.security_grade.label()),
        EntryCol::RelatedCodes => Value::text(packed::join_list(
            body.related_codes.iter().map(|c| c.as_str()),
        )),
        EntryCol::Extensions => Value::text(packed::join_pairs(&body.extensions)),
    }
}

fn write_item_sheet(
    sheet: &mut Worksheet,
    entries: &[TemplateEntry],
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name(ITEM_SHEET)?;
    lay_out_columns(sheet, formats, |c: ItemCol| (c.width(), c.keeps_text()))?;
    sheet.set_freeze_panes(1, 2)?;
    let items = entries
        .iter()
        .enumerate()
        .flat_map(|(i, entry)| entry.body.items.iter().map(move |item| (i + 1, item)));
    let mut row = 0;
    for (serial, item) in items {
        row += 1;
        for &col in ItemCol::ALL {
            write_value(sheet, row, col.index(), item_value(col, serial, item))?;
        }
    }
    for &col in ItemCol::ALL {
        if let Some(list) = col.list() {
            add_drop_down(sheet, col.index(), list, LAST_VALIDATED_ROW.max(row))?;
        }
    }
    Ok(())
}

fn item_value(col: ItemCol, serial: usize, item: &Item) -> Value {
    match col {
        ItemCol::Serial => Value::Number(serial as f64),
        ItemCol::Name => Value::text(&item.name),
        ItemCol::Identifier => Value::text(&item.identifier),
        ItemCol::DataType => Value::text(item.data_type.label()),
        ItemCol::Length => match item.length {
            Some(length) => Value::Number(f64::from(length)),
            None => Value::text(""),
        },
        ItemCol::Required => Value::flag(item.required),
        ItemCol::Key => Value::flag(item.key),
        ItemCol::CodeTable => Value::optional(item.code_table.as_deref()),
        ItemCol::Rule => Value::text(
            item.rule
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
        ),
        ItemCol::SecurityGrade => Value::text(item.security_grade.label()),
        ItemCol::Personal => Value::flag(item.personal),
        ItemCol::ShareType => Value::optional(item.share_type.map(|s| s.label())),
        ItemCol::Authoritative => Value::flag(item.authoritative),
        ItemCol::Mask => Value::optional(item.mask.map(|m| m.label())),
    }
}

/// Bold header row, readable widths, and text format where digits must stay text.
fn lay_out_columns<C: Column>(
    sheet: &mut Worksheet,
    formats: &Formats,
    layout: impl Fn(C) -> (f64, bool),
) -> Result<(), XlsxError> {
    for &col in C::ALL {
        let (width, keeps_text) = layout(col);
        if keeps_text {
            sheet.set_column_format(col.index(), &formats.text)?;
        }
        sheet.set_column_width(col.index(), width)?;
        sheet.write_string_with_format(0, col.index(), col.header(), &formats.header)?;
    }
    Ok(())
}

fn write_value(sheet: &mut Worksheet, row: u32, col: u16, value: Value) -> Result<(), XlsxError> {
    match value {
        Value::Text(text) if text.is_empty() => {}
        Value::Text(text) => {
            sheet.write_string(row, col, text)?;
        }
        Value::Number(number) => {
            sheet.write_number(row, col, number)?;
        }
    }
    Ok(())
}

/// A drop-down on rows 2..=last_row+1 taking its values from the 枚举 sheet.
fn add_drop_down(
    sheet: &mut Worksheet,
    col: u16,
    list: List,
    last_row: u32,
) -> Result<(), XlsxError> {
    let mut validation = DataValidation::new()
        .allow_list_formula(Formula::new(list.range_formula()))
        .set_error_title("无效的值")?
        .set_error_message(format!(
            "请从下拉列表中选择“{}”，可选值见“{LIST_SHEET}”工作表。",
            list.header()
        ))?;
    if list == List::DataType {
        // The standard's one-letter codes (C, N, D…) are accepted too, so only warn.
        validation = validation
            .set_error_style(DataValidationErrorStyle::Warning)
            .set_error_message(
                "请从下拉列表中选择数据类型，也可填写代码 C、N、Y、D、T、L、M、G、B、I、F。",
            )?;
    }
    sheet.add_data_validation(1, col, last_row, col, &validation)?;
    Ok(())
}

fn write_guide_sheet(sheet: &mut Worksheet, formats: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(GUIDE_SHEET)?;
    sheet.set_column_width(0, 110)?;
    sheet.write_string_with_format(0, 0, "政务数据资源目录填报说明", &formats.title)?;
    for (i, line) in guide_lines().iter().enumerate() {
        sheet.write_string_with_format(i as u32 + 2, 0, line, &formats.wrapped)?;
    }
    // Read-only: the instructions are the bureau's, not the department's.
    sheet.protect();
    Ok(())
}

fn guide_lines() -> Vec<String> {
    let data_types = DataType::ALL
        .iter()
        .map(|t| format!("{} {}", t.code(), t.label()))
        .collect::<Vec<_>>()
        .join("、");
    vec![
        "1. 在“目录”工作表每行填写一条信息资源，“序号”从1起编号且不得重复；“信息项”工作表每行填写一个信息项，用“序号”对应所属的信息资源。".into(),
        "2. 带下拉框的列请从下拉列表中选择，可选值见“枚举”工作表；“是/否”列填写“是”或“否”。".into(),
        "3. 新增资源的“信息资源代码”留空，由平台赋码；修改已有资源时保留原代码。“提供方”“状态”仅供参考，导入时不读取。".into(),
        "4. 分类：“类”为基础、主题或部门；基础类的“项”为1–5（人口、法人单位、自然资源和空间地理、社会信用、电子证照）；部门类的“项”为本部门的目录编号；“目”为1–999；“细目”为不超过6位的数字，可留空。".into(),
        "5. 有条件共享须填写“共享条件”；不予共享须填写“不予共享依据”（法律、行政法规或国务院决定）；不通过共享平台方式共享的，须填写“非平台方式理由”。".into(),
        "6. 格式分类为数据库或电子表格的资源至少需要一个信息项；字符型、数值型、货币型信息项须填写“数据长度”；主键信息项必须为必填。".into(),
        format!("7. 数据类型可填写名称或代码：{data_types}。"),
        "8. 校验规则可填写：id_card（身份证号码）、uscc（统一社会信用代码）、region_code（行政区划代码）、mobile（手机号码）、date（日期）、regex:正则表达式、range:最小值..最大值，如 range:0..150。".into(),
        "9. 信息项的“共享类型”留空表示与所属资源相同，且不得比资源更宽松。".into(),
        "10. “关联资源代码”可填写多个，用分号“;”分隔，如 101001/000001;201003/000002；“扩展元数据”格式为“键=值;键=值”。".into(),
        "11. 请勿修改表头、工作表名称，也不要插入或删除列。".into(),
    ]
}

fn write_list_sheet(sheet: &mut Worksheet, formats: &Formats) -> Result<(), XlsxError> {
    sheet.set_name(LIST_SHEET)?;
    for &list in List::ALL {
        let col = list.index();
        sheet.set_column_width(col, 14)?;
        sheet.write_string_with_format(0, col, list.header(), &formats.header)?;
        for (i, value) in list.values().into_iter().enumerate() {
            sheet.write_string(i as u32 + 1, col, value)?;
        }
    }
    // Read-only: the drop-downs refer to these cells.
    sheet.protect();
    Ok(())
}
