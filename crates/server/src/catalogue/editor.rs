//! The entry editor: all core metadata and the items table in one form. Values are kept
//! as typed text so that a form with mistakes comes back exactly as the user left it, with
//! each message next to its field.

use std::collections::BTreeMap;

use crate::json::Path;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::Form;
use domain::catalogue::*;
use domain::code::{ClassKind, ResourceClass, ResourceCode};
use domain::sharing::MaskKind;
use domain::FieldError;
use maud::{html, Markup};
use serde::Deserialize;

use super::api::visible_at;
use crate::auth::{audit_context, Meta};
use crate::error::ApiError;
use crate::page::{
    code_path, csrf_field, layout, redirect_to, with_status, FormState, PageError, PageResult,
    WebUser,
};
use crate::AppState;
use domain::access::Act;

/// Blank item rows offered below the existing ones.
const SPARE_ITEM_ROWS: usize = 5;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct EditorForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    name: String,
    class_kind: String,
    subclass: String,
    category: String,
    detail: String,
    provider_unit: String,
    summary: String,
    format_kind: String,
    format_detail: String,
    share_type: String,
    conditions: String,
    legal_basis: String,
    share_mode: String,
    mode_reason: String,
    open_to_public: String,
    open_conditions: String,
    update_cycle: String,
    security_grade: String,
    related_codes: String,
    extensions: String,
    item_name: Vec<String>,
    item_identifier: Vec<String>,
    item_type: Vec<String>,
    item_length: Vec<String>,
    item_required: Vec<String>,
    item_key: Vec<String>,
    item_code_table: Vec<String>,
    item_rule: Vec<String>,
    item_grade: Vec<String>,
    item_personal: Vec<String>,
    item_share: Vec<String>,
    item_authoritative: Vec<String>,
    item_mask: Vec<String>,
}

