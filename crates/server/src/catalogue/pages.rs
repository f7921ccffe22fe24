//! Catalogue pages: search and filters, entry detail, workflow, versions, import.

use crate::json::Path;
use axum::extract::{Multipart, Query, State};
use axum_extra::extract::Form;
use domain::access::{Act, Channel};
use domain::catalogue::{Item, ResourceBody, SecurityGrade, ShareType};
use domain::code::ClassKind;
use domain::workflow::{next_status, Action, Status};
use maud::{html, Markup};
use serde::Deserialize;
use store::resources::Resource;

use super::api::{parse_action, visibility, visible_at, SearchParams};
use super::transfer::{import_template, template_bytes, xlsx_response};
use crate::auth::{audit_context, Meta};
use crate::error::ApiError;
use crate::page::{
    beijing, beijing_date, code_path, csrf_field, form_value, layout, query_string, redirect_to,
    status_tag, thousands, with_status, FormState, Notice, PageResult, UploadForm, WebUser,
};
use crate::AppState;

type Fields = std::collections::HashMap<String, Vec<String>>;

/// A filter's drop-down: "全部" and every value, by code, labelled in Chinese.
pub(crate) fn select<T: Copy>(
    name: &str,
    label: &str,
    all: &[T],
    code: fn(T) -> &'static str,
    text: fn(T) -> &'static str,
    chosen: Option<&str>,
) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "全部" }
                @for v in all { option value=(code(*v)) selected[chosen == Some(code(*v))] { (text(*v)) } }
            }
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    user: WebUser,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let Query(params) = params.map_err(|e| {
        ApiError::bad_request("bad_query", format!("查询参数错误：{}", e.body_text()))
    })?;
    let query = params.to_query()?;
    let page = state
        .store
        .search_resources(&query, visibility(&user.0))
        .await?;
    let departments = state.store.departments().await?;
    let filters = [
        ("q", params.q.as_deref().unwrap_or("")),
        ("class", params.class.as_deref().unwrap_or("")),
        ("share_type", params.share_type.as_deref().unwrap_or("")),
        ("grade", params.grade.as_deref().unwrap_or("")),
        ("status", params.status.as_deref().unwrap_or("")),
    ];
    let provider = params.provider.clone().unwrap_or_default();
    let content = html! {
        form.filters method="get" action="/catalogue" {
            label { "关键词" input type="text" name="q" value=(params.q.as_deref().unwrap_or("")) placeholder="名称、摘要、信息项、提供方" class="w-search"; }
            (select("class", "资源分类", ClassKind::ALL, ClassKind::code, ClassKind::label, params.class.as_deref()))
            label { "提供方"
                select name="provider" {
                    option value="" { "全部" }
                    @for d in &departments { option value=(d.id) selected[query.provider_id == Some(d.id)] { (d.name) } }
                }
            }
            (select("share_type", "共享类型", ShareType::ALL, ShareType::code, ShareType::label, params.share_type.as_deref()))
            (select("grade", "安全级别", SecurityGrade::ALL, SecurityGrade::code, SecurityGrade::label, params.grade.as_deref()))
            (select("status", "状态", Status::ALL, Status::code, Status::label, params.status.as_deref()))
            button type="submit" { "查询" }
            a href="/catalogue" { "重置" }
        }
        p.muted { "共 " (thousands(page.total)) " 条" }
        table id="results" {
            tr { th { "信息资源代码" } th { "信息资源名称" } th { "分类" } th { "提供方" } th { "共享类型" } th { "更新周期" } th { "状态" } th { "发布日期" } }
            @for r in &page.items {
                tr {
                    td.mono { a href=(code_path(&r.code)) { (r.code) } }
                    td { a href=(code_path(&r.code)) { (r.name) } }
                    td { (ClassKind::parse(&r.class_kind).map_or("", |k| k.label())) }
                    td { (r.provider_name) }
                    td { (ShareType::parse(&r.share_type).map_or("", |s| s.label())) }
                    td { (domain::catalogue::UpdateCycle::parse(&r.update_cycle).map_or("", |u| u.label())) }
                    td { (status_tag(&r.status)) }
                    td { (r.published_at.as_ref().map(beijing_date).unwrap_or_default()) }
                }
            }
        }
        div.pager {
            @if params.cursor.is_some() { a href="/catalogue" { "第一页" } }
            @if let Some(next) = &page.next {
                @let pairs: Vec<(&str, &str)> = filters.iter().copied().chain([("provider", provider.as_str()), ("cursor", next.as_str())]).collect();
                a href={"/catalogue?" (query_string(&pairs))} { "下一页" }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &[("/catalogue", "数据资源目录")],
        "数据资源目录",
        content,
    ))
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "是"
    } else {
        "否"
    }
}

