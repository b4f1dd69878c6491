//! The body of `POST /auth/api-keys` (SPEC §14): `{name, scopes?: {COLLECTION: [ACTION…]}, expires_at?}`, checked
//! whole so every problem comes back in one `errors[]`: unknown collections and actions, an expiry that is not in
//! the future, and unknown members.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use strata_core::schema::{Action, Schema};
use strata_core::{Error, FieldError, FieldErrorCode};

/// Longest key name, in characters.
pub(crate) const MAX_NAME: usize = 100;

/// A valid request for a new key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewApiKey {
    pub name: String,
    /// Actions per collection, sorted; `None` for all of the owner's rights.
    pub scopes: Option<BTreeMap<String, Vec<Action>>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An action by its name in rules and scopes.
pub(crate) fn action(name: &str) -> Option<Action> {
    Action::ALL.into_iter().find(|a| a.as_str() == name)
}

/// Stored scopes (`{"posts": ["list"]}`) as a principal's; unknown actions, which no valid key holds, are dropped.
pub(crate) fn decode_scopes(text: &str) -> Option<HashMap<String, Vec<Action>>> {
    let raw: BTreeMap<String, Vec<String>> = serde_json::from_str(text).ok()?;
    Some(
        raw.into_iter()
            .map(|(c, actions)| (c, actions.iter().filter_map(|a| action(a)).collect()))
            .collect(),
    )
}

/// Scopes as stored and shown: an object of action-name arrays.
pub(crate) fn scopes_json(scopes: &BTreeMap<String, Vec<Action>>) -> Json {
    scopes
        .iter()
        .map(|(c, actions)| {
            let names = actions.iter().map(|a| Json::from(a.as_str())).collect();
            (c.clone(), Json::Array(names))
        })
        .collect::<Map<_, _>>()
        .into()
}

/// RFC 6901: a member name as one step of a JSON Pointer.
fn pointer_step(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn scopes(
    schema: &Schema,
    value: &Json,
    errors: &mut Vec<FieldError>,
) -> Option<BTreeMap<String, Vec<Action>>> {
    let Json::Object(object) = value else {
        errors.push(FieldError::new(
            "/scopes",
            FieldErrorCode::WrongType,
            "must be an object of collection names to arrays of actions",
        ));
        return None;
    };
    let mut scopes = BTreeMap::new();
    for (collection, actions) in object {
        let path = format!("/scopes/{}", pointer_step(collection));
        if schema.collection(collection).is_none() {
            errors.push(FieldError::new(
                &path,
                FieldErrorCode::InvalidOption,
                "is not a collection",
            ));
            continue;
        }
        let Json::Array(actions) = actions else {
            errors.push(FieldError::new(
                &path,
                FieldErrorCode::WrongType,
                "must be an array of actions",
            ));
            continue;
        };
        let mut granted = Vec::new();
        for (i, name) in actions.iter().enumerate() {
            match name.as_str().map(action) {
                Some(Some(a)) if !granted.contains(&a) => granted.push(a),
                Some(Some(_)) => {}
                Some(None) => errors.push(FieldError::new(
                    format!("{path}/{i}"),
                    FieldErrorCode::InvalidOption,
                    "must be one of list, view, create, update, delete",
                )),
                None => errors.push(FieldError::new(
                    format!("{path}/{i}"),
                    FieldErrorCode::WrongType,
                    "must be a string",
                )),
            }
        }
        granted.sort_by_key(|a| Action::ALL.iter().position(|x| x == a));
        scopes.insert(collection.clone(), granted);
    }
    Some(scopes)
}

/// Check a creation body against the schema, as of `now`.
pub(crate) fn parse(
    schema: &Schema,
    body: &Map<String, Json>,
    now: DateTime<Utc>,
) -> Result<NewApiKey, Error> {
    let mut errors = Vec::new();
    for member in body.keys() {
        if !matches!(member.as_str(), "name" | "scopes" | "expires_at") {
            errors.push(FieldError::new(
                format!("/{}", pointer_step(member)),
                FieldErrorCode::UnknownField,
                "is not a member of an API key",
            ));
        }
    }
    let name = match body.get("name") {
        None | Some(Json::Null) => {
            errors.push(FieldError::new(
                "/name",
                FieldErrorCode::Required,
                "is required",
            ));
            None
        }
        Some(Json::String(name)) => {
            let name = name.trim();
            if name.is_empty() {
                errors.push(FieldError::new(
                    "/name",
                    FieldErrorCode::TooShort,
                    "must not be empty",
                ));
            } else if name.chars().count() > MAX_NAME {
                errors.push(FieldError::new(
                    "/name",
                    FieldErrorCode::TooLong,
                    format!("must be at most {MAX_NAME} characters"),
                ));
            }
            Some(name.to_owned())
        }
        Some(_) => {
            errors.push(FieldError::new(
                "/name",
                FieldErrorCode::WrongType,
                "must be a string",
            ));
            None
        }
    };
    let scopes = match body.get("scopes") {
        None | Some(Json::Null) => None,
        Some(value) => scopes(schema, value, &mut errors),
    };
    let expires_at = match body.get("expires_at") {
        None | Some(Json::Null) => None,
        Some(Json::String(text)) => match strata_core::value::parse_datetime(text) {
            Some(t) if t > now => Some(t),
            Some(_) => {
                errors.push(FieldError::new(
                    "/expires_at",
                    FieldErrorCode::OutOfRange,
                    "must be in the future",
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "/expires_at",
                    FieldErrorCode::InvalidFormat,
                    "must be an RFC 3339 datetime",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "/expires_at",
                FieldErrorCode::WrongType,
                "must be a string",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    Ok(NewApiKey {
        name: name.unwrap_or_default(),
        scopes,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Schema {
        Schema::from_toml("[collections.posts]\nfields.title = { type = \"text\" }\n")
            .expect("schema")
    }

    fn body(v: Json) -> Map<String, Json> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn scopes_are_sorted_deduplicated_and_round_trip() {
        let now = Utc::now();
        let parsed = parse(
            &schema(),
            &body(json!({"name": " ci ", "scopes": {"posts": ["view", "list", "view"]}})),
            now,
        )
        .expect("valid");
        assert_eq!(parsed.name, "ci");
        let scopes = parsed.scopes.expect("scopes");
        assert_eq!(scopes["posts"], vec![Action::List, Action::View]);
        let text = scopes_json(&scopes).to_string();
        assert_eq!(text, r#"{"posts":["list","view"]}"#);
        assert_eq!(
            decode_scopes(&text).expect("decodes")["posts"],
            vec![Action::List, Action::View]
        );
    }

    #[test]
    fn every_problem_of_a_body_is_reported_with_its_path() {
        let e = parse(
            &schema(),
            &body(json!({
                "scopes": {"nope": ["list"], "posts": ["list", "drop", 3], "a/b": []},
                "expires_at": "2001-01-01T00:00:00Z",
                "colour": "red",
            })),
            Utc::now(),
        )
        .expect_err("invalid");
        let found: Vec<(&str, &str)> = e
            .errors
            .iter()
            .map(|f| (f.path.as_str(), f.code.as_str()))
            .collect();
        for expected in [
            ("/colour", "unknown_field"),
            ("/name", "required"),
            ("/scopes/nope", "invalid_option"),
            ("/scopes/posts/1", "invalid_option"),
            ("/scopes/posts/2", "wrong_type"),
            ("/scopes/a~1b", "invalid_option"),
            ("/expires_at", "out_of_range"),
        ] {
            assert!(found.contains(&expected), "{expected:?} in {found:?}");
        }
    }
}
