//! 个人信息查询记录: which departments read a person's records, when, which items, under
//! which grant's purpose (个人信息保护法 第四十四、四十五条). The access log keeps, for
//! every record a data call returned, a keyed hash of the person's ID number (never the
//! number); the report looks the person up by the same hash.

use chrono::{DateTime, Utc};
use domain::access::{check, Act};
use serde::Serialize;

use crate::{on_pool, AuditContext, Store, StoreError, StoreResult};

/// The most calls one report lists (newest first); `truncated` says when there were more.
pub const REPORT_LIMIT: i64 = 1000;

/// One data call that returned records about the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct PersonalAccess {
    pub at: DateTime<Utc>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub application: Option<String>,
    pub resource_code: Option<String>,
    pub resource_name: Option<String>,
    /// The route of the call (`/api/v1/resources/{prefix}/{seq}/records/{key}`, …).
    pub endpoint: String,
    /// The items the call read, comma-separated identifiers.
    pub items: String,
    /// How many of the returned records were about the person.
    pub records: i64,
    /// The purpose stated in the share request whose grant the call used.
    pub purpose: Option<String>,
}

/// The report on one person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonalAccessReport {
    pub calls: Vec<PersonalAccess>,
    /// More calls than [`REPORT_LIMIT`] were found; the oldest are not listed.
    pub truncated: bool,
}

/// Lookups one person may make in a Beijing day: enough for a citizen's requests, too
/// few to sweep the population for who was looked at.
pub const DAILY_LOOKUPS: i64 = 100;

/// The reason as the audit keeps it: long runs of digits (an ID number typed into the
/// reason) are masked, so the audit never names whom the lookup was about.
fn audited_reason(reason: &str) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.chars().count() >= 6 {
            out.push_str("******");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in reason.chars() {
        if c.is_ascii_digit() || c == 'X' || c == 'x' {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

impl Store {
    /// Every data call that returned a record about the person with `id_number`, for the
    /// bureau and the auditor, for a stated `reason` (a citizen's request, a complaint),
    /// at most [`DAILY_LOOKUPS`] a day each. The lookup is audited with its reason and the
    /// subject's keyed hash, never the number, so the auditor can tell who looked up whom.
    pub async fn personal_access(
        &self,
        id_number: &domain::ids::IdCardNumber,
        reason: &str,
        ctx: &AuditContext,
    ) -> StoreResult<PersonalAccessReport> {
        check(&ctx.caller, Act::ReadPersonalAccess)?;
        let reason = reason.trim();
        if !(4..=200).contains(&reason.chars().count()) {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "reason",
                "请写明查询事由（4–200 字），如“市民本人依申请查询，工单号 2026-0153”",
            )));
        }
        let subject = self.subject_hash(id_number.as_str()).ok_or_else(|| {
            StoreError::Conflict("平台未加载密钥（secret_key），无法查询个人信息查询记录".into())
        })?;
        let today = domain::calendar::beijing_day_start(crate::now());
        let actor = ctx.actor_name();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let made: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'personal_access.query' AND actor = $1 AND at >= $2")
                .bind(&actor).bind(today).fetch_one(&mut *tx).await?;
            if made >= DAILY_LOOKUPS {
                let tomorrow = today + chrono::Duration::days(1);
                return Err(StoreError::Quota {
                    message: format!("今日已查询 {made} 次，已达每日 {DAILY_LOOKUPS} 次上限"),
                    retry_after_secs: (tomorrow - crate::now()).num_seconds().max(1) as u64,
                });
            }
            let mut calls: Vec<PersonalAccess> = sqlx::query_as(
                "SELECT l.at, l.department_id, d.name AS department_name, l.application, \
                        r.code AS resource_code, r.name AS resource_name, l.endpoint, l.items, \
                        CAST(COUNT(*) AS BIGINT) AS records, \
                        COALESCE( \
                          (SELECT q.purpose FROM grants g JOIN share_requests q ON q.id = g.request_id \
                            WHERE g.resource_id = l.resource_id AND g.consumer_id = l.department_id \
                              AND g.application = l.application AND g.created_at <= l.at \
                            ORDER BY g.created_at DESC LIMIT 1), \
                          (SELECT q.purpose FROM grants g JOIN share_requests q ON q.id = g.request_id \
                            WHERE g.resource_id = l.resource_id AND g.consumer_id = l.department_id \
                              AND g.application = l.application \
                            ORDER BY g.created_at LIMIT 1)) AS purpose \
                 FROM access_subjects s \
                 JOIN access_log l ON l.request_id = s.request_id \
                 LEFT JOIN departments d ON d.id = l.department_id \
                 LEFT JOIN resources r ON r.id = l.resource_id \
                 WHERE s.subject = $1 AND l.outcome = 'ok' \
                 GROUP BY l.id, l.at, l.department_id, d.name, l.application, r.code, r.name, l.endpoint, l.items, l.resource_id \
                 ORDER BY l.at DESC, l.id DESC LIMIT $2")
                .bind(&subject).bind(REPORT_LIMIT + 1).fetch_all(&mut *tx).await?;
            let truncated = calls.len() as i64 > REPORT_LIMIT;
            calls.truncate(REPORT_LIMIT as usize);
            let mut event = ctx.event("personal_access.query", format!("subject:{subject}"));
            event.detail = Some(format!("事由：{}；找到 {} 次调用", audited_reason(reason), calls.len()));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(PersonalAccessReport { calls, truncated })
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_number_typed_into_the_reason_is_masked() {
        assert_eq!(
            super::audited_reason("市民 34100219900101001X 本人申请，工单 12"),
            "市民 ****** 本人申请，工单 12"
        );
    }
}
