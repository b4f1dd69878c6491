//! Opaque keyset cursors (SPEC §14 "Reading"): the sort values of a page's last row, bound to the `sort` and
//! `filter` they were made with. A cursor used with another sort or filter is 400 `invalid_query`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use strata_core::schema::Collection;
use strata_core::{ColType, Error, Record, Value};
use strata_store::SortKey;

fn fingerprint(sort: &[SortKey], filter: Option<&str>) -> String {
    let mut hash = Sha256::new();
    for key in sort {
        hash.update(if key.descending { b"-" } else { b"+" });
        hash.update(key.field.as_bytes());
        hash.update(b",");
    }
    hash.update(b"\0");
    hash.update(filter.unwrap_or("").as_bytes());
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cursor that continues after `last`, whose fields at `unreadable` its reader may not read: those read as
/// null, so a cursor never carries a value its reader could not see.
pub fn encode(
    collection: &Collection,
    sort: &[SortKey],
    filter: Option<&str>,
    last: &Record,
    unreadable: &[usize],
) -> String {
    let values: Vec<serde_json::Value> = sort
        .iter()
        .map(|k| {
            let hidden = collection
                .field_index(&k.field)
                .is_some_and(|i| unreadable.contains(&i));
            match last.get(collection, &k.field) {
                Some(value) if !hidden => value.to_json(),
                _ => serde_json::Value::Null,
            }
        })
        .collect();
    let doc = serde_json::json!({"f": fingerprint(sort, filter), "v": values});
    URL_SAFE_NO_PAD.encode(doc.to_string())
}

/// The sort values a cursor carries, typed by the sort's columns.
pub fn decode(
    collection: &Collection,
    sort: &[SortKey],
    filter: Option<&str>,
    cursor: &str,
) -> Result<Vec<Value>, Error> {
    let bad = || Error::invalid_query("the cursor is not valid for this query");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if doc["f"].as_str() != Some(fingerprint(sort, filter).as_str()) {
        return Err(Error::invalid_query(
            "the cursor was made with another sort or filter",
        ));
    }
    let values = doc["v"]
        .as_array()
        .filter(|v| v.len() == sort.len())
        .ok_or_else(bad)?;
    sort.iter()
        .zip(values)
        .map(|(key, json)| {
            let ty =
                strata_store::sql::query::column_type(collection, &key.field).ok_or_else(bad)?;
            typed(json, ty).ok_or_else(bad)
        })
        .collect()
}

fn typed(json: &serde_json::Value, ty: ColType) -> Option<Value> {
    use strata_core::value::{parse_date, parse_datetime};
    if json.is_null() {
        return Some(Value::Null);
    }
    Some(match ty {
        ColType::Text => Value::Text(json.as_str()?.to_owned()),
        ColType::Int => Value::Int(json.as_i64()?),
        ColType::Float => Value::Float(json.as_f64()?),
        ColType::Bool => Value::Bool(json.as_bool()?),
        ColType::Uuid => Value::Uuid(uuid::Uuid::try_parse(json.as_str()?).ok()?),
        ColType::Datetime => Value::Datetime(parse_datetime(json.as_str()?)?),
        ColType::Date => Value::Date(parse_date(json.as_str()?)?),
        ColType::Json => return None,
    })
}
