//! Building a [`Schema`] from `strata.toml`, collecting every problem with where it is (SPEC §3, §14).

use std::fmt;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;

use super::parse_field::{RawField, build_field};
use super::{
    Action, Collection, FieldKind, Index, RESERVED_COLLECTIONS, Rule, Rules, SYSTEM_FIELDS, Schema,
    USERS,
};
use crate::expr;

pub(super) static NAME: LazyLock<Regex> =
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

pub(super) struct Errors(pub(super) Vec<SchemaError>);

impl Errors {
    pub(super) fn push(&mut self, location: impl Into<String>, message: impl Into<String>) {
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
        combined: Default::default(),
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
