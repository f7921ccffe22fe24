//! Refusing zip bombs before calamine inflates anything.
//!
//! An XLSX is a zip archive and calamine reads whole parts (shared strings, sheets) into
//! memory, so a small upload could expand to gigabytes. The central directory says how
//! large each entry claims to be; that is checked first, without inflating. Because those
//! claims can lie and the zip reader does not stop at the claimed size, every entry is
//! then inflated once into a counting sink, never into memory, and the real total is held
//! to the same limit.

use std::io::{self, Cursor, Read};

use zip::ZipArchive;

use super::TemplateError;

/// The most a template may expand to: far more than any real catalogue needs.
pub const MAX_UNZIPPED_BYTES: u64 = 64 * 1024 * 1024;

/// Deflate cannot do much better than 1000:1; real sheets stay well under 100:1.
const MAX_RATIO: u64 = 200;

/// Small entries (styles, a sheet of empty rows) may compress absurdly without harm.
const RATIO_EXEMPT_BYTES: u64 = 1024 * 1024;

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(super) fn check_unzipped_size(bytes: &[u8]) -> Result<(), TemplateError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|_| TemplateError::NotXlsx)?;
    check_declared_sizes(&mut archive)?;
    check_inflated_sizes(&mut archive)
}

fn too_large(detail: String) -> TemplateError {
    TemplateError::TooLarge(detail)
}

/// Sizes as the central directory declares them; nothing is inflated.
fn check_declared_sizes(archive: &mut Archive<'_>) -> Result<(), TemplateError> {
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|_| TemplateError::NotXlsx)?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        if total > MAX_UNZIPPED_BYTES {
            return Err(too_large(format!(
                "压缩包声明的解压后大小超过 {} MiB",
                MAX_UNZIPPED_BYTES >> 20
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
fn check_inflated_sizes(archive: &mut Archive<'_>) -> Result<(), TemplateError> {
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