fn or_dash(value: &Option<String>) -> &str {
    value.as_deref().filter(|v| !v.is_empty()).unwrap_or("—")
}

pub fn metadata_table(resource: &Resource) -> Markup {
    let body = &resource.body;
    let class = &body.class;
    html! {
        table.meta {
            tr { th { "信息资源名称" } td { (body.name) } }
            tr { th { "信息资源代码" } td.mono { (resource.code) } }
            tr { th { "信息资源分类" } td { (class.kind.label()) " / 项 " (format!("{:02}", class.subclass)) (class.subclass_name().map(|n| format!("（{n}）")).unwrap_or_default()) " / 目 " (format!("{:03}", class.category)) @if !class.detail.is_empty() { " / 细目 " (class.detail) } } }
            tr { th { "信息资源提供方" } td { (resource.provider.name) @if let Some(unit) = &body.provider_unit { " · " (unit) } } }
            tr { th { "信息资源提供方代码" } td.mono { (resource.provider.credit_code) } }
            tr { th { "信息资源摘要" } td { (body.summary) } }
            tr { th { "信息资源格式" } td { (body.format.kind.label()) @if !body.format.detail.is_empty() { " / " (body.format.detail) } } }
            tr { th { "共享类型" } td { (body.share.share_type.label()) } }
            tr { th { "共享条件" } td { (or_dash(&body.share.conditions)) } }
            tr { th { "不予共享依据" } td { (or_dash(&body.share.legal_basis)) } }
            tr { th { "共享方式" } td { (body.share.mode.map_or("—", |m| m.label())) @if let Some(reason) = &body.share.mode_reason { "（" (reason) "）" } } }
            tr { th { "是否向社会开放" } td { (yes_no(body.open.open_to_public)) @if let Some(c) = &body.open.conditions { "；开放条件：" (c) } } }
            tr { th { "更新周期" } td { (body.update_cycle.label()) } }
            tr { th { "发布日期" } td { (resource.published_at.as_ref().map(beijing_date).unwrap_or_else(|| "未发布".into())) } }
            tr { th { "关联资源代码" } td.mono { @for c in &body.related_codes { a href=(code_path(c.as_str())) { (c) } " " } @if body.related_codes.is_empty() { "—" } } }
            tr { th { "安全级别" } td { (body.security_grade.label()) } }
            tr { th { "扩展元数据" } td { @for (k, v) in &body.extensions { (k) "：" (v) br; } @if body.extensions.is_empty() { "—" } } }
        }
    }
}

pub fn items_table(body: &ResourceBody) -> Markup {
    let share = |item: &Item| body.item_share_type(item).label();
    html! {
        table id="items" {
            tr { th { "#" } th { "信息项名称" } th { "标识符" } th { "类型" } th { "长度" } th { "必填" } th { "主键" } th { "代码表" } th { "校验规则" } th { "安全级别" } th { "个人信息" } th { "共享类型" } th { "权威来源" } }
            @for (i, item) in body.items.iter().enumerate() {
                tr {
                    td.num { (i + 1) }
                    td { (item.name) }
                    td.mono { (item.identifier) }
                    td { (item.data_type.code()) " " (item.data_type.label()) }
                    td.num { (item.length.map(|l| l.to_string()).unwrap_or_default()) }
                    td { (yes_no(item.required)) }
                    td { (yes_no(item.key)) }
                    td { (item.code_table.as_deref().unwrap_or("")) }
                    td.mono { (item.rule.as_ref().map(|r| r.to_string()).unwrap_or_default()) }
                    td { (item.security_grade.label()) }
                    td { (yes_no(item.personal)) }
                    td { (share(item)) }
                    td { (yes_no(item.authoritative)) }
                }
            }
        }
    }
}

