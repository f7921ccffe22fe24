//! Catalogue entries (政务数据资源目录) and their items, with the validation rules of
//! standards.md §1 (发改高技〔2017〕1272号, GB/T 21063).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::code::{ResourceClass, ResourceCode};
use crate::labelled::{labelled_enum, string_schema};
use crate::ValidationErrors;

labelled_enum! {
    /// 共享类型. Sharing is the rule; "not shared" needs a cited legal basis.
    ShareType {
        Unconditional => "unconditional", "无条件共享";
        Conditional => "conditional", "有条件共享";
        NotShared => "not_shared", "不予共享";
    }
}

impl ShareType {
    /// Higher is more restricted; an item may be stricter than its resource, never looser.
    fn restriction(self) -> u8 {
        match self {
            ShareType::Unconditional => 0,
            ShareType::Conditional => 1,
            ShareType::NotShared => 2,
        }
    }
}

labelled_enum! {
    /// 共享方式. Anything but the platform needs a reason.
    ShareMode {
        Platform => "platform", "共享平台方式";
        Email => "email", "邮件方式";
        Media => "media", "介质方式";
    }
}

labelled_enum! {
    /// 信息资源格式分类.
    FormatKind {
        Document => "document", "电子文件";
        Spreadsheet => "spreadsheet", "电子表格";
        Database => "database", "数据库";
        Image => "image", "图形图像";
        Streaming => "streaming", "流媒体";
        SelfDescribing => "self_describing", "自描述格式";
        Service => "service", "服务接口";
    }
}

impl FormatKind {
    /// Structured formats must list their items (rule 4).
    pub fn is_structured(self) -> bool {
        matches!(self, FormatKind::Spreadsheet | FormatKind::Database)
    }
}

labelled_enum! {
    /// 更新周期.
    UpdateCycle {
        RealTime => "realtime", "实时";
        Daily => "daily", "每日";
        Weekly => "weekly", "每周";
        Monthly => "monthly", "每月";
        Quarterly => "quarterly", "每季度";
        HalfYearly => "half_yearly", "每半年";
        Yearly => "yearly", "每年";
        Irregular => "irregular", "不定期";
    }
}

labelled_enum! {
    /// 数据分级, GB/T 43697-2024. When in doubt, take the higher grade.
    SecurityGrade {
        General => "general", "一般数据";
        Important => "important", "重要数据";
        Core => "core", "核心数据";
    }
}

labelled_enum! {
    /// 信息项数据类型 codes used across platforms.
    DataType {
        Char => "C", "字符型";
        Numeric => "N", "数值型";
        Currency => "Y", "货币型";
        Date => "D", "日期型";
        DateTime => "T", "日期时间型";
        Logical => "L", "逻辑型";
        Memo => "M", "备注型";
        General => "G", "通用型";
        Double => "B", "双精度型";
        Integer => "I", "整型";
        Float => "F", "浮点型";
    }
}

impl DataType {
    /// Character, numeric and currency items must state their length (rule 4).
    pub fn needs_length(self) -> bool {
        matches!(
            self,
            DataType::Char | DataType::Numeric | DataType::Currency
        )
    }
}

/// A named check applied to an item's values when data arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationRule {
    /// GB 11643 居民身份证号码.
    IdCard,
    /// GB 32100 统一社会信用代码.
    Uscc,
    /// GB/T 2260 行政区划代码.
    RegionCode,
    /// 手机号码.
    Mobile,
    /// ISO date `YYYY-MM-DD`.
    Date,
    /// The whole value matches this regular expression.
    Regex(String),
    /// A number within `min..=max`.
    Range { min: f64, max: f64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("校验规则“{0}”无法识别：应为 id_card、uscc、region_code、mobile、date、regex:表达式 或 range:最小值..最大值")]
pub struct UnknownRule(pub String);

impl FromStr for ValidationRule {
    type Err = UnknownRule;

    fn from_str(text: &str) -> Result<Self, UnknownRule> {
        let text = text.trim();
        let unknown = || UnknownRule(text.to_string());
        Ok(match text {
            "id_card" | "身份证号码" => Self::IdCard,
            "uscc" | "统一社会信用代码" => Self::Uscc,
            "region_code" | "行政区划代码" => Self::RegionCode,
            "mobile" | "手机号码" => Self::Mobile,
            "date" | "日期" => Self::Date,
            _ => {
                if let Some(pattern) = text.strip_prefix("regex:") {
                    regex::Regex::new(pattern).map_err(|_| unknown())?;
                    Self::Regex(pattern.to_string())
                } else if let Some(range) = text.strip_prefix("range:") {
                    let (min, max) = range.split_once("..").ok_or_else(unknown)?;
                    let min: f64 = min.trim().parse().map_err(|_| unknown())?;
                    let max: f64 = max.trim().parse().map_err(|_| unknown())?;
                    if min > max {
                        return Err(unknown());
                    }
                    Self::Range { min, max }
                } else {
                    return Err(unknown());
                }
            }
        })
    }
}

