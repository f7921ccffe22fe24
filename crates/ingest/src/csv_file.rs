//! Reading department CSV exports: UTF-8 (with or without BOM) or GB 18030/GBK, detected
//! or declared; any common delimiter, sniffed from the header line; quoted fields with
//! newlines. Streaming: only a small sample is held to detect the encoding, so a 2 GB file
//! costs no more memory than a small one.

use std::io::{Chain, Cursor, Read};

use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

/// How many bytes are inspected to choose the encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// The encoding of a file, as declared by the uploader or detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Auto,
    Utf8,
    Gb18030,
}

impl TextEncoding {
    /// `auto` (or empty), `utf8`/`utf-8`, `gb18030`/`gbk`: the names the API, the upload
    /// page and the CLI accept.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Some(TextEncoding::Auto),
            "utf8" | "utf-8" => Some(TextEncoding::Utf8),
            "gb18030" | "gbk" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("文件为空")]
    Empty,
    #[error("读取文件失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("第{row}行：{message}")]
    Row { row: u64, message: String },
}

/// The file as text: the sniffed sample put back in front of the rest, then decoded.
type Decoded<R> = DecodeReaderBytes<Chain<Cursor<Vec<u8>>, R>, Vec<u8>>;

/// The largest record accepted. A quote left open would otherwise make the rest of a
/// 2 GB file one field, held in memory.
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// Counts the bytes handed to the CSV parser and fails once one record runs past
/// [`MAX_RECORD_BYTES`]; `record_start` is where the record being parsed began.
struct RecordGuard<R> {
    inner: R,
    read: u64,
    record_start: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read - self.record_start.get() > MAX_RECORD_BYTES {
            return Err(std::io::Error::other(format!(
                "一条记录超过 {} MiB，可能是引号未闭合",
                MAX_RECORD_BYTES >> 20
            )));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// An open CSV file: its header and a stream of records.
pub struct CsvFile<R: Read> {
    /// `UTF-8` or `gb18030`.
    pub encoding: &'static str,
    pub delimiter: u8,
    pub header: Vec<String>,
    records: csv::StringRecordsIntoIter<RecordGuard<Decoded<R>>>,
    record_start: std::rc::Rc<std::cell::Cell<u64>>,
}

/// Valid UTF-8, allowing a character cut off at the end of the sample.
fn looks_like_utf8(sample: &[u8]) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    }
}

fn choose_encoding(declared: TextEncoding, sample: &[u8]) -> &'static Encoding {
    match declared {
        TextEncoding::Utf8 => UTF_8,
        TextEncoding::Gb18030 => GB18030,
        TextEncoding::Auto if sample.starts_with(b"\xEF\xBB\xBF") || looks_like_utf8(sample) => {
            UTF_8
        }
        // GB 18030 is a superset of GBK and GB 2312, which older systems export.
        TextEncoding::Auto => GB18030,
    }
}

/// The most frequent of `,` `\t` `;` `|` on the first line (outside quotes), comma if none.
fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let candidates = [b',', b'\t', b';', b'|'];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = candidates.iter().position(|c| *c == b) {
                counts[i] += 1;
            }
        }
    }
    let (best, count) = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .expect("four candidates");
    if *count == 0 {
        b','
    } else {
        candidates[best]
    }
}

/// Opens a CSV stream. `delimiter` overrides sniffing.
pub fn open_csv<R: Read>(
    mut reader: R,
    encoding: TextEncoding,
    delimiter: Option<u8>,
) -> Result<CsvFile<R>, CsvError> {
    let mut sample = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut sample)?;
    let chosen = choose_encoding(encoding, &sample);
    if sample.iter().all(|b| b.is_ascii_whitespace()) || sample == b"\xEF\xBB\xBF" {
        return Err(CsvError::Empty);
    }
    let (decoded_sample, _, _) = chosen.decode(&sample);
    let first_line = decoded_sample
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(first_line.as_bytes()));
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(chosen))
        .bom_override(true)
        .build(Cursor::new(sample).chain(reader));
    let record_start = std::rc::Rc::new(std::cell::Cell::new(0));
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(RecordGuard {
            inner: decoder,
            read: 0,
            record_start: record_start.clone(),
        });
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| CsvError::Row {
            row: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    Ok(CsvFile {
        encoding: chosen.name(),
        delimiter,
        header,
        records: csv.into_records(),
        record_start,
    })
}

