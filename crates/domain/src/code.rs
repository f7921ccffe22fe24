//! Resource classification and the resource code (信息资源代码), standards.md §1.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::labelled::{labelled_enum, string_schema};
use crate::ValidationErrors;

/// The largest 项 of a catalogue code, and so the largest department number.
pub const MAX_BRANCH: u8 = 99;

labelled_enum! {
    /// 资源属性分类: the first digit (类) of every resource code.
    ClassKind {
        Basic => "basic", "基础";
        Thematic => "thematic", "主题";
        Departmental => "departmental", "部门";
    }
}

impl ClassKind {
    /// The 类 digit of the 前段码.
    pub fn digit(self) -> char {
        match self {
            ClassKind::Basic => '1',
            ClassKind::Thematic => '2',
            ClassKind::Departmental => '3',
        }
    }

    pub fn from_digit(digit: char) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.digit() == digit)
    }

    /// The named sub-classes (项) of this class. Departmental sub-classes are departments'
    /// catalogue branch numbers and thematic ones are open-ended, so the list is a guide.
    pub fn named_subclasses(self) -> &'static [(u8, &'static str)] {
        match self {
            ClassKind::Basic => &BASIC_SUBCLASSES,
            ClassKind::Thematic => &THEMATIC_SUBCLASSES,
            ClassKind::Departmental => &[],
        }
    }
}

/// 基础信息资源 sub-classes (发改高技〔2017〕1272号).
pub const BASIC_SUBCLASSES: [(u8, &str); 5] = [
    (1, "人口"),
    (2, "法人单位"),
    (3, "自然资源和空间地理"),
    (4, "社会信用"),
    (5, "电子证照"),
];

/// 主题信息资源 sub-classes; the list is open-ended, later numbers are allowed.
pub const THEMATIC_SUBCLASSES: [(u8, &str); 12] = [
    (1, "公共服务"),
    (2, "健康保障"),
    (3, "社会保障"),
    (4, "食品药品安全"),
    (5, "安全生产"),
    (6, "价格监管"),
    (7, "能源安全"),
    (8, "信用体系"),
    (9, "城乡建设"),
    (10, "社区治理"),
    (11, "生态环保"),
    (12, "应急保障"),
];

/// 信息资源分类 类/项/目/细目, which determines the 前段码.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceClass {
    /// 类: basic, thematic or departmental.
    pub kind: ClassKind,
    /// 项, 1–99. For departmental resources, the provider's catalogue branch number.
    pub subclass: u8,
    /// 目, 1–999.
    pub category: u16,
    /// 细目: optional further digits (at most 6).
    #[serde(default)]
    pub detail: String,
}

impl ResourceClass {
    /// 前段码 = 类 (1 digit) + 项 (2) + 目 (3) + 细目 (variable).
    pub fn prefix(&self) -> String {
        format!(
            "{}{:02}{:03}{}",
            self.kind.digit(),
            self.subclass,
            self.category,
            self.detail
        )
    }

    /// The sub-class's name where the class names it, e.g. 人口.
    pub fn subclass_name(&self) -> Option<&'static str> {
        self.kind
            .named_subclasses()
            .iter()
            .find(|(n, _)| *n == self.subclass)
            .map(|(_, name)| *name)
    }

    pub fn validate(&self, errors: &mut ValidationErrors) {
        if !(1..=MAX_BRANCH).contains(&self.subclass) {
            errors.push("class.subclass", "项应为01–99");
        }
        if self.kind == ClassKind::Basic && self.subclass_name().is_none() {
            errors.push(
                "class.subclass",
                "基础类资源的项应为01–05（人口、法人单位、自然资源和空间地理、社会信用、电子证照）",
            );
        }
        if !(1..=999).contains(&self.category) {
            errors.push("class.category", "目应为001–999");
        }
        if self.detail.len() > 6 || !self.detail.bytes().all(|b| b.is_ascii_digit()) {
            errors.push("class.detail", "细目应为不超过6位的数字");
        }
    }
}

/// The separator between 前段码 and 后段码 (`101001/000123`).
pub const CODE_SEPARATOR: char = '/';

/// 信息资源代码 `前段码/后段码`: unique, and immutable once the resource is published.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode {
    text: String,
    split: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("资源代码应为“前段码/后段码”，如 101001/000123")]
    Shape,
    #[error("前段码的第1位（类）应为1、2或3")]
    Class,
}

impl ResourceCode {
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let text = text.trim();
        let (prefix, sequence) = text
            .split_once([CODE_SEPARATOR, '-'])
            .ok_or(CodeError::Shape)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(prefix) && digits(sequence) && (6..=12).contains(&prefix.len()))
            || sequence.len() > 9
        {
            return Err(CodeError::Shape);
        }
        if ClassKind::from_digit(prefix.chars().next().unwrap_or('0')).is_none() {
            return Err(CodeError::Class);
        }
        Ok(Self {
            text: format!("{prefix}{CODE_SEPARATOR}{sequence}"),
            split: prefix.len(),
        })
    }

    /// The code for the `sequence`-th resource under a classification.
    pub fn new(class: &ResourceClass, sequence: u32) -> Self {
        let prefix = class.prefix();
        Self {
            split: prefix.len(),
            text: format!("{prefix}{CODE_SEPARATOR}{sequence:06}"),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.text[..self.split]
    }

    pub fn sequence(&self) -> &str {
        &self.text[self.split + 1..]
    }

    pub fn class_kind(&self) -> ClassKind {
        ClassKind::from_digit(self.text.chars().next().unwrap_or('0')).expect("checked on parse")
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ResourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for ResourceCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ResourceCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ResourceCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

string_schema!(
    ResourceCode,
    "信息资源代码 前段码/后段码, e.g. 101001/000123"
);

#[cfg(test)]
mod tests {
    use super::*;

    fn class(kind: ClassKind, subclass: u8, category: u16) -> ResourceClass {
        ResourceClass {
            kind,
            subclass,
            category,
            detail: String::new(),
        }
    }

    #[test]
    fn builds_code_from_classification() {
        let code = ResourceCode::new(&class(ClassKind::Basic, 1, 1), 123);
        assert_eq!(code.as_str(), "101001/000123");
        assert_eq!(code.prefix(), "101001");
        assert_eq!(code.sequence(), "000123");
        assert_eq!(code.class_kind(), ClassKind::Basic);
    }

    #[test]
    fn parses_codes_and_rejects_bad_shapes() {
        assert_eq!(
            ResourceCode::parse("301002-000007").unwrap().as_str(),
            "301002/000007"
        );
        assert_eq!(ResourceCode::parse("101001000123"), Err(CodeError::Shape));
        assert_eq!(ResourceCode::parse("10100/000123"), Err(CodeError::Shape));
        assert_eq!(ResourceCode::parse("10a001/000123"), Err(CodeError::Shape));
        assert_eq!(ResourceCode::parse("401001/000123"), Err(CodeError::Class));
    }

    #[test]
    fn basic_class_needs_a_named_subclass() {
        let mut errors = ValidationErrors::default();
        class(ClassKind::Basic, 7, 1).validate(&mut errors);
        assert_eq!(errors.0[0].field, "class.subclass");
        let mut errors = ValidationErrors::default();
        class(ClassKind::Thematic, 13, 1).validate(&mut errors);
        assert!(errors.is_empty(), "thematic sub-classes are open-ended");
    }
}
