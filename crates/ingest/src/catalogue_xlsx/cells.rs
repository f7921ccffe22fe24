//! Reading typed values from the cells of one row, collecting a problem for each cell that
//! cannot be read. By convention a method returns `None` exactly when it recorded a problem,
//! so a caller reads every cell first and only then combines the results with `?`.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use calamine::{Data, Range};
use domain::catalogue::{DataType, FormatKind, SecurityGrade, ShareMode, ShareType, UpdateCycle};
use domain::code::{ClassKind, ResourceCode};
use domain::sharing::MaskKind;

use super::columns::Column;
use super::{packed, CellProblem};

/// An enumeration read from a cell by its Chinese label or its code.
pub(super) trait Choice: Copy {
    fn from_text(text: &str) -> Option<Self>;
    fn allowed() -> Vec<&'static str>;
}

macro_rules! choice {
    ($($ty:ty),+) => {$(
        impl Choice for $ty {
            fn from_text(text: &str) -> Option<Self> {
                <$ty>::parse(text)
            }
            fn allowed() -> Vec<&'static str> {
                <$ty>::labels()
            }
        }
    )+};
}

choice!(
    ClassKind,
    FormatKind,
    ShareType,
    ShareMode,
    UpdateCycle,
    SecurityGrade,
    DataType,
    MaskKind
);

/// The cells of one sheet row (0-based `row` in calamine's absolute coordinates).
pub(super) struct RowCells<'a, C> {
    range: &'a Range<Data>,
    row: u32,
    pub(super) problems: Vec<CellProblem>,
    columns: PhantomData<C>,
}

impl<'a, C: Column> RowCells<'a, C> {
    pub(super) fn new(range: &'a Range<Data>, row: u32) -> Self {
        Self {
            range,
            row,
            problems: Vec::new(),
            columns: PhantomData,
        }
    }

    /// The 1-based row number Excel shows.
    pub(super) fn excel_row(&self) -> u32 {
        self.row + 1
    }

    pub(super) fn is_blank(&self) -> bool {
        C::ALL.iter().all(|&col| {
            cell_text(self.range.get_value((self.row, u32::from(col.index())))).is_empty()
        })
    }

    pub(super) fn problem(&mut self, col: C, message: impl Into<String>) {
        self.problems.push(CellProblem {
            sheet: C::SHEET.to_string(),
            row: self.excel_row(),
            column: col.header().to_string(),
            message: message.into(),
        });
    }

