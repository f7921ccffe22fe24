//! Share requests and grants (SPEC §3.5, standards.md §2): what a consumer may ask for,
//! how a request moves, and what a grant lets an application read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::catalogue::{Item, ResourceBody, ShareType, ValidationRule};
use crate::labelled::labelled_enum;
use crate::workflow::WorkflowError;
use crate::ValidationErrors;

labelled_enum! {
    /// Where a share request stands.
    RequestStatus {
        /// Waiting for the provider's decision (有条件共享).
        Pending => "pending", "待审核";
        /// Granted, in whole or in part; a grant exists.
        Approved => "approved", "已授权";
        /// Refused by the provider: with the bureau for coordination.
        Coordinating => "coordinating", "协调中";
        /// Refused, after coordination.
        Refused => "refused", "已拒绝";
        /// The grant was withdrawn by the provider or the bureau.
        Revoked => "revoked", "已撤销";
    }
}

/// What a consumer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// Item identifiers; empty asks for every item that may be shared.
    #[serde(default)]
    pub items: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    /// The consuming application system, as named on its API token.
    pub application: String,
    /// Last day (Beijing) the data may be used.
    pub valid_until: NaiveDate,
    /// Items asked for in clear although personal (the provider decides).
    #[serde(default)]
    pub clear_items: Vec<String>,
}

/// A request checked against the entry: the items, and the share type that decides its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    pub items: Vec<String>,
    pub clear_items: Vec<String>,
    /// The strictest share type among the requested items, and conditional whenever a
    /// personal item is asked for in clear.
    pub share_type: ShareType,
    /// Personal items are asked for in clear: the provider's chief must decide.
    pub clear_personal: bool,
}

/// Checks a request against the published entry. `today` is the Beijing date.
pub fn check_request(
    body: &ResourceBody,
    input: &RequestInput,
    today: NaiveDate,
) -> Result<CheckedRequest, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (field, text) in [
        ("purpose", &input.purpose),
        ("legal_basis", &input.legal_basis),
        ("application", &input.application),
    ] {
        if text.trim().is_empty() {
            errors.push(field, "必填");
        } else if text.chars().count() > 500 {
            errors.push(field, "不能超过 500 个字");
        }
    }
    if input.valid_until <= today {
        errors.push("valid_until", "有效期须晚于今天");
    } else if (input.valid_until - today).num_days() > 3 * 366 {
        errors.push("valid_until", "有效期不能超过三年，到期前可申请续期");
    }
    if body.share.share_type == ShareType::NotShared {
        errors.push(
            "resource",
            "该目录为不予共享，不能申请；如认为不予共享依据不足，可申请管理方复核",
        );
    }
    let by_identifier: BTreeMap<&str, &Item> = body
        .items
        .iter()
        .map(|i| (i.identifier.as_str(), i))
        .collect();
    let mut items = Vec::new();
    if input.items.is_empty() {
        items.extend(
            body.items
                .iter()
                .filter(|i| body.item_share_type(i) != ShareType::NotShared)
                .map(|i| i.identifier.clone()),
        );
    }
    for (n, requested) in input.items.iter().enumerate() {
        match by_identifier.get(requested.as_str()) {
            None => errors.push(
                format!("items[{n}]"),
                format!("目录中没有信息项“{requested}”"),
            ),
            Some(item) if body.item_share_type(item) == ShareType::NotShared => errors.push(
                format!("items[{n}]"),
                format!("信息项“{}”不予共享", item.name),
            ),
            Some(_) if items.contains(requested) => {
                errors.push(format!("items[{n}]"), "重复的信息项")
            }
            Some(_) => items.push(requested.clone()),
        }
    }
    for (n, clear) in input.clear_items.iter().enumerate() {
        if !items.contains(clear) {
            errors.push(
                format!("clear_items[{n}]"),
                format!("“{clear}”不在申请的信息项中"),
            );
        }
    }
    let strictest = items
        .iter()
        .filter_map(|i| by_identifier.get(i.as_str()))
        .map(|item| body.item_share_type(item))
        .max_by_key(|s| matches!(s, ShareType::Conditional))
        .unwrap_or(body.share.share_type);
    // Personal data in clear is never unconditional, whatever the entry's share type
    // (个人信息保护法 第二十三条): the provider decides.
    let clear_personal = clear_personal(body, &input.clear_items);
    let share_type = if clear_personal {
        ShareType::Conditional
    } else {
        strictest
    };
    errors.into_result(CheckedRequest {
        items,
        clear_items: input.clear_items.clone(),
        share_type,
        clear_personal,
    })
}

