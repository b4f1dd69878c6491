//! Turning a client's JSON value into a typed [`Value`] for one field, or saying precisely why not (SPEC §14).

use serde_json::Value as Json;

use super::{Field, FieldKind};
use crate::error::FieldErrorCode as Code;
use crate::value::{Value, parse_date, parse_datetime};

/// Check `input` against `field` and convert it. `null` is accepted here for optional fields only; whether a
/// missing field is required is the caller's concern.
pub fn validate_value(field: &Field, input: &Json) -> Result<Value, (Code, String)> {
    if input.is_null() {
        return if field.required {
            Err((Code::Required, "is required".into()))
        } else {
            Ok(Value::Null)
        };
    }
    match &field.kind {
        FieldKind::Text {
            min_length,
            max_length,
            pattern,
        } => {
            let s = text(input)?;
            check_length(s, *min_length, *max_length)?;
            if let Some(re) = pattern
                && !re.is_match(s)
            {
                return Err((
                    Code::Pattern,
                    format!("must match the pattern {}", re.as_str()),
                ));
            }
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Integer { min, max } => {
            let n = input.as_number().ok_or_else(|| wrong_type("an integer"))?;
            let i = if let Some(i) = n.as_i64() {
                i
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || !f.is_finite() {
                    return Err((Code::NotInteger, "must be an integer".into()));
                }
                if f < i64::MIN as f64 || f >= i64::MAX as f64 {
                    return Err((
                        Code::OutOfRange,
                        "must fit in a signed 64-bit integer".into(),
                    ));
                }
                f as i64
            };
            check_range(i, *min, *max)?;
            Ok(Value::Int(i))
        }
        FieldKind::Number { min, max } => {
            let f = input.as_f64().ok_or_else(|| wrong_type("a number"))?;
            if !f.is_finite() {
                return Err((Code::OutOfRange, "must be a finite number".into()));
            }
            check_range(f, *min, *max)?;
            Ok(Value::Float(f))
        }
        FieldKind::Boolean => input
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| wrong_type("a boolean")),
        FieldKind::Datetime => {
            let s = text(input)?;
            parse_datetime(s).map(Value::Datetime).ok_or_else(|| {
                if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                    (
                        Code::OutOfRange,
                        "must be a datetime in the years 1000 to 9999".into(),
                    )
                } else {
                    (Code::InvalidFormat, "must be an RFC 3339 datetime".into())
                }
            })
        }
        FieldKind::Date => {
            let s = text(input)?;
            parse_date(s).map(Value::Date).ok_or_else(|| {
                if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                    (
                        Code::OutOfRange,
                        "must be a date in the years 1000 to 9999".into(),
                    )
                } else {
                    (Code::InvalidFormat, "must be a date as YYYY-MM-DD".into())
                }
            })
        }
        FieldKind::Email { max_length } => {
            let s = text(input)?.trim().to_lowercase();
            check_length(&s, None, *max_length)?;
            if !is_email(&s) {
                return Err((Code::InvalidFormat, "must be an email address".into()));
            }
            Ok(Value::Text(s))
        }
        FieldKind::Url { max_length } => {
            let s = text(input)?;
            check_length(s, None, *max_length)?;
            if !is_url(s) {
                return Err((
                    Code::InvalidFormat,
                    "must be an absolute http or https URL".into(),
                ));
            }
            Ok(Value::Text(s.to_owned()))
        }
        FieldKind::Uuid => uuid(input, Code::InvalidFormat),
        FieldKind::Relation { .. } => uuid(input, Code::InvalidRelation),
        FieldKind::Select { options } => {
            let s = text(input)?;
            if options.iter().any(|o| o == s) {
                Ok(Value::Text(s.to_owned()))
            } else {
                Err((
                    Code::InvalidOption,
                    format!("must be one of: {}", options.join(", ")),
                ))
            }
        }
        FieldKind::Json { schema, .. } => {
            if let Some(validator) = schema
                && let Some(error) = validator.iter_errors(input).next()
            {
                return Err((
                    Code::JsonSchema,
                    format!("does not match its JSON Schema: {error}"),
                ));
            }
            Ok(Value::Json(input.clone()))
        }
    }
}

fn wrong_type(expected: &str) -> (Code, String) {
    (Code::WrongType, format!("must be {expected}"))
}

fn text(input: &Json) -> Result<&str, (Code, String)> {
    input.as_str().ok_or_else(|| wrong_type("a string"))
}

fn uuid(input: &Json, bad: Code) -> Result<Value, (Code, String)> {
    let s = text(input)?;
    uuid::Uuid::try_parse(s)
        .map(Value::Uuid)
        .map_err(|_| (bad, "must be a UUID".into()))
}

fn check_length(s: &str, min: Option<u64>, max: Option<u64>) -> Result<(), (Code, String)> {
    let n = s.chars().count() as u64;
    if let Some(min) = min
        && n < min
    {
        return Err((Code::TooShort, format!("must be at least {min} characters")));
    }
    if let Some(max) = max
        && n > max
    {
        return Err((Code::TooLong, format!("must be at most {max} characters")));
    }
    Ok(())
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    v: T,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), (Code, String)> {
    if let Some(min) = min
        && v < min
    {
        return Err((Code::OutOfRange, format!("must be at least {min}")));
    }
    if let Some(max) = max
        && v > max
    {
        return Err((Code::OutOfRange, format!("must be at most {max}")));
    }
    Ok(())
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no spaces. Deliverability is the
/// verification mail's job.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}
