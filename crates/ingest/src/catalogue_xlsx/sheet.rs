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
        Some(name) if !workbook.sheet_names().iter().any(|n| n == name) => {
            return Err(TemplateError::MissingSheet(name.to_string()))
        }
        Some(name) => name.to_string(),
        None => workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or(TemplateError::NotXlsx)?,
    };
    let mut lines = super::bounded::rows(&mut workbook, &name)?.into_iter();
    let header: Vec<String> = match lines.next() {
        Some((_, cells)) => cells.iter().map(|c| cell_text(Some(c))).collect(),
        None => return Err(TemplateError::NoEntries),
    };
    let width = header.len();
    let rows = lines
        .map(|(row, cells)| {
            let mut texts: Vec<String> = cells.iter().map(|c| cell_text(Some(c))).collect();
            texts.resize(width.max(texts.len()), String::new());
            // Excel's row numbers are 1-based.
            (row + 1, texts)
        })
        .filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()))
        .collect();
    Ok(SheetRows { header, rows })
}