impl fmt::Display for ValidationRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdCard => f.write_str("id_card"),
            Self::Uscc => f.write_str("uscc"),
            Self::RegionCode => f.write_str("region_code"),
            Self::Mobile => f.write_str("mobile"),
            Self::Date => f.write_str("date"),
            Self::Regex(pattern) => write!(f, "regex:{pattern}"),
            Self::Range { min, max } => write!(f, "range:{min}..{max}"),
        }
    }
}

impl Serialize for ValidationRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ValidationRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

string_schema!(
    ValidationRule,
    "id_card | uscc | region_code | mobile | date | regex:PATTERN | range:MIN..MAX"
);

/// 信息项: one field of a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// 信息项名称 (Chinese).
    pub name: String,
    /// ASCII identifier, the column name of the data table.
    pub identifier: String,
    pub data_type: DataType,
    /// 数据长度 in bytes; required for C, N and Y.
    #[serde(default)]
    pub length: Option<u32>,
    #[serde(default)]
    pub required: bool,
    /// Part of the record key.
    #[serde(default)]
    pub key: bool,
    /// 代码表 reference, e.g. `GB/T 2261.1`.
    #[serde(default)]
    pub code_table: Option<String>,
    #[serde(default)]
    pub rule: Option<ValidationRule>,
    #[serde(default = "default_grade")]
    pub security_grade: SecurityGrade,
    /// Personal information (个人信息保护法): masked unless granted in clear.
    #[serde(default)]
    pub personal: bool,
    /// Per-item sharing; `None` inherits the resource's.
    #[serde(default)]
    pub share_type: Option<ShareType>,
    /// This department is the authoritative source of the item (一数一源).
    #[serde(default)]
    pub authoritative: bool,
    /// How the item is masked when personal and not granted in clear; `None`: the default
    /// for its rule or name ([`crate::sharing::MaskKind::of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<crate::sharing::MaskKind>,
}

fn default_grade() -> SecurityGrade {
    SecurityGrade::General
}

/// 共享属性.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareAttributes {
    pub share_type: ShareType,
    /// 共享条件: required for conditional sharing.
    #[serde(default)]
    pub conditions: Option<String>,
    /// 不予共享依据: the law, regulation or State Council decision.
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// 共享方式: required unless not shared.
    #[serde(default)]
    pub mode: Option<ShareMode>,
    /// Why a mode other than the platform is used.
    #[serde(default)]
    pub mode_reason: Option<String>,
}

/// 开放属性.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAttributes {
    /// 是否向社会开放.
    pub open_to_public: bool,
    #[serde(default)]
    pub conditions: Option<String>,
}

/// 信息资源格式: kind plus the concrete type (e.g. 数据库 / MySQL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceFormat {
    pub kind: FormatKind,
    #[serde(default)]
    pub detail: String,
}

/// The editable description of a catalogue entry: everything a department fills in.
/// Code, provider and publish date are attached by the platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceBody {
    /// 信息资源名称.
    pub name: String,
    /// 信息资源分类.
    pub class: ResourceClass,
    /// The internal unit of the provider that holds the data, if any.
    #[serde(default)]
    pub provider_unit: Option<String>,
    /// 信息资源摘要.
    #[serde(rename = "abstract")]
    pub summary: String,
    pub format: ResourceFormat,
    #[serde(default)]
    pub items: Vec<Item>,
    pub share: ShareAttributes,
    #[serde(default)]
    pub open: OpenAttributes,
    pub update_cycle: UpdateCycle,
    /// 关联资源代码.
    #[serde(default)]
    pub related_codes: Vec<ResourceCode>,
    pub security_grade: SecurityGrade,
    /// 扩展元数据.
    #[serde(default)]
    pub extensions: BTreeMap<String, String>,
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// An ASCII identifier usable as a column name: a letter, then letters, digits or `_`.
pub fn is_valid_identifier(text: &str) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && text.len() <= 48
}

