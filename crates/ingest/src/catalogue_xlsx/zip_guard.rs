//! Refusing zip bombs before calamine inflates anything.
//!
//! An XLSX is a zip archive and calamine reads whole parts (shared strings, sheets) into
//! memory, so a small upload could expand to gigabytes. The central directory says how
//! large each entry claims to be; that is checked first, without inflating. Because those
//! claims can lie and the zip reader does not stop at the claimed size, every entry is
//! then inflated once into a counting sink, never into memory, and the real total is held
//! to the same limit.

use std::io::{self, Cursor, Read, Seek};

use zip::ZipArchive;

use super::TemplateError;

/// The most a template may expand to: far more than any real catalogue needs.
pub const MAX_UNZIPPED_BYTES: u64 = 64 * 1024 * 1024;

/// The most a data workbook may expand to. Its sheet is streamed a row at a time, so this
/// bounds the work, not the memory: a full sheet (1,048,576 rows) of 30 wide columns.
pub const MAX_DATA_UNZIPPED_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// The most a data workbook's shared strings may expand to: calamine holds them in memory.
pub const MAX_SHARED_STRINGS_BYTES: u64 = 1024 * 1024 * 1024;

/// How far an archive may expand: in total, and in its shared strings.
#[derive(Clone, Copy)]
struct Limits {
    total: u64,
    shared_strings: u64,
}

const TEMPLATE: Limits = Limits {
    total: MAX_UNZIPPED_BYTES,
    shared_strings: MAX_UNZIPPED_BYTES,
};

const DATA: Limits = Limits {
    total: MAX_DATA_UNZIPPED_BYTES,
    shared_strings: MAX_SHARED_STRINGS_BYTES,
};

const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// Deflate cannot do much better than 1000:1; real sheets stay well under 100:1.
const MAX_RATIO: u64 = 200;

/// Small entries (styles, a sheet of empty rows) may compress absurdly without harm.
const RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

/// A catalogue template, read whole into memory.
pub(super) fn check_unzipped_size(bytes: &[u8]) -> Result<(), TemplateError> {
    check(Cursor::new(bytes), TEMPLATE)
}

/// A department's data workbook, streamed; `reader` is rewound for calamine.
pub(super) fn check_data_workbook<R: Read + Seek>(reader: &mut R) -> Result<(), TemplateError> {
    check(&mut *reader, DATA)?;
    reader.rewind().map_err(|_| TemplateError::NotXlsx)
}

fn check<R: Read + Seek>(reader: R, limits: Limits) -> Result<(), TemplateError> {
    let mut archive = ZipArchive::new(reader).map_err(|_| TemplateError::NotXlsx)?;
    check_declared_sizes(&mut archive, limits)?;
    check_inflated_sizes(&mut archive)
}

fn too_large(detail: String) -> TemplateError {
    TemplateError::TooLarge(detail)
}

/// Sizes as the central directory declares them; nothing is inflated.
fn check_declared_sizes<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    limits: Limits,
) -> Result<(), TemplateError> {
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|_| TemplateError::NotXlsx)?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if total > limits.total {
            return Err(too_large(format!(
                "压缩包声明的解压后大小超过 {} MiB",
                limits.total >> 20
            )));
        }
        if entry.name() == SHARED_STRINGS && size > limits.shared_strings {
            return Err(too_large(format!(
                "共享字符串表声明的解压后大小超过 {} MiB",
                limits.shared_strings >> 20
            )));
        }
        if size > RATIO_EXEMPT_BYTES && size / compressed.max(1) > MAX_RATIO {
            return Err(too_large(format!(
                "“{}”声明的压缩比超过 {MAX_RATIO}:1",
                entry.name()
            )));
        }
    }
    Ok(())
}

/// Real sizes, inflating each entry into a sink and stopping as soon as it exceeds its
/// declared size. Every entry held to its declaration keeps the real total within the
/// declared total, which `check_declared_sizes` has already bounded.
fn check_inflated_sizes<R: Read + Seek>(archive: &mut ZipArchive<R>) -> Result<(), TemplateError> {
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| TemplateError::NotXlsx)?;
        let name = entry.name().to_string();
        let declared = entry.size();
        let inflated = io::copy(&mut entry.take(declared + 1), &mut io::sink())
            .map_err(|_| TemplateError::NotXlsx)?;
        if inflated > declared {
            return Err(too_large(format!("“{name}”实际解压后大于其声明的大小")));
        }
    }
    Ok(())
}
