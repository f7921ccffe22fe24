//! Reading a filled template back into catalogue entries, with every problem located at
//! its cell.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Range, Reader, Xlsx};
use domain::catalogue::{
    Item, OpenAttributes, ResourceBody, ResourceFormat, SecurityGrade, ShareAttributes,
};
use domain::code::ResourceClass;
use domain::FieldError;

use super::cells::{cell_text, RowCells};
use super::columns::{
    column_letter, header_position, sheet_rank, Column, EntryCol, ItemCol, ENTRY_SHEET, ITEM_SHEET,
};
use super::{zip_guard, CellProblem, ImportedEntry, TemplateError, TemplateImport};

/// An entry as read from 目录, before validation.
struct Draft {
    /// 1-based Excel row.
    row: u32,
    serial: String,
    code: Option<String>,
    /// `None` when a cell of the row could not be read.
    body: Option<ResourceBody>,
    items: Vec<DraftItem>,
    /// A problem was reported in the row or in one of its items.
    failed: bool,
}

struct DraftItem {
    /// 1-based Excel row on 信息项.
    row: u32,
    item: Option<Item>,
}

/// Reads a filled template. Whole-file problems are errors; problems with cells and with
/// the rules of the catalogue are collected in `problems`, and only entries without any
/// problem (in their row or their items) are returned in `entries`.
/// `provider_branch` is the uploading department's catalogue branch number (项 of its
/// departmental resources).
pub fn read_template(bytes: &[u8], provider_branch: u8) -> Result<TemplateImport, TemplateError> {
    zip_guard::check_unzipped_size(bytes)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|_| TemplateError::NotXlsx)?;
    let entry_range = load_sheet::<EntryCol>(&mut workbook)?;
    let item_range = load_sheet::<ItemCol>(&mut workbook)?;

    let mut problems = Vec::new();
    let mut drafts = read_entries(&entry_range, &mut problems);
    if drafts.is_empty() {
        return Err(TemplateError::NoEntries);
    }
    flag_repeated_serials(&mut drafts, &mut problems);
    attach_items(&item_range, &mut drafts, &mut problems);
    let entries = validate_drafts(drafts, provider_branch, &mut problems);
    problems.sort_by_key(|p| {
        (
            sheet_rank(&p.sheet),
            p.row,
            header_position(&p.sheet, &p.column),
        )
    });
    tracing::debug!(
        entries = entries.len(),
        problems = problems.len(),
        "read catalogue template"
    );
    Ok(TemplateImport { entries, problems })
}

/// The sheet of columns `C`, after checking it exists and its header row is the template's.
fn load_sheet<C: Column>(workbook: &mut Xlsx<Cursor<&[u8]>>) -> Result<Range<Data>, TemplateError> {
    if !workbook.sheet_names().iter().any(|name| name == C::SHEET) {
        return Err(TemplateError::MissingSheet(C::SHEET.to_string()));
    }
    let range = super::bounded::range(workbook, C::SHEET, MAX_TEMPLATE_CELLS)?;
    check_headers::<C>(&range)?;
    Ok(range)
}

/// The area a template sheet's cells may span: a catalogue of 10,000 entries with every
/// column is 300,000 cells.
const MAX_TEMPLATE_CELLS: u64 = 2_000_000;

/// Columns are read by position, so a moved or renamed column must stop the import rather
/// than put values in the wrong fields. Extra columns after the last are ignored.
fn check_headers<C: Column>(range: &Range<Data>) -> Result<(), TemplateError> {
    for &col in C::ALL {
        let found = cell_text(range.get_value((0, u32::from(col.index()))));
        if found.is_empty() && col.optional() {
            continue;
        }
        if found != col.header() {
            return Err(TemplateError::WrongHeader {
                sheet: C::SHEET.to_string(),
                position: col.index() + 1,
                letter: column_letter(col.index()),
                expected: col.header().to_string(),
                found,
            });
        }
    }
    Ok(())
}

/// Data rows of a sheet: 0-based calamine rows after the header.
fn data_rows(range: &Range<Data>) -> std::ops::RangeInclusive<u32> {
    let last = range.end().map_or(0, |(row, _)| row);
    1..=last
}

fn read_entries(range: &Range<Data>, problems: &mut Vec<CellProblem>) -> Vec<Draft> {
    let mut drafts = Vec::new();
    for row in data_rows(range) {
        let mut cells = RowCells::<EntryCol>::new(range, row);
        if cells.is_blank() {
            continue;
        }
        let serial = read_serial(&mut cells, EntryCol::Serial);
        let code = cells.code(EntryCol::Code);
        let body = read_body(&mut cells);
        drafts.push(Draft {
            row: cells.excel_row(),
            serial: serial.unwrap_or_default(),
            code: code.flatten(),
            body,
            items: Vec::new(),
            failed: !cells.problems.is_empty(),
        });
        problems.append(&mut cells.problems);
    }
    drafts
}

