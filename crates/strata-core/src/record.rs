//! A stored record: the system fields and one value per declared field, in the collection's field order, and
//! how it is written as JSON.

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use uuid::Uuid;

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

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if self.wants("id") {
            map.serialize_entry("id", &Value::Uuid(self.record.id))?;
        }
        for (i, (field, value)) in self
            .collection
            .fields
            .iter()
            .zip(&self.record.values)
            .enumerate()
        {
            if !field.hidden && self.wants(&field.name) && !self.unreadable.contains(&i) {
                map.serialize_entry(&field.name, value)?;
            }
        }
        if self.wants("created_at") {
            map.serialize_entry("created_at", &Value::Datetime(self.record.created_at))?;
        }
        if self.wants("updated_at") {
            map.serialize_entry("updated_at", &Value::Datetime(self.record.updated_at))?;
        }
        if self.wants("version") {
            map.serialize_entry("version", &self.record.version)?;
        }
        if let Some(expand) = self.expand
            && !expand.is_empty()
        {
            map.serialize_entry("expand", expand)?;
        }
        map.end()
    }
}