/// The provider's (or, in coordination, the bureau's) decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Grant the items listed (all requested when empty), with optional limits.
    Approve {
        #[serde(default)]
        items: Vec<String>,
        /// Items granted in clear; other personal items are masked.
        #[serde(default)]
        clear_items: Vec<String>,
        /// Only rows whose item has one of these values, e.g. a district's region code.
        #[serde(default)]
        row_filter: Option<BTreeMap<String, Vec<String>>>,
        #[serde(default)]
        rate_per_minute: Option<u32>,
        #[serde(default)]
        daily_quota: Option<u32>,
        /// Verification calls a day (核验): kept small, since each answers a guess.
        #[serde(default)]
        verify_quota: Option<u32>,
    },
    Refuse {
        reason: String,
    },
}

/// One granted item. As stored, `clear` says that a personal item was granted in clear
/// (non-personal items are always shown in clear); through [`effective_items`], whether
/// the item is shown in clear today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GrantedItem {
    pub item: String,
    pub clear: bool,
}

/// What an approval grants, checked against the request and the entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GrantTerms {
    pub items: Vec<GrantedItem>,
    pub row_filter: Option<BTreeMap<String, Vec<String>>>,
    pub rate_per_minute: u32,
    pub daily_quota: u32,
    pub verify_quota: u32,
}

/// The limits an approval sets; those left unset take the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub rate_per_minute: Option<u32>,
    pub daily_quota: Option<u32>,
    pub verify_quota: Option<u32>,
}

/// Whether any of `clear_items` is a personal item of the entry.
pub fn clear_personal(body: &ResourceBody, clear_items: &[String]) -> bool {
    body.items
        .iter()
        .any(|i| i.personal && clear_items.contains(&i.identifier))
}

/// What a grant shows under the entry's current published version: grants follow the
/// rules of today, not those of the day they were given. Items now 不予共享 (or the whole
/// entry) are no longer read; an item now personal is masked unless it was granted in
/// clear; `clear` of the answer says whether the item is shown in clear.
pub fn effective_items(granted: &[GrantedItem], body: &ResourceBody) -> Vec<GrantedItem> {
    if body.share.share_type == ShareType::NotShared {
        return Vec::new();
    }
    granted
        .iter()
        .filter_map(|g| {
            let item = body.items.iter().find(|i| i.identifier == g.item)?;
            (body.item_share_type(item) != ShareType::NotShared).then(|| GrantedItem {
                item: g.item.clone(),
                clear: !item.personal || g.clear,
            })
        })
        .collect()
}

pub const DEFAULT_RATE_PER_MINUTE: u32 = 600;
pub const DEFAULT_DAILY_QUOTA: u32 = 100_000;
/// Verification answers yes or no to a guess about a record (an ID holder's name, say):
/// a day's allowance far below the read quota keeps guessing impractical.
pub const DEFAULT_VERIFY_QUOTA: u32 = 1_000;

