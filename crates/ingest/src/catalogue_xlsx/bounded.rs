//! Reading a sheet without trusting the size it claims. calamine's `worksheet_range`
//! allocates every cell between the first and the last used one, so a 5 KB workbook with
//! one cell in A1 and one in XFD1048576 asks for 17 billion cells and ends the process.
//! Here cells are streamed, only used ones are kept, and the area they span is held to a
//! limit before anything dense is built.

use std::io::{Read, Seek};
use std::ops::ControlFlow;

use calamine::{Cell, Data, Range, Xlsx};

use super::TemplateError;

/// The columns a sheet may use: far more than any catalogue or data export has.
pub const MAX_COLUMNS: u32 = 1_000;

/// Excel's own limit on a cell's text. A shared string is copied into every cell that
/// refers to it, so one long string used by many cells would multiply in memory.
pub const MAX_CELL_CHARS: usize = 32_767;

fn too_long(sheet: &str, row: u32, column: u32) -> TemplateError {
    TemplateError::SheetTooLarge(format!(
        "工作表“{sheet}”第{}行第{}列的单元格超过 {MAX_CELL_CHARS} 个字符（Excel 的上限）",
        u64::from(row) + 1,
        u64::from(column) + 1
    ))
}

fn too_wide(sheet: &str, rows: u64, columns: u64) -> TemplateError {
    TemplateError::SheetTooLarge(format!(
        "工作表“{sheet}”的单元格范围过大（{rows} 行 × {columns} 列）：请删除表格之外的内容后重新保存"
    ))
}

fn unreadable(sheet: &str, error: calamine::XlsxError) -> TemplateError {
    match error {
        calamine::XlsxError::WorksheetNotFound(_) => TemplateError::MissingSheet(sheet.into()),
        other => TemplateError::UnreadableSheet {
            sheet: sheet.to_string(),
            detail: other.to_string(),
        },
    }
}

/// Streams the used cells of `sheet` to `each` until it breaks, refusing a column past
/// [`MAX_COLUMNS`].
fn for_each_cell<RS: Read + Seek, E: From<TemplateError>>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    mut each: impl FnMut(Cell<Data>) -> Result<ControlFlow<()>, E>,
) -> Result<ControlFlow<()>, E> {
    let mut cells = workbook
        .worksheet_cells_reader(sheet)
        .map_err(|e| unreadable(sheet, e))?;
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(sheet, e))? {
        let (row, column) = cell.get_position();
        let text = match cell.get_value() {
            calamine::DataRef::SharedString(text) => Some(*text),
            calamine::DataRef::String(text) => Some(text.as_str()),
            _ => None,
        };
        // Checked before the copy below; bytes first, as counting characters costs more.
        if text.is_some_and(|t| t.len() > MAX_CELL_CHARS && t.chars().count() > MAX_CELL_CHARS) {
            return Err(too_long(sheet, row, column).into());
        }
        let value: Data = cell.get_value().clone().into();
        if value == Data::Empty {
            continue;
        }
        if column >= MAX_COLUMNS {
            return Err(too_wide(sheet, u64::from(row) + 1, u64::from(column) + 1).into());
        }
        if each(Cell::new((row, column), value))?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// The used cells of `sheet` as a range, if the area they span holds at most `max_cells`.
pub(super) fn range<RS: Read + Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    max_cells: u64,
) -> Result<Range<Data>, TemplateError> {
    let mut used = Vec::new();
    let (mut last_row, mut last_column) = (0u64, 0u64);
    // Never breaks: every used cell is wanted.
    let _ = for_each_cell(workbook, sheet, |cell| {
        let (row, column) = cell.get_position();
        last_row = last_row.max(u64::from(row) + 1);
        last_column = last_column.max(u64::from(column) + 1);
        if last_row.saturating_mul(last_column) > max_cells {
            return Err(too_wide(sheet, last_row, last_column));
        }
        used.push(cell);
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(Range::from_sparse(used))
}

/// Streams the used rows of `sheet`, in order, to `each` until it breaks: each with its
/// 0-based row number and its cells up to the last used column (blank cells as
/// `Data::Empty`). One row is held at a time, and nothing wider than [`MAX_COLUMNS`] is
/// ever allocated.
pub(super) fn for_each_row<RS: Read + Seek, E: From<TemplateError>>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    mut each: impl FnMut(u32, Vec<Data>) -> Result<ControlFlow<()>, E>,
) -> Result<(), E> {
    let mut current: Option<(u32, Vec<Data>)> = None;
    let flow = for_each_cell::<RS, E>(workbook, sheet, |cell| {
        let (row, column) = cell.get_position();
        if current.as_ref().is_some_and(|(r, _)| *r != row) {
            let (done, cells) = current.take().expect("checked");
            if each(done, cells)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        let cells = &mut current.get_or_insert_with(|| (row, Vec::new())).1;
        let column = column as usize;
        if cells.len() <= column {
            cells.resize(column + 1, Data::Empty);
        }
        cells[column] = cell.get_value().clone();
        Ok(ControlFlow::Continue(()))
    })?;
    if let (ControlFlow::Continue(()), Some((row, cells))) = (flow, current) {
        // The last row: nothing follows, whether it breaks or not.
        let _ = each(row, cells)?;
    }
    Ok(())
}

#[cfg(test)]
fn rows<RS: Read + Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
) -> Result<Vec<(u32, Vec<Data>)>, TemplateError> {
    let mut rows = Vec::new();
    for_each_row(workbook, sheet, |row, cells| {
        rows.push((row, cells));
        Ok::<_, TemplateError>(ControlFlow::Continue(()))
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;
    use std::io::Cursor;

    fn workbook(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("表").unwrap();
        for (row, column, text) in cells {
            sheet.write_string(*row, *column, *text).unwrap();
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_sheet_claiming_every_cell_is_refused_without_allocating_them() {
        let bytes = workbook(&[(0, 0, "a"), (1_048_575, 16_383, "z")]);
        let mut book = Xlsx::new(Cursor::new(bytes.as_slice())).unwrap();
        let error = range(&mut book, "表", 1_000_000).unwrap_err();
        assert!(matches!(error, TemplateError::SheetTooLarge(_)), "{error}");
        let mut book = Xlsx::new(Cursor::new(bytes.as_slice())).unwrap();
        assert!(matches!(
            rows(&mut book, "表"),
            Err(TemplateError::SheetTooLarge(_))
        ));
        // Far down but narrow: within the area limit, and only used cells are kept.
        let tall = workbook(&[(0, 0, "a"), (500_000, 1, "b")]);
        let mut book = Xlsx::new(Cursor::new(tall.as_slice())).unwrap();
        assert!(matches!(
            range(&mut book, "表", 100_000),
            Err(TemplateError::SheetTooLarge(_))
        ));
        let mut book = Xlsx::new(Cursor::new(tall.as_slice())).unwrap();
        let read = rows(&mut book, "表").unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].0, 500_000);
        assert_eq!(read[1].1, vec![Data::Empty, Data::String("b".into())]);
        assert!(book.sheet_names().contains(&"表".to_string()));
    }
}
