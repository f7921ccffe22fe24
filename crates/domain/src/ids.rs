//! National identifiers, each checked on parse (standards.md §3).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused, in words a clerk can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("长度应为{expected}位，实际为{actual}位")]
    Length {
        expected: &'static str,
        actual: usize,
    },
    #[error("第{position}位字符“{found}”不合法")]
    BadChar { position: usize, found: char },
    #[error("出生日期{0}不是有效日期")]
    BadBirthDate(String),
    #[error("校验位应为“{expected}”，实际为“{found}”")]
    CheckDigit { expected: char, found: char },
    #[error("行政区划代码结构不正确：{0}")]
    RegionStructure(&'static str),
    #[error("手机号码格式不正确")]
    Mobile,
}

macro_rules! string_newtype_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }
    };
}

/// 居民身份证号码, GB 11643-1999: 6 address + 8 birth date + 3 sequence + ISO 7064 MOD 11-2
/// check character. Stored upper-case; 15-digit legacy numbers are upgraded on parse.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber(String);

// Debug masks the number so that a stray `{:?}` never writes personal data to a log.
impl fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdCardNumber({})", crate::mask::id_card(&self.0))
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

fn id_check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] as char
}

fn all_digits(text: &str, offset: usize) -> Result<(), IdError> {
    match text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, c)) => Err(IdError::BadChar {
            position: offset + i + 1,
            found: c,
        }),
        None => Ok(()),
    }
}

impl IdCardNumber {
    /// GB 11643-1999 check; accepts lower-case `x` and 15-digit legacy numbers.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim().to_ascii_uppercase();
        let len = text.chars().count();
        let first17 = match len {
            15 => {
                all_digits(&text, 0)?;
                format!("{}19{}", &text[..6], &text[6..])
            }
            18 => {
                all_digits(&text[..17], 0)?;
                text[..17].to_string()
            }
            actual => {
                return Err(IdError::Length {
                    expected: "18（或旧版15）",
                    actual,
                })
            }
        };
        let birth = &first17[6..14];
        let valid_date = NaiveDate::parse_from_str(birth, "%Y%m%d")
            .ok()
            .filter(|d| d.year() >= 1850);
        if valid_date.is_none() {
            return Err(IdError::BadBirthDate(birth.to_string()));
        }
        let expected = id_check_char(&first17);
        if len == 18 {
            let found = text.chars().nth(17).unwrap_or(' ');
            if !(found.is_ascii_digit() || found == 'X') {
                return Err(IdError::BadChar {
                    position: 18,
                    found,
                });
            }
            if found != expected {
                return Err(IdError::CheckDigit { expected, found });
            }
        }
        Ok(Self(format!("{first17}{expected}")))
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked on parse")
    }

    /// The sequence's last digit: odd for men, even for women.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// The address code of the issuing county (may be a retired code).
    pub fn address_code(&self) -> &str {
        &self.0[..6]
    }
}
string_newtype_serde!(IdCardNumber);

/// 统一社会信用代码, GB 32100-2015: 18 characters from the 31-character alphabet (no I, O,
/// S, V, Z), positions 3–8 a region code, position 18 the MOD 31 check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [usize; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn uscc_value(c: char) -> Option<usize> {
    USCC_ALPHABET.find(c)
}