/// Turns an approval into grant terms: granted items must be among those requested;
/// personal items are masked unless both asked for and approved in clear.
pub fn grant_terms(
    body: &ResourceBody,
    requested: &[String],
    requested_clear: &[String],
    items: &[String],
    clear_items: &[String],
    row_filter: Option<&BTreeMap<String, Vec<String>>>,
    limits: Limits,
) -> Result<GrantTerms, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let chosen: Vec<String> = if items.is_empty() {
        requested.to_vec()
    } else {
        items.to_vec()
    };
    for (n, item) in chosen.iter().enumerate() {
        if !requested.contains(item) {
            errors.push(format!("items[{n}]"), format!("“{item}”不在申请的信息项中"));
        }
    }
    for (n, item) in clear_items.iter().enumerate() {
        if !chosen.contains(item) {
            errors.push(
                format!("clear_items[{n}]"),
                format!("“{item}”不在授权的信息项中"),
            );
        }
    }
    if let Some(filter) = row_filter {
        for (item, values) in filter {
            if !body.items.iter().any(|i| &i.identifier == item) {
                errors.push(format!("row_filter.{item}"), "目录中没有该信息项");
            } else if values.is_empty() {
                errors.push(format!("row_filter.{item}"), "至少给出一个取值");
            }
        }
    }
    for (field, limit) in [
        ("rate_per_minute", limits.rate_per_minute),
        ("daily_quota", limits.daily_quota),
        ("verify_quota", limits.verify_quota),
    ] {
        if limit == Some(0) {
            errors.push(field, "须大于 0");
        }
    }
    let personal = |identifier: &str| {
        body.items
            .iter()
            .any(|i| i.identifier == identifier && i.personal)
    };
    let granted = chosen
        .iter()
        .map(|item| GrantedItem {
            item: item.clone(),
            clear: personal(item) && clear_items.contains(item) && requested_clear.contains(item),
        })
        .collect();
    errors.into_result(GrantTerms {
        items: granted,
        row_filter: row_filter.cloned(),
        rate_per_minute: limits.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE),
        daily_quota: limits.daily_quota.unwrap_or(DEFAULT_DAILY_QUOTA),
        verify_quota: limits.verify_quota.unwrap_or(DEFAULT_VERIFY_QUOTA),
    })
}

labelled_enum! {
    /// How a personal item is masked when it is not granted in clear (standards.md §5: no
    /// national pattern, so per item, with these defaults).
    MaskKind {
        /// First 6 and last 4: `340102********1234`.
        IdCard => "id_card", "身份证号";
        /// 3-4-4 with the middle hidden: `138****8000`.
        Mobile => "mobile", "手机号码";
        /// The surname only: `张*`.
        Name => "name", "姓名";
        /// First 6 and last 4.
        BankCard => "bank_card", "银行卡号";
        /// A quarter at each end, at most 3 characters.
        Generic => "generic", "部分隐藏";
        /// Every character hidden.
        Full => "full", "全部隐藏";
        /// Not masked: a public identifier (a credit code) marked personal for its context.
        Unmasked => "none", "不脱敏";
    }
}

impl MaskKind {
    /// The item's mask: its own setting, else by its validation rule, else by its name.
    pub fn of(item: &Item) -> Self {
        if let Some(mask) = item.mask {
            return mask;
        }
        match &item.rule {
            Some(ValidationRule::IdCard) => MaskKind::IdCard,
            Some(ValidationRule::Mobile) => MaskKind::Mobile,
            // Credit codes are public (standards.md §5).
            Some(ValidationRule::Uscc) => MaskKind::Unmasked,
            _ if item.name.contains("姓名") => MaskKind::Name,
            _ if ["银行卡", "卡号", "银行账号"]
                .iter()
                .any(|w| item.name.contains(w)) =>
            {
                MaskKind::BankCard
            }
            _ => MaskKind::Generic,
        }
    }

    pub fn apply(self, text: &str) -> String {
        match self {
            MaskKind::IdCard => crate::mask::id_card(text),
            MaskKind::Mobile => crate::mask::mobile(text),
            MaskKind::Name => crate::mask::name(text),
            MaskKind::BankCard => crate::mask::bank_card(text),
            MaskKind::Generic => crate::mask::generic(text),
            MaskKind::Full => "*".repeat(text.chars().count()),
            MaskKind::Unmasked => text.to_string(),
        }
    }
}

/// The items an application reads: the granted ones, narrowed by `fields=` when given.
/// Asking for an item outside the grant is an error naming it, never a silent drop.
pub fn projection(
    granted: &[GrantedItem],
    fields: Option<&str>,
) -> Result<Vec<GrantedItem>, String> {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return Ok(granted.to_vec());
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match granted.iter().find(|g| g.item == field) {
            Some(g) if seen.insert(field) => out.push(g.clone()),
            Some(_) => {}
            None => return Err(format!("未获授权的信息项：{field}")),
        }
    }
    Ok(out)
}

