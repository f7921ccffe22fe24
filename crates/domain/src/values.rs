//! Checking one incoming value against its item definition (standards.md §1 item
//! attributes and §3 identifiers): required, type and length, code table membership and
//! the named validation rule. Collection uses this for every cell of every row; a value
//! that fails goes to quarantine with the reason, masked if the item is personal.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::catalogue::{DataType, Item, ValidationRule};
use crate::ids::{CreditCode, IdCardNumber, MobileNumber, RegionCode};

/// A value converted to its item's type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Null,
    Text(String),
    Integer(i64),
    /// N and Y: kept as normalised decimal text so that no precision is lost.
    Decimal(String),
    Float(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Bool(bool),
}

/// A row that passed every check, with one value per item of the published version, in
/// item order; `line` is its place in the source file.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedRow {
    pub line: u64,
    pub values: Vec<TypedValue>,
}

/// A row that failed, for the quarantine report. `value` is already masked if personal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// Why a value was refused, in words for the quarantine report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("必填项为空")]
    Missing,
    #[error("不是有效的{0}")]
    WrongType(&'static str),
    #[error("长度{actual}超过数据长度{limit}")]
    TooLong { actual: usize, limit: u32 },
    #[error("不在代码表中")]
    NotInCodeTable,
    #[error("{0}")]
    Rule(String),
}

/// Storage length of text as the 数据长度 counts it: Chinese characters take two bytes,
/// as in the GB 18030/GBK systems departments export from.
pub fn storage_length(text: &str) -> usize {
    text.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

/// `YYYY-MM-DD` without a format string: most cells of a large file are in this form.
fn iso_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// `YYYY-MM-DD HH:MM:SS` (or with `T`), the common case, without a format string.
fn iso_local_datetime(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() != 19 || !matches!(b[10], b' ' | b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    iso_date(&text[..10])?.and_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)
}

/// Dates as departments write them: ISO, slashes, compact digits, Chinese, or an Excel
/// serial number (days since 1899-12-30).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Some(date) = iso_date(text) {
        return Some(date);
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(date);
        }
    }
    let serial: f64 = text
        .parse()
        .ok()
        .filter(|s: &f64| (1.0..2_958_466.0).contains(s))?;
    NaiveDate::from_ymd_opt(1899, 12, 30)?
        .checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

/// Date-times: RFC 3339 with an offset, or local Beijing time without one.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(local) = iso_local_datetime(text) {
        return beijing()
            .from_local_datetime(&local)
            .single()
            .map(|at| at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    // PostgreSQL's text form of timestamptz: `2026-03-01 08:00:00.25+08`.
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        // Database text forms carry microseconds: `2026-03-01 08:00:00.250000`.
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y%m%d%H%M%S",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return beijing()
                .from_local_datetime(&local)
                .single()
                .map(|at| at.with_timezone(&Utc));
        }
    }
    parse_date(text)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|local| beijing().from_local_datetime(&local).single())
        .map(|at| at.with_timezone(&Utc))
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "是" | "true" | "t" | "y" | "yes" | "1" => Some(true),
        "否" | "false" | "f" | "n" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A decimal number, normalised: no grouping commas, no leading '+'.
fn parse_decimal(text: &str) -> Option<String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    let cleaned = cleaned.strip_prefix('+').unwrap_or(&cleaned).to_string();
    let digits = cleaned.strip_prefix('-').unwrap_or(&cleaned);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(cleaned)
}

fn convert(data_type: DataType, text: &str) -> Result<TypedValue, ValueProblem> {
    let wrong = || ValueProblem::WrongType(data_type.label());
    Ok(match data_type {
        DataType::Char | DataType::Memo | DataType::General => TypedValue::Text(text.to_string()),
        DataType::Numeric | DataType::Currency => {
            TypedValue::Decimal(parse_decimal(text).ok_or_else(wrong)?)
        }
        DataType::Integer => TypedValue::Integer(
            parse_decimal(text)
                .filter(|d| !d.contains('.'))
                .and_then(|d| d.parse().ok())
                .ok_or_else(wrong)?,
        ),
        DataType::Double | DataType::Float => TypedValue::Float(
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(wrong)?,
        ),
        DataType::Date => TypedValue::Date(parse_date(text).ok_or_else(wrong)?),
        DataType::DateTime => TypedValue::DateTime(parse_datetime(text).ok_or_else(wrong)?),
        DataType::Logical => TypedValue::Bool(parse_bool(text).ok_or_else(wrong)?),
    })
}

fn check_length(item: &Item, text: &str) -> Result<(), ValueProblem> {
    let Some(limit) = item.length else {
        return Ok(());
    };
    let actual = match item.data_type {
        DataType::Char => storage_length(text),
        // For numbers the length counts digits, not sign or decimal point.
        DataType::Numeric | DataType::Currency => text.chars().filter(char::is_ascii_digit).count(),
        _ => return Ok(()),
    };
    if actual > limit as usize {
        return Err(ValueProblem::TooLong { actual, limit });
    }
    Ok(())
}

