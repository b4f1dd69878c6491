//! Validating a write's body against its collection (SPEC §4, §14 "Writing"): every problem of one body
//! reported together, unknown fields refused, system and read-only fields ignored only when unchanged.

use serde_json::{Map, Value as Json};
use strata_core::schema::{Collection, SYSTEM_FIELDS, validate_value};
use strata_core::{Error, FieldError, FieldErrorCode as Code, Principal, Record, Value};

/// How a body's absent fields are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Absent fields take their default (or null); absent required fields are an error.
    Create,
    /// PUT: like create for every field the caller may write; the others keep their stored values.
    Replace,
    /// PATCH: absent fields keep their stored values.
    Patch,
}

/// The validated field values of the record after the write, in field order.
pub fn validate(
    collection: &Collection,
    principal: &Principal,
    body: &Map<String, Json>,
    mode: Mode,
    stored: Option<&Record>,
) -> Result<Vec<Value>, Error> {
    let admin = principal.is_admin();
    let mut errors = Vec::new();
    for (name, value) in body {
        if SYSTEM_FIELDS.contains(&name.as_str()) {
            let unchanged = stored
                .and_then(|r| r.get(collection, name))
                .is_some_and(|v| v.to_json() == *value);
            // On create, `id` may be chosen by the client; it is checked by `create_id`.
            let client_id = mode == Mode::Create && name == "id";
            if !unchanged && !client_id {
                errors.push(FieldError::new(
                    format!("/{name}"),
                    Code::ReadOnly,
                    "is set by the server",
                ));
            }
            continue;
        }
        match collection.field(name) {
            Some(field) if !field.hidden || admin => {}
            _ => errors.push(FieldError::new(
                format!("/{name}"),
                Code::UnknownField,
                "is not a field of this collection",
            )),
        }
    }

    let mut values = Vec::with_capacity(collection.fields.len());
    for (i, field) in collection.fields.iter().enumerate() {
        let stored_value = stored.and_then(|r| r.values.get(i)).cloned();
        let writable = admin || !(field.hidden || field.read_only);
        // The field's JSON pointer, written only for an error.
        let path = || format!("/{}", field.name);
        let given = body.get(&field.name).filter(|_| !field.hidden || admin);
        let value = match (given, mode) {
            // A value the caller may not write is ignored only when it changes nothing.
            (Some(input), _) if !writable => match validate_value(field, input) {
                Ok(v) if Some(&v) == stored_value.as_ref().or(field.default.as_ref()) => v,
                _ => {
                    errors.push(FieldError::new(path(), Code::ReadOnly, "is read-only"));
                    continue;
                }
            },
            (Some(input), _) => match validate_value(field, input) {
                Ok(v) => v,
                Err((code, message)) => {
                    errors.push(FieldError::new(path(), code, message));
                    continue;
                }
            },
            (None, Mode::Patch) => stored_value.unwrap_or(Value::Null),
            (None, Mode::Replace) if !writable => stored_value.unwrap_or(Value::Null),
            (None, _) => match &field.default {
                Some(default) => default.clone(),
                None if field.required => {
                    errors.push(FieldError::new(path(), Code::Required, "is required"));
                    continue;
                }
                None => Value::Null,
            },
        };
        values.push(value);
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(Error::validation(errors))
    }
}

/// The id a create asks for, if any: a UUID, else a validation problem.
pub fn create_id(body: &Map<String, Json>) -> Result<Option<uuid::Uuid>, Error> {
    match body.get("id") {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => uuid::Uuid::try_parse(s).map(Some).map_err(|_| {
            Error::validation(vec![FieldError::new(
                "/id",
                Code::InvalidFormat,
                "must be a UUID",
            )])
        }),
        Some(_) => Err(Error::validation(vec![FieldError::new(
            "/id",
            Code::WrongType,
            "must be a string",
        )])),
    }
}
