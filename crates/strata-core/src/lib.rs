//! Strata's domain types: the schema, records and values, the expression language, principals and the error
//! catalogue. Nothing here knows about HTTP or SQL.

pub mod access;
pub mod error;
pub mod expr;
pub mod json;
pub mod principal;
pub mod record;
pub mod schema;
pub mod value;

pub use error::{Error, ErrorCode, FieldError, FieldErrorCode, Result};
pub use principal::{Principal, PrincipalKind};
pub use record::{Record, RecordView};
pub use value::{ColType, Value};
