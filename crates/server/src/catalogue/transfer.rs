//! Whole-catalogue files: the XLSX template departments fill in Excel, and JSON.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::catalogue::ResourceBody;
use domain::FieldError;
use serde::{Deserialize, Serialize};
use store::departments::Department;
use store::resources::{Resource, ResourceQuery, Visibility};

use super::api::visibility;
use crate::auth::{audit_context, Auth, Meta, Principal};
use crate::error::{ApiError, ApiResult};
use crate::json::{Json, Query};
use crate::AppState;
use domain::access::{self, check, Act};

/// The JSON catalogue file: what `GET /api/v1/catalogue/export` and
/// `datahall catalogue export --json` write, and the import endpoints read.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    /// Always `datahall-catalogue/1`.
    pub format: String,
    pub exported_at: DateTime<Utc>,
    pub entries: Vec<CatalogueEntry>,
}

pub const CATALOGUE_FORMAT: &str = "datahall-catalogue/1";

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueEntry {
    /// The code on the exporting platform; an import assigns new codes.
    #[serde(default)]
    pub code: Option<String>,
    /// The provider's 统一社会信用代码.
    pub provider_code: String,
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub body: ResourceBody,
}

/// Every entry the viewer may see, in code order.
pub async fn visible_entries(state: &AppState, visibility: Visibility) -> ApiResult<Vec<Resource>> {
    let mut resources = Vec::new();
    let mut query = ResourceQuery {
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = state.store.search_resources(&query, visibility).await?;
        for summary in page.items {
            resources.push(
                state
                    .store
                    .visible_resource(&summary.code, visibility)
                    .await?,
            );
        }
        match page.next {
            Some(next) => query.after_code = Some(next),
            None => return Ok(resources),
        }
    }
}

