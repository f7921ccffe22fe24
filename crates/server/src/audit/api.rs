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
    responses((status = 200, body = ChainReport), (status = 403, body = crate::error::ErrorBody)))]
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
