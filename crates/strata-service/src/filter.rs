//! `?filter=` (SPEC §7, §14): parsed and type-checked against the collection; problems are 400
//! `invalid_filter` with the position of the fault. Hidden fields are unknown to non-admins. A filter must not be
//! an oracle for what the caller cannot read: the store compiles it as the caller's own, so a field whose `read`
//! rule fails reads as null and a relation step reads as null where the caller may not view the record.

use std::sync::Arc;

use strata_core::expr::{self, CheckScope, Expr, ExprError, Mode};
use strata_core::schema::{Collection, Schema};
use strata_core::{Error, ErrorCode, FieldError, FieldErrorCode, Principal};

fn invalid(e: ExprError) -> Error {
    let mut entry = FieldError::new("/filter", FieldErrorCode::Syntax, e.message.clone());
    entry.position = Some(e.position);
    Error::new(
        ErrorCode::InvalidFilter,
        format!("the filter is invalid: {e}"),
    )
    .with_errors(vec![entry])
}

pub fn parse(
    schema: &Schema,
    collection: &Collection,
    principal: &Principal,
    src: &str,
) -> Result<Arc<Expr>, Error> {
    let expr = expr::parse(src).map_err(invalid)?;
    let scope = CheckScope {
        schema,
        collection,
        mode: Mode::Filter,
        hidden_visible: principal.is_admin(),
    };
    expr::check(&expr, &scope).map_err(invalid)?;
    Ok(Arc::new(expr))
}
