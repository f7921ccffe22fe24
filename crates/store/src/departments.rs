//! Departments: government bodies and social/economic providers.

use chrono::{DateTime, Utc};
use domain::account::DepartmentKind;
use domain::ids::{CreditCode, RegionCode};
use serde::Serialize;

use crate::audit::snapshot;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: i64,
    /// Short ASCII code, e.g. `gaj`; demo logins are `<code>-chief` and `<code>-staff`.
    pub code: String,
    pub name: String,
    pub credit_code: String,
    pub region_code: String,
    pub kind: DepartmentKind,
    /// Catalogue branch number: the 项 of the department's departmental resources.
    pub branch_no: i64,
    pub created_at: DateTime<Utc>,
}

/// A department to create; identifiers already checked by their types.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    pub code: String,
    pub name: String,
    pub credit_code: CreditCode,
    pub region_code: RegionCode,
    pub kind: DepartmentKind,
}

#[derive(sqlx::FromRow)]
struct DepartmentRow {
    id: i64,
    code: String,
    name: String,
    credit_code: String,
    region_code: String,
    kind: String,
    branch_no: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<DepartmentRow> for Department {
    type Error = StoreError;
    fn try_from(row: DepartmentRow) -> StoreResult<Self> {
        Ok(Department {
            id: row.id,
            code: row.code,
            name: row.name,
            credit_code: row.credit_code,
            region_code: row.region_code,
            kind: decode(&row.kind, DepartmentKind::parse)?,
            branch_no: row.branch_no,
            created_at: row.created_at,
        })
    }
}

const COLUMNS: &str = "id, code, name, credit_code, region_code, kind, branch_no, created_at";

impl Store {
    pub async fn create_department(
        &self,
        new: &NewDepartment,
        ctx: &AuditContext,
    ) -> StoreResult<Department> {
        domain::access::check(&ctx.caller, domain::access::Act::CreateDepartment)?;
        domain::account::check_department_code(&new.code)
            .map_err(|e| domain::ValidationErrors::single("code", e.to_string()))?;
        if new.name.trim().is_empty() {
            return Err(domain::ValidationErrors::single("name", "部门名称不能为空").into());
        }
        let sql = format!(
            "INSERT INTO departments (code, name, credit_code, region_code, kind, branch_no, created_at) \
             VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(MAX(branch_no), 0) + 1 FROM departments), $6) RETURNING {COLUMNS}"
        );
        let department: Department = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let row: DepartmentRow = sqlx::query_as(&sql)
                .bind(&new.code)
                .bind(new.name.trim())
                .bind(new.credit_code.as_str())
                .bind(new.region_code.as_str())
                .bind(new.kind.code())
                .bind(now())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| duplicate_department(e, new))?;
            let department = Department::try_from(row)?;
            // A department's number is the 项 of its catalogue codes (01–99): the 100th
            // would publish under another's number (dropping the transaction undoes it).
            if !(1..=i64::from(domain::code::MAX_BRANCH)).contains(&department.branch_no) {
                return Err(domain::ValidationErrors::single(
                    "code",
                    format!("部门目录编号 01–{:02} 已用尽，无法再增加部门", domain::code::MAX_BRANCH),
                )
                .into());
            }
            let mut event = ctx.event("department.create", format!("department:{}", department.code));
            event.after = snapshot(&department);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            department
        });
        Ok(department)
    }

    pub async fn departments(&self) -> StoreResult<Vec<Department>> {
        let sql = format!("SELECT {COLUMNS} FROM departments ORDER BY branch_no");
        let rows: Vec<DepartmentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(Department::try_from).collect()
    }

    pub async fn department(&self, id: i64) -> StoreResult<Department> {
        let sql = format!("SELECT {COLUMNS} FROM departments WHERE id = $1");
        let row: Option<DepartmentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        row.ok_or_else(|| StoreError::NotFound(format!("部门 {id}")))?
            .try_into()
    }

    pub async fn department_by_code(&self, code: &str) -> StoreResult<Department> {
        let sql = format!("SELECT {COLUMNS} FROM departments WHERE code = $1");
        let row: Option<DepartmentRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(code).fetch_optional(pool).await?);
        row.ok_or_else(|| StoreError::NotFound(format!("部门 {code}")))?
            .try_into()
    }
}

fn duplicate_department(error: sqlx::Error, new: &NewDepartment) -> StoreError {
    match StoreError::from(error) {
        StoreError::Conflict(_) => StoreError::Conflict(format!(
            "部门简码“{}”、名称“{}”或统一社会信用代码“{}”已被使用",
            new.code, new.name, new.credit_code
        )),
        other => other,
    }
}
