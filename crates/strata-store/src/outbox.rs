//! The transactional outbox (SPEC §9): every write stores its CloudEvents 1.0 event in the same transaction.
//! Delivery to sinks reads this table.

use strata_core::schema::Collection;
use strata_core::{ColType, Record, RecordView, Value, json};
use uuid::Uuid;

use crate::model::EventMeta;
use crate::sql::query::Values;
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
    /// The whole CloudEvent as JSON text, written once and stored as it is.
    pub payload: String,
}

/// The CloudEvents 1.0 envelope of one write; hidden fields never appear in it. The JSON text is written
/// straight from the records' typed values (as record answers are), with no intermediate JSON tree: every
/// write pays for its event.
pub fn event(
    collection: &Collection,
    kind: &'static str,
    record: &Record,
    previous: Option<&Record>,
    meta: &EventMeta,
) -> Event {
    let id = Uuid::now_v7();
    let time = strata_core::value::now();
    let mut out = String::with_capacity(512);
    out.push_str(r#"{"specversion":"1.0","id":"#);
    Value::Uuid(id).write_json(&mut out);
    out.push_str(r#","type":"strata.record."#);
    json::escape_into(&mut out, kind);
    out.push_str(r#"","source":"/api/v1/"#);
    json::escape_into(&mut out, &collection.name);
    out.push_str(r#"","subject":"#);
    Value::Uuid(record.id).write_json(&mut out);
    out.push_str(r#","time":"#);
    Value::Datetime(time).write_json(&mut out);
    out.push_str(r#","datacontenttype":"application/json","requestid":"#);
    json::push_str(&mut out, &meta.request_id);
    out.push_str(r#","principalid":"#);
    match &meta.principal_id {
        Some(principal) => json::push_str(&mut out, principal),
        None => out.push_str("null"),
    }
    out.push_str(r#","data":{"record":"#);
    RecordView::new(collection, record).write_json(&mut out);
    if let Some(previous) = previous {
        out.push_str(r#","previous":"#);
        RecordView::new(collection, previous).write_json(&mut out);
    }
    out.push_str("}}");
    Event {
        id,
        collection: collection.name.clone(),
        kind,
        subject: record.id,
        time,
        payload: out,
    }
}

pub fn insert(dialect: Dialect, event: Event) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    push_insert(&mut b, event, Values::List);
    b
}

/// [`insert`]'s statement pushed onto `b`, its row given as `VALUES (…)` or `SELECT …` (which a `FROM` may follow).
pub fn push_insert(b: &mut SqlBuilder, event: Event, values: Values) {
    b.push("INSERT INTO ").ident(TABLE).push(match values {
        Values::List => " (id, collection, type, subject, time, payload) VALUES (",
        Values::Select => " (id, collection, type, subject, time, payload) SELECT ",
    });
    push_row(b, event);
    if values == Values::List {
        b.push(")");
    }
}

/// The events of many writes in one `INSERT … VALUES (…), (…), …`.
pub fn insert_rows(dialect: Dialect, events: Vec<Event>) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    if events.len() > 1 {
        b.varies();
    }
    b.push("INSERT INTO ")
        .ident(TABLE)
        .push(" (id, collection, type, subject, time, payload) VALUES ");
    for (i, event) in events.into_iter().enumerate() {
        b.push(if i > 0 { ", (" } else { "(" });
        push_row(&mut b, event);
        b.push(")");
    }
    b
}

fn push_row(b: &mut SqlBuilder, event: Event) {
    b.param(Value::Uuid(event.id), ColType::Uuid).push(", ");
    b.param(Value::Text(event.collection), ColType::Text)
        .push(", ");
    b.param(Value::Text(event.kind.to_owned()), ColType::Text)
        .push(", ");
    b.param(Value::Uuid(event.subject), ColType::Uuid)
        .push(", ");
    b.param(Value::Datetime(event.time), ColType::Datetime)
        .push(", ");
    b.json_text_param(event.payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::schema::Schema;

    #[test]
    fn the_event_text_is_the_cloudevent_of_the_write_without_hidden_fields() {
        let schema = Schema::from_toml(
            r#"
            [collections.posts]
            fields.title  = { type = "text" }
            fields.secret = { type = "text", hidden = true }
            "#,
        )
        .unwrap();
        let posts = schema.collection("posts").unwrap();
        let at = strata_core::value::now();
        let record = |title: &str| Record {
            id: Uuid::now_v7(),
            created_at: at,
            updated_at: at,
            version: 2,
            values: vec![Value::Text(title.into()), Value::Text("s3cret".into())],
        };
        let (previous, current) = (record("old"), record("a \"quoted\"\ntitle"));
        let meta = EventMeta {
            request_id: "req-\"1\"".into(),
            principal_id: None,
        };

        let event = event(posts, "updated", &current, Some(&previous), &meta);

        let parsed: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        let expected = serde_json::json!({
            "specversion": "1.0",
            "id": event.id.to_string(),
            "type": "strata.record.updated",
            "source": "/api/v1/posts",
            "subject": current.id.to_string(),
            "time": strata_core::value::format_datetime(&event.time),
            "datacontenttype": "application/json",
            "requestid": "req-\"1\"",
            "principalid": null,
            "data": { "record": current.to_json(posts), "previous": previous.to_json(posts) },
        });
        assert_eq!(parsed, expected);
        // The same text serde_json writes, member order included.
        assert_eq!(event.payload, expected.to_string());
        assert!(!event.payload.contains("s3cret"));
    }
}