    fn raw(&self, col: C) -> Option<&'a Data> {
        self.range.get_value((self.row, u32::from(col.index())))
    }

    /// Trimmed text; numbers, booleans and dates are converted. An error value such as
    /// `#N/A` is a problem.
    pub(super) fn text(&mut self, col: C) -> Option<String> {
        if let Some(Data::Error(error)) = self.raw(col) {
            self.problem(col, format!("“{}”包含错误值 {error}", col.header()));
            return None;
        }
        Some(cell_text(self.raw(col)))
    }

    /// Text, with a blank cell as `Some(None)`.
    pub(super) fn optional_text(&mut self, col: C) -> Option<Option<String>> {
        let text = self.text(col)?;
        Some((!text.is_empty()).then_some(text))
    }

    /// A value that must be filled in.
    pub(super) fn required<T>(&mut self, col: C, value: Option<Option<T>>) -> Option<T> {
        match value? {
            Some(value) => Some(value),
            None => {
                self.problem(col, format!("“{}”不能为空", col.header()));
                None
            }
        }
    }

    pub(super) fn optional_choice<T: Choice>(&mut self, col: C) -> Option<Option<T>> {
        let Some(text) = self.optional_text(col)? else {
            return Some(None);
        };
        match T::from_text(&text) {
            Some(value) => Some(Some(value)),
            None => {
                let allowed = T::allowed().join("、");
                self.problem(
                    col,
                    format!("“{}”的值“{text}”无效，可选值：{allowed}", col.header()),
                );
                None
            }
        }
    }

    pub(super) fn choice<T: Choice>(&mut self, col: C) -> Option<T> {
        let value = self.optional_choice(col);
        if matches!(value, Some(None)) {
            let allowed = T::allowed().join("、");
            self.problem(
                col,
                format!("“{}”不能为空，可选值：{allowed}", col.header()),
            );
            return None;
        }
        value.flatten()
    }

    /// A non-negative whole number no larger than `T` holds; blank is `Some(None)`.
    pub(super) fn number<T: TryFrom<u64>>(&mut self, col: C) -> Option<Option<T>> {
        let Some(text) = self.optional_text(col)? else {
            return Some(None);
        };
        let message = match text.parse::<u64>() {
            Ok(number) => match T::try_from(number) {
                Ok(value) => return Some(Some(value)),
                Err(_) => format!("“{}”的值“{text}”过大", col.header()),
            },
            Err(_) => format!("“{}”应为非负整数，实际为“{text}”", col.header()),
        };
        self.problem(col, message);
        None
    }

    /// 是/否, also Y/N, true/false, 1/0; blank is 否.
    pub(super) fn flag(&mut self, col: C) -> Option<bool> {
        if let Some(Data::Bool(value)) = self.raw(col) {
            return Some(*value);
        }
        let text = self.text(col)?;
        match text.to_ascii_lowercase().as_str() {
            "" | "否" | "n" | "no" | "false" | "0" => Some(false),
            "是" | "y" | "yes" | "true" | "1" => Some(true),
            _ => {
                self.problem(
                    col,
                    format!("“{}”应填写“是”或“否”，实际为“{text}”", col.header()),
                );
                None
            }
        }
    }

    /// A 信息资源代码 in canonical form; blank is `Some(None)`.
    pub(super) fn code(&mut self, col: C) -> Option<Option<String>> {
        let Some(text) = self.optional_text(col)? else {
            return Some(None);
        };
        match ResourceCode::parse(&text) {
            Ok(code) => Some(Some(code.to_string())),
            Err(error) => {
                self.problem(col, format!("信息资源代码“{text}”无效：{error}"));
                None
            }
        }
    }

    /// Several codes separated by `;`, each reported on its own when invalid.
    pub(super) fn codes(&mut self, col: C) -> Option<Vec<ResourceCode>> {
        let text = self.text(col)?;
        let mut codes = Vec::new();
        let mut ok = true;
        for piece in packed::split_list(&text) {
            match ResourceCode::parse(&piece) {
                Ok(code) => codes.push(code),
                Err(error) => {
                    self.problem(col, format!("关联资源代码“{piece}”无效：{error}"));
                    ok = false;
                }
            }
        }
        ok.then_some(codes)
    }

    /// `key=value;key=value`, with blank and repeated keys reported.
    pub(super) fn pairs(&mut self, col: C) -> Option<BTreeMap<String, String>> {
        let text = self.text(col)?;
        let mut pairs = BTreeMap::new();
        let mut ok = true;
        for pair in packed::split_pairs(&text) {
            let message = match pair {
                Ok((key, _)) if key.is_empty() => "扩展元数据的键不能为空".to_string(),
                Ok((key, _)) if pairs.contains_key(&key) => format!("扩展元数据的键“{key}”重复"),
                Ok((key, value)) => {
                    pairs.insert(key, value);
                    continue;
                }
                Err(piece) => format!("扩展元数据“{piece}”应写成“键=值”"),
            };
            self.problem(col, message);
            ok = false;
        }
        ok.then_some(pairs)
    }

    /// A value parsed with `FromStr`, whose error message is already Chinese; blank is
    /// `Some(None)`.
    pub(super) fn parsed<T>(&mut self, col: C) -> Option<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let Some(text) = self.optional_text(col)? else {
            return Some(None);
        };
        match text.parse() {
            Ok(value) => Some(Some(value)),
            Err(error) => {
                self.problem(col, error.to_string());
                None
            }
        }
    }
}

/// A cell as trimmed text. Whole numbers lose their `.0` so that `18` typed in a text
/// column reads as "18"; dates read as ISO text.
pub(super) fn cell_text(data: Option<&Data>) -> String {
    match data {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text)) => {
            text.trim().to_string()
        }
        Some(Data::Float(number)) => number_text(*number),
        Some(Data::Int(number)) => number.to_string(),
        Some(Data::Bool(value)) => if *value { "是" } else { "否" }.to_string(),
        Some(Data::DateTime(date)) => excel_date_text(date.as_f64()),
        Some(Data::Error(error)) => error.to_string(),
    }
}

fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

/// An Excel serial date (1900 system) as `YYYY-MM-DD`, plus ` HH:MM:SS` when it has a time.
fn excel_date_text(serial: f64) -> String {
    // Serial 25569 is 1970-01-01; serials before 1900-03-01 are off by Excel's fake
    // 1900-02-29, which no catalogue date needs.
    let days = serial.floor() as i64 - 25569;
    let seconds = ((serial - serial.floor()) * 86_400.0).round() as i64;
    let (y, m, d) = civil_from_days(days);
    if seconds == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        let (h, min, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        format!("{y:04}-{m:02}-{d:02} {h:02}:{min:02}:{s:02}")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_read_without_decimals() {
        assert_eq!(cell_text(Some(&Data::Float(18.0))), "18");
        assert_eq!(cell_text(Some(&Data::Float(1.5))), "1.5");
        assert_eq!(cell_text(Some(&Data::String("  户籍 ".into()))), "户籍");
    }

    #[test]
    fn excel_dates_read_as_iso_text() {
        assert_eq!(excel_date_text(45292.0), "2024-01-01");
        assert_eq!(excel_date_text(45292.5), "2024-01-01 12:00:00");
        assert_eq!(excel_date_text(25569.0), "1970-01-01");
    }
}
