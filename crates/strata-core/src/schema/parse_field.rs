//! Building one field of a schema from its `strata.toml` table: its type, constraints, default and read rule,
//! with every problem reported at `collections.NAME.fields.FIELD`.

use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use super::parse::Errors;
use super::{Field, FieldKind, OnDelete, Rule, validate_value};
use crate::expr;
use crate::value::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) required: bool,
    #[serde(default)]
    pub(super) unique: bool,
    pub(super) default: Option<toml::Value>,
    pub(super) min: Option<toml::Value>,
    pub(super) max: Option<toml::Value>,
    pub(super) min_length: Option<u64>,
    pub(super) max_length: Option<u64>,
    pub(super) pattern: Option<String>,
    #[serde(default)]
    pub(super) hidden: bool,
    #[serde(default)]
    pub(super) read_only: bool,
    pub(super) options: Option<Vec<String>>,
    pub(super) collection: Option<String>,
    pub(super) on_delete: Option<String>,
    pub(super) schema: Option<toml::Value>,
    pub(super) read: Option<String>,
}

pub(super) fn build_field(
    name: String,
    raw: RawField,
    names: &[String],
    location: &str,
    errors: &mut Errors,
) -> Option<Field> {
    let before = errors.0.len();
    let mut refuse = |key: &str, present: bool| {
        if present {
            errors.push(
                location,
                format!("`{key}` does not apply to a {} field", raw.kind),
            );
        }
    };
    let text_only = raw.min_length.is_some() || raw.pattern.is_some();
    let kind = match raw.kind.as_str() {
        "text" => {
            refuse("min/max", raw.min.is_some() || raw.max.is_some());
            let pattern = raw.pattern.as_deref().and_then(|p| match Regex::new(p) {
                Ok(re) => Some(re),
                Err(e) => {
                    errors.push(location, format!("invalid pattern: {e}"));
                    None
                }
            });
            FieldKind::Text {
                min_length: raw.min_length,
                max_length: raw.max_length,
                pattern,
            }
        }
        "integer" => {
            refuse(
                "min_length/max_length/pattern",
                text_only || raw.max_length.is_some(),
            );
            let bound = |v: &Option<toml::Value>, errors: &mut Errors| match v {
                None => None,
                Some(toml::Value::Integer(i)) => Some(*i),
                Some(_) => {
                    errors.push(location, "min and max of an integer field must be integers");
                    None
                }
            };
            FieldKind::Integer {
                min: bound(&raw.min, errors),
                max: bound(&raw.max, errors),
            }
        }
        "number" => {
            refuse(
                "min_length/max_length/pattern",
                text_only || raw.max_length.is_some(),
            );
            let bound = |v: &Option<toml::Value>, errors: &mut Errors| match v {
                None => None,
                Some(toml::Value::Integer(i)) => Some(*i as f64),
                Some(toml::Value::Float(f)) => Some(*f),
                Some(_) => {
                    errors.push(location, "min and max of a number field must be numbers");
                    None
                }
            };
            FieldKind::Number {
                min: bound(&raw.min, errors),
                max: bound(&raw.max, errors),
            }
        }
        "boolean" | "datetime" | "date" | "uuid" | "json" | "select" | "relation" | "email"
        | "url" => {
            refuse("min/max", raw.min.is_some() || raw.max.is_some());
            refuse("min_length/pattern", text_only);
            let text_like = matches!(raw.kind.as_str(), "email" | "url");
            refuse("max_length", raw.max_length.is_some() && !text_like);
            match raw.kind.as_str() {
                "boolean" => FieldKind::Boolean,
                "datetime" => FieldKind::Datetime,
                "date" => FieldKind::Date,
                "uuid" => FieldKind::Uuid,
                "email" => FieldKind::Email {
                    max_length: raw.max_length.or(Some(254)),
                },
                "url" => FieldKind::Url {
                    max_length: raw.max_length,
                },
                "json" => json_kind(raw.schema.as_ref(), location, errors),
                "select" => {
                    let options = raw.options.clone().unwrap_or_default();
                    if options.is_empty() {
                        errors.push(location, "a select field needs a non-empty `options` list");
                    }
                    FieldKind::Select { options }
                }
                _ => relation_kind(&raw, names, location, errors),
            }
        }
        other => {
            errors.push(
                location,
                format!(
                    "unknown type `{other}`; expected text, integer, number, boolean, datetime, date, email, url, uuid, json, select or relation"
                ),
            );
            return None;
        }
    };
    if raw.options.is_some() && raw.kind != "select" {
        errors.push(location, "`options` applies to select fields only");
    }
    if raw.schema.is_some() && raw.kind != "json" {
        errors.push(location, "`schema` applies to json fields only");
    }
    if (raw.collection.is_some() || raw.on_delete.is_some()) && raw.kind != "relation" {
        errors.push(
            location,
            "`collection` and `on_delete` apply to relation fields only",
        );
    }
    let read = raw.read.and_then(|source| match expr::parse(&source) {
        Ok(expr) => Some(Rule {
            source,
            expr: Arc::new(expr),
        }),
        Err(e) => {
            errors.push(
                format!("{location}.read"),
                format!("{} at position {} in `{source}`", e.message, e.position),
            );
            None
        }
    });
    let mut field = Field {
        name,
        kind,
        required: raw.required,
        unique: raw.unique,
        default: None,
        hidden: raw.hidden,
        read_only: raw.read_only,
        read,
    };
    if let Some(default) = raw.default {
        let json = serde_json::to_value(&default).unwrap_or(serde_json::Value::Null);
        match validate_value(&field, &json) {
            Ok(Value::Null) | Err(_) => errors.push(
                location,
                format!("the default {default} is not a valid value"),
            ),
            Ok(value) => field.default = Some(value),
        }
    }
    (errors.0.len() == before).then_some(field)
}

