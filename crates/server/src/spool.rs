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
