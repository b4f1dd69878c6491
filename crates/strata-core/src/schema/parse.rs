//! Building a [`Schema`] from `strata.toml`, collecting every problem with where it is (SPEC §3, §14).

use std::fmt;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;

use super::{
    Action, Collection, Field, FieldKind, Index, OnDelete, RESERVED_COLLECTIONS, Rule, Rules,
    SYSTEM_FIELDS, Schema, USERS, validate_value,
};
use crate::expr;
use crate::value::Value;

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z][a-z0-9_]{0,62}$").expect("valid regex"));

/// Byte budget of one index's text columns: 4 bytes a character (utf8mb4) must fit MySQL's 3,072-byte key with
/// room for the other columns.
const INDEX_TEXT_BUDGET: u64 = 2600;

/// One problem in a schema: where (`collections.posts.fields.title`, `collections.posts.rules.list`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub location: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    #[serde(default)]
    fields: IndexMap<String, toml::Value>,
    #[serde(default)]
    indexes: Vec<Vec<String>>,
    #[serde(default)]
    unique: Vec<Vec<String>>,
    #[serde(default)]
    rules: IndexMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    unique: bool,
    default: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<String>,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    read_only: bool,
    options: Option<Vec<String>>,
    collection: Option<String>,
    on_delete: Option<String>,
    schema: Option<toml::Value>,
    read: Option<String>,
}

struct Errors(Vec<SchemaError>);

impl Errors {
    fn push(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.0.push(SchemaError {
            location: location.into(),
            message: message.into(),
        });
    }
}

impl Schema {
    /// The schema of a server started without configuration: the built-in `users` collection only.
    pub fn builtin() -> Schema {
        Schema::from_toml("").expect("the built-in schema is valid")
    }

    /// Parse and check the `[collections.*]` part of a `strata.toml` document; other keys are settings and ignored
    /// here. Every problem is reported, not only the first.
    pub fn from_toml(source: &str) -> Result<Schema, Vec<SchemaError>> {
        let doc: toml::Table = toml::from_str(source).map_err(|e| {
            vec![SchemaError {
                location: "strata.toml".into(),
                message: e.to_string(),
            }]
        })?;
        let table = |key: &str| match doc.get(key) {
            None => Ok(toml::Table::new()),
            Some(toml::Value::Table(t)) => Ok(t.clone()),
            Some(_) => Err(vec![SchemaError {
                location: key.into(),
                message: "must be a table".into(),
            }]),
        };
        build(table("collections")?, table("roles")?)
    }
}

