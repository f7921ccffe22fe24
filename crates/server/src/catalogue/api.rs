//! `/api/v1/resources`: the catalogue. Codes contain a slash (`101001/000123`), so an
//! entry lives at `/api/v1/resources/101001/000123`; `/api/v1/resources/101001-000123`
//! and the percent-encoded form answer too.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::access::{check, entry_scope, Act};
use domain::catalogue::{ResourceBody, SecurityGrade, ShareType};
use domain::code::{ClassKind, ResourceCode};
use domain::diff::FieldChange;
use domain::workflow::{Action, Status};
use serde::Deserialize;
use store::resources::{
    Resource, ResourceQuery, ResourceSummary, ResourceVersion, SourceConflict, Visibility,
};

use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, List, Query};
use crate::AppState;

/// Search text and filters; every filter takes the code or the Chinese label.
#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct SearchParams {
    /// Words to find in name, abstract, item names and provider (Chinese or ASCII).
    pub q: Option<String>,
    /// basic / thematic / departmental (基础 / 主题 / 部门).
    pub class: Option<String>,
    /// Provider department id.
    pub provider: Option<String>,
    /// unconditional / conditional / not_shared.
    pub share_type: Option<String>,
    /// general / important / core.
    pub grade: Option<String>,
    /// draft / submitted / signed / published / returned / retired.
    pub status: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 20).
    pub limit: Option<i64>,
}

fn parse_filter<T>(
    field: &str,
    value: &Option<String>,
    parse: fn(&str) -> Option<T>,
    allowed: &[&str],
) -> ApiResult<Option<T>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => parse(text).map(Some).ok_or_else(|| {
            ApiError::field(
                field,
                format!("无法识别“{text}”，可选值：{}", allowed.join("、")),
            )
        }),
    }
}

fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| code(*v)).collect()
}

impl SearchParams {
    pub fn to_query(&self) -> ApiResult<ResourceQuery> {
        Ok(ResourceQuery {
            text: self.q.clone().filter(|q| !q.trim().is_empty()),
            class_kind: parse_filter(
                "class",
                &self.class,
                ClassKind::parse,
                &codes(ClassKind::ALL, ClassKind::code),
            )?,
            provider_id: match self
                .provider
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                None => None,
                Some(id) => Some(
                    id.parse()
                        .map_err(|_| ApiError::field("provider", "提供方应为部门编号"))?,
                ),
            },
            share_type: parse_filter(
                "share_type",
                &self.share_type,
                ShareType::parse,
                &codes(ShareType::ALL, ShareType::code),
            )?,
            security_grade: parse_filter(
                "grade",
                &self.grade,
                SecurityGrade::parse,
                &codes(SecurityGrade::ALL, SecurityGrade::code),
            )?,
            status: parse_filter(
                "status",
                &self.status,
                Status::parse,
                &codes(Status::ALL, Status::code),
            )?,
            after_code: self.cursor.clone(),
            limit: self.limit.unwrap_or(20),
        })
    }
}

/// Which entries the caller sees (domain::access::entry_scope).
pub fn visibility(principal: &Principal) -> Visibility {
    entry_scope(&principal.caller())
}

/// Parses the two path segments of a code.
pub fn code_from_path(prefix: &str, seq: &str) -> ApiResult<String> {
    ResourceCode::parse(&format!("{prefix}/{seq}"))
        .map(|c| c.to_string())
        .map_err(|e| ApiError::field("code", e.to_string()))
}

/// The entry at `/{prefix}/{seq}` as the caller may see it, with its code.
pub async fn visible_at(
    state: &AppState,
    principal: &Principal,
    prefix: &str,
    seq: &str,
) -> ApiResult<(String, Resource)> {
    let code = code_from_path(prefix, seq)?;
    let resource = state
        .store
        .visible_resource(&code, visibility(principal))
        .await?;
    Ok((code, resource))
}

#[utoipa::path(get, path = "/api/v1/resources", tag = "catalogue", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, body = List<ResourceSummary>), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<SearchParams>,
) -> ApiResult<axum::Json<List<ResourceSummary>>> {
    let page = state
        .store
        .search_resources(&params.to_query()?, visibility(&principal))
        .await?;
    Ok(axum::Json(List {
        items: page.items,
        total: page.total,
        next: page.next,
    }))
}

