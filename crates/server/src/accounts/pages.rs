//! Account pages: departments and people (the bureau appoints, a chief sees and delegates
//! to their own people), application tokens (a chief issues and revokes them), 一数一源
//! flags. A refused form comes back as the same page with what was typed.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum_extra::extract::Form;
use chrono::{NaiveDate, TimeZone, Utc};
use domain::access::{self, Act};
use domain::account::{check_password, DepartmentKind, Role};
use maud::{html, Markup};
use store::users::{NewUser, User};

use super::departments::CreateDepartment;
use crate::auth::{audit_context, hash_password, Meta};
use crate::error::ApiError;
use crate::json::Path;
use crate::page::{
    beijing, code_path, csrf_field, form_value, layout, redirect_to, with_status, FormState,
    Notice, PageResult, WebUser,
};
use crate::AppState;

type Fields = HashMap<String, Vec<String>>;

async fn departments_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    form: &FormState,
) -> PageResult {
    user.require(Act::ViewDepartments)?;
    let departments = state.store.departments().await?;
    let value =
        |name: &str, default: &'static str| form.value("department", name, default).to_string();
    let chosen_kind = value("kind", "");
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        table id="departments" {
            tr { th { "目录编号" } th { "简码" } th { "名称" } th { "统一社会信用代码" } th { "行政区划" } th { "类型" } }
            @for d in &departments {
                tr { td.num { (format!("{:02}", d.branch_no)) } td.mono { (d.code) } td { (d.name) } td.mono { (d.credit_code) } td.mono { (d.region_code) } td { (d.kind.label()) } }
            }
        }
        @if user.may(Act::CreateDepartment) {
            h2 { "新增部门" }
            (form.banner("department"))
            form.card.grid method="post" action="/admin/departments" id="new-department" {
                (csrf_field(user))
                div { label { "部门名称" input type="text" name="name" required maxlength="100" value=(value("name", "")); } (form.errors("department", "name")) }
                div { label { "简码（小写字母，用于登录名）" input type="text" name="code" required maxlength="20" value=(value("code", "")); } (form.errors("department", "code")) }
                div { label { "统一社会信用代码" input type="text" name="credit_code" required maxlength="18" value=(value("credit_code", "")); } (form.errors("department", "credit_code")) }
                div { label { "行政区划代码" input type="text" name="region_code" required maxlength="6" value=(value("region_code", "341000")); } (form.errors("department", "region_code")) }
                div { label { "类型" select name="kind" { @for k in DepartmentKind::ALL { option value=(k.code()) selected[chosen_kind == k.code()] { (k.label()) } } } } (form.errors("department", "kind")) }
                div { button type="submit" { "新增" } }
            }
        }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/admin/departments",
            &[("", "部门管理")],
            "部门管理",
            content,
        ),
        form,
    ))
}

pub async fn departments(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    departments_page(&state, &user, notice.text(), &FormState::default()).await
}

pub async fn create_department(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let request = CreateDepartment {
        name: form_value(&form, "name").trim().to_string(),
        credit_code: form_value(&form, "credit_code").trim().to_string(),
        region_code: form_value(&form, "region_code").trim().to_string(),
        kind: form_value(&form, "kind").to_string(),
        code: Some(form_value(&form, "code").trim().to_string()),
    };
    let result = super::departments::create(
        State(state.clone()),
        crate::auth::Auth(user.0.clone()),
        Meta(meta),
        crate::json::Json(request),
    )
    .await;
    match result {
        Ok((_, created)) => redirect_to(
            "/admin/departments",
            &format!("已新增部门 {}", created.0.name),
        ),
        Err(error) => {
            departments_page(
                &state,
                &user,
                None,
                &FormState::failed("department", form, error),
            )
            .await
        }
    }
}

/// The department whose people a person may see: everyone's for the bureau and the
/// auditor, a chief's own.
fn people_scope(user: &WebUser) -> Result<Option<i64>, ApiError> {
    let caller = user.caller();
    if access::allows(&caller, Act::ViewPeople { department: None }) {
        return Ok(None);
    }
    let department = caller.department_id();
    access::check(&caller, Act::ViewPeople { department })?;
    Ok(department)
}