/// The workflow buttons this person may press now.
fn workflow_forms(user: &WebUser, resource: &Resource, form: &FormState) -> Markup {
    let caller = user.caller();
    let allowed = |action: Action| {
        next_status(resource.status, action, &caller, resource.provider.id).is_ok()
    };
    let provider = resource.provider.id;
    let in_use = resource.published_version.is_some() && resource.status != Status::Retired;
    let action_path = format!("{}/workflow", code_path(&resource.code));
    html! {
        (form.banner("workflow"))
        div.actions {
            @if allowed(Action::Edit) { a.button href={(code_path(&resource.code)) "/edit"} { "修改" } }
            @if in_use && user.may(Act::Collect { provider, channel: Channel::Upload }) {
                a.button href={(code_path(&resource.code)) "/upload"} { "上传数据" }
            }
            @if in_use && user.may(Act::RequestShare { provider })
                && resource.body.share.share_type != domain::catalogue::ShareType::NotShared {
                a.button href={(code_path(&resource.code)) "/apply"} { "申请共享" }
            }
            @for action in [Action::Submit, Action::Sign, Action::Publish, Action::Retire] {
                @if allowed(action) {
                    form method="post" action=(action_path) {
                        (csrf_field(user))
                        input type="hidden" name="action" value=(action.code());
                        button type="submit" { (action.label()) }
                    }
                }
            }
            @if allowed(Action::Reject) {
                form method="post" action=(action_path) {
                    (csrf_field(user))
                    input type="hidden" name="action" value="reject";
                    label { "退回理由 " input type="text" name="reason" placeholder="必填" required maxlength="500" class="w-reason" value=(form.value("workflow", "reason", "")); }
                    button.danger type="submit" { "退回" }
                    (form.errors("workflow", "reason"))
                }
            }
        }
    }
}