#[utoipa::path(post, path = "/api/v1/resources", tag = "catalogue", security(("bearer" = [])), request_body = ResourceBody,
    responses((status = 201, body = Resource), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(body): Json<ResourceBody>,
) -> ApiResult<(StatusCode, axum::Json<Resource>)> {
    check(&principal.caller(), Act::UseHall)?;
    // An entry is drafted for the caller's own department; the store refuses anyone else.
    let department = principal.caller().department_id().unwrap_or(-1);
    let resource = state
        .store
        .create_resource(department, &body, &audit_context(Some(&principal), &meta))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(resource)))
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}", tag = "catalogue", security(("bearer" = [])),
    params(("prefix" = String, Path, description = "前段码"), ("seq" = String, Path, description = "后段码")),
    responses((status = 200, body = Resource), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
) -> ApiResult<axum::Json<Resource>> {
    Ok(axum::Json(
        visible_at(&state, &principal, &prefix, &seq).await?.1,
    ))
}

#[utoipa::path(get, path = "/api/v1/resources/{code}", tag = "catalogue", security(("bearer" = [])),
    params(("code" = String, Path, description = "101001-000123 or 101001%2F000123")),
    responses((status = 200, body = Resource), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show_encoded(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<Resource>> {
    let code = ResourceCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    Ok(axum::Json(
        state
            .store
            .visible_resource(code.as_str(), visibility(&principal))
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/resources/{prefix}/{seq}", tag = "catalogue", security(("bearer" = [])), request_body = ResourceBody,
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = Resource), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Json(body): Json<ResourceBody>,
) -> ApiResult<axum::Json<Resource>> {
    check(&principal.caller(), Act::UseHall)?;
    let (code, _) = visible_at(&state, &principal, &prefix, &seq).await?;
    let resource = state
        .store
        .update_resource(&code, &body, &audit_context(Some(&principal), &meta))
        .await?;
    Ok(axum::Json(resource))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRequest {
    /// submit / sign / reject / publish / retire.
    pub action: String,
    /// Required when rejecting.
    pub reason: Option<String>,
}

pub fn parse_action(text: &str) -> ApiResult<Action> {
    match Action::parse(text) {
        Some(action) if !matches!(action, Action::Create | Action::Edit) => Ok(action),
        _ => Err(ApiError::field(
            "action",
            "操作应为 submit、sign、reject、publish 或 retire",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/resources/{prefix}/{seq}/workflow", tag = "catalogue", security(("bearer" = [])), request_body = WorkflowRequest,
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = Resource), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn workflow(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Json(request): Json<WorkflowRequest>,
) -> ApiResult<axum::Json<Resource>> {
    check(&principal.caller(), Act::UseHall)?;
    let action = parse_action(&request.action)?;
    let (code, _) = visible_at(&state, &principal, &prefix, &seq).await?;
    let resource = state
        .store
        .transition(
            &code,
            action,
            request.reason.as_deref(),
            &audit_context(Some(&principal), &meta),
        )
        .await?;
    Ok(axum::Json(resource))
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}/versions", tag = "catalogue", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path)),
    responses((status = 200, body = List<ResourceVersion>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
) -> ApiResult<axum::Json<List<ResourceVersion>>> {
    let (_, resource) = visible_at(&state, &principal, &prefix, &seq).await?;
    Ok(axum::Json(List::all(
        state.store.resource_versions(resource.id).await?,
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DiffParams {
    /// Published version to compare from.
    pub from: i64,
    /// Published version to compare to; the working copy when absent.
    pub to: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/resources/{prefix}/{seq}/diff", tag = "catalogue", security(("bearer" = [])),
    params(("prefix" = String, Path), ("seq" = String, Path), DiffParams),
    responses((status = 200, body = Vec<FieldChange>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn diff(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((prefix, seq)): Path<(String, String)>,
    Query(params): Query<DiffParams>,
) -> ApiResult<axum::Json<Vec<FieldChange>>> {
    let (_, resource) = visible_at(&state, &principal, &prefix, &seq).await?;
    let versions = state.store.resource_versions(resource.id).await?;
    let body_of = |version: i64| {
        versions
            .iter()
            .find(|v| v.version == version)
            .map(|v| v.body.clone())
            .ok_or_else(|| ApiError::NotFound(format!("已发布版本 {version} 不存在")))
    };
    let from = body_of(params.from)?;
    let to = match params.to {
        Some(version) => body_of(version)?,
        None => resource.body,
    };
    Ok(axum::Json(domain::diff::diff(&from, &to)))
}

#[utoipa::path(get, path = "/api/v1/source-conflicts", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = List<SourceConflict>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn conflicts(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<SourceConflict>>> {
    check(&principal.caller(), Act::ViewConflicts)?;
    Ok(axum::Json(List::all(state.store.source_conflicts().await?)))
}