/// One data record: its 1-based line number in the file (the header is line 1; a quoted
/// field with newlines makes a record span several lines) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRecord {
    pub line: u64,
    pub fields: Vec<String>,
}

impl<R: Read> Iterator for CsvFile<R> {
    /// A ragged record is an error for that record only; reading goes on.
    type Item = Result<CsvRecord, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        let expected = self.header.len();
        let record = self.records.next()?;
        self.record_start
            .set(self.records.reader().position().byte());
        Some(match record {
            Err(e) => {
                let row = e.position().map_or(0, |p| p.line());
                let message = e.to_string();
                match e.into_kind() {
                    // Reading failed (or a record ran away): the file cannot go on.
                    csv::ErrorKind::Io(io) => Err(CsvError::Io(io)),
                    _ => Err(CsvError::Row { row, message }),
                }
            }
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != expected {
                    Err(CsvError::Row {
                        row: line,
                        message: format!("有{}列，表头有{}列", record.len(), expected),
                    })
                } else {
                    Ok(CsvRecord {
                        line,
                        fields: record.iter().map(str::to_string).collect(),
                    })
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(
        bytes: &[u8],
        encoding: TextEncoding,
    ) -> (CsvFile<&[u8]>, Vec<Result<CsvRecord, String>>) {
        let mut file = open_csv(bytes, encoding, None).unwrap();
        let records = file
            .by_ref()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        (file, records)
    }

    #[test]
    fn detects_gbk_and_utf8_with_bom() {
        let text = "姓名,公民身份号码\n张三,11010519491231002X\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let (file, records) = read(&gbk, TextEncoding::Auto);
        assert_eq!(file.encoding, "gb18030");
        assert_eq!(file.header, ["姓名", "公民身份号码"]);
        assert_eq!(
            records[0].as_ref().unwrap().fields,
            ["张三", "11010519491231002X"]
        );

        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        let (file, records) = read(&with_bom, TextEncoding::Auto);
        assert_eq!((file.encoding, file.header[0].as_str()), ("UTF-8", "姓名"));
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn sniffs_delimiters_and_keeps_quoted_newlines() {
        let (file, records) = read(
            "名称\t地址\n甲\t\"屯溪区\n老街1号\"\n乙\t黄山区\n".as_bytes(),
            TextEncoding::Utf8,
        );
        assert_eq!(file.delimiter, b'\t');
        let first = records[0].as_ref().unwrap();
        assert_eq!(
            (first.line, first.fields[1].as_str()),
            (2, "屯溪区\n老街1号")
        );
        assert_eq!(
            records[1].as_ref().unwrap().line,
            4,
            "line numbers count the embedded newline"
        );
        let (file, _) = read("a;b;c\n1;2;3\n".as_bytes(), TextEncoding::Auto);
        assert_eq!(file.delimiter, b';');
    }

    #[test]
    fn ragged_rows_are_reported_and_reading_goes_on() {
        let (_, records) = read("a,b\n1,2\n3\n4,5\n".as_bytes(), TextEncoding::Auto);
        assert_eq!(records[1].as_ref().unwrap_err(), "第3行：有1列，表头有2列");
        assert_eq!(records[2].as_ref().unwrap().fields, ["4", "5"]);
    }

    #[test]
    fn empty_and_header_only_files() {
        assert!(matches!(
            open_csv(b"".as_slice(), TextEncoding::Auto, None),
            Err(CsvError::Empty)
        ));
        assert!(matches!(
            open_csv(b"\xEF\xBB\xBF".as_slice(), TextEncoding::Auto, None),
            Err(CsvError::Empty)
        ));
        let (file, records) = read(b"a,b\n", TextEncoding::Auto);
        assert_eq!((file.header.len(), records.len()), (2, 0));
    }

    #[test]
    fn a_chinese_character_cut_at_the_sample_edge_is_still_utf8() {
        let text = "名".repeat(SNIFF_BYTES / 3 + 1);
        assert!(looks_like_utf8(&text.as_bytes()[..SNIFF_BYTES]));
        let (gbk, _, _) = encoding_rs::GBK.encode("名称");
        assert!(!looks_like_utf8(&gbk));
    }
}