impl CreditCode {
    /// GB 32100-2015 check character. The first character is deliberately not whitelisted:
    /// registration authorities are added over time.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim().to_ascii_uppercase();
        let chars: Vec<char> = text.chars().collect();
        if chars.len() != 18 {
            return Err(IdError::Length {
                expected: "18",
                actual: chars.len(),
            });
        }
        let mut sum = 0;
        for (i, &c) in chars.iter().enumerate() {
            let value = uscc_value(c).ok_or(IdError::BadChar {
                position: i + 1,
                found: c,
            })?;
            if (2..8).contains(&i) && !c.is_ascii_digit() {
                return Err(IdError::BadChar {
                    position: i + 1,
                    found: c,
                });
            }
            if i < 17 {
                sum += value * USCC_WEIGHTS[i];
            }
        }
        let expected = USCC_ALPHABET.as_bytes()[(31 - sum % 31) % 31] as char;
        if chars[17] != expected {
            return Err(IdError::CheckDigit {
                expected,
                found: chars[17],
            });
        }
        Ok(Self(text))
    }

    /// Completes 17 characters with their check character, e.g. to issue codes for
    /// test and demo data. The organisation part's own check is not touched.
    pub fn complete(first17: &str) -> Result<Self, IdError> {
        let first17 = first17.trim().to_ascii_uppercase();
        let mut sum = 0;
        for (i, c) in first17.chars().enumerate().take(17) {
            sum += uscc_value(c).ok_or(IdError::BadChar {
                position: i + 1,
                found: c,
            })? * USCC_WEIGHTS[i];
        }
        let check = USCC_ALPHABET.as_bytes()[(31 - sum % 31) % 31] as char;
        Self::parse(&format!("{first17}{check}"))
    }

    /// An organisation code (GB 11714) of 8 digits plus its check character.
    pub fn organisation_code(first8: &str) -> Option<String> {
        const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
        let mut sum = 0;
        for (c, w) in first8.chars().zip(WEIGHTS) {
            sum += c.to_digit(36)? * w;
        }
        let check = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10)?,
        };
        Some(format!("{first8}{check}"))
    }

    /// The embedded GB 11714 organisation code's own check (positions 9–17). A mismatch is
    /// only a warning: older registrations carry codes that fail it.
    pub fn organisation_code_warning(&self) -> Option<String> {
        const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
        let org: Vec<char> = self.0[8..17].chars().collect();
        let mut sum = 0;
        for (c, w) in org[..8].iter().zip(WEIGHTS) {
            sum += c.to_digit(36)? * w;
        }
        let expected = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10)?,
        };
        (org[8] != expected)
            .then(|| format!("组织机构代码校验位应为“{expected}”，实际为“{}”", org[8]))
    }

    /// Positions 3–8: the region code of the registering authority.
    pub fn region_part(&self) -> &str {
        &self.0[2..8]
    }
}
string_newtype_serde!(CreditCode);

/// 行政区划代码, GB/T 2260: province, prefecture, county, two digits each. Only the
/// structure is checked, so that codes created after this build still parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

/// Provinces, autonomous regions, municipalities and SARs of GB/T 2260.
const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// The administrative level a region code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionLevel {
    Province,
    Prefecture,
    County,
}

impl RegionCode {
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let text = text.trim();
        if text.chars().count() != 6 {
            return Err(IdError::Length {
                expected: "6",
                actual: text.chars().count(),
            });
        }
        all_digits(text, 0)?;
        let part = |i: usize| text[i..i + 2].parse::<u8>().expect("digits");
        let (province, prefecture, county) = (part(0), part(2), part(4));
        if !PROVINCES.contains(&province) {
            return Err(IdError::RegionStructure("前两位不是有效的省级代码"));
        }
        if !(prefecture <= 70 || prefecture == 90) {
            return Err(IdError::RegionStructure("第3–4位应为01–70或90"));
        }
        if prefecture == 0 && county != 0 {
            return Err(IdError::RegionStructure("省级汇总码的第5–6位应为00"));
        }
        Ok(Self(text.to_string()))
    }

    pub fn level(&self) -> RegionLevel {
        match (&self.0[2..4], &self.0[4..6]) {
            ("00", _) => RegionLevel::Province,
            (_, "00") => RegionLevel::Prefecture,
            _ => RegionLevel::County,
        }
    }
}
string_newtype_serde!(RegionCode);

/// 手机号码 of the mainland numbering plan, normalised to 11 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MobileNumber(String);

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileNumber({})", crate::mask::mobile(&self.0))
    }
}

impl MobileNumber {
    /// Strips blanks, dashes and a +86/0086/86 prefix, then requires `^1[3-9]\d{9}$`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let digits = ["+86", "0086", "86"]
            .iter()
            .find_map(|p| digits.strip_prefix(p).filter(|rest| rest.len() == 11))
            .unwrap_or(&digits);
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid {
            Ok(Self(digits.to_string()))
        } else {
            Err(IdError::Mobile)
        }
    }
}
string_newtype_serde!(MobileNumber);

