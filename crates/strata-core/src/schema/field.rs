//! Field definitions: a type with its constraints.

use std::sync::Arc;

use regex::Regex;

use super::Rule;
use crate::value::{ColType, Value};

/// What a relation does when the record it points to is deleted (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Cascade,
    SetNull,
    Restrict,
}

impl OnDelete {
    pub fn as_sql(self) -> &'static str {
        match self {
            OnDelete::Cascade => "CASCADE",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Restrict => "RESTRICT",
        }
    }
}

/// A field type and the constraints that belong to it (SPEC §3, §14).
#[derive(Debug, Clone)]
pub enum FieldKind {
    Text {
        min_length: Option<u64>,
        max_length: Option<u64>,
        pattern: Option<Regex>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    Datetime,
    Date,
    Email {
        max_length: Option<u64>,
    },
    Url {
        max_length: Option<u64>,
    },
    Uuid,
    Json {
        schema: Option<Arc<jsonschema::Validator>>,
        schema_source: Option<serde_json::Value>,
    },
    Select {
        options: Vec<String>,
    },
    Relation {
        collection: String,
        on_delete: OnDelete,
    },
}

impl FieldKind {
    /// The schema name of the type, as written in `strata.toml`.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Integer { .. } => "integer",
            FieldKind::Number { .. } => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Datetime => "datetime",
            FieldKind::Date => "date",
            FieldKind::Email { .. } => "email",
            FieldKind::Url { .. } => "url",
            FieldKind::Uuid => "uuid",
            FieldKind::Json { .. } => "json",
            FieldKind::Select { .. } => "select",
            FieldKind::Relation { .. } => "relation",
        }
    }

    /// How values of this type are stored.
    pub fn storage(&self) -> ColType {
        match self {
            FieldKind::Text { .. }
            | FieldKind::Email { .. }
            | FieldKind::Url { .. }
            | FieldKind::Select { .. } => ColType::Text,
            FieldKind::Integer { .. } => ColType::Int,
            FieldKind::Number { .. } => ColType::Float,
            FieldKind::Boolean => ColType::Bool,
            FieldKind::Datetime => ColType::Datetime,
            FieldKind::Date => ColType::Date,
            FieldKind::Uuid | FieldKind::Relation { .. } => ColType::Uuid,
            FieldKind::Json { .. } => ColType::Json,
        }
    }

    /// The longest text this field can hold, in characters, where bounded; used to size indexed columns.
    pub fn max_chars(&self) -> Option<u64> {
        match self {
            FieldKind::Text { max_length, .. }
            | FieldKind::Email { max_length }
            | FieldKind::Url { max_length } => *max_length,
            FieldKind::Select { options } => Some(
                options
                    .iter()
                    .map(|o| o.chars().count() as u64)
                    .max()
                    .unwrap_or(1),
            ),
            _ => None,
        }
    }
}

/// One declared field.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    pub required: bool,
    pub unique: bool,
    /// Applied on create (and PUT) when the body leaves the field out.
    pub default: Option<Value>,
    /// Never returned, not filterable by non-admins.
    pub hidden: bool,
    /// Set by the server or an admin only.
    pub read_only: bool,
    /// Per-field read rule: where it fails, the field is left out of that record.
    pub read: Option<Rule>,
}

impl Field {
    pub fn storage(&self) -> ColType {
        self.kind.storage()
    }
}
