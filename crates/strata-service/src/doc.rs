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
        format!("\"{}\"", self.record.version)
    }

    /// `/api/v1/{collection}/{id}`
    pub fn location(&self) -> String {
        format!("/api/v1/{}/{}", self.collection.name, self.record.id)
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RecordView {
            collection: &self.collection,
            record: &self.record,
            fields: self.fields.as_deref(),
            expand: Some(&self.expand),
            unreadable: &self.unreadable,
        }
        .serialize(s)
    }
}

/// A page of a list: `{"data": […], "next_cursor": …, "total": …}`.
#[derive(Debug, Clone)]
pub struct Page {
    pub docs: Vec<Doc>,
    pub next_cursor: Option<String>,
    pub total: Option<u64>,
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
