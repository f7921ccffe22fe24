//! Reading a plain data sheet (a department's XLSX export): the first row is the header,
//! every later non-blank row a record. Shares the zip-bomb guard and cell reading of the
//! template reader.

use std::io::Cursor;

use calamine::{Reader, Xlsx};

use super::cells::cell_text;
use super::zip_guard::check_unzipped_size;
use super::TemplateError;

/// A sheet's header and records; each record carries its Excel row number.
pub struct SheetRows {
    pub header: Vec<String>,
    pub rows: Vec<(u32, Vec<String>)>,
}

/// Reads the named sheet, or the first one. Dates come back as ISO text and whole numbers
/// without `.0`.
pub fn read_sheet(bytes: &[u8], sheet: Option<&str>) -> Result<SheetRows, TemplateError> {
    check_unzipped_size(bytes)?;
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|_| TemplateError::NotXlsx)?;
    let name = match sheet {
        Some(name) => name.to_string(),
        None => workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or(TemplateError::NotXlsx)?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|_| TemplateError::MissingSheet(name.clone()))?;
    let mut lines = range.rows();
    let header: Vec<String> = match lines.next() {
        Some(cells) => cells.iter().map(|c| cell_text(Some(c))).collect(),
        None => return Err(TemplateError::NoEntries),
    };
    let first_row = range.start().map_or(0, |(row, _)| row);
    let rows = lines
        .enumerate()
        .map(|(i, cells)| {
            (
                first_row + i as u32 + 2,
                cells.iter().map(|c| cell_text(Some(c))).collect::<Vec<_>>(),
            )
        })
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect();
    Ok(SheetRows { header, rows })
}
