//! The transactional outbox (SPEC §9): every write stores its CloudEvents 1.0 event in the same transaction.
//! Delivery to sinks reads this table.

use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use crate::model::EventMeta;
use crate::sql::{Dialect, SqlBuilder};

/// The outbox table.
pub const TABLE: &str = "_outbox";

/// An event ready to store.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Uuid,
    pub collection: String,
    pub kind: &'static str,
    pub subject: Uuid,
    pub time: chrono::DateTime<chrono::Utc>,
    /// The whole CloudEvent as JSON.
    pub payload: serde_json::Value,
}

/// The CloudEvents 1.0 envelope of one write; hidden fields never appear in it.
pub fn event(
    collection: &Collection,
    kind: &'static str,
    record: &Record,
    previous: Option<&Record>,
    meta: &EventMeta,
) -> Event {
    let id = Uuid::now_v7();
    let time = strata_core::value::now();
    let mut data = serde_json::Map::new();
    data.insert("record".into(), record.to_json(collection));
    if let Some(previous) = previous {
        data.insert("previous".into(), previous.to_json(collection));
    }
    let payload = serde_json::json!({
        "specversion": "1.0",
        "id": id.to_string(),
        "type": format!("strata.record.{kind}"),
        "source": format!("/api/v1/{}", collection.name),
        "subject": record.id.to_string(),
        "time": strata_core::value::format_datetime(&time),
        "datacontenttype": "application/json",
        "requestid": meta.request_id,
        "principalid": meta.principal_id,
        "data": data,
    });
    Event {
        id,
        collection: collection.name.clone(),
        kind,
        subject: record.id,
        time,
        payload,
    }
}

pub fn insert(dialect: Dialect, event: &Event) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    b.push("INSERT INTO ")
        .ident(TABLE)
        .push(" (id, collection, type, subject, time, payload) VALUES (");
    b.param(Value::Uuid(event.id), ColType::Uuid).push(", ");
    b.param(Value::Text(event.collection.clone()), ColType::Text)
        .push(", ");
    b.param(Value::Text(event.kind.to_owned()), ColType::Text)
        .push(", ");
    b.param(Value::Uuid(event.subject), ColType::Uuid)
        .push(", ");
    b.param(Value::Datetime(event.time), ColType::Datetime)
        .push(", ");
    b.param(Value::Json(event.payload.clone()), ColType::Json)
        .push(")");
    b
}
