//! The bureau's XLSX catalogue template: departments download it (empty or pre-filled),
//! fill it in Excel or WPS, and upload it back.
//!
//! Sheets: 目录 (one row per catalogue entry), 信息项 (one row per item, linked to its entry
//! by 序号), 说明 (how to fill it, read-only) and 枚举 (the values of the drop-downs,
//! read-only). Reading never stops at the first mistake: every problem is reported with its
//! sheet, row and column header so the department can fix the file in one pass.

mod bounded;
mod cells;
mod columns;
mod packed;
mod read;
mod sheet;
mod write;
mod zip_guard;

use domain::catalogue::ResourceBody;
use serde::Serialize;

pub use read::read_template;
pub use sheet::{stream_sheet, SheetLine};
pub use write::{blank_template, write_template};
pub use zip_guard::{MAX_DATA_UNZIPPED_BYTES, MAX_SHARED_STRINGS_BYTES, MAX_UNZIPPED_BYTES};

/// One catalogue entry to put in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateEntry {
    /// 信息资源代码 of an existing entry; `None` for a new one.
    pub code: Option<String>,
    /// 提供方, shown for reference; ignored on reading (the uploader is the provider).
    pub provider_name: String,
    /// 状态 label, shown for reference; ignored on reading.
    pub status_label: String,
    pub body: ResourceBody,
}

/// What a template contained: the entries without any problem, and every problem found.
/// The caller decides whether to import nothing when `problems` is non-empty (the
/// default) or only `entries`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateImport {
    pub entries: Vec<ImportedEntry>,
    pub problems: Vec<CellProblem>,
}

/// An entry whose cells, items and body all passed every check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedEntry {
    /// 1-based Excel row of the entry on 目录.
    pub row: u32,
    /// 序号 as written in the file.
    pub serial: String,
    /// 信息资源代码 in canonical form (`前段码/后段码`), if the row had one.
    pub code: Option<String>,
    pub body: ResourceBody,
}

/// One problem, pointing at one cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellProblem {
    pub sheet: String,
    /// 1-based Excel row.
    pub row: u32,
    /// The header text of the column, e.g. "共享条件".
    pub column: String,
    pub message: String,
}

/// A problem with the whole file, which stops reading it.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("文件不是有效的 XLSX 文件")]
    NotXlsx,
    #[error("文件解压后过大或压缩比异常，拒绝读取：{0}")]
    TooLarge(String),
    /// A sheet's used cells span more rows × columns than may be read.
    #[error("{0}")]
    SheetTooLarge(String),
    #[error("缺少工作表“{0}”")]
    MissingSheet(String),
    #[error("工作表“{sheet}”无法读取：{detail}")]
    UnreadableSheet { sheet: String, detail: String },
    #[error("工作表“{sheet}”第{position}列（{letter}列）的表头应为“{expected}”，实际为“{found}”")]
    WrongHeader {
        sheet: String,
        /// 1-based column number.
        position: u16,
        letter: String,
        expected: String,
        found: String,
    },
    #[error("工作表“目录”中没有填写任何信息资源")]
    NoEntries,
    #[error("生成模板失败：{0}")]
    Write(#[from] rust_xlsxwriter::XlsxError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers propagate template errors with `?` into `anyhow` and across tasks.
    #[test]
    fn template_error_is_a_thread_safe_error() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<TemplateError>();
        assert_eq!(
            TemplateError::MissingSheet("信息项".into()).to_string(),
            "缺少工作表“信息项”"
        );
    }
}
