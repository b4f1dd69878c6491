//! What record reads and writes answer: records with their selection and expansions, written straight to JSON.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use strata_core::schema::Collection;
use strata_core::{Record, RecordView};

/// One record as a client sees it.
#[derive(Debug, Clone)]
pub struct Doc {
    pub collection: Arc<Collection>,
    pub record: Record,
    pub fields: Option<Arc<[String]>>,
    pub expand: serde_json::Map<String, serde_json::Value>,
    /// Fields whose `read` rule fails for the reader.
    pub unreadable: Vec<usize>,
}

impl Doc {
    pub fn new(collection: Arc<Collection>, record: Record) -> Self {
        Doc {
            collection,
            record,
            fields: None,
            expand: serde_json::Map::new(),
            unreadable: Vec::new(),
        }
    }

    /// `"N"`: the record's version as an entity tag.
    pub fn etag(&self) -> String {
        ["\"", itoa::Buffer::new().format(self.record.version), "\""].concat()
    }

    /// `/api/v1/{collection}/{id}`
    pub fn location(&self) -> String {
        let mut id = uuid::Uuid::encode_buffer();
        let id = self.record.id.hyphenated().encode_lower(&mut id);
        ["/api/v1/", &self.collection.name, "/", id].concat()
    }
}

impl Doc {
    fn view(&self) -> RecordView<'_> {
        RecordView {
            collection: &self.collection,
            record: &self.record,
            fields: self.fields.as_deref(),
            expand: Some(&self.expand),
            unreadable: &self.unreadable,
        }
    }

    /// `{"data": record}` as JSON text, written directly from the record's values.
    pub fn to_envelope_json(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("{\"data\":");
        self.view().write_json(&mut out);
        out.push('}');
        out
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

/// A page of a list: `{"data": […], "next_cursor": …, "total": …}`.
#[derive(Debug, Clone)]
pub struct Page {
    pub docs: Vec<Doc>,
    pub next_cursor: Option<String>,
    pub total: Option<u64>,
}

impl Page {
    /// The page as JSON text, the same as its `Serialize` form, written directly from the records' values.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + 512 * self.docs.len());
        out.push_str("{\"data\":[");
        for (i, doc) in self.docs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            doc.view().write_json(&mut out);
        }
        out.push_str("],\"next_cursor\":");
        match &self.next_cursor {
            Some(cursor) => strata_core::json::push_str(&mut out, cursor),
            None => out.push_str("null"),
        }
        if let Some(total) = self.total {
            out.push_str(",\"total\":");
            out.push_str(&total.to_string());
        }
        out.push('}');
        out
    }
}

impl Serialize for Page {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("data", &self.docs)?;
        map.serialize_entry("next_cursor", &self.next_cursor)?;
        if let Some(total) = self.total {
            map.serialize_entry("total", &total)?;
        }
        map.end()
    }
}

/// `{"data": …}`: the envelope of every success body.
#[derive(Serialize)]
pub struct Envelope<T> {
    pub data: T,
}

#[cfg(test)]
mod tests {
    use strata_core::schema::Schema;
    use strata_core::{Record, Value};

    use super::*;

    #[test]
    fn written_pages_and_envelopes_are_what_serde_makes_of_them() {
        let schema = Schema::from_toml("[collections.notes]\nfields.title = { type = \"text\" }\n")
            .expect("schema");
        let notes = schema.collection("notes").expect("notes").clone();
        let doc = |n: u128, title: &str| {
            Doc::new(
                notes.clone(),
                Record {
                    id: uuid::Uuid::from_u128(n),
                    created_at: chrono::Utc::now(),
                    updated_at: chrono::Utc::now(),
                    version: 1,
                    values: vec![Value::Text(title.into())],
                },
            )
        };
        let one = doc(1, "first \"one\"");
        assert_eq!(
            one.to_envelope_json(),
            serde_json::to_string(&Envelope { data: &one }).unwrap()
        );
        for page in [
            Page {
                docs: vec![one.clone(), doc(2, "second")],
                next_cursor: Some("abc\"".into()),
                total: Some(2),
            },
            Page {
                docs: Vec::new(),
                next_cursor: None,
                total: None,
            },
        ] {
            assert_eq!(page.to_json(), serde_json::to_string(&page).unwrap());
        }
    }
}
