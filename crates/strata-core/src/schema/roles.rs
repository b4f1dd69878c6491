//! `[roles.NAME]` (SPEC §7): each role grants actions on collections, each with its own rule:
//! `posts = { list = "true", view = "true", update = "status = 'draft'" }`. An action is allowed when the
//! collection's rule holds or a rule granted by one of the caller's roles holds.

use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use regex::Regex;

use super::{Action, Rule, Rules, Schema};
use crate::expr;

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-z][a-z0-9_]{0,62}$").expect("valid regex"));

/// One declared role: its grants per collection.
#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub grants: IndexMap<String, Rules>,
}

impl Role {
    /// The rule this role grants for `action` on `collection`, if any.
    pub fn grant(&self, collection: &str, action: Action) -> Option<&Rule> {
        self.grants
            .get(collection)
            .and_then(|rules| rules.get(action))
    }
}

/// Parse and check every role against the finished schema, reporting problems through `error`.
pub(super) fn build(
    schema: &Schema,
    raw: toml::Table,
    error: &mut dyn FnMut(String, String),
) -> IndexMap<String, Role> {
    let mut roles = IndexMap::new();
    for (name, grants) in raw {
        let location = format!("roles.{name}");
        if !NAME.is_match(&name) || name == "admin" {
            error(
                location,
                "a role name must match ^[a-z][a-z0-9_]{0,62}$ and is not `admin`".into(),
            );
            continue;
        }
        let toml::Value::Table(grants) = grants else {
            error(location, "must be a table of collections".into());
            continue;
        };
        let mut role = Role {
            name: name.clone(),
            grants: IndexMap::new(),
        };
        for (collection_name, actions) in grants {
            let location = format!("roles.{name}.{collection_name}");
            let Some(collection) = schema.collection(&collection_name) else {
                error(location, format!("unknown collection `{collection_name}`"));
                continue;
            };
            let toml::Value::Table(actions) = actions else {
                error(
                    location,
                    "must be a table of actions and rules, like { list = \"true\" }".into(),
                );
                continue;
            };
            let mut rules = Rules::default();
            for (action_name, source) in actions {
                let location = format!("{location}.{action_name}");
                let Some(action) = Action::ALL.into_iter().find(|a| a.as_str() == action_name)
                else {
                    error(
                        location,
                        "unknown action; expected list, view, create, update or delete".into(),
                    );
                    continue;
                };
                let Some(source) = source.as_str().map(str::to_owned) else {
                    error(location, "a rule is a string, like \"true\"".into());
                    continue;
                };
                let scope = expr::CheckScope {
                    schema,
                    collection,
                    mode: expr::Mode::Rule(action),
                    hidden_visible: true,
                };
                match expr::parse(&source).and_then(|e| expr::check(&e, &scope).map(|()| e)) {
                    Ok(expr) => {
                        *rules.slot(action) = Some(Rule {
                            source,
                            expr: Arc::new(expr),
                        })
                    }
                    Err(e) => error(
                        location,
                        format!("{} at position {} in `{source}`", e.message, e.position),
                    ),
                }
            }
            role.grants.insert(collection_name, rules);
        }
        roles.insert(name, role);
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::super::Schema;

    #[test]
    fn role_names_collections_actions_and_rules_are_checked() {
        let schema = "[roles.admin]\n[roles.editor]\nghosts = { list = \"true\" }\n[roles.writer]\nusers = { fly = \"true\", view = \"nope ==\" }\n";
        let errors = Schema::from_toml(schema).expect_err("invalid roles");
        let all = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("roles.admin"), "{all}");
        assert!(
            all.contains("roles.editor.ghosts: unknown collection"),
            "{all}"
        );
        assert!(
            all.contains("roles.writer.users.fly: unknown action"),
            "{all}"
        );
        assert!(all.contains("roles.writer.users.view"), "{all}");
        let good = "[roles.editor]\nusers = { list = \"true\", update = \"verified = false\" }\n";
        let parsed = Schema::from_toml(good).expect("a valid role");
        assert!(
            parsed
                .role("editor")
                .and_then(|r| r.grant("users", super::Action::Update))
                .is_some()
        );
    }
}
