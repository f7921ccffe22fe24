//! The layout of the template: sheet names, columns in order, their drop-down lists, and
//! which column holds which field of a `ResourceBody`. Reader and writer both use these
//! tables, so the two cannot drift apart.

use domain::catalogue::{DataType, FormatKind, SecurityGrade, ShareMode, ShareType, UpdateCycle};
use domain::code::ClassKind;

pub(super) const ENTRY_SHEET: &str = "目录";
pub(super) const ITEM_SHEET: &str = "信息项";
pub(super) const GUIDE_SHEET: &str = "说明";
pub(super) const LIST_SHEET: &str = "枚举";

/// Drop-downs cover at least rows 2..=2000 so that rows a department adds have them too.
pub(super) const LAST_VALIDATED_ROW: u32 = 1999;

pub(super) const YES: &str = "是";
pub(super) const NO: &str = "否";

/// A column of one sheet of the template.
pub(super) trait Column: Copy + 'static {
    const SHEET: &'static str;
    const ALL: &'static [Self];
    fn header(self) -> &'static str;
    fn index(self) -> u16;
    /// A column added to the template later: a workbook made from an older template may
    /// end before it, and then reads as if it were blank.
    fn optional(self) -> bool {
        false
    }
}

macro_rules! columns {
    ($(#[$meta:meta])* $name:ident on $sheet:ident $(optional [$($optional:ident),+])? {
        $($variant:ident => $header:literal, $width:literal;)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum $name { $($variant),+ }

        impl Column for $name {
            const SHEET: &'static str = $sheet;
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn header(self) -> &'static str {
                match self { $($name::$variant => $header),+ }
            }

            fn index(self) -> u16 {
                self as u16
            }

            fn optional(self) -> bool {
                false $($(|| self == $name::$optional)+)?
            }
        }

        impl $name {
            /// Column width in Excel character units, wide enough for typical content.
            pub(super) fn width(self) -> f64 {
                match self { $($name::$variant => $width as f64),+ }
            }
        }
    };
}

columns! {
    /// Columns of the 目录 sheet, one row per catalogue entry.
    EntryCol on ENTRY_SHEET {
        Serial => "序号", 6;
        Code => "信息资源代码", 16;
        Name => "信息资源名称", 24;
        Provider => "提供方", 16;
        Status => "状态", 8;
        Class => "类", 8;
        Subclass => "项", 6;
        Category => "目", 6;
        Detail => "细目", 8;
        Unit => "内设机构", 14;
        Abstract => "信息资源摘要", 36;
        FormatKind => "格式分类", 12;
        FormatDetail => "格式类型", 12;
        ShareType => "共享类型", 12;
        ShareConditions => "共享条件", 24;
        LegalBasis => "不予共享依据", 24;
        ShareMode => "共享方式", 14;
        ModeReason => "非平台方式理由", 20;
        OpenToPublic => "是否向社会开放", 16;
        OpenConditions => "开放条件", 20;
        UpdateCycle => "更新周期", 10;
        SecurityGrade => "安全级别", 10;
        RelatedCodes => "关联资源代码", 28;
        Extensions => "扩展元数据", 28;
    }
}

columns! {
    /// Columns of the 信息项 sheet, one row per item, linked to its entry by 序号.
    ItemCol on ITEM_SHEET optional [Mask] {
        Serial => "序号", 6;
        Name => "信息项名称", 20;
        Identifier => "标识符", 18;
        DataType => "数据类型", 10;
        Length => "数据长度", 10;
        Required => "是否必填", 10;
        Key => "是否主键", 10;
        CodeTable => "代码表", 16;
        Rule => "校验规则", 20;
        SecurityGrade => "安全级别", 10;
        Personal => "是否个人信息", 14;
        ShareType => "共享类型", 12;
        Authoritative => "是否权威来源", 14;
        Mask => "脱敏方式", 12;
    }
}

impl EntryCol {
    /// The drop-down list offered in this column, if any.
    pub(super) fn list(self) -> Option<List> {
        Some(match self {
            EntryCol::Class => List::ClassKind,
            EntryCol::FormatKind => List::FormatKind,
            EntryCol::ShareType => List::ShareType,
            EntryCol::ShareMode => List::ShareMode,
            EntryCol::OpenToPublic => List::YesNo,
            EntryCol::UpdateCycle => List::UpdateCycle,
            EntryCol::SecurityGrade => List::SecurityGrade,
            _ => return None,
        })
    }

    /// Columns whose content looks numeric but must stay text (`01`, `101001/000123`).
    pub(super) fn keeps_text(self) -> bool {
        matches!(
            self,
            EntryCol::Code | EntryCol::Detail | EntryCol::RelatedCodes | EntryCol::Extensions
        )
    }

    /// The column holding a `ResourceBody` field, by its validation path.
    pub(super) fn for_field(field: &str) -> Option<EntryCol> {
        Some(match field {
            "name" | "items" => EntryCol::Name,
            "abstract" => EntryCol::Abstract,
            "class" | "class.kind" => EntryCol::Class,
            "class.subclass" => EntryCol::Subclass,
            "class.category" => EntryCol::Category,
            "class.detail" => EntryCol::Detail,
            "provider_unit" => EntryCol::Unit,
            "format" | "format.kind" => EntryCol::FormatKind,
            "format.detail" => EntryCol::FormatDetail,
            "share" | "share.share_type" => EntryCol::ShareType,
            "share.conditions" => EntryCol::ShareConditions,
            "share.legal_basis" => EntryCol::LegalBasis,
            "share.mode" => EntryCol::ShareMode,
            "share.mode_reason" => EntryCol::ModeReason,
            "open" | "open.open_to_public" => EntryCol::OpenToPublic,
            "open.conditions" => EntryCol::OpenConditions,
            "update_cycle" => EntryCol::UpdateCycle,
            "security_grade" => EntryCol::SecurityGrade,
            "related_codes" => EntryCol::RelatedCodes,
            "extensions" => EntryCol::Extensions,
            _ => return None,
        })
    }
}

