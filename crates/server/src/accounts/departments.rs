//! `/api/v1/departments`: the bureau registers departments and social/economic providers.

use crate::json::Path;
use axum::extract::State;
use axum::http::StatusCode;
use domain::access::{check, Act};
use domain::account::DepartmentKind;
use domain::ids::{CreditCode, RegionCode};
use domain::{FieldError, ValidationErrors};
use serde::Deserialize;
use store::departments::{Department, NewDepartment};

use crate::auth::{audit_context, Auth, Meta};
use crate::error::ApiResult;
use crate::json::{Json, List};
use crate::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDepartment {
    pub name: String,
    /// 统一社会信用代码 (GB 32100 check character verified).
    pub credit_code: String,
    /// 行政区划代码 (GB/T 2260 structure verified).
    pub region_code: String,
    /// `government` or `social`.
    pub kind: String,
    /// Short ASCII code used in demo logins (`gaj`); generated when absent.
    #[serde(default)]
    pub code: Option<String>,
}

impl CreateDepartment {
    /// Checks every field, reporting all problems at once.
    fn parse(self, generated_code: String) -> Result<NewDepartment, ValidationErrors> {
        let mut errors = Vec::new();
        let credit_code = CreditCode::parse(&self.credit_code)
            .map_err(|e| {
                errors.push(FieldError::new(
                    "credit_code",
                    format!("统一社会信用代码无效：{e}"),
                ))
            })
            .ok();
        let region_code = RegionCode::parse(&self.region_code)
            .map_err(|e| {
                errors.push(FieldError::new(
                    "region_code",
                    format!("行政区划代码无效：{e}"),
                ))
            })
            .ok();
        let kind = DepartmentKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "部门类型应为 government（政府部门）或 social（社会/经济数据提供方）",
            ));
        }
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "部门名称不能为空"));
        }
        match (credit_code, region_code, kind, errors.is_empty()) {
            (Some(credit_code), Some(region_code), Some(kind), true) => Ok(NewDepartment {
                code: self.code.unwrap_or(generated_code),
                name: self.name,
                credit_code,
                region_code,
                kind,
            }),
            _ => Err(ValidationErrors(errors)),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "departments", security(("bearer" = [])),
    responses((status = 200, body = List<Department>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<axum::Json<List<Department>>> {
    check(&principal.caller(), Act::ViewDepartments)?;
    Ok(axum::Json(List::all(state.store.departments().await?)))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "departments", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Department), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Department>> {
    check(&principal.caller(), Act::ViewDepartments)?;
    Ok(axum::Json(state.store.department(id).await?))
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "departments", security(("bearer" = [])), request_body = CreateDepartment,
    responses((status = 201, body = Department), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    Json(request): Json<CreateDepartment>,
) -> ApiResult<(StatusCode, axum::Json<Department>)> {
    check(&principal.caller(), Act::CreateDepartment)?;
    let generated = format!("d{}", state.store.departments().await?.len() + 1);
    let new = request.parse(generated)?;
    let department = state
        .store
        .create_department(&new, &audit_context(Some(&principal), &meta))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(department)))
}
