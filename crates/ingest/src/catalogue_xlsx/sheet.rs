//! Reading a plain data sheet (a department's XLSX export): the first row is the header,
//! every later non-blank row a record. Shares the zip-bomb guard and cell reading of the
//! template reader.

use std::io::{Read, Seek};
use std::ops::ControlFlow;

use calamine::{Reader, Xlsx};

use super::cells::cell_text;
use super::zip_guard::check_data_workbook;
use super::TemplateError;

/// One line of a data sheet, as it is read.
#[derive(Debug, PartialEq)]
pub enum SheetLine {
    /// The first used row.
    Header(Vec<String>),
    /// A later non-blank row: its Excel row number (1-based) and its cells, at least as
    /// many as the header's.
    Record(u32, Vec<String>),
}

/// Streams the named sheet, or the first one, to `each` until it breaks: the header, then
/// every non-blank row. One row is in memory at a time (calamine keeps the shared strings,
/// which the zip guard bounds). Dates come back as ISO text and whole numbers without `.0`.
pub fn stream_sheet<RS: Read + Seek, E: From<TemplateError>>(
    mut reader: RS,
    sheet: Option<&str>,
    mut each: impl FnMut(SheetLine) -> Result<ControlFlow<()>, E>,
) -> Result<(), E> {
    check_data_workbook(&mut reader)?;
    let mut workbook = Xlsx::new(reader).map_err(|_| TemplateError::NotXlsx)?;
    let name = match sheet {
        Some(name) if !workbook.sheet_names().iter().any(|n| n == name) => {
            return Err(TemplateError::MissingSheet(name.to_string()).into())
        }
        Some(name) => name.to_string(),
        None => workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or(TemplateError::NotXlsx)?,
    };
    let mut width = None;
    super::bounded::for_each_row(&mut workbook, &name, |row, cells| {
        let mut texts: Vec<String> = cells.iter().map(|c| cell_text(Some(c))).collect();
        match width {
            None => {
                width = Some(texts.len());
                each(SheetLine::Header(texts))
            }
            Some(_) if texts.iter().all(|t| t.is_empty()) => Ok(ControlFlow::Continue(())),
            Some(width) => {
                texts.resize(width.max(texts.len()), String::new());
                // Excel's row numbers are 1-based.
                each(SheetLine::Record(row + 1, texts))
            }
        }
    })?;
    if width.is_none() {
        return Err(TemplateError::NoEntries.into());
    }
    Ok(())
}