labelled_enum! {
    /// Where an objection to a record stands (standards.md §2).
    ObjectionStatus {
        /// Raised; the provider has not looked yet. The record is not flagged.
        Submitted => "submitted", "已提交";
        /// Accepted for verification: the record shows 异议中 to every consumer.
        Accepted => "accepted", "异议中";
        /// Not accepted, with the provider's reason.
        Rejected => "rejected", "不予受理";
        /// Verified and corrected.
        Corrected => "corrected", "已更正";
        /// Verified and confirmed as it is.
        Confirmed => "confirmed", "已核实无误";
    }
}

/// What the provider does with an objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionStep {
    Accept,
    Reject,
    Correct,
    Confirm,
}

impl ObjectionStatus {
    /// The record is flagged while the objection is accepted and not yet verified.
    pub fn flags_record(self) -> bool {
        self == ObjectionStatus::Accepted
    }

    /// Closed (archived): the provider's duty is done.
    pub fn closed(self) -> bool {
        matches!(
            self,
            ObjectionStatus::Rejected | ObjectionStatus::Corrected | ObjectionStatus::Confirmed
        )
    }

    /// The next state, if the step is allowed from this one.
    pub fn after(self, step: ObjectionStep) -> Result<Self, WorkflowError> {
        use ObjectionStatus::*;
        match (self, step) {
            (Submitted, ObjectionStep::Accept) => Ok(Accepted),
            (Submitted, ObjectionStep::Reject) => Ok(Rejected),
            (Accepted, ObjectionStep::Correct) => Ok(Corrected),
            (Accepted, ObjectionStep::Confirm) => Ok(Confirmed),
            (status, _) => Err(WorkflowError::WrongState {
                action: "处理数据异议",
                status: status.label(),
            }),
        }
    }
}

labelled_enum! {
    /// Where a data need stands (需求清单, standards.md §2).
    NeedStatus {
        /// Posted; waiting for the bureau to find a provider.
        Submitted => "submitted", "待分派";
        /// With a provider, which must answer within its deadline.
        Assigned => "assigned", "待响应";
        /// The provider catalogued the data (the answer names the entry).
        Catalogued => "catalogued", "已编目";
        /// The provider cannot provide it, with reasons.
        Declined => "declined", "不能提供";
    }
}

labelled_enum! {
    /// The bureau's review of the legal basis an entry (or some of its items) is listed as
    /// 不予共享 under, asked for by a consumer that cannot request it.
    ReviewStatus {
        /// With the bureau, which decides within the coordination deadline.
        Submitted => "submitted", "待复核";
        /// The basis holds: the data stays not shared.
        Upheld => "upheld", "维持不予共享";
        /// The basis does not hold: the provider must revise the entry's share type.
        Overturned => "overturned", "应予共享";
    }
}