impl ItemCol {
    pub(super) fn list(self) -> Option<List> {
        Some(match self {
            ItemCol::DataType => List::DataType,
            ItemCol::SecurityGrade => List::SecurityGrade,
            ItemCol::ShareType => List::ShareType,
            ItemCol::Required | ItemCol::Key | ItemCol::Personal | ItemCol::Authoritative => {
                List::YesNo
            }
            ItemCol::Mask => List::MaskKind,
            _ => return None,
        })
    }

    pub(super) fn keeps_text(self) -> bool {
        matches!(
            self,
            ItemCol::Identifier | ItemCol::CodeTable | ItemCol::Rule
        )
    }

    /// The column holding an `Item` field, by the part after `items[i].`.
    pub(super) fn for_field(field: &str) -> Option<ItemCol> {
        Some(match field {
            "name" => ItemCol::Name,
            "identifier" => ItemCol::Identifier,
            "data_type" => ItemCol::DataType,
            "length" => ItemCol::Length,
            "required" => ItemCol::Required,
            "key" => ItemCol::Key,
            "code_table" => ItemCol::CodeTable,
            "rule" => ItemCol::Rule,
            "security_grade" => ItemCol::SecurityGrade,
            "personal" => ItemCol::Personal,
            "share_type" => ItemCol::ShareType,
            "authoritative" => ItemCol::Authoritative,
            "mask" => ItemCol::Mask,
            _ => return None,
        })
    }
}

/// An enumeration offered as a drop-down. Each is one column of the 枚举 sheet, in this
/// order, with its name in row 1 and its values below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum List {
    ClassKind,
    FormatKind,
    ShareType,
    ShareMode,
    UpdateCycle,
    SecurityGrade,
    DataType,
    YesNo,
    MaskKind,
}

impl List {
    pub(super) const ALL: &'static [List] = &[
        List::ClassKind,
        List::FormatKind,
        List::ShareType,
        List::ShareMode,
        List::UpdateCycle,
        List::SecurityGrade,
        List::DataType,
        List::YesNo,
        List::MaskKind,
    ];

    pub(super) fn header(self) -> &'static str {
        match self {
            List::ClassKind => "类",
            List::FormatKind => "格式分类",
            List::ShareType => "共享类型",
            List::ShareMode => "共享方式",
            List::UpdateCycle => "更新周期",
            List::SecurityGrade => "安全级别",
            List::DataType => "数据类型",
            List::YesNo => "是/否",
            List::MaskKind => "脱敏方式",
        }
    }

    pub(super) fn values(self) -> Vec<&'static str> {
        match self {
            List::ClassKind => ClassKind::labels(),
            List::FormatKind => FormatKind::labels(),
            List::ShareType => ShareType::labels(),
            List::ShareMode => ShareMode::labels(),
            List::UpdateCycle => UpdateCycle::labels(),
            List::SecurityGrade => SecurityGrade::labels(),
            List::DataType => DataType::labels(),
            List::YesNo => vec![YES, NO],
            List::MaskKind => domain::sharing::MaskKind::labels(),
        }
    }

    pub(super) fn index(self) -> u16 {
        self as u16
    }

    /// The absolute range of the values on the 枚举 sheet, e.g. `'枚举'!$A$2:$A$4`.
    /// Quoted because the sheet name is not plain ASCII.
    pub(super) fn range_formula(self) -> String {
        let letter = column_letter(self.index());
        let last_row = self.values().len() + 1;
        format!("'{LIST_SHEET}'!${letter}$2:${letter}${last_row}")
    }
}

/// Excel's column name for a 0-based index: 0 → A, 25 → Z, 26 → AA.
pub(super) fn column_letter(index: u16) -> String {
    let mut n = u32::from(index) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// Whether a sheet precedes another in problem reports: 目录 first, then 信息项.
pub(super) fn sheet_rank(sheet: &str) -> u8 {
    match sheet {
        ENTRY_SHEET => 0,
        ITEM_SHEET => 1,
        _ => 2,
    }
}

/// The position of a header on a sheet, for ordering problems left to right.
pub(super) fn header_position(sheet: &str, header: &str) -> usize {
    fn position<C: Column>(header: &str) -> usize {
        C::ALL
            .iter()
            .position(|c| c.header() == header)
            .unwrap_or(usize::MAX)
    }
    match sheet {
        ENTRY_SHEET => position::<EntryCol>(header),
        ITEM_SHEET => position::<ItemCol>(header),
        _ => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
    }

    #[test]
    fn every_validated_field_has_a_column() {
        for field in [
            "name",
            "abstract",
            "class.subclass",
            "class.category",
            "class.detail",
            "share.conditions",
            "share.legal_basis",
            "share.mode",
            "share.mode_reason",
            "open.open_to_public",
            "items",
        ] {
            assert!(EntryCol::for_field(field).is_some(), "{field}");
        }
        for field in ["name", "identifier", "length", "required", "share_type"] {
            assert!(ItemCol::for_field(field).is_some(), "{field}");
        }
    }

    #[test]
    fn list_formulas_point_at_their_values() {
        assert_eq!(List::ClassKind.range_formula(), "'枚举'!$A$2:$A$4");
        assert_eq!(List::YesNo.range_formula(), "'枚举'!$H$2:$H$3");
    }
}
