//! 数据归集: a department uploads an export of a published entry's data.

use axum::extract::{Multipart, Path, State};
use maud::{html, Markup};

use super::{code_path, csrf_field, layout, thousands, PageError, PageResult, UploadForm, WebUser};
use crate::api::batches::{ingest_upload, parse_params, UploadFormat, UploadParams};
use crate::api::resources::visible_at;
use crate::auth::Meta;
use crate::error::ApiError;
use crate::AppState;

fn upload_form(user: &WebUser, code: &str) -> Markup {
    html! {
        div.card {
            p { "上传本目录数据的导出文件：CSV（UTF-8 或 GBK）、XLSX（第一个工作表）或 NDJSON，列名为信息项名称或标识符。每行按信息项校验，合格行按主键更新，问题行隔离并列出；同一文件只归集一次。" }
            form method="post" action={(code_path(code)) "/upload"} enctype="multipart/form-data" {
                (csrf_field(user))
                p { input type="file" name="file" accept=".csv,.txt,.xlsx,.ndjson,.json" required; }
                p { label { "文件编码 "
                    select name="encoding" { option value="auto" { "自动识别" } option value="utf8" { "UTF-8" } option value="gb18030" { "GBK / GB18030" } }
                } }
                button type="submit" { "上传并归集" }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    user: WebUser,
    Path((prefix, seq)): Path<(String, String)>,
) -> PageResult {
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let crumbs = [
        ("/catalogue", "数据资源目录"),
        (&code_path(&code) as &str, code.as_str()),
        ("", "上传数据"),
    ];
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &crumbs,
        &format!("上传数据：{}", resource.body.name),
        upload_form(&user, &code),
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    user: WebUser,
    Meta(meta): Meta,
    Path((prefix, seq)): Path<(String, String)>,
    multipart: Multipart,
) -> PageResult {
    let form = UploadForm::read(multipart).await?;
    let encoding = form.field("encoding").to_string();
    let (name, file) = form.checked_file(&user, "请选择要上传的文件")?;
    let format = if name.ends_with(".ndjson") || name.ends_with(".json") {
        UploadFormat::Json
    } else if name.ends_with(".xlsx") {
        UploadFormat::Xlsx
    } else {
        let (encoding, delimiter) = parse_params(&UploadParams {
            encoding: Some(encoding).filter(|e| !e.is_empty()),
            delimiter: None,
        })?;
        UploadFormat::Csv {
            encoding,
            delimiter,
        }
    };
    let (code, resource) = visible_at(&state, &user.0, &prefix, &seq).await?;
    let outcome = ingest_upload(&state, &user.0, &meta, &prefix, &seq, &file, format).await;
    let report = match outcome {
        Ok(report) => report,
        Err(error @ (ApiError::BadRequest { .. } | ApiError::Conflict(_))) => {
            let content =
                html! { div.notice.error { (error.message()) } (upload_form(&user, &code)) };
            return Ok(layout(
                &state,
                &user,
                "/catalogue",
                &[("/catalogue", "数据资源目录"), ("", "上传数据")],
                "上传数据",
                content,
            ));
        }
        Err(other) => return Err(PageError(other)),
    };
    let batch = &report.batch;
    let content = html! {
        div.notice.ok {
            "批次 " (batch.id) "：收到 " (thousands(batch.rows_received)) " 行，入库 " (thousands(batch.rows_accepted)) " 行，隔离 " (thousands(batch.rows_quarantined)) " 行"
            @if batch.duplicate_keys > 0 { "；其中 " (thousands(batch.duplicate_keys)) " 行主键重复，以最后一行为准" } "。"
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
        p { a href=(code_path(&code)) { "返回目录：" (resource.body.name) } }
    };
    Ok(layout(
        &state,
        &user,
        "/catalogue",
        &[("/catalogue", "数据资源目录"), ("", "归集结果")],
        "归集结果",
        content,
    ))
}
