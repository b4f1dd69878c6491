//! Store failures in the catalogue's terms.

use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode};
use strata_store::StoreError;

/// Map a store failure for a caller; `anonymous` turns a rule's refusal into 401 (SPEC §14 order of checks).
pub fn from_store(e: StoreError, anonymous: bool) -> Error {
    match e {
        StoreError::NotFound => Error::not_found(),
        StoreError::Forbidden => denied(anonymous),
        StoreError::VersionMismatch => Error::new(
            ErrorCode::PreconditionFailed,
            "the record has changed since the version given in If-Match",
        ),
        StoreError::Unique { field } => Error::new(
            ErrorCode::Conflict,
            format!("a record with this {field} exists"),
        )
        .with_errors(vec![FieldError::new(
            format!("/{field}"),
            FieldErrorCode::Unique,
            "is already taken",
        )]),
        StoreError::InvalidRelation { field } => Error::validation(vec![FieldError::new(
            format!("/{field}"),
            FieldErrorCode::InvalidRelation,
            "does not name a record you can see",
        )]),
        StoreError::Restricted => Error::new(
            ErrorCode::Conflict,
            "the record is referenced by other records that restrict its deletion",
        ),
        StoreError::Rejected(e) => e,
        StoreError::Timeout => {
            Error::new(ErrorCode::Timeout, "the database did not answer in time")
        }
        StoreError::Unavailable(source) => Error::unavailable(source),
        StoreError::Other(source) => Error::internal(source),
    }
}

/// An action the caller may not take: 401 for anonymous callers, who might sign in, else 403.
pub fn denied(anonymous: bool) -> Error {
    if anonymous {
        Error::new(ErrorCode::Unauthenticated, "sign in to do this")
    } else {
        Error::new(ErrorCode::Forbidden, "you may not do this")
    }
}
