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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    hash.finalize()[..8]
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
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
    // `{"f":"<fingerprint>","v":[<values>]}`, written directly (every list page with more to come makes one).
    let mut doc = String::with_capacity(96);
    doc.push_str(r#"{"f":""#);
    doc.push_str(&fingerprint(sort, filter));
    doc.push_str(r#"","v":["#);
    for (i, key) in sort.iter().enumerate() {
        if i > 0 {
            doc.push(',');
        }
        let hidden = collection
            .field_index(&key.field)
            .is_some_and(|i| unreadable.contains(&i));
        match last.get(collection, &key.field) {
            Some(value) if !hidden => value.write_json(&mut doc),
            _ => doc.push_str("null"),
        }
    }
    doc.push_str("]}");
    URL_SAFE_NO_PAD.encode(doc)
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

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::schema::Schema;

    #[test]
    fn a_cursor_round_trips_and_reads_unreadable_values_as_null() {
        let schema = Schema::from_toml(
            r#"
            [collections.posts]
            fields.title = { type = "text" }
            fields.views = { type = "integer" }
            "#,
        )
        .unwrap();
        let posts = schema.collection("posts").unwrap();
        let at = strata_core::value::now();
        let last = Record {
            id: uuid::Uuid::now_v7(),
            created_at: at,
            updated_at: at,
            version: 1,
            values: vec![Value::Text("a \"b\"".into()), Value::Int(7)],
        };
        let key = |field: &str, descending| SortKey {
            field: field.into(),
            descending,
        };
        let sort = [key("title", false), key("views", true), key("id", false)];
        let filter = Some("views > 1");

        let cursor = encode(posts, &sort, filter, &last, &[]);
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
        let expected = serde_json::json!({
            "f": fingerprint(&sort, filter),
            "v": ["a \"b\"", 7, last.id.to_string()],
        });
        assert_eq!(text, expected.to_string());
        assert_eq!(
            decode(posts, &sort, filter, &cursor).unwrap(),
            vec![
                Value::Text("a \"b\"".into()),
                Value::Int(7),
                Value::Uuid(last.id)
            ]
        );
        assert!(decode(posts, &sort, None, &cursor).is_err());

        let hiding_views = encode(posts, &sort, filter, &last, &[1]);
        assert_eq!(
            decode(posts, &sort, filter, &hiding_views).unwrap()[1],
            Value::Null
        );
    }
}
