//! `?filter=` (SPEC §7, §14): parsed and type-checked against the collection; problems are 400
//! `invalid_filter` with the position of the fault. A filter must not be an oracle for what the caller cannot
//! read, so for non-admins it may not name a field whose `read` rule could hide it, nor reach through a relation
//! into records the caller may not all view.

use std::sync::Arc;

use strata_core::access::Access;
use strata_core::expr::{self, CheckScope, Expr, ExprError, Mode};
use strata_core::schema::{Action, Collection, FieldKind, Schema};
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
    if !principal.is_admin() {
        no_oracle(schema, collection, principal, &expr).map_err(invalid)?;
    }
    Ok(Arc::new(expr))
}

/// Refuse paths that could reveal what the caller may not read.
fn no_oracle(
    schema: &Schema,
    collection: &Collection,
    principal: &Principal,
    expr: &Expr,
) -> Result<(), ExprError> {
    match expr {
        Expr::Field { path, position } => {
            check_path(schema, collection, principal, path, *position)
        }
        Expr::Not { expr, .. } => no_oracle(schema, collection, principal, expr),
        Expr::And { operands, .. } | Expr::Or { operands, .. } => operands
            .iter()
            .try_for_each(|e| no_oracle(schema, collection, principal, e)),
        Expr::Compare { left, right, .. } => {
            no_oracle(schema, collection, principal, left)?;
            no_oracle(schema, collection, principal, right)
        }
        Expr::In { expr, list, .. } => {
            no_oracle(schema, collection, principal, expr)?;
            list.iter()
                .try_for_each(|e| no_oracle(schema, collection, principal, e))
        }
        Expr::Literal(_) | Expr::Auth { .. } | Expr::Data { .. } | Expr::Now { .. } => Ok(()),
    }
}

fn check_path(
    schema: &Schema,
    collection: &Collection,
    principal: &Principal,
    path: &[String],
    position: usize,
) -> Result<(), ExprError> {
    let mut current = collection;
    for (i, name) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if let Some(via) = back_relation(schema, name) {
            // `COLLECTION_via_FIELD`: the caller must be able to view every record of COLLECTION.
            if !public(schema, principal, via) {
                return Err(ExprError::new(
                    position,
                    format!(
                        "cannot filter through `{name}`: you may not view all of {}",
                        via.name
                    ),
                ));
            }
            current = via;
            continue;
        }
        let Some(field) = current.field(name) else {
            return Ok(());
        };
        if field.read.is_some() {
            return Err(ExprError::new(
                position,
                format!("`{name}` has a read rule and cannot be filtered on"),
            ));
        }
        if let (
            false,
            FieldKind::Relation {
                collection: target, ..
            },
        ) = (last, &field.kind)
        {
            let Some(target) = schema.collection(target) else {
                return Ok(());
            };
            if !public(schema, principal, target) {
                return Err(ExprError::new(
                    position,
                    format!(
                        "cannot filter through `{name}`: you may not view all of {}",
                        target.name
                    ),
                ));
            }
            current = target;
        }
    }
    Ok(())
}

/// Whether the caller may view every record of `collection`.
fn public(schema: &Schema, principal: &Principal, collection: &Collection) -> bool {
    matches!(
        Access::of(schema, principal, collection, Action::View),
        Access::All
    )
}

/// `memberships_via_team` → the `memberships` collection.
fn back_relation<'s>(schema: &'s Schema, name: &str) -> Option<&'s Collection> {
    let (collection, field) = name.split_once("_via_")?;
    let collection = schema.collection(collection)?;
    collection.field(field).map(|_| collection.as_ref())
}
