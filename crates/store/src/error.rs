use domain::workflow::WorkflowError;
use domain::ValidationErrors;

/// What went wrong in the store, in terms the HTTP edge can map to a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}不存在")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The caller may not do this (domain::access).
    #[error(transparent)]
    Denied(#[from] domain::access::Denied),
    /// A limit of the platform is reached; try again after `retry_after_secs`.
    #[error("{message}")]
    Quota {
        message: String,
        retry_after_secs: u64,
    },
    #[error("database URL not supported (use sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A database error met by a query that answered several callers at once.
    #[error("database error: {0}")]
    Coalesced(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A capability asked for a duty its kind does not allow: a bug, reported as a 500.
    #[error("duty refused: {0}")]
    Duty(#[from] domain::duty::DutyError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if crate::is_connection_loss(&error) {
            crate::note_connection_loss();
        }
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound("记录".into()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("与已有记录重复：{}", db.message()))
            }
            _ => StoreError::Database(error),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}
