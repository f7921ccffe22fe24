//! Saved source databases of an entry: define (checked against the source, credentials
//! sealed), list, run now, switch on or off.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use collect::pull::SourceDefinition;
use serde::Deserialize;
use store::batches::BatchReport;
use store::sources::Source;

use super::batches::{collect_error, collectable, may_see_collection};
use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::catalogue::api::visible_at;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use domain::access::{check, Act, Channel};

fn secret_key(state: &AppState) -> ApiResult<&collect::secret::SecretKey> {
    state
        .config
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::Conflict("平台未配置 secret_key，不能保存或读取数据源凭据".into()))
}

/// A source the caller may manage and run (its department's people), before anything
/// connects to it; the store asks the same rule when it writes.
pub async fn own_source(state: &AppState, principal: &Principal, id: i64) -> ApiResult<Source> {
    check(&principal.caller(), Act::UseHall)?;
    let source = state.store.source(id).await?;
    check(
        &principal.caller(),
        Act::Collect {
            provider: source.department_id,
            channel: Channel::Source,
        },
    )?;
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
    crate::json::Json(definition): crate::json::Json<SourceDefinition>,
) -> ApiResult<(StatusCode, axum::Json<Source>)> {
    let resource = collectable(&state, &principal, &prefix, &seq, Channel::Source).await?;
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
    let new = collect::pull::define_source(key, &state.config.source_policy, &items, definition)
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

/// Pulls a source now for the caller; the outcome is recorded on the source as a
/// scheduled run's is.
pub async fn run_now(
    state: &AppState,
    source: &Source,
    ctx: &store::AuditContext,
    options: collect::pull::PullOptions,
) -> ApiResult<BatchReport> {
    let key = secret_key(state)?.clone();
    let scheduler = match &state.scheduler {
        Some(scheduler) => scheduler.clone(),
        None => {
            let mut scheduler = collect::scheduler::Scheduler::new(
                state.store.clone(),
                key,
                state.config.source_policy.clone(),
            );
            scheduler.feed_retention_days = state.config.feed_retention_days;
            scheduler
        }
    };
    scheduler.run_source_as(source, ctx, options).await?;
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

/// Options of a run asked for now.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    /// The source really lost most of its rows: let this full pull delete more than half
    /// of the entry (otherwise such a pull stops, keeping the data).
    #[serde(default)]
    pub confirm_mass_deletion: bool,
}

#[utoipa::path(post, path = "/api/v1/sources/{id}/run", tag = "collection", security(("bearer" = [])), params(("id" = i64, Path), RunParams),
    responses((status = 200, body = BatchReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
               (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    crate::json::Query(params): crate::json::Query<RunParams>,
) -> ApiResult<axum::Json<BatchReport>> {
    let source = own_source(&state, &principal, id).await?;
    let ctx = audit_context(Some(&principal), &meta);
    let options = collect::pull::PullOptions {
        confirm_mass_deletion: params.confirm_mass_deletion,
    };
    Ok(axum::Json(run_now(&state, &source, &ctx, options).await?))
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
    crate::json::Json(body): crate::json::Json<Enabled>,
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
