//! The SQL function SQLite needs for `~`: `regexp(pattern, text)`, which SQLite calls for `text REGEXP pattern`.
//! It uses the `regex` crate, the same engine and case-fold tables as [`strata_core::expr::fold`], and caches
//! the compiled pattern per statement with SQLite's auxiliary data, so a query compiles its pattern once.

use std::sync::Arc;

use regex::Regex;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Register Strata's SQL functions on a SQLite connection; call it on every connection the store opens.
pub fn register_sqlite_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("regexp", 2, flags, regexp)
}

/// `regexp(pattern, text)`: null when either is null, else whether the pattern matches somewhere in the text.
fn regexp(ctx: &Context<'_>) -> rusqlite::Result<Option<bool>> {
    if matches!(ctx.get_raw(0), ValueRef::Null) {
        return Ok(None);
    }
    let pattern: Arc<Regex> = ctx.get_or_create_aux(0, |pattern| -> Result<Regex, BoxError> {
        Ok(Regex::new(pattern.as_str()?)?)
    })?;
    let matched = match ctx.get_raw(1) {
        ValueRef::Null => return Ok(None),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            pattern.is_match(&String::from_utf8_lossy(bytes))
        }
        ValueRef::Integer(i) => pattern.is_match(&i.to_string()),
        ValueRef::Real(f) => pattern.is_match(&f.to_string()),
    };
    Ok(Some(matched))
}
