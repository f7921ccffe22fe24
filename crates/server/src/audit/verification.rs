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

/// Writes the anchor atomically (a temporary file, then a rename), readable by the owner.
fn write_anchor(path: &Path, anchor: &Anchor) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(anchor).map_err(std::io::Error::other)?;
    std::fs::write(&temporary, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&temporary, path)
}

/// Checkpoints the access log, verifies both logs against the anchor at `anchor_file`
/// (if any) and, when intact, leaves the new anchor there.
pub async fn verify(
    store: &Store,
    anchor_file: Option<&Path>,
    ctx: &AuditContext,
) -> Result<ChainReport, StoreError> {
    store.checkpoint_access_log(ctx).await?;
    let previous = match anchor_file.map(read_anchor).transpose() {
        Ok(anchor) => anchor.flatten(),
        Err(reason) => {
            tracing::error!(%reason, "audit anchor unreadable");
            return Ok(ChainReport {
                checked: 0,
                intact: false,
                first_broken_seq: None,
                reason: Some(reason),
                sealed: 0,
                access_checked: 0,
                access_checkpointed: 0,
                anchor: None,
            });
        }
    };
    let report = store.verify_logs(previous.as_ref()).await?;
    if let (Some(path), Some(anchor)) = (anchor_file, &report.anchor) {
        if let Err(error) = write_anchor(path, anchor) {
            tracing::error!(%error, file = %path.display(), "could not write the audit anchor");
        }
    }
    Ok(report)
}