fn json_kind(schema: Option<&toml::Value>, location: &str, errors: &mut Errors) -> FieldKind {
    let Some(schema) = schema else {
        return FieldKind::Json {
            schema: None,
            schema_source: None,
        };
    };
    let source = serde_json::to_value(schema).unwrap_or(serde_json::Value::Null);
    if has_remote_ref(&source) {
        errors.push(location, "a JSON Schema may not use a remote $ref");
        return FieldKind::Json {
            schema: None,
            schema_source: None,
        };
    }
    match jsonschema::validator_for(&source) {
        Ok(validator) => FieldKind::Json {
            schema: Some(Arc::new(validator)),
            schema_source: Some(source),
        },
        Err(e) => {
            errors.push(location, format!("invalid JSON Schema: {e}"));
            FieldKind::Json {
                schema: None,
                schema_source: None,
            }
        }
    }
}

fn has_remote_ref(schema: &serde_json::Value) -> bool {
    match schema {
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
            (k == "$ref" && v.as_str().is_some_and(|r| !r.starts_with('#'))) || has_remote_ref(v)
        }),
        serde_json::Value::Array(items) => items.iter().any(has_remote_ref),
        _ => false,
    }
}

fn relation_kind(
    raw: &RawField,
    names: &[String],
    location: &str,
    errors: &mut Errors,
) -> FieldKind {
    let collection = raw.collection.clone().unwrap_or_default();
    if !names.contains(&collection) {
        errors.push(
            location,
            format!("relation to unknown collection `{collection}`"),
        );
    }
    let on_delete = match raw.on_delete.as_deref() {
        None | Some("restrict") => OnDelete::Restrict,
        Some("cascade") => OnDelete::Cascade,
        Some("set_null") => OnDelete::SetNull,
        Some(other) => {
            errors.push(
                location,
                format!("unknown on_delete `{other}`; expected cascade, set_null or restrict"),
            );
            OnDelete::Restrict
        }
    };
    if on_delete == OnDelete::SetNull && raw.required {
        errors.push(
            location,
            "a required relation cannot use on_delete = \"set_null\"",
        );
    }
    FieldKind::Relation {
        collection,
        on_delete,
    }
}