/// The built-in `users` collection; `roles` may hold the names declared under `[roles.*]` only.
fn users_raw(role_names: &[String]) -> RawCollection {
    let names: Vec<String> = role_names.iter().map(|n| format!("{n:?}")).collect();
    let roles_schema = if names.is_empty() {
        r#"{ type = "array", maxItems = 0 }"#.to_owned()
    } else {
        format!(
            r#"{{ type = "array", uniqueItems = true, items = {{ type = "string", enum = [{}] }} }}"#,
            names.join(", ")
        )
    };
    let roles_def =
        format!(r#"{{ type = "json", default = [], read_only = true, schema = {roles_schema} }}"#);
    let fields = [
        (
            "email",
            r#"{ type = "email", required = true, unique = true, max_length = 254, read = "id = @auth.id" }"#,
        ),
        (
            "verified",
            r#"{ type = "boolean", default = false, read_only = true }"#,
        ),
        ("roles", roles_def.as_str()),
    ];
    RawCollection {
        fields: fields
            .into_iter()
            .map(|(name, def)| {
                (
                    name.to_owned(),
                    toml::from_str::<toml::Table>(&format!("v = {def}")).expect("valid")["v"]
                        .clone(),
                )
            })
            .collect(),
        indexes: Vec::new(),
        unique: Vec::new(),
        rules: [("view", "id = @auth.id"), ("update", "id = @auth.id")]
            .into_iter()
            .map(|(a, r)| (a.to_owned(), r.to_owned()))
            .collect(),
    }
}

fn build(raw: toml::Table, roles: toml::Table) -> Result<Schema, Vec<SchemaError>> {
    let mut errors = Errors(Vec::new());
    let role_names: Vec<String> = roles.keys().cloned().collect();
    let mut raws: IndexMap<String, RawCollection> = IndexMap::new();
    raws.insert(USERS.to_owned(), users_raw(&role_names));
    for (name, value) in raw {
        let location = format!("collections.{name}");
        if !NAME.is_match(&name) {
            errors.push(
                &location,
                "a collection name must match ^[a-z][a-z0-9_]{0,62}$",
            );
            continue;
        }
        if RESERVED_COLLECTIONS.contains(&name.as_str()) {
            errors.push(&location, format!("`{name}` is a reserved name"));
            continue;
        }
        match value.try_into::<RawCollection>() {
            Ok(collection) if name == USERS => {
                // The schema extends the built-in users collection: more fields, its own rules.
                let users = raws.get_mut(USERS).expect("users is built in");
                for (field, def) in collection.fields {
                    if users.fields.contains_key(&field) {
                        errors.push(
                            format!("{location}.fields.{field}"),
                            "is a built-in field of users",
                        );
                    } else {
                        users.fields.insert(field, def);
                    }
                }
                users.indexes.extend(collection.indexes);
                users.unique.extend(collection.unique);
                users.rules.extend(collection.rules);
            }
            Ok(collection) => {
                raws.insert(name, collection);
            }
            Err(e) => errors.push(location, e.to_string()),
        }
    }

    let names: Vec<String> = raws.keys().cloned().collect();
    let mut collections = IndexMap::new();
    for (name, raw) in raws {
        let collection = build_collection(&name, raw, &names, &mut errors);
        collections.insert(name, Arc::new(collection));
    }
    let mut schema = Schema {
        collections,
        roles: IndexMap::new(),
    };
    for collection in schema.collections() {
        check_rules(&schema, collection, &mut errors);
    }
    schema.roles = super::roles::build(&schema, roles, &mut |location, message| {
        errors.push(location, message)
    });
    if errors.0.is_empty() {
        Ok(schema)
    } else {
        Err(errors.0)
    }
}

fn build_collection(
    name: &str,
    raw: RawCollection,
    names: &[String],
    errors: &mut Errors,
) -> Collection {
    let mut fields = Vec::new();
    for (field_name, def) in raw.fields {
        let location = format!("collections.{name}.fields.{field_name}");
        if !NAME.is_match(&field_name) {
            errors.push(&location, "a field name must match ^[a-z][a-z0-9_]{0,62}$");
        } else if SYSTEM_FIELDS.contains(&field_name.as_str()) || field_name == "expand" {
            errors.push(&location, format!("`{field_name}` is reserved"));
        } else {
            match def.try_into::<RawField>() {
                Ok(raw_field) => {
                    if let Some(field) =
                        build_field(field_name, raw_field, names, &location, errors)
                    {
                        fields.push(field);
                    }
                }
                Err(e) => errors.push(&location, e.to_string()),
            }
        }
    }

    let mut rules = Rules::default();
    for (action, source) in raw.rules {
        let location = format!("collections.{name}.rules.{action}");
        let Some(action) = Action::ALL.into_iter().find(|a| a.as_str() == action) else {
            errors.push(
                location,
                "unknown action; expected list, view, create, update or delete",
            );
            continue;
        };
        match expr::parse(&source) {
            Ok(expr) => {
                *rules.slot(action) = Some(Rule {
                    source,
                    expr: Arc::new(expr),
                })
            }
            Err(e) => errors.push(
                location,
                format!("{} at position {} in `{source}`", e.message, e.position),
            ),
        }
    }

    let mut collection = Collection {
        name: name.to_owned(),
        fields,
        indexes: Vec::new(),
        rules,
    };
    let declared = raw
        .indexes
        .into_iter()
        .map(|f| (f, false))
        .chain(raw.unique.into_iter().map(|f| (f, true)));
    let singles: Vec<Vec<String>> = collection
        .fields
        .iter()
        .filter(|f| f.unique)
        .map(|f| vec![f.name.clone()])
        .collect();
    for (i, (fields, unique)) in declared
        .chain(singles.into_iter().map(|f| (f, true)))
        .enumerate()
    {
        let location = format!("collections.{name}.indexes[{i}]");
        if check_index(&collection, &fields, &location, errors) {
            collection.indexes.push(Index { fields, unique });
        }
    }
    collection
}

fn check_index(
    collection: &Collection,
    fields: &[String],
    location: &str,
    errors: &mut Errors,
) -> bool {
    if fields.is_empty() {
        errors.push(location, "an index needs at least one field");
        return false;
    }
    let mut budget = 0;
    for name in fields {
        if SYSTEM_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let Some(field) = collection.field(name) else {
            errors.push(location, format!("unknown field `{name}`"));
            return false;
        };
        match (&field.kind, field.kind.max_chars()) {
            (FieldKind::Json { .. }, _) => {
                errors.push(
                    location,
                    format!("the json field `{name}` cannot be indexed"),
                );
                return false;
            }
            (FieldKind::Text { .. } | FieldKind::Email { .. } | FieldKind::Url { .. }, None) => {
                errors.push(
                    location,
                    format!("the text field `{name}` needs a max_length to be indexed or unique"),
                );
                return false;
            }
            (_, Some(chars)) => budget += 4 * chars,
            _ => {}
        }
    }
    if budget > INDEX_TEXT_BUDGET {
        errors.push(
            location,
            format!("text fields take {budget} bytes; an index allows at most {INDEX_TEXT_BUDGET}"),
        );
        return false;
    }
    true
}

fn build_field(
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

/// Type-check every rule against the finished schema. Rules see hidden fields; `@data` exists in create and
/// update rules only, and a field's `read` rule is checked as a view rule.
fn check_rules(schema: &Schema, collection: &Collection, errors: &mut Errors) {
    let mut check = |rule: &Rule, action: Action, location: String| {
        let scope = expr::CheckScope {
            schema,
            collection,
            mode: expr::Mode::Rule(action),
            hidden_visible: true,
        };
        if let Err(e) = expr::check(&rule.expr, &scope) {
            let (message, position, source) = (e.message, e.position, &rule.source);
            errors.push(
                location,
                format!("{message} at position {position} in `{source}`"),
            );
        }
    };
    let name = &collection.name;
    for action in Action::ALL {
        if let Some(rule) = collection.rules.get(action) {
            check(
                rule,
                action,
                format!("collections.{name}.rules.{}", action.as_str()),
            );
        }
    }
    for field in &collection.fields {
        if let Some(rule) = &field.read {
            let location = format!("collections.{name}.fields.{}.read", field.name);
            check(rule, Action::View, location);
        }
    }
}