fn number_of(value: &TypedValue, text: &str) -> Option<f64> {
    match value {
        TypedValue::Integer(i) => Some(*i as f64),
        TypedValue::Float(f) => Some(*f),
        _ => text.trim().parse().ok(),
    }
}

/// Applies the item's named rule; identifiers come back in their canonical form (an ID
/// number upper-cased, a mobile number without +86).
fn check_rule(
    rule: &ValidationRule,
    value: TypedValue,
    text: &str,
) -> Result<TypedValue, ValueProblem> {
    let canonical =
        |result: Result<String, String>| result.map(TypedValue::Text).map_err(ValueProblem::Rule);
    match rule {
        ValidationRule::IdCard => canonical(
            IdCardNumber::parse(text)
                .map(|v| v.as_str().to_string())
                .map_err(|e| format!("身份证号码无效：{e}")),
        ),
        ValidationRule::Uscc => canonical(
            CreditCode::parse(text)
                .map(|v| v.as_str().to_string())
                .map_err(|e| format!("统一社会信用代码无效：{e}")),
        ),
        ValidationRule::RegionCode => canonical(
            RegionCode::parse(text)
                .map(|v| v.as_str().to_string())
                .map_err(|e| format!("行政区划代码无效：{e}")),
        ),
        ValidationRule::Mobile => canonical(
            MobileNumber::parse(text)
                .map(|v| v.as_str().to_string())
                .map_err(|e| e.to_string()),
        ),
        ValidationRule::Date => match value {
            TypedValue::Date(_) | TypedValue::DateTime(_) => Ok(value),
            _ => parse_date(text)
                .map(|_| value)
                .ok_or_else(|| ValueProblem::Rule("不是有效日期".into())),
        },
        ValidationRule::Regex(pattern) => {
            // Anchored: the whole value must match, not a part of it.
            if matches_pattern(pattern, text).map_err(ValueProblem::Rule)? {
                Ok(value)
            } else {
                Err(ValueProblem::Rule(format!("不符合格式 {pattern}")))
            }
        }
        ValidationRule::Range { min, max } => match number_of(&value, text) {
            Some(n) if n >= *min && n <= *max => Ok(value),
            _ => Err(ValueProblem::Rule(format!("应在 {min} 到 {max} 之间"))),
        },
    }
}

/// Checks one value. `code_table` is the set of allowed codes when the item references a
/// code table that the platform holds; `None` skips that check.
/// Whether `text` matches the anchored form of a catalogue pattern. Each pattern is compiled
/// once per thread: compiling costs far more than matching, and a file checks the same few
/// patterns on every row.
fn matches_pattern(pattern: &str, text: &str) -> Result<bool, String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static COMPILED: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
    }
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        if let Some(regex) = compiled.get(pattern) {
            return Ok(regex.is_match(text));
        }
        let regex = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
        let matched = regex.is_match(text);
        // Patterns come from published entries, so few; bound the cache all the same.
        if compiled.len() >= 1024 {
            compiled.clear();
        }
        compiled.insert(pattern.to_string(), regex);
        Ok(matched)
    })
}

pub fn check_value(
    item: &Item,
    raw: Option<&str>,
    code_table: Option<&[&str]>,
) -> Result<TypedValue, ValueProblem> {
    let text = raw.map(str::trim).unwrap_or("");
    if text.is_empty() {
        return if item.required {
            Err(ValueProblem::Missing)
        } else {
            Ok(TypedValue::Null)
        };
    }
    check_length(item, text)?;
    let value = convert(item.data_type, text)?;
    if let Some(codes) = code_table {
        if !codes.contains(&text) {
            return Err(ValueProblem::NotInCodeTable);
        }
    }
    match &item.rule {
        Some(rule) => check_rule(rule, value, text),
        None => Ok(value),
    }
}

