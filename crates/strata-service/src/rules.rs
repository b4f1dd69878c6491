//! Create rules (SPEC §7): checked in memory on the record with defaults applied when they need no other
//! record; otherwise handed to the store, which checks them inside the write's transaction.

use std::sync::Arc;

use strata_core::expr::{self, EvalContext, Expr, Tri};
use strata_core::schema::{Collection, Schema};
use strata_core::{Error, Record};

use crate::context::Context;
use crate::error::denied;

/// `Ok(None)`: allowed; `Ok(Some(rule))`: the store must check it; `Err`: denied.
pub fn check_create(
    schema: &Schema,
    collection: &Collection,
    ctx: &Context,
    rule: &Arc<Expr>,
    record: &Record,
) -> Result<Option<Arc<Expr>>, Error> {
    let eval_ctx = EvalContext {
        schema,
        collection,
        record: Some(record),
        data: Some(record),
        principal: &ctx.principal,
        now: ctx.now,
    };
    match expr::eval(rule, &eval_ctx) {
        Ok(Tri::True) => Ok(None),
        Ok(_) => Err(denied(ctx.anonymous())),
        Err(_) => Ok(Some(rule.clone())),
    }
}