pub async fn detail(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
    Query(notice): Query<Notice>,
) -> PageResult {
    let (_, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    detail_page(
        &state,
        &user,
        resource,
        notice.text(),
        &FormState::default(),
    )
    .await
}

async fn detail_page(
    state: &AppState,
    user: &WebUser,
    resource: Resource,
    notice: Option<&str>,
    form: &FormState,
) -> PageResult {
    let versions = state.store.resource_versions(resource.id).await?;
    // 谁在使用我的数据: for the provider, the bureau and the auditor.
    let sees_usage = user.may(Act::ViewUsage {
        provider: resource.provider.id,
    });
    let usage = if sees_usage && resource.published_version.is_some() {
        let _ = state.access_log.settle().await;
        state.store.usage(resource.id).await?
    } else {
        Vec::new()
    };
    let content = html! {
        @if let Some(text) = notice { div.notice.ok role="status" { (text) } }
        p { (status_tag(resource.status.code())) " 当前版本 v" (resource.version)
            @if let Some(v) = resource.published_version { " · 已发布版本 v" (v) }
            " · 创建人 " (resource.created_by) " · 更新于 " (beijing(&resource.updated_at)) }
        @if let (Some(reason), Status::Returned) = (&resource.return_reason, resource.status) {
            div.notice.error { "退回理由：" (reason) }
        }
        (workflow_forms(user, &resource, form))
        h2 { "核心元数据" }
        (metadata_table(&resource))
        h2 { "信息项（" (resource.body.items.len()) "）" }
        (items_table(&resource.body))
        @if !usage.is_empty() {
            h2 { "谁在使用我的数据" }
            table id="usage" {
                tr { th { "使用部门" } th { "应用系统" } th.num { "调用次数" } th.num { "记录数" } th { "最近调用" } }
                @for u in &usage {
                    tr {
                        td { (u.department_name.as_deref().unwrap_or("")) }
                        td { (u.application.as_deref().unwrap_or("")) }
                        td.num { (thousands(u.calls)) }
                        td.num { (thousands(u.rows)) }
                        td { @if let Some(at) = &u.last_at { (beijing(at)) } }
                    }
                }
            }
        }
        h2 { "发布版本" }
        @if versions.is_empty() { p.muted { "尚未发布" } } @else {
            table {
                tr { th { "版本" } th { "发布人" } th { "发布时间" } th { "比较" } }
                @for v in &versions {
                    tr {
                        td { "v" (v.version) }
                        td { (v.published_by) }
                        td { (beijing(&v.published_at)) }
                        td { a href={(code_path(&resource.code)) "/diff?from=" (v.version)} { "与当前版本比较" } }
                    }
                }
            }
        }
    };
    Ok(with_status(
        layout(
            state,
            user,
            "/catalogue",
            &[("/catalogue", "数据资源目录"), ("", &resource.code)],
            &resource.body.name,
            content,
        ),
        form,
    ))
}

pub async fn workflow(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let reason = Some(form_value(&form, "reason").trim()).filter(|r| !r.is_empty());
    let outcome = async {
        let action = parse_action(form_value(&form, "action"))?;
        let changed = state
            .store
            .transition(&code, action, reason, &audit_context(Some(&user.0), &meta))
            .await?;
        Ok::<_, ApiError>((action, changed))
    }
    .await;
    match outcome {
        Ok((action, changed)) => redirect_to(
            &code_path(&code),
            &format!("已{}，目录现为“{}”", action.label(), changed.status.label()),
        ),
        Err(error) => {
            let failed = FormState::failed("workflow", form, error);
            detail_page(&state, &user, resource, None, &failed).await
        }
    }
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: i64,
}

pub async fn diff(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> PageResult {
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let versions = state.store.resource_versions(resource.id).await?;
    let from = versions
        .iter()
        .find(|v| v.version == q.from)
        .ok_or_else(|| ApiError::NotFound(format!("已发布版本 v{}", q.from)))?;
    let changes = domain::diff::diff(&from.body, &resource.body);
    let show = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| v.to_string())
            .unwrap_or_else(|| "（无）".into())
    };
    let content = html! {
        p { "从已发布版本 v" (from.version) " 到当前版本 v" (resource.version) "，共 " (changes.len()) " 处变化。" }
        table {
            tr { th { "字段" } th { "原值" } th { "新值" } }
            @for c in &changes { tr { td.mono { (c.field) } td { (show(&c.before)) } td { (show(&c.after)) } } }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &[
            ("/catalogue", "数据资源目录"),
            (&code_path(&code), &code),
            ("", "版本比较"),
        ],
        "版本比较",
        content,
    ))
}

/// The review queue: a chief signs the department's submissions; the bureau publishes.
pub async fn review(State(state): State<AppState>, user: WebUser) -> PageResult {
    let own = user.caller().department_id().unwrap_or(-1);
    let (status, title) = if user.may(Act::PublishEntry) {
        (Status::Signed, "待审核目录")
    } else {
        user.require(Act::SignEntry { provider: own })?;
        (Status::Submitted, "待签发目录")
    };
    let query = store::resources::ResourceQuery {
        status: Some(status),
        limit: 200,
        ..Default::default()
    };
    let page = state
        .store
        .search_resources(&query, visibility(&user.0))
        .await?;
    let content = html! {
        p.muted { "共 " (thousands(page.total)) " 条，点击名称查看详情后签发、发布或退回。" }
        table {
            tr { th { "信息资源代码" } th { "名称" } th { "提供方" } th { "状态" } th { "提交时间" } }
            @for r in &page.items {
                tr { td.mono { (r.code) } td { a href=(code_path(&r.code)) { (r.name) } } td { (r.provider_name) } td { (status_tag(&r.status)) } td { (beijing(&r.updated_at)) } }
            }
        }
    };
    Ok(layout(
        &state,
        &user,
        "/review",
        &[("", title)],
        title,
        content,
    ))
}

pub async fn template(
    State(state): State<AppState>,
    user: WebUser,
    Query(params): Query<super::transfer::TemplateParams>,
) -> PageResult {
    Ok(xlsx_response(
        template_bytes(&state, &user.0, params.blank).await?,
        "catalogue.xlsx",
    ))
}

