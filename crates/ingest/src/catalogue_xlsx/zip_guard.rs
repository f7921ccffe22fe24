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

/// The most a data workbook's shared strings may expand to: calamine holds them in memory
/// (a few times their XML size, one `String` each).
pub const MAX_SHARED_STRINGS_BYTES: u64 = 256 * 1024 * 1024;

/// Any other part that is not a sheet (workbook, styles, relationships): calamine reads
/// these whole, and real ones are a few kilobytes.
const MAX_OTHER_PART_BYTES: u64 = 64 * 1024 * 1024;

/// An XLSX has a few dozen parts; thousands only multiply the work of checking them.
const MAX_ENTRIES: usize = 1_000;

/// The longest run of XML text or of one tag: Excel's longest cell (32,767 characters,
/// each escaped to at most 6 bytes) fits well within it. The XML parser holds a whole run.
const MAX_XML_RUN_BYTES: u64 = 1024 * 1024;

/// How far an archive may expand: in total, in its shared strings and in each other part
/// that is not a sheet.
#[derive(Clone, Copy)]
struct Limits {
    total: u64,
    shared_strings: u64,
    other_part: u64,
}

const TEMPLATE: Limits = Limits {
    total: MAX_UNZIPPED_BYTES,
    shared_strings: MAX_UNZIPPED_BYTES,
    other_part: MAX_UNZIPPED_BYTES,
};

const DATA: Limits = Limits {
    total: MAX_DATA_UNZIPPED_BYTES,
    shared_strings: MAX_SHARED_STRINGS_BYTES,
    other_part: MAX_OTHER_PART_BYTES,
};

/// The part a limit applies to; names compare without case, as calamine finds them.
fn part_limit(name: &str, limits: Limits) -> Option<(u64, &'static str)> {
    let name = name.to_ascii_lowercase();
    if name == "xl/sharedstrings.xml" {
        Some((limits.shared_strings, "共享字符串表"))
    } else if name.starts_with("xl/worksheets/") {
        None
    } else {
        Some((limits.other_part, "部件"))
    }
}

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
    if archive.len() > MAX_ENTRIES {
        return Err(too_large(format!("压缩包内的部件超过 {MAX_ENTRIES} 个")));
    }
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
        if let Some((limit, what)) = part_limit(entry.name(), limits).filter(|(l, _)| size > *l) {
            return Err(too_large(format!(
                "{what}“{}”声明的解压后大小超过 {} MiB",
                entry.name(),
                limit >> 20
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

/// Real sizes, inflating each entry into a scanner and stopping as soon as it exceeds its
/// declared size. Every entry held to its declaration keeps the real total within the
/// declared total, which `check_declared_sizes` has already bounded. The scanner also
/// refuses a run of text or a tag longer than [`MAX_XML_RUN_BYTES`], which the XML parser
/// would hold whole.
fn check_inflated_sizes<R: Read + Seek>(archive: &mut ZipArchive<R>) -> Result<(), TemplateError> {
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| TemplateError::NotXlsx)?;
        let name = entry.name().to_string();
        let declared = entry.size();
        let mut scanner = RunScanner::default();
        let inflated = io::copy(&mut entry.take(declared + 1), &mut scanner)
            .map_err(|_| TemplateError::NotXlsx)?;
        if inflated > declared {
            return Err(too_large(format!("“{name}”实际解压后大于其声明的大小")));
        }
        if scanner.longest > MAX_XML_RUN_BYTES {
            return Err(too_large(format!(
                "“{name}”含有超过 {} MiB 的单段文本或标签",
                MAX_XML_RUN_BYTES >> 20
            )));
        }
    }
    Ok(())
}

/// Counts the longest run of bytes between two of `<` and `>`.
#[derive(Default)]
struct RunScanner {
    run: u64,
    longest: u64,
}

impl io::Write for RunScanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for part in buf.split_inclusive(|b| *b == b'<' || *b == b'>') {
            let ends = matches!(part.last(), Some(b'<' | b'>'));
            self.run += part.len() as u64;
            self.longest = self.longest.max(self.run);
            if ends {
                self.run = 0;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A data workbook whose parts are `parts`, stored (not compressed).
    fn archive(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn a_run_of_text_longer_than_any_cell_is_refused_before_the_parser_holds_it() {
        let cell = format!("<c><is><t>{}</t></is></c>", "字".repeat(32_767));
        let fine = archive(&[("xl/worksheets/sheet1.xml", cell.as_bytes())]);
        assert!(check_data_workbook(&mut Cursor::new(fine)).is_ok());
        let long = format!("<t>{}</t>", "a".repeat(2 << 20));
        let refused = archive(&[("xl/worksheets/sheet1.xml", long.as_bytes())]);
        let error = check_data_workbook(&mut Cursor::new(refused)).unwrap_err();
        assert!(matches!(error, TemplateError::TooLarge(_)), "{error}");
    }

    #[test]
    fn parts_read_whole_are_limited_whatever_the_case_of_their_names() {
        assert_eq!(
            part_limit("XL/SharedStrings.XML", DATA).map(|(l, _)| l),
            Some(MAX_SHARED_STRINGS_BYTES)
        );
        assert_eq!(
            part_limit("xl/styles.xml", DATA).map(|(l, _)| l),
            Some(MAX_OTHER_PART_BYTES)
        );
        assert_eq!(part_limit("xl/worksheets/sheet1.xml", DATA), None);
        let many: Vec<(String, &[u8])> = (0..=MAX_ENTRIES)
            .map(|i| (format!("xl/part{i}.xml"), &b"<a/>"[..]))
            .collect();
        let parts: Vec<(&str, &[u8])> = many.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        let error = check_data_workbook(&mut Cursor::new(archive(&parts))).unwrap_err();
        assert!(matches!(error, TemplateError::TooLarge(_)), "{error}");
    }
}