fn flag(value: bool) -> String {
    if value { "是" } else { "否" }.to_string()
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

fn cell(list: &[String], i: usize) -> &str {
    list.get(i).map(String::as_str).unwrap_or("").trim()
}

impl EditorForm {
    fn from_body(body: &ResourceBody) -> Self {
        let items = &body.items;
        let column = |f: fn(&Item) -> String| items.iter().map(f).collect::<Vec<_>>();
        EditorForm {
            name: body.name.clone(),
            class_kind: body.class.kind.code().into(),
            subclass: body.class.subclass.to_string(),
            category: body.class.category.to_string(),
            detail: body.class.detail.clone(),
            provider_unit: opt(&body.provider_unit),
            summary: body.summary.clone(),
            format_kind: body.format.kind.code().into(),
            format_detail: body.format.detail.clone(),
            share_type: body.share.share_type.code().into(),
            conditions: opt(&body.share.conditions),
            legal_basis: opt(&body.share.legal_basis),
            share_mode: body
                .share
                .mode
                .map(|m| m.code().to_string())
                .unwrap_or_default(),
            mode_reason: opt(&body.share.mode_reason),
            open_to_public: flag(body.open.open_to_public),
            open_conditions: opt(&body.open.conditions),
            update_cycle: body.update_cycle.code().into(),
            security_grade: body.security_grade.code().into(),
            related_codes: body
                .related_codes
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(";"),
            extensions: body
                .extensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            item_name: column(|i| i.name.clone()),
            item_identifier: column(|i| i.identifier.clone()),
            item_type: column(|i| i.data_type.code().into()),
            item_length: column(|i| i.length.map(|l| l.to_string()).unwrap_or_default()),
            item_required: column(|i| flag(i.required)),
            item_key: column(|i| flag(i.key)),
            item_code_table: column(|i| opt(&i.code_table)),
            item_rule: column(|i| i.rule.as_ref().map(|r| r.to_string()).unwrap_or_default()),
            item_grade: column(|i| i.security_grade.code().into()),
            item_personal: column(|i| flag(i.personal)),
            item_share: column(|i| {
                i.share_type
                    .map(|s| s.code().to_string())
                    .unwrap_or_default()
            }),
            item_authoritative: column(|i| flag(i.authoritative)),
            item_mask: column(|i| i.mask.map(|m| m.code().to_string()).unwrap_or_default()),
            ..Default::default()
        }
    }

    fn blank(department_branch: i64) -> Self {
        EditorForm {
            class_kind: ClassKind::Departmental.code().into(),
            subclass: department_branch.to_string(),
            category: "1".into(),
            format_kind: FormatKind::Database.code().into(),
            share_type: ShareType::Unconditional.code().into(),
            share_mode: ShareMode::Platform.code().into(),
            open_to_public: "否".into(),
            update_cycle: UpdateCycle::Monthly.code().into(),
            security_grade: SecurityGrade::General.code().into(),
            ..Default::default()
        }
    }

    fn item_rows(&self) -> usize {
        self.item_name.len().max(self.item_identifier.len())
    }

    /// Turns the text into a body, naming every field that cannot be read.
    fn to_body(&self) -> Result<ResourceBody, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = enumeration(&mut errors, "class", &self.class_kind, ClassKind::parse);
        let format_kind = enumeration(&mut errors, "format", &self.format_kind, FormatKind::parse);
        let share_type = enumeration(
            &mut errors,
            "share.share_type",
            &self.share_type,
            ShareType::parse,
        );
        let update_cycle = enumeration(
            &mut errors,
            "update_cycle",
            &self.update_cycle,
            UpdateCycle::parse,
        );
        let grade = enumeration(
            &mut errors,
            "security_grade",
            &self.security_grade,
            SecurityGrade::parse,
        );
        let mode = if self.share_mode.trim().is_empty() {
            None
        } else {
            enumeration(
                &mut errors,
                "share.mode",
                &self.share_mode,
                ShareMode::parse,
            )
        };
        let number = |errors: &mut Vec<FieldError>, field: &str, text: &str| -> Option<u32> {
            let value = text.trim().parse().ok();
            if value.is_none() {
                errors.push(FieldError::new(field, "请填写数字"));
            }
            value
        };
        let subclass = number(&mut errors, "class.subclass", &self.subclass);
        let category = number(&mut errors, "class.category", &self.category);
        let mut related = Vec::new();
        for code in self
            .related_codes
            .split([';', '；', ',', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match ResourceCode::parse(code) {
                Ok(code) => related.push(code),
                Err(e) => errors.push(FieldError::new("related_codes", format!("“{code}”：{e}"))),
            }
        }
        let mut extensions = BTreeMap::new();
        for line in self
            .extensions
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once(['=', '＝']) {
                Some((k, v)) if !k.trim().is_empty() => {
                    extensions.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => errors.push(FieldError::new(
                    "extensions",
                    format!("“{line}”应为 名称=值"),
                )),
            }
        }
        let items = self.items(&mut errors);
        match (
            kind,
            format_kind,
            share_type,
            update_cycle,
            grade,
            subclass,
            category,
            errors.is_empty(),
        ) {
            (
                Some(kind),
                Some(format_kind),
                Some(share_type),
                Some(update_cycle),
                Some(security_grade),
                Some(subclass),
                Some(category),
                true,
            ) => Ok(ResourceBody {
                name: self.name.trim().to_string(),
                class: ResourceClass {
                    kind,
                    subclass: subclass.min(255) as u8,
                    category: category.min(65535) as u16,
                    detail: self.detail.trim().to_string(),
                },
                provider_unit: some(&self.provider_unit),
                summary: self.summary.trim().to_string(),
                format: ResourceFormat {
                    kind: format_kind,
                    detail: self.format_detail.trim().to_string(),
                },
                items,
                share: ShareAttributes {
                    share_type,
                    conditions: some(&self.conditions),
                    legal_basis: some(&self.legal_basis),
                    mode,
                    mode_reason: some(&self.mode_reason),
                },
                open: OpenAttributes {
                    open_to_public: self.open_to_public == "是",
                    conditions: some(&self.open_conditions),
                },
                update_cycle,
                related_codes: related,
                security_grade,
                extensions,
            }),
            _ => Err(errors),
        }
    }

    /// Item rows with a name or identifier; blank rows are ignored.
    fn items(&self, errors: &mut Vec<FieldError>) -> Vec<Item> {
        let mut items = Vec::new();
        for row in 0..self.item_rows() {
            let (name, identifier) = (cell(&self.item_name, row), cell(&self.item_identifier, row));
            if name.is_empty() && identifier.is_empty() {
                continue;
            }
            let i = items.len();
            let field = |f: &str| format!("items[{i}].{f}");
            let data_type = DataType::parse(cell(&self.item_type, row));
            if data_type.is_none() {
                errors.push(FieldError::new(field("data_type"), "请选择数据类型"));
            }
            let length_text = cell(&self.item_length, row);
            let length = if length_text.is_empty() {
                None
            } else {
                let parsed = length_text.parse::<u32>().ok();
                if parsed.is_none() {
                    errors.push(FieldError::new(field("length"), "数据长度应为正整数"));
                }
                parsed
            };
            let rule_text = cell(&self.item_rule, row);
            let rule = if rule_text.is_empty() {
                None
            } else {
                rule_text
                    .parse::<ValidationRule>()
                    .map_err(|e| errors.push(FieldError::new(field("rule"), e.to_string())))
                    .ok()
            };
            items.push(Item {
                name: name.to_string(),
                identifier: identifier.to_string(),
                data_type: data_type.unwrap_or(DataType::Char),
                length,
                required: cell(&self.item_required, row) == "是",
                key: cell(&self.item_key, row) == "是",
                code_table: some(cell(&self.item_code_table, row)),
                rule,
                security_grade: SecurityGrade::parse(cell(&self.item_grade, row))
                    .unwrap_or(SecurityGrade::General),
                personal: cell(&self.item_personal, row) == "是",
                share_type: ShareType::parse(cell(&self.item_share, row)),
                authoritative: cell(&self.item_authoritative, row) == "是",
                mask: MaskKind::parse(cell(&self.item_mask, row)),
            });
        }
        items
    }
}

/// Parses an enumeration from the form, recording a message for its field when it fails.
fn enumeration<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let value = parse(text);
    if value.is_none() {
        errors.push(FieldError::new(
            field,
            format!("请选择有效的值（当前为“{text}”）"),
        ));
    }
    value
}

fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    chosen: &str,
    blank: Option<&str>,
) -> Markup {
    html! {
        @if let Some(blank) = blank { option value="" { (blank) } }
        @for v in all { option value=(code(*v)) selected[chosen == code(*v) || chosen == label(*v)] { (label(*v)) } }
    }
}

fn yes_no_select(name: &str, value: &str) -> Markup {
    html! { select name=(name) { option value="否" selected[value != "是"] { "否" } option value="是" selected[value == "是"] { "是" } } }
}

fn messages(errors: &[FieldError], prefix: &str) -> Markup {
    html! {
        @for e in errors.iter().filter(|e| e.field == prefix || e.field.starts_with(&format!("{prefix}."))) {
            div.field-error { (e.message) }
        }
    }
}

fn text_field(label: &str, name: &str, value: &str, errors: &[FieldError], path: &str) -> Markup {
    html! { div { label { (label) input type="text" name=(name) value=(value); } (messages(errors, path)) } }
}

/// The Chinese name of an editor field, as the form labels it.
fn editor_label(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("items[") {
        let (index, part) = rest
            .split_once("].")
            .unwrap_or((rest.trim_end_matches(']'), ""));
        let row = index.parse::<usize>().map_or(0, |i| i + 1);
        let part = match part {
            "name" => "信息项名称",
            "identifier" => "标识符",
            "data_type" => "类型",
            "length" => "长度",
            "required" => "必填",
            "key" => "主键",
            "code_table" => "代码表",
            "rule" => "校验规则",
            "security_grade" => "安全级别",
            "personal" => "个人信息",
            "share_type" => "共享类型",
            "authoritative" => "权威来源",
            "mask" => "脱敏方式",
            _ => "",
        };
        return format!("信息项第{row}行{part}");
    }
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "name" => "信息资源名称",
        "class" | "class.kind" => "资源分类",
        "class.subclass" => "项",
        "class.category" => "目",
        "class.detail" => "细目",
        "provider_unit" => "内设机构",
        "summary" | "abstract" => "信息资源摘要",
        "format" | "format.kind" => "格式分类",
        "format.detail" => "格式类型",
        "share" | "share.share_type" => "共享类型",
        "share.mode" => "共享方式",
        "share.mode_reason" => "非平台方式的理由",
        "share.conditions" => "共享条件",
        "share.legal_basis" => "不予共享依据",
        "open" | "open.open_to_public" => "是否向社会开放",
        "open.conditions" => "开放条件",
        "update_cycle" => "更新周期",
        "security_grade" => "安全级别",
        "related_codes" => "关联资源代码",
        "extensions" => "扩展元数据",
        "items" => "信息项",
        _ => "目录",
    }
    .to_string()
}

