//! Verifying the logs: a checkpoint of the access log, then both logs from one snapshot
//! against the anchor the last verification left outside the database, then the new
//! anchor. For the API, the page and `datahall audit verify` alike.

use std::path::Path;

use store::audit::{Anchor, ChainReport};
use store::{AuditContext, Store, StoreError};

/// The anchor an earlier verification left, if there is one and it can be read.
pub fn read_anchor(path: &Path) -> Result<Option<Anchor>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("锚点文件 {} 无法读取：{e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("锚点文件 {} 无法读取：{e}", path.display())),
    }
}

/// Writes the anchor atomically (a temporary file of its own, then a rename), readable by
/// the owner only.
fn write_anchor(path: &Path, anchor: &Anchor) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(anchor).map_err(std::io::Error::other)?;
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // tempfile creates it 0600 and names it uniquely: two verifications at once (the
    // server and `datahall audit verify`) never write into each other's file.
    let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
    std::io::Write::write_all(&mut temporary, text.as_bytes())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A report of a verification that could not compare with the last anchor.
fn unverifiable(reason: String) -> ChainReport {
    tracing::error!(%reason, "audit anchor missing or unreadable");
    ChainReport {
        checked: 0,
        intact: false,
        first_broken_seq: None,
        reason: Some(reason),
        sealed: 0,
        access_checked: 0,
        access_checkpointed: 0,
        anchor: None,
    }
}

/// Checkpoints the access log, verifies both logs against the anchor at `anchor_file`
/// (if any) and, when intact, leaves the new anchor there and records in the audit log
/// that it did: so that an anchor deleted later (to pass off a shortened log as a first
/// verification) is itself detected.
pub async fn verify(
    store: &Store,
    anchor_file: Option<&Path>,
    ctx: &AuditContext,
) -> Result<ChainReport, StoreError> {
    store.checkpoint_access_log(ctx).await?;
    let previous = match anchor_file.map(read_anchor).transpose() {
        Ok(anchor) => anchor.flatten(),
        Err(reason) => return Ok(unverifiable(reason)),
    };
    if let (Some(path), None) = (anchor_file, &previous) {
        if let Some(seq) = store.last_anchor_seq().await? {
            return Ok(unverifiable(format!(
                "锚点文件 {} 缺失：第{seq}条审计记录表明上次校验已在此留下锚点（锚点被删除，或更换了 audit_anchor_file 而未复制原文件）",
                path.display()
            )));
        }
    }
    let report = store.verify_logs(previous.as_ref()).await?;
    if let (Some(path), Some(anchor)) = (anchor_file, &report.anchor) {
        match write_anchor(path, anchor) {
            Ok(()) => {
                let mut event = ctx.event("audit.anchor", "audit-anchor");
                event.detail = Some(format!(
                    "校验通过：审计记录 {} 条，数据访问记录 {} 条；锚点（第{}条）已写入 {}",
                    report.checked,
                    report.access_checked,
                    anchor.seq,
                    path.display()
                ));
                store.audit(event).await?;
            }
            Err(error) => {
                tracing::error!(%error, file = %path.display(), "could not write the audit anchor");
            }
        }
    }
    Ok(report)
}
