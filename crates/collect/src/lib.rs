//! Collection (归集): moves a department's data into its published entries' typed tables,
//! from uploaded files and from the department's own databases, on the entries' update
//! cycles.
//!
//! Architecture invariant: rows only reach a data table through a
//! [`store::batch_writer::BatchWriter`], so every way in (file, push, pull) gets the same
//! checks, quarantine, atomicity, lineage and audit. Reading and checking run on a blocking
//! thread while the batch is written, so both cores work on a large import.

pub mod file;
pub mod jobs;
pub mod network;
pub mod pull;
pub mod scheduler;
pub mod secret;

use ingest::pipeline::{FileError, MappingError};

/// Why a collection did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The file cannot be read as its format, or has no data row.
    #[error("{0}")]
    File(String),
    /// The file's columns do not match the entry's items.
    #[error(transparent)]
    Columns(#[from] MappingError),
    /// The source database refused, went away, or changed its schema.
    #[error("{0}")]
    Source(String),
    /// The source stopped answering: no answer within the idle timeout, or the pull
    /// outlived its deadline (采集超时).
    #[error("{0}")]
    Timeout(String),
    /// The source's address is outside the networks the bureau allows (or is the
    /// platform's own database, or a local socket).
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<FileError> for CollectError {
    fn from(error: FileError) -> Self {
        match error {
            FileError::File(message) => CollectError::File(message),
            FileError::Columns(e) => CollectError::Columns(e),
        }
    }
}

/// Rows checked per write: large enough to amortise a statement, small enough to keep a
/// few in flight within a few megabytes.
pub const CHUNK_ROWS: usize = 5_000;