fn render_form(
    user: &WebUser,
    form: &EditorForm,
    errors: &[FieldError],
    refusal: Option<&str>,
    action: &str,
) -> Markup {
    let rows = form.item_rows() + SPARE_ITEM_ROWS;
    let item_errors = |i: usize| -> Vec<&FieldError> {
        errors
            .iter()
            .filter(|e| e.field.starts_with(&format!("items[{i}].")))
            .collect()
    };
    html! {
        @if let Some(message) = refusal { div.notice.error role="alert" { (message) } }
        @if !errors.is_empty() {
            div.notice.error role="alert" {
                "共有 " (errors.len()) " 处需要修改（已标红）："
                @for (n, e) in errors.iter().enumerate() { @if n > 0 { "；" } (editor_label(&e.field)) "——" (e.message) }
            }
        }
        form method="post" action=(action) {
            (csrf_field(user))
            div.card.grid {
                div.wide { (text_field("信息资源名称 *", "name", &form.name, errors, "name")) }
                div { label { "资源分类（类）" select name="class_kind" { (options(ClassKind::ALL, ClassKind::code, ClassKind::label, &form.class_kind, None)) } } (messages(errors, "class")) }
                (text_field("项（部门类为本部门目录编号）", "subclass", &form.subclass, errors, "class.subclass"))
                (text_field("目", "category", &form.category, errors, "class.category"))
                (text_field("细目（可选）", "detail", &form.detail, errors, "class.detail"))
                (text_field("内设机构（可选）", "provider_unit", &form.provider_unit, errors, "provider_unit"))
                div { label { "更新周期" select name="update_cycle" { (options(UpdateCycle::ALL, UpdateCycle::code, UpdateCycle::label, &form.update_cycle, None)) } } }
                div.wide { label { "信息资源摘要 *" textarea name="summary" { (form.summary) } } (messages(errors, "abstract")) }
                div { label { "格式分类" select name="format_kind" { (options(FormatKind::ALL, FormatKind::code, FormatKind::label, &form.format_kind, None)) } } }
                (text_field("格式类型（如 MySQL、xlsx）", "format_detail", &form.format_detail, errors, "format.detail"))
                div { label { "安全级别" select name="security_grade" { (options(SecurityGrade::ALL, SecurityGrade::code, SecurityGrade::label, &form.security_grade, None)) } } }
                div { label { "共享类型" select name="share_type" { (options(ShareType::ALL, ShareType::code, ShareType::label, &form.share_type, None)) } } (messages(errors, "share.share_type")) }
                div { label { "共享方式" select name="share_mode" { (options(ShareMode::ALL, ShareMode::code, ShareMode::label, &form.share_mode, Some("（不予共享时不填）"))) } } (messages(errors, "share.mode")) }
                (text_field("非平台方式的理由", "mode_reason", &form.mode_reason, errors, "share.mode_reason"))
                div.wide { (text_field("共享条件（有条件共享必填）", "conditions", &form.conditions, errors, "share.conditions")) }
                div.wide { (text_field("不予共享依据（法律、行政法规或国务院决定，不予共享必填）", "legal_basis", &form.legal_basis, errors, "share.legal_basis")) }
                div { label { "是否向社会开放" (yes_no_select("open_to_public", &form.open_to_public)) } (messages(errors, "open")) }
                div { (text_field("开放条件", "open_conditions", &form.open_conditions, errors, "open.conditions")) }
                (text_field("关联资源代码（多个用分号分隔）", "related_codes", &form.related_codes, errors, "related_codes"))
                div.wide { label { "扩展元数据（每行 名称=值）" textarea name="extensions" { (form.extensions) } } (messages(errors, "extensions")) }
            }
            h2 { "信息项" }
            (messages(errors, "items"))
            div.scroll-x {
                table id="item-editor" {
                    tr { th { "#" } th { "信息项名称" } th { "标识符" } th { "类型" } th { "长度" } th { "必填" } th { "主键" } th { "代码表" } th { "校验规则" } th { "安全级别" } th { "个人信息" } th { "共享类型" } th { "权威来源" } th { "脱敏方式" } }
                    @for i in 0..rows {
                        tr {
                            td.num { (i + 1) }
                            td { input type="text" name="item_name" value=(cell(&form.item_name, i)) class="w-name"; }
                            td { input type="text" name="item_identifier" value=(cell(&form.item_identifier, i)) class="w-ident"; }
                            td { select name="item_type" { (options(DataType::ALL, DataType::code, DataType::label, cell(&form.item_type, i), Some(""))) } }
                            td { input type="text" name="item_length" value=(cell(&form.item_length, i)) class="w-num"; }
                            td { (yes_no_select("item_required", cell(&form.item_required, i))) }
                            td { (yes_no_select("item_key", cell(&form.item_key, i))) }
                            td { input type="text" name="item_code_table" value=(cell(&form.item_code_table, i)) class="w-code"; }
                            td { input type="text" name="item_rule" value=(cell(&form.item_rule, i)) class="w-code" placeholder="id_card"; }
                            td { select name="item_grade" { (options(SecurityGrade::ALL, SecurityGrade::code, SecurityGrade::label, cell(&form.item_grade, i), None)) } }
                            td { (yes_no_select("item_personal", cell(&form.item_personal, i))) }
                            td { select name="item_share" { (options(ShareType::ALL, ShareType::code, ShareType::label, cell(&form.item_share, i), Some("同资源"))) } }
                            td { (yes_no_select("item_authoritative", cell(&form.item_authoritative, i))) }
                            td { select name="item_mask" { (options(MaskKind::ALL, MaskKind::code, MaskKind::label, cell(&form.item_mask, i), Some("默认"))) } }
                        }
                        @let row_errors = item_errors(i);
                        @if !row_errors.is_empty() {
                            tr { td {} td colspan="13" { @for e in row_errors { div.field-error { (editor_label(&e.field)) "：" (e.message) } } } }
                        }
                    }
                }
            }
            p.muted { "空行会被忽略；需要更多行时先保存，再次编辑会多出 " (SPARE_ITEM_ROWS) " 个空行。校验规则可填 id_card、uscc、region_code、mobile、date、regex:表达式、range:最小..最大。" }
            p { button type="submit" { "保存草稿" } }
        }
    }
}

