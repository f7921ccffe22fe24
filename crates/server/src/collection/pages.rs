//! 数据归集: a department uploads an export of a published entry's data and sees the
//! entry's batches and quality.

use std::collections::HashMap;

use crate::json::Path;
use axum::extract::{Multipart, State};
use axum_extra::extract::Form;
use ingest::pipeline::FileFormat;
use maud::{html, Markup};

use super::batches::{
    batch_identity, collectable, entry_quality, import_spooled, may_see_collection, parse_encoding,
    parse_mapping_param, quarantine_csv, EntryQualityReport,
};
use crate::auth::{audit_context, Meta};
use crate::catalogue::api::visible_at;
use crate::error::ApiError;
use crate::page::{
    code_path, csrf_field, form_value, layout, thousands, with_status, FormState, PageError,
    PageResult, UploadForm, WebUser,
};
use crate::AppState;
use domain::access::{Act, Channel};

type Fields = HashMap<String, Vec<String>>;

/// `a=b, c=-` as the textarea shows a remembered mapping.
fn mapping_text(mapping: &store::batches::ColumnMapping) -> String {
    mapping
        .iter()
        .map(|(column, item)| format!("{column}={}", item.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn upload_form(user: &WebUser, code: &str, mapping: &str, form: &FormState) -> Markup {
    let encoding = form.value("upload", "encoding", "auto");
    html! {
        div.card {
            p { "上传本目录数据的导出文件：CSV（UTF-8 或 GBK，任意分隔符）、XLSX 或 NDJSON / JSON 数组。列名为信息项名称或标识符；不同的列名在“列映射”中对应。每行按信息项校验，合格行按主键更新，问题行隔离并可下载；整批同时生效，同一文件只归集一次。" }
            (form.banner("upload"))
            // The file comes last: a file too large still leaves the other fields to show.
            form method="post" action={(code_path(code)) "/upload"} enctype="multipart/form-data" id="upload" {
                (csrf_field(user))
                p { label { "文件编码 "
                    select name="encoding" { @for (value, label) in [("auto", "自动识别"), ("utf8", "UTF-8"), ("gb18030", "GBK / GB18030")] {
                        option value=(value) selected[encoding == value] { (label) }
                    } }
                } (form.errors("upload", "encoding")) }
                p { label { "工作表（XLSX，留空为第一个） " input type="text" name="sheet" maxlength="100" value=(form.value("upload", "sheet", "")); } (form.errors("upload", "sheet")) }
                p { label { "列映射（每行“文件列名=信息项”，忽略一列写“文件列名=-”；成功后记住，下次自动使用）" br;
                    textarea name="mapping" rows="4" cols="60" { (form.value("upload", "mapping", mapping)) } } (form.errors("upload", "mapping")) }
                p { label { "文件 " input type="file" name="file" accept=".csv,.txt,.xlsx,.ndjson,.json" required; }
                    @if form.of("upload").is_some() { span.muted { "（出于安全，浏览器不保留所选文件，请重新选择）" } }
                    (form.errors("upload", "file")) }
                button type="submit" { "上传并归集" }
            }
        }
    }
}

fn percent(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

fn quality_section(quality: &EntryQualityReport) -> Markup {
    html! {
        h2 { "数据质量" }
        p { "成功批次 " (quality.batches) "，累计收到 " (thousands(quality.rows_received)) " 行，入库 " (thousands(quality.rows_accepted))
            " 行，隔离 " (thousands(quality.rows_quarantined)) " 行，合格率 " (percent(quality.pass_rate)) "。" }
        table id="item-quality" {
            tr { th { "信息项" } th { "校验规则" } th.num { "不合格行" } th.num { "合格率" } }
            @for item in &quality.items {
                tr { td { (item.item) } td.mono { (item.rule.as_deref().unwrap_or("")) } td.num { (thousands(item.failed)) } td.num { (percent(item.pass_rate)) } }
            }
        }
        h2 { "最近批次" }
        table id="batches" {
            tr { th { "批次" } th { "来源" } th { "状态" } th.num { "收到" } th.num { "入库" } th.num { "隔离" } th.num { "删除" } th { "开始时间" } th { "说明" } }
            @for batch in &quality.recent {
                tr {
                    td.num { (batch.id) }
                    td.mono { (batch.source) }
                    td { (match batch.status.as_str() { "succeeded" => "成功", "running" => "进行中", _ => "失败" }) }
                    td.num { (thousands(batch.rows_received)) }
                    td.num { (thousands(batch.rows_accepted)) }
                    td.num {
                        @if batch.rows_quarantined > 0 {
                            a href={"/batches/" (batch.id) "/quarantine.csv"} { (thousands(batch.rows_quarantined)) }
                        } @else { "0" }
                    }
                    td.num { (thousands(batch.rows_deleted)) }
                    td { (batch.started_at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")).format("%Y-%m-%d %H:%M")) }
                    td { (batch.error.as_deref().unwrap_or("")) }
                }
            }
        }
    }
}

async fn page_content(
    state: &AppState,
    user: &WebUser,
    resource: &store::resources::Resource,
    notice: Markup,
    form: &FormState,
) -> Result<Markup, PageError> {
    let mapping = state
        .store
        .column_mapping(resource.id)
        .await?
        .map(|m| mapping_text(&m))
        .unwrap_or_default();
    let quality = entry_quality(state, resource).await?;
    let sources = state.store.sources(Some(resource.id), None).await?;
    let can_manage = user.may(Act::Collect {
        provider: resource.provider.id,
        channel: Channel::Source,
    });
    Ok(html! {
        (notice)
        (upload_form(user, &resource.code, &mapping, form))
        (sources_section(user, &resource.code, &sources, can_manage, form))
        (quality_section(&quality))
    })
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    let (_, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    may_see_collection(&user.0, &resource)?;
    collection_page(&state, &user, &resource, html! {}, &FormState::default()).await
}

pub async fn submit(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    multipart: Multipart,
) -> PageResult {
    // Who may upload is settled before the file is received.
    let resource = collectable(&state, &user.0, &prefix, &seq, Channel::Upload).await?;
    let mut form =
        UploadForm::read(multipart, &state, &user, state.config.max_upload_bytes).await?;
    let outcome = async {
        let encoding = parse_encoding(Some(form.field("encoding")))?;
        let sheet = Some(form.field("sheet").trim().to_string()).filter(|s| !s.is_empty());
        let mapping = parse_mapping_param(Some(form.field("mapping")))?;
        let (name, file) = form.file("请选择要上传的文件")?;
        let format = match FileFormat::from_file_name(&name) {
            FileFormat::Xlsx { .. } => FileFormat::Xlsx { sheet },
            FileFormat::Csv { .. } => FileFormat::Csv {
                encoding,
                delimiter: None,
            },
            json => json,
        };
        let import = collect::file::FileImport {
            code: resource.code.clone(),
            path: file.path.to_path_buf(),
            format,
            mapping,
            channel: "upload",
            identity: batch_identity(&file, None),
        };
        import_spooled(&state, &user.0, &meta, import).await
    }
    .await;
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            let failed = FormState::failed("upload", form.values(), error);
            return collection_page(&state, &user, &resource, html! {}, &failed).await;
        }
    };
    let batch = &report.batch;
    let notice = html! {
        div.notice.ok role="status" {
            "批次 " (batch.id) "：收到 " (thousands(batch.rows_received)) " 行，入库 " (thousands(batch.rows_accepted)) " 行，隔离 " (thousands(batch.rows_quarantined)) " 行"
            @if batch.duplicate_keys > 0 { "；其中 " (thousands(batch.duplicate_keys)) " 行主键重复，以最后一行为准" } "。"
            @if batch.rows_quarantined > 0 { " " a href={"/batches/" (batch.id) "/quarantine.csv"} { "下载全部问题数据（CSV）" } }
        }
        @if !report.quarantine.is_empty() {
            h2 { "隔离的问题数据（前 " (report.quarantine.len()) " 行）" }
            table id="quarantine" {
                tr { th { "行" } th { "信息项" } th { "值" } th { "原因" } }
                @for row in &report.quarantine {
                    tr { td.num { (row.line) } td { (row.column.as_deref().unwrap_or("")) } td.mono { (row.value.as_deref().unwrap_or("")) } td { (row.reason) } }
                }
            }
        }
    };
    collection_page(&state, &user, &resource, notice, &FormState::default()).await
}

/// `/batches/{id}/quarantine.csv`: the quarantined rows, for Excel.
pub async fn quarantine_download(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, PageError> {
    let (name, bytes) = quarantine_csv(&state, &user.0, id).await?;
    Ok(super::batches::csv_response(&name, bytes))
}

/// The 数据源 section: saved sources with their state, and the form to add one.
fn sources_section(
    user: &WebUser,
    code: &str,
    sources: &[store::sources::Source],
    can_manage: bool,
    form: &FormState,
) -> Markup {
    let value = |name: &str, default: &'static str| form.value("source", name, default).to_string();
    let (mode, change_kind) = (value("mode", "full"), value("change_kind", "timestamp"));
    html! {
        h2 { "数据源（库表抽取）" }
        @if sources.is_empty() {
            p.muted { "尚未登记数据源。" }
        } @else {
            table id="sources" {
                tr { th { "名称" } th { "连接" } th { "表或查询" } th { "方式" } th { "最近成功" } th.num { "连续失败" } th { "原因" } th { "" } }
                @for s in sources {
                    tr id={"source-" (s.id)} {
                        td { (s.name) @if !s.enabled { " " span.tag.retired { "已停用" } } }
                        td.mono { (s.url_display) }
                        td.mono { (s.query) }
                        td { (if s.mode == "full" { "全量" } else { "增量" }) }
                        td { @if let Some(at) = &s.last_success_at { (crate::page::beijing(at)) } }
                        td.num { (s.failures) }
                        td {
                            @if s.claimed_until.is_some_and(|until| until > chrono::Utc::now()) { span.tag { "正在抽取" } " " }
                            (s.last_error.as_deref().unwrap_or(""))
                        }
                        td { @if can_manage {
                            (form.banner(&format!("run-{}", s.id)))
                            form method="post" action={"/sources/" (s.id) "/run"} {
                                (csrf_field(user))
                                @if s.mode == "full" || s.reconcile_every > 0 {
                                    label.muted { input type="checkbox" name="confirm_mass_deletion"; " 确认大批删除" } " "
                                }
                                button type="submit" { "立即抽取" }
                            }
                        } }
                    }
                }
            }
        }
        @if can_manage {
            details open[form.of("source").is_some()] {
                summary { "登记数据源" }
                (form.banner("source"))
                form method="post" action={(code_path(code)) "/sources"} id="add-source" {
                    (csrf_field(user))
                    p { label { "名称 " input type="text" name="name" required maxlength="100" value=(value("name", "")); } (form.errors("source", "name")) }
                    p { label { "连接地址（如 mysql://用户:密码@主机:3306/库 或 postgres://…；加密保存，不再显示） " br;
                        input type="password" name="url" size="60" required autocomplete="off"; }
                        @if form.of("source").is_some() { span.muted { "（连接地址含口令，不回显，请重新填写）" } }
                        (form.errors("source", "url")) }
                    p { label { "表名或 SELECT 查询 " input type="text" name="query" size="60" required value=(value("query", "")); } (form.errors("source", "query")) }
                    p { label { "方式 " select name="mode" {
                        option value="full" selected[mode == "full"] { "全量（源中已无的行将删除）" }
                        option value="incremental" selected[mode == "incremental"] { "增量" }
                    } } (form.errors("source", "mode")) }
                    p { label { "变化列（增量：更新时间或递增主键） " input type="text" name="change_column" value=(value("change_column", "")); } (form.errors("source", "change_column")) }
                    p { label { "变化列类型 " select name="change_kind" {
                        option value="timestamp" selected[change_kind == "timestamp"] { "更新时间" }
                        option value="key" selected[change_kind == "key"] { "递增主键" }
                    } } (form.errors("source", "change_kind")) }
                    p { label { "逻辑删除列（可选） " input type="text" name="delete_column" value=(value("delete_column", "")); } (form.errors("source", "delete_column")) }
                    button type="submit" { "检查并保存" }
                }
            }
        }
    }
}

fn filled(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

pub async fn add_source(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let resource = collectable(&state, &user.0, &prefix, &seq, Channel::Source).await?;
    let definition = collect::pull::SourceDefinition {
        name: form_value(&form, "name").trim().to_string(),
        url: form_value(&form, "url").trim().to_string(),
        query: form_value(&form, "query").trim().to_string(),
        mapping: Default::default(),
        mode: filled(form_value(&form, "mode")),
        change_column: filled(form_value(&form, "change_column")),
        change_kind: filled(form_value(&form, "change_kind")),
        overlap: None,
        delete_column: filled(form_value(&form, "delete_column")),
        reconcile_every: None,
    };
    match super::sources::define(&state, &user.0, &meta, &resource, &definition).await {
        Ok(source) => {
            let notice = html! { div.notice.ok role="status" { "已保存数据源“" (source.name) "”，将按更新周期抽取。" } };
            collection_page(&state, &user, &resource, notice, &FormState::default()).await
        }
        Err(error) => {
            // The URL may carry a password: it is never sent back (FormState drops it).
            let failed = FormState::failed("source", form, error);
            collection_page(&state, &user, &resource, html! {}, &failed).await
        }
    }
}

pub async fn run_source(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> PageResult {
    user.check_csrf(form_value(&form, "_csrf"))?;
    let source = super::sources::own_source(&state, &user.0, id).await?;
    let ctx = audit_context(Some(&user.0), &meta);
    let resource = state.store.resource(&source.code).await?;
    let options = collect::pull::PullOptions {
        confirm_mass_deletion: form_value(&form, "confirm_mass_deletion") == "on",
    };
    match super::sources::run_now(&state, &source, &ctx, options).await {
        Ok(batch) => {
            let notice = html! { div.notice.ok role="status" { "抽取完成：批次 " (batch.id) "，收到 " (thousands(batch.rows_received)) " 行，入库 "
            (thousands(batch.rows_accepted)) " 行，隔离 " (thousands(batch.rows_quarantined)) " 行，删除 " (thousands(batch.rows_deleted)) " 行。" } };
            collection_page(&state, &user, &resource, notice, &FormState::default()).await
        }
        Err(ApiError::BadRequest { message, code, .. }) => {
            let error =
                ApiError::bad_request(code, format!("抽取失败（将按退避自动重试）：{message}"));
            let failed = FormState::failed(&format!("run-{id}"), form, error);
            collection_page(&state, &user, &resource, html! {}, &failed).await
        }
        Err(other) => Err(PageError(other)),
    }
}

/// The whole 数据归集 page of an entry, with a notice on top, answered with the status of
/// the form that failed (if one did).
async fn collection_page(
    state: &AppState,
    user: &WebUser,
    resource: &store::resources::Resource,
    notice: Markup,
    form: &FormState,
) -> PageResult {
    let content = page_content(state, user, resource, notice, form).await?;
    Ok(with_status(
        layout(
            state,
            user,
            "/catalogue",
            &[
                ("/catalogue", "数据资源目录"),
                (&code_path(&resource.code) as &str, resource.code.as_str()),
                ("", "数据归集"),
            ],
            &format!("数据归集：{}", resource.body.name),
            content,
        ),
        form,
    ))
}