fn import_form(user: &WebUser, form: &FormState) -> Markup {
    html! {
        div.card {
            p { "下载模板，在 Excel 中填写“目录”和“信息项”两个工作表（下拉框给出可选值），保存后上传。" }
            p { a.button href="/catalogue/template.xlsx?blank=true" { "下载空白模板" } " " a href="/catalogue/template.xlsx" { "下载含现有目录的模板" } }
            // The file comes last: a file too large still leaves the other fields to show.
            form method="post" action="/catalogue/import" enctype="multipart/form-data" id="import" {
                (csrf_field(user))
                p { label { input type="checkbox" name="partial" value="true" checked[form.checked("import", "partial", "true", false)]; " 有问题时仍导入无误的条目（默认：有任何问题则全部不导入）" } }
                p { label { "目录模板（XLSX） " input type="file" name="file" accept=".xlsx" required; } (form.errors("import", "file")) }
                button type="submit" { "上传并校验" }
            }
        }
    }
}

pub async fn import_page(State(state): State<AppState>, user: WebUser) -> PageResult {
    user.require(Act::AuthorEntry {
        provider: user.caller().department_id().unwrap_or(-1),
    })?;
    Ok(layout(
        &state,
        &user,
        "/catalogue/import",
        &[("", "导入目录模板")],
        "导入目录模板",
        import_form(&user, &FormState::default()),
    ))
}

pub async fn import_submit(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    multipart: Multipart,
) -> PageResult {
    let mut form = UploadForm::read(multipart, &state, &user, crate::UPLOAD_LIMIT as u64).await?;
    let partial = form.field("partial") == "true";
    let outcome = async {
        let (_, spooled) = form.file("请选择要上传的 XLSX 文件")?;
        let file = tokio::fs::read(&spooled.path)
            .await
            .map_err(|e| ApiError::Internal(format!("reading a spooled upload: {e}")))?;
        import_template(&state, &user.0, &meta, &file, partial).await
    }
    .await;
    let (content, failed) = match outcome {
        Ok(report) => (
            html! {
                div.notice.ok role="status" { "已导入 " (report.imported.len()) " 条目录（草稿）" @if report.skipped > 0 { "，跳过有问题的 " (report.skipped) " 行" } "。" }
                @if !report.imported.is_empty() {
                    p { @for code in &report.imported { a.mono href=(code_path(code)) { (code) } " " } }
                }
                @if !report.problems.is_empty() { (problems_table(report.problems.iter().map(|p| (p.sheet.clone(), p.row.to_string(), p.column.clone(), p.message.clone())))) }
                (import_form(&user, &FormState::default()))
            },
            FormState::default(),
        ),
        // Problems of the workbook: each with its sheet, row and column, nothing imported.
        Err(ApiError::BadRequest {
            message,
            details,
            code,
        }) if !details.iter().any(|d| d.field == "file") => {
            let failed = FormState::failed(
                "import",
                form.values(),
                ApiError::bad_request(code, message.clone()),
            );
            (
                html! {
                    div.notice.error role="alert" { (message) }
                    (problems_table(details.iter().map(|d| {
                        let mut parts = d.field.splitn(3, '!');
                        let sheet = parts.next().unwrap_or("").to_string();
                        let row = parts.next().unwrap_or("").trim_start_matches('第').trim_end_matches('行').to_string();
                        (sheet, row, parts.next().unwrap_or("").to_string(), d.message.clone())
                    })))
                    (import_form(&user, &failed))
                },
                failed,
            )
        }
        Err(error) => {
            let failed = FormState::failed("import", form.values(), error);
            (
                html! { (failed.banner("import")) (import_form(&user, &failed)) },
                failed,
            )
        }
    };
    Ok(with_status(
        layout(
            &state,
            &user,
            "/catalogue/import",
            &[("/catalogue/import", "导入目录模板"), ("", "校验结果")],
            "导入结果",
            content,
        ),
        &failed,
    ))
}

fn problems_table(rows: impl Iterator<Item = (String, String, String, String)>) -> Markup {
    html! {
        table id="problems" {
            tr { th { "工作表" } th { "行" } th { "列" } th { "问题" } }
            @for (sheet, row, column, message) in rows { tr { td { (sheet) } td.num { (row) } td { (column) } td { (message) } } }
        }
    }
}
