//! Saved source databases of an entry: define (checked against the source, credentials
//! sealed), list, run now, switch on or off.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use collect::pull::SourceDefinition;
use serde::Deserialize;
use store::batches::BatchReport;
use store::sources::Source;

use super::batches::{collect_error, collectable, may_see_collection};
use super::resources::visible_at;
use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

fn secret_key(state: &AppState) -> ApiResult<&collect::secret::SecretKey> {
    state
        .config
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::Conflict("平台未配置 secret_key，不能保存或读取数据源凭据".into()))
}

/// A source of the principal's own department, for changes.
async fn own_source(state: &AppState, principal: &Principal, id: i64) -> ApiResult<Source> {
    principal.require_person()?;
    let source = state.store.source(id).await?;
    if principal.department_id() != Some(source.department_id)
        || principal.role() == Some(domain::account::Role::Auditor)
    {
        return Err(ApiError::Forbidden("只有提供方部门可以管理本数据源".into()));
    }
    Ok(source)
}

#[utoipa::path(post, path = "/api/v1/resources/{prefix}/{seq}/sources", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)), request_body = SourceDefinition,
    responses((status = 201, body = Source), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    super::Json(definition): super::Json<SourceDefinition>,
) -> ApiResult<(StatusCode, axum::Json<Source>)> {
    principal.require_person()?;
    let resource = collectable(&state, &principal, &prefix, &seq).await?;
    let source = define(&state, &principal, &meta, &resource, &definition).await?;
    Ok((StatusCode::CREATED, axum::Json(source)))
}

/// Checks and saves a source; shared with the web page.
pub async fn define(
    state: &AppState,
    principal: &Principal,
    meta: &crate::auth::RequestMeta,
    resource: &store::resources::Resource,
    definition: &SourceDefinition,
) -> ApiResult<Source> {
    let key = secret_key(state)?;
    let items = state.store.published_body(resource).await?.items;
    let new = collect::pull::define_source(key, &items, definition)
        .await
        .map_err(collect_error)?;
    let ctx = audit_context(Some(principal), meta);
    Ok(state
        .store
        .create_source(&resource.code, &new, &ctx)
        .await?)
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}/sources", tag = "collection", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = Vec<Source>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
) -> ApiResult<axum::Json<Vec<Source>>> {
    let (_, resource) = visible_at(&state, &principal, &prefix, &seq).await?;
    may_see_collection(&principal, &resource)?;
    Ok(axum::Json(
        state.store.sources(Some(resource.id), None).await?,
    ))
}

/// Pulls a source now; the outcome is recorded on the source as a scheduled run's is.
pub async fn run_now(state: &AppState, source: &Source) -> ApiResult<BatchReport> {
    let key = secret_key(state)?.clone();
    let scheduler = collect::scheduler::Scheduler {
        store: state.store.clone(),
        key,
        realtime_poll: chrono::Duration::seconds(60),
        tick: std::time::Duration::from_secs(60),
        feed_retention_days: state.config.feed_retention_days,
    };
    scheduler.run_source(source).await?;
    let after = state.store.source(source.id).await?;
    match (after.failures > source.failures, after.last_error) {
        (true, Some(error)) => Err(ApiError::bad_request("source_failed", error)),
        _ => Ok(state
            .store
            .recent_batches(source.resource_id, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::Internal("a successful pull left no batch".into()))?),
    }
}

#[utoipa::path(post, path = "/api/v1/sources/{id}/run", tag = "collection", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = BatchReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<BatchReport>> {
    let source = own_source(&state, &principal, id).await?;
    Ok(axum::Json(run_now(&state, &source).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    pub enabled: bool,
}

#[utoipa::path(post, path = "/api/v1/sources/{id}/enabled", tag = "collection", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = Enabled,
    responses((status = 200, body = Source), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn set_enabled(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    super::Json(body): super::Json<Enabled>,
) -> ApiResult<axum::Json<Source>> {
    own_source(&state, &principal, id).await?;
    let ctx = audit_context(Some(&principal), &meta);
    Ok(axum::Json(
        state
            .store
            .set_source_enabled(id, body.enabled, &ctx)
            .await?,
    ))
}