/// The 序号 that links items to entries; it must be filled in.
fn read_serial<C: Column>(cells: &mut RowCells<'_, C>, col: C) -> Option<String> {
    let serial = cells.optional_text(col);
    cells.required(col, serial)
}

fn read_body(cells: &mut RowCells<'_, EntryCol>) -> Option<ResourceBody> {
    use EntryCol as E;
    let name = cells.text(E::Name);
    let kind = cells.choice(E::Class);
    let subclass = cells.number(E::Subclass);
    let subclass = cells.required(E::Subclass, subclass);
    let category = cells.number(E::Category);
    let category = cells.required(E::Category, category);
    let detail = cells.text(E::Detail);
    let unit = cells.optional_text(E::Unit);
    let summary = cells.text(E::Abstract);
    let format_kind = cells.choice(E::FormatKind);
    let format_detail = cells.text(E::FormatDetail);
    let share = read_share(cells);
    let open_to_public = cells.flag(E::OpenToPublic);
    let open_conditions = cells.optional_text(E::OpenConditions);
    let update_cycle = cells.choice(E::UpdateCycle);
    let security_grade = cells.choice(E::SecurityGrade);
    let related_codes = cells.codes(E::RelatedCodes);
    let extensions = cells.pairs(E::Extensions);
    Some(ResourceBody {
        name: name?,
        class: ResourceClass {
            kind: kind?,
            subclass: subclass?,
            category: category?,
            detail: detail?,
        },
        provider_unit: unit?,
        summary: summary?,
        format: ResourceFormat {
            kind: format_kind?,
            detail: format_detail?,
        },
        // Items come from the other sheet and are attached later.
        items: Vec::new(),
        share: share?,
        open: OpenAttributes {
            open_to_public: open_to_public?,
            conditions: open_conditions?,
        },
        update_cycle: update_cycle?,
        related_codes: related_codes?,
        security_grade: security_grade?,
        extensions: extensions?,
    })
}

fn read_share(cells: &mut RowCells<'_, EntryCol>) -> Option<ShareAttributes> {
    use EntryCol as E;
    let share_type = cells.choice(E::ShareType);
    let conditions = cells.optional_text(E::ShareConditions);
    let legal_basis = cells.optional_text(E::LegalBasis);
    let mode = cells.optional_choice(E::ShareMode);
    let mode_reason = cells.optional_text(E::ModeReason);
    Some(ShareAttributes {
        share_type: share_type?,
        conditions: conditions?,
        legal_basis: legal_basis?,
        mode: mode?,
        mode_reason: mode_reason?,
    })
}

/// A 序号 used twice makes it ambiguous which entry the items belong to, so every row
/// using it is reported and kept out.
fn flag_repeated_serials(drafts: &mut [Draft], problems: &mut Vec<CellProblem>) {
    let mut rows: HashMap<&str, Vec<u32>> = HashMap::new();
    for draft in drafts.iter().filter(|d| !d.serial.is_empty()) {
        rows.entry(&draft.serial).or_default().push(draft.row);
    }
    let repeated: HashMap<String, String> = rows
        .into_iter()
        .filter(|(_, rows)| rows.len() > 1)
        .map(|(serial, rows)| {
            let rows = rows.iter().map(u32::to_string).collect::<Vec<_>>();
            (serial.to_string(), rows.join("、"))
        })
        .collect();
    for draft in drafts.iter_mut() {
        if let Some(rows) = repeated.get(&draft.serial) {
            draft.failed = true;
            problems.push(CellProblem {
                sheet: ENTRY_SHEET.to_string(),
                row: draft.row,
                column: EntryCol::Serial.header().to_string(),
                message: format!(
                    "序号“{}”重复（第{rows}行），每条信息资源的序号应唯一",
                    draft.serial
                ),
            });
        }
    }
}

/// Reads 信息项 and attaches each item to the entry with the same 序号. Problems in an
/// item keep its entry out. Items of no entry are still read so all their problems show.
fn attach_items(range: &Range<Data>, drafts: &mut [Draft], problems: &mut Vec<CellProblem>) {
    let mut by_serial: HashMap<String, usize> = HashMap::new();
    for (i, draft) in drafts.iter().enumerate() {
        by_serial.entry(draft.serial.clone()).or_insert(i);
    }
    by_serial.remove("");
    for row in data_rows(range) {
        let mut cells = RowCells::<ItemCol>::new(range, row);
        if cells.is_blank() {
            continue;
        }
        let serial = read_serial(&mut cells, ItemCol::Serial);
        let owner = serial.as_ref().and_then(|s| by_serial.get(s).copied());
        if let (Some(serial), None) = (&serial, owner) {
            cells.problem(
                ItemCol::Serial,
                format!("序号“{serial}”在“{ENTRY_SHEET}”工作表中没有对应的信息资源"),
            );
        }
        let item = read_item(&mut cells);
        if let Some(draft) = owner.map(|i| &mut drafts[i]) {
            draft.failed |= !cells.problems.is_empty();
            draft.items.push(DraftItem {
                row: cells.excel_row(),
                item,
            });
        }
        problems.append(&mut cells.problems);
    }
}

