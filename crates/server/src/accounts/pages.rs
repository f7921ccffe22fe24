//! The bureau's pages: departments, people, 一数一源 flags.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::Form;
use domain::access::Act;
use domain::account::{check_password, DepartmentKind, Role};
use maud::{html, Markup};
use serde::Deserialize;
use store::users::NewUser;

use super::departments::CreateDepartment;
use crate::auth::{audit_context, hash_password, Meta};
use crate::error::ApiError;
use crate::page::{beijing, code_path, csrf_field, layout, PageResult, WebUser};
use crate::AppState;

fn notice(error: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(error) = error {
            div.notice.error {
                (error.message())
            }
        }
    }
}

async fn departments_page(state: &AppState, user: &WebUser, error: Option<ApiError>) -> PageResult {
    let departments = state.store.departments().await?;
    let content = html! {
        (notice(error.as_ref()))
        table {
            tr { th { "目录编号" } th { "简码" } th { "名称" } th { "统一社会信用代码" } th { "行政区划" } th { "类型" } }
            @for d in &departments {
                tr { td.num { (format!("{:02}", d.branch_no)) } td.mono { (d.code) } td { (d.name) } td.mono { (d.credit_code) } td.mono { (d.region_code) } td { (d.kind.label()) } }
            }
        }
        @if user.may(Act::CreateDepartment) {
        h2 { "新增部门" }
        form.card.grid method="post" action="/admin/departments" {
            (csrf_field(user))
            div { label { "部门名称" input type="text" name="name" required; } }
            div { label { "简码（小写字母，用于登录名）" input type="text" name="code" required; } }
            div { label { "统一社会信用代码" input type="text" name="credit_code" required; } }
            div { label { "行政区划代码" input type="text" name="region_code" value="341000" required; } }
            div { label { "类型" select name="kind" { @for k in DepartmentKind::ALL { option value=(k.code()) { (k.label()) } } } } }
            div { button type="submit" { "新增" } }
        }
        }
    };
    Ok(layout(
        state,
        user,
        "/admin/departments",
        &[("", "部门管理")],
        "部门管理",
        content,
    ))
}

pub async fn departments(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(Act::ViewDepartments)?;
    departments_page(&state, &user, None).await
}

#[derive(Deserialize)]
pub struct DepartmentForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    name: String,
    code: String,
    credit_code: String,
    region_code: String,
    kind: String,
}

pub async fn create_department(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<DepartmentForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let request = CreateDepartment {
        name: form.name,
        credit_code: form.credit_code,
        region_code: form.region_code,
        kind: form.kind,
        code: Some(form.code),
    };
    let result = super::departments::create(
        State(state.clone()),
        crate::auth::Auth(user.0.clone()),
        Meta(meta),
        crate::json::Json(request),
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/departments").into_response()),
        Err(error) => departments_page(&state, &user, Some(error)).await,
    }
}

async fn users_page(state: &AppState, user: &WebUser, error: Option<ApiError>) -> PageResult {
    let users = state.store.users(None).await?;
    let departments = state.store.departments().await?;
    let department_select = |name: &str| {
        html! { select name=(name) { @for d in &departments { option value=(d.id) { (d.name) } } } }
    };
    // Only the roles this person may appoint: the bureau appoints departments' people; the
    // accounts of the bureau and the auditor are managed on the server (三员分立).
    let appointable: Vec<Role> = Role::ALL
        .iter()
        .copied()
        .filter(|&r| {
            user.may(Act::ManageAccount {
                role: r,
                new_role: r,
            })
        })
        .collect();
    let role_select = html! { select name="role" { @for r in &appointable { option value=(r.code()) { (r.label()) } } } };
    let content = html! {
        (notice(error.as_ref()))
        table {
            tr { th { "用户名" } th { "姓名" } th { "角色" } th { "部门" } th { "创建时间" } }
            @for u in &users {
                tr { td.mono { (u.username) } td { (u.display_name) } td { (u.role.label()) } td { (u.department_name.as_deref().unwrap_or("—")) } td { (beijing(&u.created_at)) } }
            }
        }
        @if !appointable.is_empty() {
        h2 { "新增人员" }
        form.card.grid method="post" action="/admin/users" {
            (csrf_field(user))
            div { label { "用户名" input type="text" name="username" required; } }
            div { label { "姓名" input type="text" name="display_name" required; } }
            div { label { "初始密码（至少10位）" input type="password" name="password" required; } }
            div { label { "角色" (role_select) } }
            div { label { "部门" (department_select("department_id")) } }
            div { button type="submit" { "新增" } }
        }
        h2 { "任命 / 调整角色" }
        form.card.grid method="post" action="/admin/users/role" {
            (csrf_field(user))
            div { label { "用户名" input type="text" name="username" required; } }
            div { label { "角色" (role_select) } }
            div { label { "部门" (department_select("department_id")) } }
            div { button type="submit" { "保存" } }
        }
        }
    };
    Ok(layout(
        state,
        user,
        "/admin/users",
        &[("", "人员管理")],
        "人员管理",
        content,
    ))
}

pub async fn users(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(Act::ViewPeople { department: None })?;
    users_page(&state, &user, None).await
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    username: String,
    display_name: String,
    password: String,
    role: String,
    #[serde(default)]
    department_id: String,
}

fn department_id(text: &str) -> Result<Option<i64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field("department_id", "部门无效")),
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<UserForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let result: Result<_, ApiError> = async {
        let role = Role::parse(&form.role).ok_or_else(|| ApiError::field("role", "角色无效"))?;
        check_password(&form.password, state.config.demo_mode)
            .map_err(|e| ApiError::field("password", e.to_string()))?;
        let new = NewUser {
            username: form.username.trim().to_string(),
            display_name: form.display_name,
            role,
            department_id: department_id(&form.department_id)?,
            password_hash: hash_password(&form.password).await?,
        };
        Ok(state
            .store
            .create_user(&new, &audit_context(Some(&user.0), &meta))
            .await?)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(error) => users_page(&state, &user, Some(error)).await,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    username: String,
    role: String,
    #[serde(default)]
    department_id: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<RoleForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let result: Result<_, ApiError> = async {
        let role = Role::parse(&form.role).ok_or_else(|| ApiError::field("role", "角色无效"))?;
        Ok(state
            .store
            .set_role(
                form.username.trim(),
                role,
                department_id(&form.department_id)?,
                &audit_context(Some(&user.0), &meta),
            )
            .await?)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(error) => users_page(&state, &user, Some(error)).await,
    }
}

pub async fn conflicts(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(Act::ViewConflicts)?;
    let conflicts = state.store.source_conflicts().await?;
    let content = html! {
        p.muted { "以下信息项已由其他部门作为权威来源发布（一数一源）。请协调编目部门改为引用权威来源，或确认其必要性。" }
        table {
            tr { th { "编目部门" } th { "目录" } th { "信息项" } th { "权威来源部门" } th { "权威目录" } th { "发现时间" } }
            @for c in &conflicts {
                tr {
                    td { (c.department_name) }
                    td { a href=(code_path(&c.resource_code)) { (c.resource_name) } }
                    td { (c.item_name) }
                    td { (c.authoritative_department) }
                    td.mono { a href=(code_path(&c.authoritative_code)) { (c.authoritative_code) } }
                    td { (beijing(&c.created_at)) }
                }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/admin/conflicts",
        &[("", "一数一源提示")],
        "一数一源提示",
        content,
    ))
}