/// What a review of the not-shared basis is about: the not-shared items named, or (none
/// named) the whole entry, which must then be listed 不予共享. Anything shared is refused:
/// it can simply be requested.
pub fn review_targets(
    body: &ResourceBody,
    items: &[String],
) -> Result<Vec<String>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if items.is_empty() {
        if body.share.share_type != ShareType::NotShared {
            errors.push("items", "该目录可以申请共享；请指明要复核的不予共享信息项");
        }
        return errors.into_result(Vec::new());
    }
    for (n, identifier) in items.iter().enumerate() {
        match body.items.iter().find(|i| &i.identifier == identifier) {
            None => errors.push(format!("items[{n}]"), "目录中没有该信息项"),
            Some(item) if body.item_share_type(item) != ShareType::NotShared => errors.push(
                format!("items[{n}]"),
                format!("“{}”不是不予共享的信息项，可直接申请", item.name),
            ),
            Some(_) => {}
        }
    }
    errors.into_result(items.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(share: ShareType) -> ResourceBody {
        let mut body = crate::catalogue::tests::sample_body();
        body.share.share_type = share;
        let item = |name: &str, identifier: &str, personal, share_type| Item {
            name: name.into(),
            identifier: identifier.into(),
            key: false,
            required: false,
            rule: None,
            personal,
            share_type,
            ..body.items[0].clone()
        };
        body.items.extend([
            item("姓名", "full_name", true, None),
            item("户籍地址", "address", false, Some(ShareType::Conditional)),
            item("宗教信仰", "religion", true, Some(ShareType::NotShared)),
        ]);
        body
    }

    #[test]
    fn an_items_own_mask_wins_over_the_defaults() {
        let mut card = body(ShareType::Conditional).items[0].clone();
        card.name = "银行卡号".into();
        card.rule = None;
        card.mask = None;
        assert_eq!(
            MaskKind::of(&card).apply("6222021234567890123"),
            "622202*********0123"
        );
        card.mask = Some(MaskKind::Full);
        assert_eq!(MaskKind::of(&card).apply("6222"), "****");
        card.rule = Some(ValidationRule::Uscc);
        card.mask = None;
        assert_eq!(
            MaskKind::of(&card),
            MaskKind::Unmasked,
            "credit codes are public"
        );
        assert_eq!(MaskKind::parse("全部隐藏"), Some(MaskKind::Full));
    }

    #[test]
    fn only_not_shared_data_can_be_put_to_review() {
        let open = body(ShareType::Conditional);
        assert_eq!(
            review_targets(&open, &["religion".into()]).unwrap(),
            ["religion"]
        );
        let shared_item = review_targets(&open, &["full_name".into()]).unwrap_err();
        assert!(
            shared_item.to_string().contains("可直接申请"),
            "{shared_item}"
        );
        assert!(
            review_targets(&open, &[]).is_err(),
            "a shareable entry is requested, not reviewed"
        );
        assert!(review_targets(&open, &["nothing".into()]).is_err());
        assert_eq!(
            review_targets(&body(ShareType::NotShared), &[]).unwrap(),
            Vec::<String>::new()
        );
    }

    fn input(items: &[&str]) -> RequestInput {
        RequestInput {
            items: items.iter().map(|s| s.to_string()).collect(),
            purpose: "低保审核".into(),
            legal_basis: "《社会救助暂行办法》".into(),
            application: "低保审批系统".into(),
            valid_until: NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
            clear_items: vec![],
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn a_request_is_as_strict_as_its_strictest_item() {
        let open = body(ShareType::Unconditional);
        let plain = check_request(&open, &input(&["id_number", "full_name"]), today()).unwrap();
        assert_eq!(plain.share_type, ShareType::Unconditional);
        let with_address =
            check_request(&open, &input(&["id_number", "address"]), today()).unwrap();
        assert_eq!(with_address.share_type, ShareType::Conditional);
        // Empty means every shareable item: the not-shared one is left out.
        let all = check_request(&open, &input(&[]), today()).unwrap();
        assert_eq!(all.items, ["id_number", "full_name", "address"]);
    }

    #[test]
    fn personal_items_in_clear_always_need_the_providers_decision() {
        let open = body(ShareType::Unconditional);
        let mut asked = input(&["id_number", "full_name"]);
        assert_eq!(
            check_request(&open, &asked, today()).unwrap().share_type,
            ShareType::Unconditional
        );
        asked.clear_items = vec!["id_number".into()];
        let checked = check_request(&open, &asked, today()).unwrap();
        assert_eq!(checked.share_type, ShareType::Conditional);
        assert!(checked.clear_personal);
    }

    #[test]
    fn grants_follow_the_entrys_current_rules() {
        let then = body(ShareType::Unconditional);
        let terms = grant_terms(
            &then,
            &["id_number".into(), "full_name".into(), "address".into()],
            &["full_name".into()],
            &[],
            &["full_name".into()],
            None,
            Limits::default(),
        )
        .unwrap();
        // A later version marks the address personal and the name not shared.
        let mut now = then.clone();
        for item in &mut now.items {
            match item.identifier.as_str() {
                "address" => item.personal = true,
                "full_name" => item.share_type = Some(ShareType::NotShared),
                _ => {}
            }
        }
        let shown: Vec<(String, bool)> = effective_items(&terms.items, &now)
            .into_iter()
            .map(|g| (g.item, g.clear))
            .collect();
        assert_eq!(
            shown,
            [
                ("id_number".to_string(), false),
                ("address".to_string(), false)
            ]
        );
        now.share.share_type = ShareType::NotShared;
        assert!(effective_items(&terms.items, &now).is_empty());
    }

    #[test]
    fn bad_requests_name_every_problem() {
        let open = body(ShareType::Unconditional);
        let mut bad = input(&["id_number", "salary", "religion", "id_number"]);
        bad.purpose = " ".into();
        bad.valid_until = today();
        bad.clear_items = vec!["full_name".into()];
        let errors = check_request(&open, &bad, today()).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "purpose",
                "valid_until",
                "items[1]",
                "items[2]",
                "items[3]",
                "clear_items[0]"
            ]
        );
        let closed = check_request(&body(ShareType::NotShared), &input(&["id_number"]), today());
        assert!(closed.unwrap_err().to_string().contains("复核"));
    }

    #[test]
    fn personal_items_are_masked_unless_asked_and_approved_in_clear() {
        let open = body(ShareType::Unconditional);
        let requested = [
            "id_number".to_string(),
            "full_name".to_string(),
            "address".to_string(),
        ];
        let terms = grant_terms(
            &open,
            &requested,
            &["full_name".into()],
            &[],
            &["full_name".into()],
            None,
            Limits::default(),
        )
        .unwrap();
        let shown: Vec<(String, bool)> = effective_items(&terms.items, &open)
            .into_iter()
            .map(|g| (g.item, g.clear))
            .collect();
        assert_eq!(
            shown,
            [
                ("id_number".to_string(), false),
                ("full_name".to_string(), true),
                ("address".to_string(), true)
            ]
        );
        assert!(
            !terms.items[2].clear,
            "a grant stores clear only for personal items granted in clear"
        );
        assert_eq!(terms.rate_per_minute, DEFAULT_RATE_PER_MINUTE);
        // Approving in clear what was not asked in clear still masks it.
        let terms = grant_terms(
            &open,
            &requested,
            &[],
            &[],
            &["id_number".into()],
            None,
            Limits::default(),
        )
        .unwrap();
        assert!(!terms.items[0].clear);
        let wider = grant_terms(
            &open,
            &requested[..1],
            &[],
            &["full_name".into()],
            &[],
            None,
            Limits {
                rate_per_minute: Some(0),
                ..Limits::default()
            },
        );
        let fields: Vec<String> = wider.unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["items[0]", "rate_per_minute"]);
    }

    #[test]
    fn projection_refuses_items_outside_the_grant() {
        let granted = vec![
            GrantedItem {
                item: "id_number".into(),
                clear: false,
            },
            GrantedItem {
                item: "full_name".into(),
                clear: true,
            },
        ];
        assert_eq!(projection(&granted, None).unwrap(), granted);
        assert_eq!(
            projection(&granted, Some("full_name, full_name")).unwrap(),
            granted[1..]
        );
        assert_eq!(
            projection(&granted, Some("full_name,address")).unwrap_err(),
            "未获授权的信息项：address"
        );
    }

    #[test]
    fn objections_move_from_submission_to_a_verified_answer() {
        use ObjectionStatus::*;
        assert_eq!(Submitted.after(ObjectionStep::Accept), Ok(Accepted));
        assert_eq!(Submitted.after(ObjectionStep::Reject), Ok(Rejected));
        assert_eq!(Accepted.after(ObjectionStep::Correct), Ok(Corrected));
        assert_eq!(Accepted.after(ObjectionStep::Confirm), Ok(Confirmed));
        assert!(
            Submitted.after(ObjectionStep::Correct).is_err(),
            "verify only what was accepted"
        );
        assert!(Confirmed.after(ObjectionStep::Accept).is_err());
        assert!(Accepted.flags_record() && !Submitted.flags_record() && !Corrected.flags_record());
        assert!(Rejected.closed() && !Accepted.closed());
    }

    #[test]
    fn masks_follow_the_item() {
        let open = body(ShareType::Unconditional);
        assert_eq!(
            MaskKind::of(&open.items[0]).apply("11010519491231002X"),
            "110105********002X"
        );
        assert_eq!(MaskKind::of(&open.items[1]).apply("张三"), "张*");
    }
}