fn read_item(cells: &mut RowCells<'_, ItemCol>) -> Option<Item> {
    use ItemCol as I;
    let name = cells.text(I::Name);
    let identifier = cells.text(I::Identifier);
    let data_type = cells.choice(I::DataType);
    let length = cells.number(I::Length);
    let required = cells.flag(I::Required);
    let key = cells.flag(I::Key);
    let code_table = cells.optional_text(I::CodeTable);
    let rule = cells.parsed(I::Rule);
    let security_grade = cells.optional_choice(I::SecurityGrade);
    let personal = cells.flag(I::Personal);
    let share_type = cells.optional_choice(I::ShareType);
    let authoritative = cells.flag(I::Authoritative);
    let mask = cells.optional_choice(I::Mask);
    Some(Item {
        name: name?,
        identifier: identifier?,
        data_type: data_type?,
        length: length?,
        required: required?,
        key: key?,
        code_table: code_table?,
        rule: rule?,
        // Same default as the JSON form: 一般数据 unless stated.
        security_grade: security_grade?.unwrap_or(SecurityGrade::General),
        personal: personal?,
        share_type: share_type?,
        authoritative: authoritative?,
        mask: mask?,
    })
}

/// Validates every entry read without problems and keeps those that pass.
fn validate_drafts(
    drafts: Vec<Draft>,
    provider_branch: u8,
    problems: &mut Vec<CellProblem>,
) -> Vec<ImportedEntry> {
    let mut entries = Vec::new();
    for draft in drafts {
        if draft.failed {
            continue;
        }
        let item_rows: Vec<u32> = draft.items.iter().map(|i| i.row).collect();
        let items: Option<Vec<Item>> = draft.items.into_iter().map(|i| i.item).collect();
        let (Some(mut body), Some(items)) = (draft.body, items) else {
            continue;
        };
        body.items = items;
        match body.validate(provider_branch) {
            Ok(()) => entries.push(ImportedEntry {
                row: draft.row,
                serial: draft.serial,
                code: draft.code,
                body,
            }),
            Err(errors) => problems.extend(
                errors
                    .0
                    .into_iter()
                    .map(|error| locate(error, draft.row, &item_rows)),
            ),
        }
    }
    entries
}

/// The cell a validation error is about: `items[i].x` is on the i-th item's row of
/// 信息项, anything else on the entry's row of 目录.
fn locate(error: FieldError, entry_row: u32, item_rows: &[u32]) -> CellProblem {
    let on_item = item_field(&error.field)
        .and_then(|(i, field)| Some((*item_rows.get(i)?, ItemCol::for_field(field))));
    let (sheet, row, column, known) = match on_item {
        Some((row, col)) => (
            ITEM_SHEET,
            row,
            col.unwrap_or(ItemCol::Name).header(),
            col.is_some(),
        ),
        None => {
            let col = EntryCol::for_field(&error.field);
            (
                ENTRY_SHEET,
                entry_row,
                col.unwrap_or(EntryCol::Name).header(),
                col.is_some(),
            )
        }
    };
    // A field without a column of its own is named so the message still makes sense.
    let message = if known {
        error.message
    } else {
        format!("{}（{}）", error.message, error.field)
    };
    CellProblem {
        sheet: sheet.to_string(),
        row,
        column: column.to_string(),
        message,
    }
}

/// `items[2].length` → `(2, "length")`.
fn item_field(field: &str) -> Option<(usize, &str)> {
    let (index, rest) = field.strip_prefix("items[")?.split_once("].")?;
    Some((index.parse().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_fields_split_into_index_and_name() {
        assert_eq!(item_field("items[2].length"), Some((2, "length")));
        assert_eq!(item_field("items"), None);
        assert_eq!(item_field("share.mode"), None);
    }

    #[test]
    fn validation_errors_land_on_their_cells() {
        let problem = locate(FieldError::new("items[1].identifier", "x"), 4, &[7, 9]);
        assert_eq!(
            (problem.sheet.as_str(), problem.row, problem.column.as_str()),
            (ITEM_SHEET, 9, "标识符")
        );
        let problem = locate(FieldError::new("class.subclass", "x"), 4, &[]);
        assert_eq!(
            (problem.sheet.as_str(), problem.row, problem.column.as_str()),
            (ENTRY_SHEET, 4, "项")
        );
        let problem = locate(FieldError::new("mystery", "x"), 4, &[]);
        assert_eq!(problem.column, "信息资源名称");
        assert!(problem.message.contains("mystery"));
    }
}
