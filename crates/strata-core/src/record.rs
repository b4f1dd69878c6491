//! A stored record: the system fields and one value per declared field, in the collection's field order, and
//! how it is written as JSON.

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use uuid::Uuid;

use std::fmt::Write as _;

use crate::json;
use crate::schema::Collection;
use crate::value::{StoredDatetime, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// One value per field of the collection, in declaration order.
    pub values: Vec<Value>,
}

impl Record {
    /// The value of a declared or system field.
    pub fn get(&self, collection: &Collection, name: &str) -> Option<Value> {
        match name {
            "id" => Some(Value::Uuid(self.id)),
            "created_at" => Some(Value::Datetime(self.created_at)),
            "updated_at" => Some(Value::Datetime(self.updated_at)),
            "version" => Some(Value::Int(self.version)),
            _ => collection
                .field_index(name)
                .and_then(|i| self.values.get(i).cloned()),
        }
    }

    /// The record as clients see it, hidden fields left out (events, stored answers).
    pub fn to_json(&self, collection: &Collection) -> serde_json::Value {
        serde_json::to_value(RecordView::new(collection, self)).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Text(t) => s.serialize_str(t),
            Value::Uuid(u) => {
                s.serialize_str(u.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
            }
            Value::Datetime(d) => {
                let bytes = StoredDatetime(d).bytes();
                // Only ASCII digits and separators.
                s.serialize_str(std::str::from_utf8(&bytes).unwrap_or_default())
            }
            Value::Date(d) => s.collect_str(&d.format("%Y-%m-%d")),
            Value::Json(j) => j.serialize(s),
        }
    }
}

impl Value {
    /// Append the value as JSON text, exactly as its `Serialize` form reads through serde_json.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
            // serde_json's own number formatting, so both forms agree to the digit.
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str("null"),
            },
            Value::Text(t) => json::push_str(out, t),
            Value::Uuid(u) => {
                out.push('"');
                out.push_str(u.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
                out.push('"');
            }
            Value::Datetime(d) => {
                out.push('"');
                StoredDatetime(d).push_to(out);
                out.push('"');
            }
            Value::Date(d) => {
                let _ = write!(out, "\"{}\"", d.format("%Y-%m-%d"));
            }
            Value::Json(j) => out.push_str(&j.to_string()),
        }
    }
}

/// A record written straight from its typed values to JSON: `id`, the declared fields, `created_at`,
/// `updated_at`, `version`, then `expand`; hidden fields never.
pub struct RecordView<'a> {
    pub collection: &'a Collection,
    pub record: &'a Record,
    /// Top-level names to include; `None` for all.
    pub fields: Option<&'a [String]>,
    /// Related records, already rendered, keyed by relation field.
    pub expand: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Positions of fields left out because their `read` rule fails for the reader.
    pub unreadable: &'a [usize],
}

impl<'a> RecordView<'a> {
    pub fn new(collection: &'a Collection, record: &'a Record) -> Self {
        Self {
            collection,
            record,
            fields: None,
            expand: None,
            unreadable: &[],
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.fields.is_none_or(|f| f.iter().any(|n| n == name))
    }
}

/// One member of a record's JSON object.
enum Member<'a> {
    Value(&'a Value),
    Id(Uuid),
    Datetime(&'a DateTime<Utc>),
    Version(i64),
    Expand(&'a serde_json::Map<String, serde_json::Value>),
}

impl RecordView<'_> {
    /// The members of the record's JSON object, in order: `id`, the declared fields, `created_at`,
    /// `updated_at`, `version`, then `expand`; hidden, unreadable and unselected fields left out.
    fn members(&self) -> impl Iterator<Item = (&str, Member<'_>)> {
        let record = self.record;
        let declared = self
            .collection
            .fields
            .iter()
            .zip(&record.values)
            .enumerate()
            .filter(|(i, (field, _))| !field.hidden && !self.unreadable.contains(i))
            .map(|(_, (field, value))| (field.name.as_str(), Member::Value(value)));
        std::iter::once(("id", Member::Id(record.id)))
            .chain(declared)
            .chain([
                ("created_at", Member::Datetime(&record.created_at)),
                ("updated_at", Member::Datetime(&record.updated_at)),
                ("version", Member::Version(record.version)),
            ])
            .filter(|(name, _)| self.wants(name))
            .chain(
                self.expand
                    .filter(|e| !e.is_empty())
                    .map(|e| ("expand", Member::Expand(e))),
            )
    }

    /// Append the record as a JSON object: the same text serde_json makes of it, written directly.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (name, member)) in self.members().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Member names are `id`, the system fields, `expand` or field names, which the schema holds to
            // `^[a-z][a-z0-9_]*$`: nothing to escape.
            debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            out.push('"');
            out.push_str(name);
            out.push_str("\":");
            match member {
                Member::Value(v) => v.write_json(out),
                Member::Id(id) => Value::Uuid(id).write_json(out),
                Member::Datetime(d) => Value::Datetime(*d).write_json(out),
                Member::Version(v) => out.push_str(itoa::Buffer::new().format(v)),
                Member::Expand(e) => out.push_str(&serde_json::to_string(e).unwrap_or_default()),
            }
        }
        out.push('}');
    }
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Member::Value(v) => v.serialize(s),
            Member::Id(id) => Value::Uuid(*id).serialize(s),
            Member::Datetime(d) => Value::Datetime(**d).serialize(s),
            Member::Version(v) => s.serialize_i64(*v),
            Member::Expand(e) => e.serialize(s),
        }
    }
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (name, member) in self.members() {
            map.serialize_entry(name, &member)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::schema::Schema;

    #[test]
    fn written_json_is_what_serde_makes_of_the_record() {
        let schema = Schema::from_toml(
            r#"
[collections.things]
fields.title  = { type = "text" }
fields.secret = { type = "text", hidden = true }
fields.n      = { type = "integer" }
fields.x      = { type = "number" }
fields.ok     = { type = "boolean" }
fields.day    = { type = "date" }
fields.at     = { type = "datetime" }
fields.meta   = { type = "json" }
fields.other  = { type = "relation", collection = "things" }
"#,
        )
        .expect("schema");
        let things = schema.collection("things").expect("things");
        let at = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 58).unwrap();
        let record = Record {
            id: Uuid::from_u128(42),
            created_at: at,
            updated_at: at + chrono::Duration::microseconds(123_456),
            version: 3,
            values: vec![
                Value::Text("a \"quoted\"\n title with ünïcödé".into()),
                Value::Text("never shown".into()),
                Value::Int(-7),
                Value::Float(1e21),
                Value::Bool(true),
                Value::Date(at.date_naive()),
                Value::Datetime(at),
                Value::Json(serde_json::json!({"k": [1, 2.5, null, "s"]})),
                Value::Null,
            ],
        };
        let mut expand = serde_json::Map::new();
        expand.insert("other".into(), serde_json::json!({"id": "x"}));
        let fields: Vec<String> = ["id", "n", "version", "secret"].map(String::from).into();
        let views = [
            RecordView::new(things, &record),
            RecordView {
                unreadable: &[0, 3],
                expand: Some(&expand),
                ..RecordView::new(things, &record)
            },
            RecordView {
                fields: Some(&fields),
                ..RecordView::new(things, &record)
            },
        ];
        for view in views {
            let mut written = String::new();
            view.write_json(&mut written);
            assert_eq!(written, serde_json::to_string(&view).unwrap());
            assert!(!written.contains("never shown"));
        }
    }
}
