//! What a store can fail with. Database constraint errors are mapped to fields here, once, per backend.

/// A store failure, in terms the services can answer with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    /// The record is visible but the action's rule does not hold for it.
    #[error("the rule does not allow this action")]
    Forbidden,
    #[error("the record's version does not match")]
    VersionMismatch,
    #[error("unique constraint on {field}")]
    Unique { field: String },
    /// A relation names a record that does not exist.
    #[error("relation {field} points to a missing record")]
    InvalidRelation { field: String },
    /// A delete is blocked by a `restrict` relation.
    #[error("the record is referenced by other records")]
    Restricted,
    /// A service check run inside the transaction refused the write.
    #[error(transparent)]
    Rejected(strata_core::Error),
    #[error("the statement timed out")]
    Timeout,
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StoreError {
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(anyhow::Error::new(e))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
