//! The audit trail's hash chain (GB/T 22239-2019 level 3: records protected against
//! modification). Each record's hash covers its own fields and the previous record's hash,
//! so changing, removing or reordering any row breaks every hash after it.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::labelled::labelled_enum;

labelled_enum! {
    /// How an audited attempt ended.
    Outcome {
        Success => "success", "成功";
        Failure => "failure", "失败";
        Denied => "denied", "拒绝访问";
    }
}

/// Every audited action and its name in the audit viewer (审计日志), so that the log reads
/// in Chinese. An entry's workflow steps (`resource.<step>`) and refused requests
/// (`http.<method>`) are named by [`action_label`] from their parts. A tidy test keeps every
/// action the platform writes in this list.
pub const ACTIONS: &[(&str, &str)] = &[
    ("access_log.checkpoint", "访问日志检查点"),
    ("audit.anchor", "留存校验锚点"),
    ("auth.login", "登录"),
    ("auth.logout", "退出登录"),
    ("basis_review.decide", "复核不予共享依据"),
    ("basis_review.request", "申请复核不予共享依据"),
    ("batch.apply", "数据入库"),
    ("calendar.import", "导入工作日历"),
    ("delegate.grant", "委托共享审核"),
    ("delegate.revoke", "收回共享审核委托"),
    ("department.create", "新建部门"),
    ("duty.missed", "逾期未办"),
    ("duty.urge", "督办"),
    ("need.answer", "答复数据需求"),
    ("need.assign", "分派数据需求"),
    ("need.post", "提出数据需求"),
    ("notification.read", "通知标为已读"),
    ("objection.answer", "答复数据异议"),
    ("objection.raise", "提出数据异议"),
    ("personal_access.query", "查询个人信息查询记录"),
    ("platform.start", "平台启动"),
    ("resource.import", "导入目录"),
    ("share_request.decide", "审核共享申请"),
    ("share_request.revoke", "撤销共享授权"),
    ("share_request.submit", "提交共享申请"),
    ("source.create", "登记数据源"),
    ("source.disable", "停用数据源"),
    ("source.enable", "启用数据源"),
    ("source.failure", "数据源采集失败"),
    ("source.recover", "数据源恢复采集"),
    ("token.create", "签发应用令牌"),
    ("token.revoke", "吊销应用令牌"),
    ("user.activate", "启用账号"),
    ("user.change_password", "修改本人密码"),
    ("user.create", "新建人员"),
    ("user.deactivate", "停用账号"),
    ("user.reset_password", "重置密码"),
    ("user.set_role", "调整角色"),
];

/// The Chinese name of an audited action; `None` for a code the platform does not write.
pub fn action_label(code: &str) -> Option<String> {
    if let Some((_, label)) = ACTIONS.iter().find(|(known, _)| *known == code) {
        return Some((*label).to_string());
    }
    if let Some(step) = code
        .strip_prefix("resource.")
        .and_then(crate::workflow::Action::parse)
    {
        return Some(format!("{}目录", step.label()));
    }
    let method = code.strip_prefix("http.")?;
    (!method.is_empty() && method.chars().all(|c| c.is_ascii_lowercase()))
        .then(|| format!("接口请求（{}）", method.to_ascii_uppercase()))
}

/// The hash that precedes the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited event, before it is placed in the chain. `before` and `after` are JSON
/// texts already stripped of personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditEvent {
    pub actor: Option<String>,
    pub role: Option<String>,
    pub department: Option<String>,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub outcome: Option<Outcome>,
    pub detail: Option<String>,
    /// How many identical events the record stands for: refusals of one caller, route and
    /// reason within a second are recorded once with their count. 0 and 1 both mean one.
    pub occurrences: i64,
}

