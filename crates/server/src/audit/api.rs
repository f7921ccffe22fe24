//! `/api/v1/audit`: read-only, for the auditor and the bureau.

use axum::extract::State;
use domain::access::{check, Act};
use domain::audit::Outcome;
use serde::Deserialize;
use store::audit::{AuditFilter, AuditRecord, ChainReport};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::{ApiError, ApiResult};
use crate::json::{List, Query};
use crate::AppState;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Records whose target starts with this, e.g. `resource:101001`.
    pub target: Option<String>,
    /// success / failure / denied.
    pub outcome: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

impl AuditParams {
    pub fn filter(&self) -> ApiResult<AuditFilter> {
        let blank = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let outcome = match blank(&self.outcome) {
            None => None,
            Some(text) => Some(Outcome::parse(&text).ok_or_else(|| {
                ApiError::field("outcome", "结果应为 success、failure 或 denied")
            })?),
        };
        let before_seq = match blank(&self.cursor) {
            None => None,
            Some(text) => Some(
                text.parse()
                    .map_err(|_| ApiError::field("cursor", "分页游标无效"))?,
            ),
        };
        Ok(AuditFilter {
            actor: blank(&self.actor),
            action: blank(&self.action),
            target_prefix: blank(&self.target),
            outcome,
            before_seq,
        })
    }
}

/// Newest first, with the total and the cursor of the next page.
pub async fn page(state: &AppState, params: &AuditParams) -> ApiResult<List<AuditRecord>> {
    let limit = params.limit.unwrap_or(50).clamp(1, 500);
    let (items, total) = state.store.audit_list(&params.filter()?, limit).await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(List { items, total, next })
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditParams),
    responses((status = 200, body = List<AuditRecord>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<AuditParams>,
) -> ApiResult<axum::Json<List<AuditRecord>>> {
    check(&principal.caller(), Act::ReadAudit)?;
    Ok(axum::Json(page(&state, &params).await?))
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = ChainReport), (status = 403, body = crate::error::ErrorBody),
              (status = 503, description = "the access journal has not reached the database yet", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
) -> ApiResult<axum::Json<ChainReport>> {
    check(&principal.caller(), Act::VerifyAudit)?;
    Ok(axum::Json(
        verify_now(&state, &audit_context(Some(&principal), &meta)).await?,
    ))
}

/// Verifies now, one verification at a time (a second caller waits for the first), and
/// remembers the result for the audit page.
pub async fn verify_now(state: &AppState, ctx: &store::AuditContext) -> ApiResult<ChainReport> {
    state.access_log.settled().await?;
    let _one_at_a_time = state.verification.running.lock().await;
    let report =
        super::verification::verify(&state.store, state.config.audit_anchor_file.as_deref(), ctx)
            .await?;
    *state
        .verification
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some((chrono::Utc::now(), report.clone()));
    Ok(report)
}

/// Whose records to report on, and why: a person's ID number, sent in the body so that it
/// never appears in a URL (and so in no proxy's or browser's log).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalQuery {
    /// The 18-character ID number (GB 11643).
    pub id_number: String,
    /// Why the lookup is made (4–200 characters), e.g. the citizen's request and its
    /// ticket number; audited with the lookup.
    pub reason: String,
}

/// The ID number of a query, or a message for its field.
pub fn parse_id_number(text: &str) -> ApiResult<domain::ids::IdCardNumber> {
    domain::ids::IdCardNumber::parse(&text.trim().to_ascii_uppercase())
        .map_err(|e| ApiError::field("id_number", format!("身份证号码无效：{e}")))
}

/// 个人信息查询记录: every data call that returned a record about one person, newest
/// first, for the bureau and the auditor, at most 100 lookups a day each.
#[utoipa::path(post, path = "/api/v1/audit/personal", tag = "audit", security(("bearer" = [])), request_body = PersonalQuery,
    responses((status = 200, body = store::personal_access::PersonalAccessReport), (status = 400, body = crate::error::ErrorBody),
               (status = 403, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody),
               (status = 503, description = "the access journal has not reached the database yet", body = crate::error::ErrorBody)))]
pub async fn personal(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    crate::json::Json(body): crate::json::Json<serde_json::Value>,
) -> ApiResult<axum::Json<store::personal_access::PersonalAccessReport>> {
    let ctx = audit_context(Some(&principal), &meta);
    // Asked before the body is read as a query: a refused caller learns nothing from its
    // validation, and no number is echoed in an error.
    check(&ctx.caller, Act::ReadPersonalAccess)?;
    let query: PersonalQuery =
        serde_json::from_value(body).map_err(|_| ApiError::Unprocessable {
            message:
                "请求内容应为 {\"id_number\": 身份证号码（字符串）, \"reason\": 查询事由（字符串）}"
                    .into(),
            details: vec![domain::FieldError::new(
                "body",
                "应有 id_number 和 reason 两个字符串字段",
            )],
        })?;
    let id_number = parse_id_number(&query.id_number)?;
    state.access_log.settled().await?;
    Ok(axum::Json(
        state
            .store
            .personal_access(&id_number, &query.reason, &ctx)
            .await?,
    ))
}