pub fn catalogue_file(resources: Vec<Resource>) -> CatalogueFile {
    CatalogueFile {
        format: CATALOGUE_FORMAT.into(),
        exported_at: Utc::now(),
        entries: resources
            .into_iter()
            .map(|r| CatalogueEntry {
                code: Some(r.code),
                provider_code: r.provider.credit_code,
                provider_name: Some(r.provider.name),
                status: Some(r.status.code().into()),
                body: r.body,
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/catalogue/export", tag = "catalogue", security(("bearer" = [])),
    responses((status = 200, body = CatalogueFile)))]
pub async fn export_json(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<CatalogueFile>> {
    Ok(axum::Json(catalogue_file(
        visible_entries(&state, visibility(&principal)).await?,
    )))
}

/// What an import did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Codes of the drafts created.
    pub imported: Vec<String>,
    /// Entries left out because they had problems (only with `partial=true`).
    pub skipped: usize,
    pub problems: Vec<CellProblem>,
}

/// One problem in an uploaded template, at its sheet, row and column.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CellProblem {
    pub sheet: String,
    pub row: u32,
    pub column: String,
    pub message: String,
}

impl From<&ingest::CellProblem> for CellProblem {
    fn from(p: &ingest::CellProblem) -> Self {
        CellProblem {
            sheet: p.sheet.clone(),
            row: p.row,
            column: p.column.clone(),
            message: p.message.clone(),
        }
    }
}

/// Pairs each entry with its provider, named by credit code: a department imports only
/// its own entries (the bureau reviews entries, it does not author them).
async fn providers_for(
    state: &AppState,
    principal: &Principal,
    file: &CatalogueFile,
) -> ApiResult<Vec<(Department, ResourceBody)>> {
    if file.format != CATALOGUE_FORMAT {
        return Err(ApiError::field(
            "format",
            format!("文件格式应为 {CATALOGUE_FORMAT}"),
        ));
    }
    let caller = principal.caller();
    let departments = state.store.departments().await?;
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    for (i, entry) in file.entries.iter().enumerate() {
        let provider = departments
            .iter()
            .find(|d| d.credit_code == entry.provider_code.trim());
        match provider {
            None => errors.push(FieldError::new(
                format!("entries[{i}].provider_code"),
                format!("没有统一社会信用代码为 {} 的部门", entry.provider_code),
            )),
            Some(d) if !access::allows(&caller, Act::AuthorEntry { provider: d.id }) => errors
                .push(FieldError::new(
                    format!("entries[{i}].provider_code"),
                    "只能导入本部门的目录",
                )),
            Some(d) => entries.push((d.clone(), entry.body.clone())),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(ApiError::validation(errors))
    }
}

#[utoipa::path(post, path = "/api/v1/catalogue/import", tag = "catalogue", security(("bearer" = [])), request_body = CatalogueFile,
    responses((status = 201, body = ImportReport), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn import_json(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(file): Json<CatalogueFile>,
) -> ApiResult<(StatusCode, axum::Json<ImportReport>)> {
    let caller = principal.caller();
    check(
        &caller,
        Act::AuthorEntry {
            provider: caller.department_id().unwrap_or(-1),
        },
    )?;
    let entries = providers_for(&state, &principal, &file).await?;
    let imported = state
        .store
        .import_resources(&entries, &audit_context(Some(&principal), &meta))
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ImportReport {
            imported,
            skipped: 0,
            problems: vec![],
        }),
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct TemplateParams {
    /// `true` for an empty template.
    #[serde(default)]
    pub blank: bool,
}

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The template, filled with the entries the viewer may see unless `blank`.
pub async fn template_bytes(
    state: &AppState,
    principal: &Principal,
    blank: bool,
) -> ApiResult<Vec<u8>> {
    let entries = if blank {
        vec![]
    } else {
        visible_entries(state, visibility(principal)).await?
    };
    let rows: Vec<ingest::TemplateEntry> = entries
        .into_iter()
        .map(|r| ingest::TemplateEntry {
            code: Some(r.code),
            provider_name: r.provider.name,
            status_label: r.status.label().into(),
            body: r.body,
        })
        .collect();
    ingest::write_template(&rows).map_err(|e| ApiError::Internal(e.to_string()))
}

pub fn xlsx_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/catalogue/template.xlsx", tag = "catalogue", security(("bearer" = [])), params(TemplateParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub async fn export_xlsx(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(params): Query<TemplateParams>,
) -> ApiResult<Response> {
    Ok(xlsx_response(
        template_bytes(&state, &principal, params.blank).await?,
        "catalogue.xlsx",
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
pub struct ImportParams {
    /// Import the valid entries even if others have problems (default: import nothing).
    #[serde(default)]
    pub partial: bool,
}

/// Reads a filled template into drafts of the caller's department.
pub async fn import_template(
    state: &AppState,
    principal: &Principal,
    meta: &crate::auth::RequestMeta,
    bytes: &[u8],
    partial: bool,
) -> ApiResult<ImportReport> {
    let caller = principal.caller();
    let department_id = caller.department_id().unwrap_or(-1);
    check(
        &caller,
        Act::AuthorEntry {
            provider: department_id,
        },
    )?;
    let department = state.store.department(department_id).await?;
    let parsed = ingest::read_template(bytes, department.branch_no as u8)
        .map_err(|e| ApiError::field_with_code("bad_template", "file", e.to_string()))?;
    if !parsed.problems.is_empty() && !partial {
        let details = parsed
            .problems
            .iter()
            .map(|p| {
                FieldError::new(
                    format!("{}!第{}行!{}", p.sheet, p.row, p.column),
                    p.message.clone(),
                )
            })
            .collect();
        return Err(ApiError::BadRequest {
            code: "template_invalid",
            message: format!("模板中有{}处问题，未导入任何目录", parsed.problems.len()),
            details,
        });
    }
    let entries: Vec<(Department, ResourceBody)> = parsed
        .entries
        .iter()
        .map(|e| (department.clone(), e.body.clone()))
        .collect();
    let imported = if entries.is_empty() {
        vec![]
    } else {
        state
            .store
            .import_resources(&entries, &audit_context(Some(principal), meta))
            .await?
    };
    let skipped_rows: std::collections::BTreeSet<(String, u32)> = parsed
        .problems
        .iter()
        .map(|p| (p.sheet.clone(), p.row))
        .collect();
    Ok(ImportReport {
        imported,
        skipped: skipped_rows.len(),
        problems: parsed.problems.iter().map(CellProblem::from).collect(),
    })
}

#[utoipa::path(post, path = "/api/v1/catalogue/import.xlsx", tag = "catalogue", security(("bearer" = [])), params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 201, body = ImportReport), (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn import_xlsx(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Query(params): Query<ImportParams>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, axum::Json<ImportReport>)> {
    let bytes = crate::json::upload_bytes(body)?;
    let report = import_template(&state, &principal, &meta, &bytes, params.partial).await?;
    Ok((StatusCode::CREATED, axum::Json(report)))
}