impl ResourceBody {
    /// Every rule of standards.md §1, collecting all problems. `provider_branch` is the
    /// provider's catalogue branch number, which departmental resources use as their 项.
    pub fn validate(&self, provider_branch: u8) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || name_len > 100 {
            errors.push("name", "信息资源名称不能为空，且不超过100字");
        }
        if self.summary.trim().is_empty() {
            errors.push("abstract", "信息资源摘要不能为空");
        }
        self.class.validate(&mut errors);
        if self.class.kind == crate::code::ClassKind::Departmental
            && self.class.subclass != provider_branch
        {
            errors.push(
                "class.subclass",
                format!("部门类资源的项应为提供方的目录编号 {provider_branch:02}"),
            );
        }
        self.validate_share(&mut errors);
        if self.open.open_to_public
            && blank(&self.open.conditions)
            && self.share.share_type == ShareType::NotShared
        {
            errors.push("open.open_to_public", "不予共享的资源不能向社会开放");
        }
        if self.format.kind.is_structured() && self.items.is_empty() {
            errors.push("items", "数据库、电子表格格式的资源至少需要一个信息项");
        }
        self.validate_items(&mut errors);
        errors.into_result(())
    }

    fn validate_share(&self, errors: &mut ValidationErrors) {
        let share = &self.share;
        match share.share_type {
            ShareType::Conditional if blank(&share.conditions) => {
                errors.push("share.conditions", "有条件共享的资源必须填写共享条件");
            }
            ShareType::NotShared if blank(&share.legal_basis) => {
                errors.push(
                    "share.legal_basis",
                    "不予共享的资源必须列明法律、行政法规或国务院决定等依据",
                );
            }
            _ => {}
        }
        if share.share_type != ShareType::NotShared {
            match share.mode {
                None => errors.push("share.mode", "除不予共享外，必须选择共享方式"),
                Some(mode) if mode != ShareMode::Platform && blank(&share.mode_reason) => {
                    errors.push(
                        "share.mode_reason",
                        "不通过共享平台方式共享的，必须说明理由",
                    );
                }
                Some(_) => {}
            }
        }
    }

    fn validate_items(&self, errors: &mut ValidationErrors) {
        let mut identifiers = HashSet::new();
        let mut names = HashSet::new();
        for (i, item) in self.items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            if item.name.trim().is_empty() {
                errors.push(field("name"), "信息项名称不能为空");
            } else if !names.insert(item.name.trim()) {
                errors.push(field("name"), format!("信息项名称“{}”重复", item.name));
            }
            if !is_valid_identifier(&item.identifier) {
                errors.push(
                    field("identifier"),
                    "标识符应以字母开头，只含字母、数字和下划线，不超过48字符",
                );
            } else if !identifiers.insert(item.identifier.to_ascii_lowercase()) {
                errors.push(
                    field("identifier"),
                    format!("标识符“{}”重复", item.identifier),
                );
            }
            if item.data_type.needs_length() && item.length.is_none_or(|l| l == 0) {
                errors.push(
                    field("length"),
                    format!("{}必须填写数据长度", item.data_type.label()),
                );
            }
            if item.key && !item.required {
                errors.push(field("required"), "主键信息项必须为必填");
            }
            if let Some(item_share) = item.share_type {
                if item_share.restriction() < self.share.share_type.restriction() {
                    errors.push(
                        field("share_type"),
                        format!(
                            "信息项的共享类型不能比资源（{}）更宽松",
                            self.share.share_type.label()
                        ),
                    );
                }
            }
        }
    }

    /// The share type that applies to one item.
    pub fn item_share_type(&self, item: &Item) -> ShareType {
        item.share_type.unwrap_or(self.share.share_type)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::code::ClassKind;

    pub(crate) fn sample_body() -> ResourceBody {
        ResourceBody {
            name: "常住人口户籍信息".into(),
            class: ResourceClass {
                kind: ClassKind::Basic,
                subclass: 1,
                category: 1,
                detail: String::new(),
            },
            provider_unit: Some("户政管理支队".into()),
            summary: "全市常住人口户籍登记信息".into(),
            format: ResourceFormat {
                kind: FormatKind::Database,
                detail: "PostgreSQL".into(),
            },
            items: vec![Item {
                name: "公民身份号码".into(),
                identifier: "id_number".into(),
                data_type: DataType::Char,
                length: Some(18),
                required: true,
                key: true,
                code_table: None,
                rule: Some(ValidationRule::IdCard),
                security_grade: SecurityGrade::Important,
                personal: true,
                share_type: None,
                authoritative: true,
                mask: None,
            }],
            share: ShareAttributes {
                share_type: ShareType::Conditional,
                conditions: Some("用于政务服务身份核验".into()),
                legal_basis: None,
                mode: Some(ShareMode::Platform),
                mode_reason: None,
            },
            open: OpenAttributes::default(),
            update_cycle: UpdateCycle::Daily,
            related_codes: vec![],
            security_grade: SecurityGrade::Important,
            extensions: BTreeMap::new(),
        }
    }

    fn fields(body: &ResourceBody) -> Vec<String> {
        match body.validate(1) {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn sample_is_valid() {
        assert_eq!(fields(&sample_body()), Vec::<String>::new());
    }

    #[test]
    fn conditional_sharing_requires_conditions() {
        let mut body = sample_body();
        body.share.conditions = Some("  ".into());
        assert_eq!(fields(&body), ["share.conditions"]);
    }

    #[test]
    fn not_shared_requires_legal_basis_but_no_mode() {
        let mut body = sample_body();
        body.share.share_type = ShareType::NotShared;
        body.share.mode = None;
        assert_eq!(fields(&body), ["share.legal_basis"]);
        body.share.legal_basis = Some("《中华人民共和国保守国家秘密法》".into());
        assert_eq!(fields(&body), Vec::<String>::new());
    }

    #[test]
    fn shared_resources_need_a_mode_and_a_reason_off_platform() {
        let mut body = sample_body();
        body.share.mode = None;
        assert_eq!(fields(&body), ["share.mode"]);
        body.share.mode = Some(ShareMode::Media);
        assert_eq!(fields(&body), ["share.mode_reason"]);
    }

    #[test]
    fn structured_formats_need_items_with_lengths() {
        let mut body = sample_body();
        body.items[0].length = None;
        assert_eq!(fields(&body), ["items[0].length"]);
        body.items.clear();
        assert_eq!(fields(&body), ["items"]);
        body.format.kind = FormatKind::Document;
        assert_eq!(fields(&body), Vec::<String>::new());
    }

    #[test]
    fn items_need_unique_ascii_identifiers() {
        let mut body = sample_body();
        let mut second = body.items[0].clone();
        second.name = "姓名".into();
        second.identifier = "ID_NUMBER".into();
        body.items.push(second);
        assert_eq!(fields(&body), ["items[1].identifier"]);
        body.items[1].identifier = "姓名".into();
        assert_eq!(fields(&body), ["items[1].identifier"]);
    }

    #[test]
    fn item_cannot_be_shared_more_openly_than_its_resource() {
        let mut body = sample_body();
        body.items[0].share_type = Some(ShareType::Unconditional);
        assert_eq!(fields(&body), ["items[0].share_type"]);
        body.items[0].share_type = Some(ShareType::NotShared);
        assert_eq!(fields(&body), Vec::<String>::new());
    }

    #[test]
    fn departmental_subclass_is_the_provider_branch() {
        let mut body = sample_body();
        body.class = ResourceClass {
            kind: ClassKind::Departmental,
            subclass: 4,
            category: 1,
            detail: String::new(),
        };
        assert_eq!(fields(&body), ["class.subclass"]);
        assert!(body.validate(4).is_ok());
    }

    #[test]
    fn parses_validation_rules() {
        assert_eq!(
            "id_card".parse::<ValidationRule>().unwrap(),
            ValidationRule::IdCard
        );
        assert_eq!(
            "range:0..150".parse::<ValidationRule>().unwrap(),
            ValidationRule::Range {
                min: 0.0,
                max: 150.0
            }
        );
        assert_eq!(
            "regex:^[A-Z]{2}$"
                .parse::<ValidationRule>()
                .unwrap()
                .to_string(),
            "regex:^[A-Z]{2}$"
        );
        assert!("regex:([".parse::<ValidationRule>().is_err());
        assert!("range:9..1".parse::<ValidationRule>().is_err());
        assert!("phone".parse::<ValidationRule>().is_err());
    }

    #[test]
    fn rejects_unknown_fields_in_json() {
        let mut json = serde_json::to_value(sample_body()).unwrap();
        json["colour"] = "red".into();
        let err = serde_json::from_value::<ResourceBody>(json).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn enumerations_parse_codes_and_chinese_labels() {
        assert_eq!(ShareType::parse("有条件共享"), Some(ShareType::Conditional));
        assert_eq!(
            ShareType::parse("conditional"),
            Some(ShareType::Conditional)
        );
        assert_eq!(UpdateCycle::parse(" 每季度 "), Some(UpdateCycle::Quarterly));
        assert_eq!(DataType::parse("C"), Some(DataType::Char));
        assert_eq!(ShareType::parse("共享"), None);
    }
}
