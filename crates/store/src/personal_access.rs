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

impl Store {
    /// Every data call that returned a record about the person with `id_number`, for the
    /// bureau and the auditor. The lookup itself is audited (without the number).
    pub async fn personal_access(
        &self,
        id_number: &domain::ids::IdCardNumber,
        ctx: &AuditContext,
    ) -> StoreResult<PersonalAccessReport> {
        check(&ctx.caller, Act::ReadPersonalAccess)?;
        let subject = self.subject_hash(id_number.as_str()).ok_or_else(|| {
            StoreError::Conflict("平台未加载密钥（secret_key），无法查询个人信息查询记录".into())
        })?;
        let mut calls: Vec<PersonalAccess> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT l.at, l.department_id, d.name AS department_name, l.application, \
                        r.code AS resource_code, r.name AS resource_name, l.endpoint, l.items, \
                        CAST(COUNT(*) AS BIGINT) AS records, \
                        (SELECT q.purpose FROM grants g JOIN share_requests q ON q.id = g.request_id \
                          WHERE g.resource_id = l.resource_id AND g.consumer_id = l.department_id \
                            AND g.application = l.application AND g.created_at <= l.at \
                          ORDER BY g.created_at DESC LIMIT 1) AS purpose \
                 FROM access_subjects s \
                 JOIN access_log l ON l.request_id = s.request_id \
                 LEFT JOIN departments d ON d.id = l.department_id \
                 LEFT JOIN resources r ON r.id = l.resource_id \
                 WHERE s.subject = $1 AND l.outcome = 'ok' \
                 GROUP BY l.id, l.at, l.department_id, d.name, l.application, r.code, r.name, l.endpoint, l.items, l.resource_id \
                 ORDER BY l.at DESC, l.id DESC LIMIT $2")
                .bind(&subject).bind(REPORT_LIMIT + 1).fetch_all(pool).await?
        });
        let truncated = calls.len() as i64 > REPORT_LIMIT;
        calls.truncate(REPORT_LIMIT as usize);
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let mut event = ctx.event("personal_access.query", "personal-access".to_string());
            // Which person was looked up stays out of the audit log: only how much was found.
            event.detail = Some(format!("{} 次调用", calls.len()));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        Ok(PersonalAccessReport { calls, truncated })
    }
}