crate::labelled::string_schema!(IdCardNumber, "居民身份证号码, GB 11643-1999");
crate::labelled::string_schema!(CreditCode, "统一社会信用代码, GB 32100-2015");
crate::labelled::string_schema!(RegionCode, "行政区划代码, GB/T 2260");
crate::labelled::string_schema!(MobileNumber, "手机号码");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_id_card_example_with_x_check() {
        let id = IdCardNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(!id.is_male());
    }

    #[test]
    fn rejects_id_card_with_wrong_check_digit() {
        assert_eq!(
            IdCardNumber::parse("110105194912310021"),
            Err(IdError::CheckDigit {
                expected: 'X',
                found: '1'
            })
        );
    }

    #[test]
    fn rejects_id_card_with_impossible_birth_date() {
        // 1949-02-30 does not exist; the check digit is irrelevant.
        let first17 = "11010519490230002";
        let number = format!("{first17}{}", id_check_char(first17));
        assert!(matches!(
            IdCardNumber::parse(&number),
            Err(IdError::BadBirthDate(_))
        ));
    }

    #[test]
    fn rejects_id_card_of_wrong_length_or_letters() {
        assert!(matches!(
            IdCardNumber::parse("1101051949"),
            Err(IdError::Length { .. })
        ));
        assert_eq!(
            IdCardNumber::parse("1101A5194912310021"),
            Err(IdError::BadChar {
                position: 5,
                found: 'A'
            })
        );
    }

    #[test]
    fn upgrades_fifteen_digit_legacy_number() {
        let id = IdCardNumber::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn id_card_debug_is_masked() {
        let id = IdCardNumber::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "IdCardNumber(110105********002X)");
    }

    #[test]
    fn accepts_published_credit_code_example() {
        let code = CreditCode::parse("91110000600037341L").unwrap();
        assert_eq!(code.region_part(), "110000");
    }

    #[test]
    fn rejects_credit_code_with_wrong_check_digit() {
        assert_eq!(
            CreditCode::parse("91110000600037341K"),
            Err(IdError::CheckDigit {
                expected: 'L',
                found: 'K'
            })
        );
    }

    #[test]
    fn rejects_credit_code_with_forbidden_letters() {
        // I, O, S, V, Z are not in the GB 32100 alphabet.
        assert_eq!(
            CreditCode::parse("9111000060003734IL"),
            Err(IdError::BadChar {
                position: 17,
                found: 'I'
            })
        );
        // Positions 3–8 must be digits even though A is in the alphabet.
        assert_eq!(
            CreditCode::parse("911A0000600037341L"),
            Err(IdError::BadChar {
                position: 4,
                found: 'A'
            })
        );
    }

    #[test]
    fn completes_codes_with_both_check_characters() {
        let org = CreditCode::organisation_code("60003734").unwrap();
        assert_eq!(org, "600037341");
        let code = CreditCode::complete(&format!("91110000{org}")).unwrap();
        assert_eq!(code.as_str(), "91110000600037341L");
        assert_eq!(code.organisation_code_warning(), None);
    }

    #[test]
    fn credit_code_organisation_check_is_only_a_warning() {
        let code = CreditCode::parse("91110000600037341L").unwrap();
        assert_eq!(code.organisation_code_warning(), None);
    }

    #[test]
    fn accepts_huangshan_region_codes() {
        for code in [
            "341000", "341002", "341003", "341004", "341021", "341024", "340000",
        ] {
            assert!(RegionCode::parse(code).is_ok(), "{code}");
        }
        assert_eq!(
            RegionCode::parse("341000").unwrap().level(),
            RegionLevel::Prefecture
        );
        assert_eq!(
            RegionCode::parse("341021").unwrap().level(),
            RegionLevel::County
        );
    }

    #[test]
    fn rejects_malformed_region_codes() {
        assert!(matches!(
            RegionCode::parse("991000"),
            Err(IdError::RegionStructure(_))
        ));
        assert!(matches!(
            RegionCode::parse("348000"),
            Err(IdError::RegionStructure(_))
        ));
        assert!(matches!(
            RegionCode::parse("340012"),
            Err(IdError::RegionStructure(_))
        ));
        assert!(matches!(
            RegionCode::parse("34100"),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            RegionCode::parse("34100a"),
            Err(IdError::BadChar { .. })
        ));
    }

    #[test]
    fn normalises_mobile_numbers() {
        for text in [
            "13800138000",
            "+86 138-0013-8000",
            "0086 13800138000",
            "8613800138000",
        ] {
            assert_eq!(
                MobileNumber::parse(text).unwrap().as_str(),
                "13800138000",
                "{text}"
            );
        }
        for text in ["12800138000", "1380013800", "138001380001", "abc"] {
            assert!(MobileNumber::parse(text).is_err(), "{text}");
        }
    }
}
