//! The expression language of filters and rules (SPEC §7, §14): one parser, one AST, a type checker against the
//! schema, and an in-memory evaluator with SQL's three-valued logic. Compilation to SQL lives with the stores and
//! shares [`resolve_path`], [`fold`] and the value comparisons here, so both evaluators agree.

mod ast;
mod check;
mod compare;
mod eval;
#[cfg(test)]
mod fixture;
pub mod fold;
mod lexer;
mod parse;
mod path;
mod types;

pub use ast::{CompareOp, Expr, Literal};
pub use check::{CheckScope, Mode, check};
pub use compare::{compare_values, json_element_eq};
pub use eval::{EvalContext, NeedsStore, Tri, auth_value, eval, eval_value, needs_store};
pub use parse::parse;
pub use path::{ResolvedPath, Step, resolve_path, system_field_type};

/// The longest expression accepted, in bytes (SPEC §14: `filter` ≤ 4 KiB; rules alike).
pub const MAX_SOURCE_BYTES: usize = 4096;
/// The deepest nesting of parentheses and `!` accepted (SPEC §14).
pub const MAX_DEPTH: usize = 32;
/// The most items an `in` list may hold (SPEC §14).
pub const MAX_IN_ITEMS: usize = 100;
/// The most names in a path: a field and at most 3 relation steps before it (SPEC §7).
pub const MAX_PATH_NAMES: usize = 4;

/// A problem in an expression, with the character position (from 0) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct ExprError {
    pub position: usize,
    pub message: String,
}

impl ExprError {
    /// An error at character `position`.
    pub fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}
