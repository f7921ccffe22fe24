//! 数据归集: a department uploads an export of a published entry's data and sees the
//! entry's batches and quality.

use axum::extract::{Multipart, Path, State};
use ingest::pipeline::FileFormat;
use maud::{html, Markup};

use super::{code_path, csrf_field, layout, thousands, PageError, PageResult, UploadForm, WebUser};
use crate::api::batches::{
    collectable, dedup_key, entry_quality, import_spooled, may_see_collection, parse_encoding,
    parse_mapping_param, quarantine_csv, EntryQualityReport,
};
use crate::api::resources::visible_at;
use crate::auth::Meta;
use crate::error::ApiError;
use crate::AppState;

/// `a=b, c=-` as the textarea shows a remembered mapping.
fn mapping_text(mapping: &store::batches::ColumnMapping) -> String {
    mapping
        .iter()
        .map(|(column, item)| format!("{column}={}", item.as_deref().unwrap_or("-")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn upload_form(user: &WebUser, code: &str, mapping: &str) -> Markup {
    html! {
        div.card {
            p { "上传本目录数据的导出文件：CSV（UTF-8 或 GBK，任意分隔符）、XLSX 或 NDJSON / JSON 数组。列名为信息项名称或标识符；不同的列名在“列映射”中对应。每行按信息项校验，合格行按主键更新，问题行隔离并可下载；整批同时生效，同一文件只归集一次。" }
            form method="post" action={(code_path(code)) "/upload"} enctype="multipart/form-data" {
                (csrf_field(user))
                p { input type="file" name="file" accept=".csv,.txt,.xlsx,.ndjson,.json" required; }
                p { label { "文件编码 "
                    select name="encoding" { option value="auto" { "自动识别" } option value="utf8" { "UTF-8" } option value="gb18030" { "GBK / GB18030" } }
                } }
                p { label { "工作表（XLSX，留空为第一个） " input type="text" name="sheet"; } }
                p { label { "列映射（每行“文件列名=信息项”，忽略一列写“文件列名=-”；成功后记住，下次自动使用）" br;
                    textarea name="mapping" rows="4" cols="60" { (mapping) } } }
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
) -> Result<Markup, PageError> {
    let mapping = state
        .store
        .column_mapping(resource.id)
        .await?
        .map(|m| mapping_text(&m))
        .unwrap_or_default();
    let quality = entry_quality(state, resource).await?;
    Ok(html! {
        (notice)
        (upload_form(user, &resource.code, &mapping))
        (quality_section(&quality))
    })
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    may_see_collection(&user.0, &resource)?;
    let crumbs = [
        ("/catalogue", "数据资源目录"),
        (&code_path(&code) as &str, code.as_str()),
        ("", "数据归集"),
    ];
    let content = page_content(&state, &user, &resource, html! {}).await?;
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &crumbs,
        &format!("数据归集：{}", resource.body.name),
        content,
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    multipart: Multipart,
) -> PageResult {
    // Who may upload is settled before the file is received.
    let resource = collectable(&state, &user.0, &prefix, &seq).await?;
    let form = UploadForm::read(multipart, &state, state.config.max_upload_bytes).await?;
    let encoding = parse_encoding(Some(form.field("encoding")))?;
    let sheet = Some(form.field("sheet").trim().to_string()).filter(|s| !s.is_empty());
    let mapping = parse_mapping_param(Some(form.field("mapping")))?;
    let (name, file) = form.checked_file(&user, "请选择要上传的文件")?;
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
        dedup_key: Some(dedup_key(&file, None)),
    };
    let outcome = import_spooled(&state, &user.0, &meta, import).await;
    let notice = match outcome {
        Ok(report) => {
            let batch = &report.batch;
            html! {
                div.notice.ok {
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
            }
        }
        Err(
            error @ (ApiError::BadRequest { .. }
            | ApiError::Conflict(_)
            | ApiError::PayloadTooLarge(_)
            | ApiError::Unprocessable { .. }),
        ) => {
            html! { div.notice.error { (error.message()) } }
        }
        Err(other) => return Err(PageError(other)),
    };
    let content = page_content(&state, &user, &resource, notice).await?;
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &[
            ("/catalogue", "数据资源目录"),
            (&code_path(&resource.code) as &str, resource.code.as_str()),
            ("", "数据归集"),
        ],
        &format!("数据归集：{}", resource.body.name),
        content,
    ))
}

/// `/batches/{id}/quarantine.csv`: the quarantined rows, for Excel.
pub async fn quarantine_download(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, PageError> {
    let (name, bytes) = quarantine_csv(&state, &user.0, id).await?;
    Ok(crate::api::batches::csv_response(&name, bytes))
}