/// The database keeps microseconds (PostgreSQL's resolution), so chained times are
/// truncated to microseconds before they are hashed or stored.
pub fn chain_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that moving
/// text from one field to the next changes the hash.
pub fn chain_hash(prev_hash: &str, seq: i64, at: DateTime<Utc>, event: &AuditEvent) -> String {
    let mut hasher = Sha256::new();
    let time = chain_time(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let seq = seq.to_string();
    let fields: [Option<&str>; 14] = [
        Some(prev_hash),
        Some(&seq),
        Some(&time),
        event.actor.as_deref(),
        event.role.as_deref(),
        event.department.as_deref(),
        Some(&event.action),
        Some(&event.target),
        event.before.as_deref(),
        event.after.as_deref(),
        event.request_id.as_deref(),
        event.source_ip.as_deref(),
        event.outcome.map(|o| o.code()),
        event.detail.as_deref(),
    ];
    for field in fields {
        match field {
            None => hasher.update(b"-\n"),
            Some(text) => {
                hasher.update(format!("{}:", text.len()).as_bytes());
                hasher.update(text.as_bytes());
                hasher.update(b"\n");
            }
        }
    }
    // A count is hashed only when it says more than one, so that the records written
    // before counts existed verify unchanged.
    if event.occurrences > 1 {
        hasher.update(format!("occurrences:{}\n", event.occurrences).as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A masking function from `crate::mask`.
pub type Mask = fn(&str) -> String;

/// Replaces the named keys of a JSON object (at any depth) by their masked form, so that
/// snapshots of people can be audited without their personal data.
pub fn mask_fields(value: &mut serde_json::Value, masks: &[(&str, Mask)]) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match (masks.iter().find(|(k, _)| k == key), inner.as_str()) {
                    (Some((_, mask)), Some(text)) => *inner = mask(text).into(),
                    _ => mask_fields(inner, masks),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_fields(v, masks)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_in_chinese_and_unknown_codes_are_not_named() {
        assert_eq!(action_label("auth.login").as_deref(), Some("登录"));
        assert_eq!(
            action_label("resource.publish").as_deref(),
            Some("发布目录")
        );
        assert_eq!(action_label("http.get").as_deref(), Some("接口请求（GET）"));
        assert_eq!(action_label("resource.burn"), None);
        assert_eq!(action_label("http.<b>"), None);
        let mut codes: Vec<&str> = ACTIONS.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ACTIONS.len(), "each action once");
    }

    fn event() -> AuditEvent {
        AuditEvent {
            actor: Some("admin".into()),
            action: "publish".into(),
            target: "resource:101001/000001".into(),
            ..Default::default()
        }
    }

    #[test]
    fn hash_depends_on_every_field_and_the_previous_hash() {
        let at = Utc::now();
        let base = chain_hash(GENESIS_HASH, 1, at, &event());
        assert_eq!(
            base,
            chain_hash(GENESIS_HASH, 1, at, &event()),
            "deterministic"
        );
        assert_ne!(base, chain_hash(&"1".repeat(64), 1, at, &event()));
        assert_ne!(base, chain_hash(GENESIS_HASH, 2, at, &event()));
        let mut changed = event();
        changed.target.push('x');
        assert_ne!(base, chain_hash(GENESIS_HASH, 1, at, &changed));
        let mut counted = event();
        counted.occurrences = 1;
        assert_eq!(
            base,
            chain_hash(GENESIS_HASH, 1, at, &counted),
            "one is one"
        );
        counted.occurrences = 7;
        assert_ne!(base, chain_hash(GENESIS_HASH, 1, at, &counted));
        let mut moved = event();
        moved.detail = Some(String::new());
        assert_ne!(
            base,
            chain_hash(GENESIS_HASH, 1, at, &moved),
            "None differs from empty"
        );
    }

    #[test]
    fn nanoseconds_do_not_change_the_hash() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T01:02:03.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            chain_hash(GENESIS_HASH, 1, at, &event()),
            chain_hash(GENESIS_HASH, 1, chain_time(at), &event())
        );
    }

    #[test]
    fn masks_named_fields_at_any_depth() {
        let mut value = serde_json::json!({"display_name": "张三", "nested": [{"phone": "13800138000"}], "name": "x"});
        mask_fields(
            &mut value,
            &[
                ("display_name", crate::mask::name),
                ("phone", crate::mask::mobile),
            ],
        );
        assert_eq!(
            value,
            serde_json::json!({"display_name": "张*", "nested": [{"phone": "138****8000"}], "name": "x"})
        );
    }
}