async fn users_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    form: &FormState,
) -> PageResult {
    let scope = people_scope(user)?;
    let users = state.store.users(scope).await?;
    let departments = state.store.departments().await?;
    let own_department = user.caller().department_id();
    let delegates = match own_department {
        Some(department) => state.store.delegates(department).await?,
        None => Vec::new(),
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
    let role_select = |form_name: &str| {
        let chosen = form.value(form_name, "role", "");
        html! { select name="role" { @for r in &appointable { option value=(r.code()) selected[chosen == r.code()] { (r.label()) } } } }
    };
    let department_select = |form_name: &str| {
        let chosen = form.value(form_name, "department_id", "");
        html! { select name="department_id" { @for d in &departments { option value=(d.id) selected[chosen == d.id.to_string()] { (d.name) } } } }
    };
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        table id="people" {
            tr { th { "用户名" } th { "姓名" } th { "角色" } th { "部门" } th { "状态" } th { "创建时间" } th { "操作" } }
            @for u in &users {
                tr id={"user-" (u.username)} {
                    td.mono { (u.username) } td { (u.display_name) } td { (u.role.label())
                        @if delegates.contains(&u.username) { br; span.tag.done { "受托审批" } } }
                    td { (u.department_name.as_deref().unwrap_or("—")) }
                    td { @if u.active { span.tag.done { "在岗" } } @else { span.tag.retired { "已停用" } } }
                    td { (beijing(&u.created_at)) }
                    td { (person_actions(user, u, &delegates, form)) }
                }
            }
        }
        @if !appointable.is_empty() {
            h2 { "新增人员" }
            (form.banner("new-user"))
            form.card.grid method="post" action="/admin/users" id="new-user" {
                (csrf_field(user))
                div { label { "用户名" input type="text" name="username" required maxlength="64" value=(form.value("new-user", "username", "")); } (form.errors("new-user", "username")) }
                div { label { "姓名" input type="text" name="display_name" required maxlength="50" value=(form.value("new-user", "display_name", "")); } (form.errors("new-user", "display_name")) }
                div { label { "初始密码（至少10位）" input type="password" name="password" required autocomplete="new-password"; } (form.errors("new-user", "password")) }
                div { label { "角色" (role_select("new-user")) } (form.errors("new-user", "role")) }
                div { label { "部门" (department_select("new-user")) } (form.errors("new-user", "department_id")) }
                div { button type="submit" { "新增" } }
            }
            h2 { "任命 / 调整角色" }
            (form.banner("role"))
            form.card.grid method="post" action="/admin/users/role" id="set-role" {
                (csrf_field(user))
                div { label { "用户名" input type="text" name="username" required maxlength="64" value=(form.value("role", "username", "")); } (form.errors("role", "username")) }
                div { label { "角色" (role_select("role")) } (form.errors("role", "role")) }
                div { label { "部门" (department_select("role")) } (form.errors("role", "department_id")) }
                div { button type="submit" { "保存" } }
            }
        }
    };
    let title = if scope.is_some() {
        "本部门人员"
    } else {
        "人员管理"
    };
    Ok(with_status(
        layout(state, user, "/admin/users", &[("", title)], title, content),
        form,
    ))
}

/// The buttons a person may press on another's account: deactivate or reactivate it (the
/// bureau), let them decide share requests on the chief's behalf (the chief).
fn person_actions(user: &WebUser, person: &User, delegates: &[String], form: &FormState) -> Markup {
    let myself = user.caller().person().map(|me| me.user_id) == Some(person.id);
    let manages = user.may(Act::ManageAccount {
        role: person.role,
        new_role: person.role,
    }) && !myself;
    let delegation = user.caller().department_id().filter(|&department| {
        user.may(Act::Delegate {
            department,
            delegate_department: person.department_id,
            delegate_role: person.role,
        })
    });
    let active_form = format!("active-{}", person.username);
    let delegate_form = format!("delegate-{}", person.username);
    html! {
        @if manages {
            (form.banner(&active_form))
            form.inline method="post" action={"/admin/users/" (person.username) "/active"} {
                (csrf_field(user))
                @if person.active {
                    input type="hidden" name="active" value="false";
                    button.danger type="submit" { "停用" }
                } @else {
                    input type="hidden" name="active" value="true";
                    button type="submit" { "启用" }
                }
            }
        }
        @if delegation.is_some() && person.active {
            (form.banner(&delegate_form))
            form.inline method="post" action={"/admin/users/" (person.username) "/delegate"} {
                (csrf_field(user))
                @if delegates.contains(&person.username) {
                    input type="hidden" name="allowed" value="false";
                    button type="submit" { "取消审批授权" }
                } @else {
                    input type="hidden" name="allowed" value="true";
                    button type="submit" { "授权审批共享申请" }
                }
            }
        }
    }
}

pub async fn users(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    users_page(&state, &user, notice.text(), &FormState::default()).await
}

/// Shows the people page again with `form_name`'s values and its refusal.
async fn users_refused(
    state: &AppState,
    user: &WebUser,
    form_name: &str,
    form: Fields,
    error: ApiError,
) -> PageResult {
    users_page(
        state,
        user,
        None,
        &FormState::failed(form_name, form, error),
    )
    .await
}

