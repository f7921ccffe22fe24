//! Uploads are written to a temporary file as they arrive, never held whole in memory, and
//! hashed on the way so that a resubmitted file is recognised. The file is removed when the
//! [`Spooled`] value is dropped.

use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};

/// An upload on disk.
pub struct Spooled {
    pub path: tempfile::TempPath,
    pub size: u64,
    /// `sha256:` and the hex digest of the content.
    pub hash: String,
}

/// Receives an upload piece by piece.
pub struct Spooler {
    file: tokio::fs::File,
    path: tempfile::TempPath,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

fn io_error(error: std::io::Error) -> ApiError {
    ApiError::Internal(format!(
        "cannot write the upload to the spool directory: {error}"
    ))
}

impl Spooler {
    pub fn new(dir: &Path, limit: u64) -> ApiResult<Self> {
        let named = tempfile::Builder::new()
            .prefix("datahall-upload-")
            .tempfile_in(dir)
            .map_err(io_error)?;
        let file = named.as_file().try_clone().map_err(io_error)?;
        Ok(Self {
            file: tokio::fs::File::from_std(file),
            path: named.into_temp_path(),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    pub async fn push(&mut self, bytes: &[u8]) -> ApiResult<()> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "文件超过上限 {} MiB",
                self.limit >> 20
            )));
        }
        self.hasher.update(bytes);
        self.file.write_all(bytes).await.map_err(io_error)
    }

    pub async fn finish(mut self) -> ApiResult<Spooled> {
        self.file.flush().await.map_err(io_error)?;
        Ok(Spooled {
            path: self.path,
            size: self.size,
            hash: format!("sha256:{}", hex::encode(self.hasher.finalize())),
        })
    }
}

/// Spools a request body.
pub async fn spool_body(body: axum::body::Body, dir: &Path, limit: u64) -> ApiResult<Spooled> {
    use http_body_util::BodyExt;
    let mut spooler = Spooler::new(dir, limit)?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request("bad_body", e.to_string()))?;
        if let Some(data) = frame.data_ref() {
            spooler.push(data).await?;
        }
    }
    spooler.finish().await
}

/// Uploads spooled by a process that was killed stay on disk (a clean exit removes them).
/// Removes those not written for `older_than`: long enough that no live upload or import,
/// of this process or another sharing the directory, is still using them. Returns how
/// many were removed.
pub fn remove_abandoned(dir: &Path, older_than: std::time::Duration) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("datahall-upload-") {
            continue;
        }
        let metadata = entry.metadata()?;
        let idle = metadata
            .modified()
            .ok()
            .and_then(|at| at.elapsed().ok())
            .unwrap_or_default();
        if metadata.is_file() && idle >= older_than {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_uploads_are_removed_and_live_ones_and_other_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(25 * 3600);
        let old = dir.path().join("datahall-upload-old");
        std::fs::write(&old, b"a,b").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
        let live = dir.path().join("datahall-upload-live");
        std::fs::write(&live, b"a,b").unwrap();
        let other = dir.path().join("someone-else.tmp");
        std::fs::write(&other, b"x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
        let removed = remove_abandoned(dir.path(), std::time::Duration::from_secs(24 * 3600));
        assert_eq!(removed.unwrap(), 1);
        assert!(!old.exists() && live.exists() && other.exists());
    }
}