/// The value as it may appear in a quarantine report or a log.
pub fn displayable(item: &Item, raw: &str) -> String {
    /// Quarantine keeps an excerpt: a 10 MB cell must not become a 10 MB report row.
    const EXCERPT_CHARS: usize = 200;
    let shown = if !item.personal {
        raw.to_string()
    } else {
        match item.rule {
            Some(ValidationRule::IdCard) => crate::mask::id_card(raw),
            Some(ValidationRule::Mobile) => crate::mask::mobile(raw),
            _ => crate::mask::generic(raw),
        }
    };
    match shown.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…（共{}字）", &shown[..cut], raw.chars().count()),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_forms_databases_give_timestamps() {
        let expected = parse_datetime("2026-03-01 08:00:00").unwrap();
        assert_eq!(
            expected.to_rfc3339(),
            "2026-03-01T00:00:00+00:00",
            "Beijing time"
        );
        for text in [
            "2026-03-01 08:00:00.000000",
            "2026-03-01 00:00:00+00",
            "2026-03-01 08:00:00+08",
            "2026-03-01T08:00:00.0",
        ] {
            assert_eq!(parse_datetime(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_datetime("2026-03-01 08:00:00.5").unwrap() - expected,
            chrono::Duration::milliseconds(500)
        );
        assert_eq!(parse_datetime("2026-03-01T08:00:00"), Some(expected));
        // The fast paths still refuse what is not a real date or time.
        for bad in [
            "2026-02-30 08:00:00",
            "2026-03-01 24:00:00",
            "2026-03-01 08:0a:00",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(
            parse_date("2024-02-29"),
            chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(
            parse_date("2024-2-9"),
            chrono::NaiveDate::from_ymd_opt(2024, 2, 9)
        );
    }
    use crate::catalogue::SecurityGrade;

    fn item(data_type: DataType, length: Option<u32>, rule: Option<&str>) -> Item {
        Item {
            name: "测试项".into(),
            identifier: "test".into(),
            data_type,
            length,
            required: true,
            key: false,
            code_table: None,
            rule: rule.map(|r| r.parse().unwrap()),
            security_grade: SecurityGrade::General,
            personal: false,
            share_type: None,
            authoritative: false,
            mask: None,
        }
    }

    #[test]
    fn required_values_must_be_present() {
        let mut optional = item(DataType::Char, Some(10), None);
        assert_eq!(
            check_value(&optional, Some("  "), None),
            Err(ValueProblem::Missing)
        );
        optional.required = false;
        assert_eq!(check_value(&optional, None, None), Ok(TypedValue::Null));
    }

    #[test]
    fn character_length_counts_chinese_as_two_bytes() {
        let name = item(DataType::Char, Some(6), None);
        assert_eq!(
            check_value(&name, Some("黄山市"), None),
            Ok(TypedValue::Text("黄山市".into()))
        );
        assert_eq!(
            check_value(&name, Some("黄山市屯溪"), None),
            Err(ValueProblem::TooLong {
                actual: 10,
                limit: 6
            })
        );
    }

    #[test]
    fn converts_each_data_type() {
        assert_eq!(
            check_value(&item(DataType::Integer, None, None), Some("1,234"), None),
            Ok(TypedValue::Integer(1234))
        );
        assert_eq!(
            check_value(
                &item(DataType::Currency, Some(16), None),
                Some("-12.50"),
                None
            ),
            Ok(TypedValue::Decimal("-12.50".into()))
        );
        assert_eq!(
            check_value(&item(DataType::Logical, None, None), Some("是"), None),
            Ok(TypedValue::Bool(true))
        );
        assert_eq!(
            check_value(&item(DataType::Date, None, None), Some("45658"), None),
            Ok(TypedValue::Date(
                NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
            ))
        );
        assert_eq!(
            check_value(
                &item(DataType::Date, None, None),
                Some("2026年2月13日"),
                None
            ),
            Ok(TypedValue::Date(
                NaiveDate::from_ymd_opt(2026, 2, 13).unwrap()
            ))
        );
        let at = check_value(
            &item(DataType::DateTime, None, None),
            Some("2026-02-13 17:30:00"),
            None,
        )
        .unwrap();
        assert_eq!(
            at,
            TypedValue::DateTime(
                DateTime::parse_from_rfc3339("2026-02-13T09:30:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
            ),
            "local times are Beijing time"
        );
        assert_eq!(
            check_value(&item(DataType::Integer, None, None), Some("1.5"), None),
            Err(ValueProblem::WrongType("整型"))
        );
        assert_eq!(
            check_value(&item(DataType::Double, None, None), Some("NaN"), None),
            Err(ValueProblem::WrongType("双精度型"))
        );
        assert_eq!(
            check_value(&item(DataType::Date, None, None), Some("2026-02-30"), None),
            Err(ValueProblem::WrongType("日期型"))
        );
    }

    #[test]
    fn named_rules_check_identifiers_and_canonicalise() {
        let id = item(DataType::Char, Some(18), Some("id_card"));
        assert_eq!(
            check_value(&id, Some("11010519491231002x"), None),
            Ok(TypedValue::Text("11010519491231002X".into()))
        );
        assert!(
            matches!(check_value(&id, Some("110105194912310021"), None), Err(ValueProblem::Rule(m)) if m.contains("校验位"))
        );
        let mobile = item(DataType::Char, Some(20), Some("mobile"));
        assert_eq!(
            check_value(&mobile, Some("+86 138-0013-8000"), None),
            Ok(TypedValue::Text("13800138000".into()))
        );
        let age = item(DataType::Integer, None, Some("range:0..150"));
        assert!(check_value(&age, Some("151"), None).is_err());
        let plate = item(DataType::Char, Some(10), Some("regex:皖J[A-Z0-9]{5}"));
        assert!(check_value(&plate, Some("皖J12345"), None).is_ok());
        assert!(
            check_value(&plate, Some("x皖J12345"), None).is_err(),
            "the whole value must match"
        );
    }

    #[test]
    fn code_tables_and_masking() {
        let sex = item(DataType::Char, Some(1), None);
        assert_eq!(
            check_value(&sex, Some("3"), Some(&["1", "2", "9"])),
            Err(ValueProblem::NotInCodeTable)
        );
        let mut id = item(DataType::Char, Some(18), Some("id_card"));
        id.personal = true;
        assert_eq!(displayable(&id, "340102199001011234"), "340102********1234");
        assert_eq!(displayable(&sex, "3"), "3");
    }
}