fn department_id(text: &str) -> Result<Option<i64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field("department_id", "请选择部门")),
    }
}

fn role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| ApiError::field("role", "请选择角色"))
}

pub async fn create_user(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let result: Result<User, ApiError> = async {
        let role = role(form_value(&form, "role"))?;
        // Asked before the (slow) password hash; the store asks again when it writes.
        access::check(
            &user.caller(),
            Act::ManageAccount {
                role,
                new_role: role,
            },
        )?;
        let password = form_value(&form, "password");
        check_password(password, state.config.demo_mode)
            .map_err(|e| ApiError::field("password", e.to_string()))?;
        let new = NewUser {
            username: form_value(&form, "username").trim().to_string(),
            display_name: form_value(&form, "display_name").trim().to_string(),
            role,
            department_id: department_id(form_value(&form, "department_id"))?,
            password_hash: hash_password(password).await?,
        };
        Ok(state
            .store
            .create_user(&new, &audit_context(Some(&user.0), &meta))
            .await?)
    }
    .await;
    match result {
        Ok(created) => redirect_to(
            "/admin/users",
            &format!("已新增 {}（{}）", created.display_name, created.username),
        ),
        Err(error) => users_refused(&state, &user, "new-user", form, error).await,
    }
}

pub async fn set_role(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let result: Result<User, ApiError> = async {
        Ok(state
            .store
            .set_role(
                form_value(&form, "username").trim(),
                role(form_value(&form, "role"))?,
                department_id(form_value(&form, "department_id"))?,
                &audit_context(Some(&user.0), &meta),
            )
            .await?)
    }
    .await;
    match result {
        Ok(changed) => redirect_to(
            "/admin/users",
            &format!("{} 现为{}", changed.username, changed.role.label()),
        ),
        Err(error) => users_refused(&state, &user, "role", form, error).await,
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let active = form_value(&form, "active") == "true";
    let result = state
        .store
        .set_active(&username, active, &audit_context(Some(&user.0), &meta))
        .await;
    match result {
        Ok(changed) => {
            let done = if changed.active {
                "已启用"
            } else {
                "已停用，其登录会话已全部结束"
            };
            redirect_to("/admin/users", &format!("{} {done}", changed.username))
        }
        Err(error) => {
            users_refused(
                &state,
                &user,
                &format!("active-{username}"),
                form,
                error.into(),
            )
            .await
        }
    }
}

pub async fn set_delegate(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(username): Path<String>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let allowed = form_value(&form, "allowed") == "true";
    let result = state
        .store
        .set_delegate(&username, allowed, &audit_context(Some(&user.0), &meta))
        .await;
    match result {
        Ok(()) => {
            let done = if allowed {
                "可代首席代表审批本部门的共享申请"
            } else {
                "不再代为审批"
            };
            redirect_to("/admin/users", &format!("{username} {done}"))
        }
        Err(error) => {
            users_refused(
                &state,
                &user,
                &format!("delegate-{username}"),
                form,
                error.into(),
            )
            .await
        }
    }
}

/// The department whose tokens a person may see: every department's for the bureau and
/// the auditor, a chief's own.
fn token_scope(user: &WebUser) -> Result<Option<i64>, ApiError> {
    let caller = user.caller();
    if access::allows(&caller, Act::ViewTokens { department: None }) {
        return Ok(None);
    }
    let department = caller.department_id();
    access::check(&caller, Act::ViewTokens { department })?;
    Ok(department)
}

/// 应用令牌: the department's application systems and their tokens; a newly issued
/// token's secret is shown on this page once, never again.
async fn tokens_page(
    state: &AppState,
    user: &WebUser,
    notice: Option<&str>,
    secret: Option<&str>,
    form: &FormState,
) -> PageResult {
    let scope = token_scope(user)?;
    let tokens = state.store.api_tokens(scope).await?;
    let names: HashMap<i64, String> = state
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let own = user.caller().department_id();
    let issues = own.is_some_and(|department| user.may(Act::IssueToken { department }));
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        @if let Some(secret) = secret {
            div.notice.ok role="status" id="new-token" {
                "新令牌（只显示这一次，请立即复制并交给应用系统的运维人员）："
                br; code.mono { (secret) }
                br; "调用时在请求头中加入 " code { "Authorization: Bearer <令牌>" } "。"
            }
        }
        p.muted { "应用令牌供本部门的应用系统调用数据接口、推送数据；平台只保存令牌的摘要，遗失须吊销后重新签发。" }
        table id="tokens" {
            tr { th { "编号" } th { "部门" } th { "应用系统" } th { "令牌前缀" } th { "签发人" } th { "签发时间" } th { "有效期至" } th { "最近使用" } th { "状态" } th { "操作" } }
            @for t in &tokens {
                @let revoke_form = format!("revoke-{}", t.id);
                tr id={"token-" (t.id)} {
                    td.num { (t.id) }
                    td { (names.get(&t.department_id).map_or("—", String::as_str)) }
                    td { (t.application) }
                    td.mono { (t.token_prefix) "…" }
                    td { (t.created_by) }
                    td { (beijing(&t.created_at)) }
                    td { (t.expires_at.as_ref().map(beijing).unwrap_or_else(|| "长期".into())) }
                    td { (t.last_used_at.as_ref().map(beijing).unwrap_or_else(|| "—".into())) }
                    td { @if t.revoked_at.is_some() { span.tag.refused { "已吊销" } } @else { span.tag.done { "有效" } } }
                    td {
                        @if t.revoked_at.is_none() && user.may(Act::RevokeToken { department: t.department_id }) {
                            (form.banner(&revoke_form))
                            form.inline method="post" action={"/tokens/" (t.id) "/revoke"} {
                                (csrf_field(user))
                                button.danger type="submit" { "吊销" }
                            }
                        }
                    }
                }
            }
        }
        @if tokens.is_empty() { p.muted { "暂无应用令牌。" } }
        @if issues {
            h2 { "签发应用令牌" }
            (form.banner("issue"))
            form.card.grid method="post" action="/tokens" id="issue-token" {
                (csrf_field(user))
                div { label { "应用系统名称" input type="text" name="application" required maxlength="100" placeholder="如：低保审批系统" value=(form.value("issue", "application", "")); } (form.errors("issue", "application")) }
                div { label { "有效期至（可不填）" input type="date" name="expires_on" value=(form.value("issue", "expires_on", "")); } (form.errors("issue", "expires_on")) }
                div { button type="submit" { "签发" } }
            }
        }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/tokens",
            &[("", "应用令牌")],
            "应用令牌",
            content,
        ),
        form,
    ))
}