async fn own_department(
    state: &AppState,
    user: &WebUser,
) -> Result<store::departments::Department, PageError> {
    let id = user.caller().department_id().unwrap_or(-1);
    user.require(Act::AuthorEntry { provider: id })?;
    Ok(state.store.department(id).await?)
}

pub async fn new_page(State(state): State<AppState>, user: WebUser) -> PageResult {
    let department = own_department(&state, &user).await?;
    let form = EditorForm::blank(department.branch_no);
    Ok(new_entry_page(&state, &user, &form, &FormState::default()))
}

/// 编制目录, blank or with what was typed and why it was refused.
fn new_entry_page(
    state: &AppState,
    user: &WebUser,
    form: &EditorForm,
    failed: &FormState,
) -> Response {
    let page = render_form(
        user,
        form,
        &failed.errors,
        failed.message.as_deref(),
        "/catalogue/new",
    );
    with_status(
        layout(
            state,
            user,
            "/catalogue/new",
            &[("/catalogue", "数据资源目录"), ("", "编制目录")],
            "编制目录",
            page,
        ),
        failed,
    )
}

/// 修改目录, as stored or with what was typed and why it was refused.
fn edit_entry_page(
    state: &AppState,
    user: &WebUser,
    code: &str,
    title: &str,
    form: &EditorForm,
    failed: &FormState,
) -> Response {
    let action = format!("{}/edit", code_path(code));
    let page = render_form(
        user,
        form,
        &failed.errors,
        failed.message.as_deref(),
        &action,
    );
    with_status(
        layout(
            state,
            user,
            "/catalogue",
            &[
                ("/catalogue", "数据资源目录"),
                (&code_path(code), code),
                ("", "修改"),
            ],
            &format!("修改：{title}"),
            page,
        ),
        failed,
    )
}

/// Why the editor's form was refused: its fields' messages, or the refusal itself.
fn refusal(error: ApiError) -> FormState {
    // The editor keeps its own typed text (`EditorForm`), so no values are copied here.
    FormState::failed("editor", Default::default(), error)
}

pub async fn create(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Form(form): Form<EditorForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let department = own_department(&state, &user).await?;
    let outcome = match form.to_body() {
        Ok(body) => state
            .store
            .create_resource(department.id, &body, &audit_context(Some(&user.0), &meta))
            .await
            .map_err(ApiError::from),
        Err(errors) => Err(ApiError::validation(errors)),
    };
    match outcome {
        Ok(resource) => redirect_to(
            &code_path(&resource.code),
            &format!("已保存草稿，信息资源代码 {}", resource.code),
        ),
        Err(error) => Ok(new_entry_page(&state, &user, &form, &refusal(error))),
    }
}

pub async fn edit_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let form = EditorForm::from_body(&resource.body);
    Ok(edit_entry_page(
        &state,
        &user,
        &code,
        &resource.body.name,
        &form,
        &FormState::default(),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<EditorForm>,
) -> PageResult {
    user.check_csrf(&form.csrf)?;
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let outcome = match form.to_body() {
        Ok(body) => state
            .store
            .update_resource(&code, &body, &audit_context(Some(&user.0), &meta))
            .await
            .map_err(ApiError::from),
        Err(errors) => Err(ApiError::validation(errors)),
    };
    match outcome {
        Ok(_) => redirect_to(&code_path(&code), "已保存修改"),
        Err(error) => Ok(edit_entry_page(
            &state,
            &user,
            &code,
            &resource.body.name,
            &form,
            &refusal(error),
        )),
    }
}