pub async fn tokens(
    State(state): State<AppState>,
    user: WebUser,
    Query(notice): Query<Notice>,
) -> PageResult {
    tokens_page(&state, &user, notice.text(), None, &FormState::default()).await
}

/// The end of the day `date` (YYYY-MM-DD), Beijing time, as the token's expiry.
fn expiry(text: &str) -> Result<Option<chrono::DateTime<Utc>>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::field("expires_on", "日期格式应为 年-月-日，如 2027-12-31"))?;
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let end = beijing
        .from_local_datetime(&date.and_hms_opt(23, 59, 59).expect("a valid time"))
        .single()
        .expect("Beijing time has no gaps")
        .with_timezone(&Utc);
    if end <= Utc::now() {
        return Err(ApiError::field("expires_on", "有效期应晚于今天"));
    }
    Ok(Some(end))
}

pub async fn issue_token(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let result = async {
        let expires_at = expiry(form_value(&form, "expires_on"))?;
        let request = super::tokens::CreateToken {
            application: form_value(&form, "application").trim().to_string(),
            department_id: None,
            expires_at,
        };
        let (_, created) = super::tokens::create(
            State(state.clone()),
            crate::auth::Auth(user.0.clone()),
            Meta(meta),
            crate::json::Json(request),
        )
        .await?;
        Ok::<_, ApiError>(created.0)
    }
    .await;
    match result {
        // The secret is shown on the answer itself, never put in a URL.
        Ok(created) => {
            let notice = format!(
                "已为“{}”签发令牌 {}",
                created.info.application, created.info.id
            );
            let page = tokens_page(
                &state,
                &user,
                Some(&notice),
                Some(&created.token),
                &FormState::default(),
            )
            .await?;
            Ok((axum::http::StatusCode::CREATED, page).into_response())
        }
        Err(error) => {
            tokens_page(
                &state,
                &user,
                None,
                None,
                &FormState::failed("issue", form, error),
            )
            .await
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let result = super::tokens::revoke(
        State(state.clone()),
        crate::auth::Auth(user.0.clone()),
        Meta(meta),
        Path(id),
    )
    .await;
    match result {
        Ok(revoked) => redirect_to(
            "/tokens",
            &format!("令牌 {id}（{}）已吊销", revoked.application),
        ),
        Err(error) => {
            let failed = FormState::failed(&format!("revoke-{id}"), form, error);
            tokens_page(&state, &user, None, None, &failed).await
        }
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
