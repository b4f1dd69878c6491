//! JSON log lines written directly, in the shape of tracing-subscriber's JSON format (event fields flattened,
//! the current span's fields under `"span"`): `{"timestamp":…,"level":…,"message":…,<fields>,"target":…,
//! "span":{…,"name":…}}`; a line written while serving a request has `"span":{"request_id":…,"trace_id":…,
//! "name":"request"}`. tracing-subscriber's own JSON formatter goes through serde, `fmt::Write` adapters and
//! chrono's general formatter, and cost a quarter of a GET's instructions for its one request line (callgrind);
//! this writes each line into one buffer with a fixed-width timestamp and Strata's JSON string escaper.

use std::fmt::{self, Write as _};

use strata_core::json;
use strata_core::value::StoredDatetime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as JSON lines.
pub struct JsonLines;

/// Formats a span's fields as the members of a JSON object (`"k":v,"k2":v2`), kept with the span.
pub struct JsonFields;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(512);
        line.push_str("{\"timestamp\":\"");
        let now = chrono::Utc::now();
        StoredDatetime(&now).push_to(&mut line);
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        let mut members = Members::new(&mut line);
        event.record(&mut members);
        line.push_str(",\"target\":");
        json::push_str(&mut line, event.metadata().target());
        // A line written while serving a request carries the request's ids as its span (no tracing span is opened
        // per request); any other line, the current tracing span's fields.
        let in_request = strata_http::with_current_request(|ids| {
            line.push_str(",\"span\":{\"request_id\":");
            json::push_str(&mut line, &ids.request_id);
            line.push_str(",\"trace_id\":");
            json::push_str(&mut line, ids.trace_id.as_deref().unwrap_or(""));
            line.push_str(",\"name\":\"request\"}");
        });
        if in_request.is_none()
            && let Some(span) = ctx.lookup_current()
        {
            line.push_str(",\"span\":{");
            if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                && !fields.is_empty()
            {
                line.push_str(fields);
                line.push(',');
            }
            line.push_str("\"name\":");
            json::push_str(&mut line, span.name());
            line.push('}');
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

impl<'writer> FormatFields<'writer> for JsonFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut members = String::new();
        fields.record(&mut Members::new(&mut members));
        // Members each start with a comma; an object's first one must not.
        writer.write_str(members.strip_prefix(',').unwrap_or(&members))
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let mut members = String::new();
        fields.record(&mut Members::new(&mut members));
        if current.fields.is_empty() {
            current
                .fields
                .push_str(members.strip_prefix(',').unwrap_or(&members));
        } else {
            current.fields.push_str(&members);
        }
        Ok(())
    }
}

/// Writes each field as `,"name":value`.
struct Members<'a> {
    out: &'a mut String,
}

impl<'a> Members<'a> {
    fn new(out: &'a mut String) -> Self {
        Members { out }
    }

    fn key(&mut self, field: &Field) {
        let name = field.name();
        self.out.push(',');
        // Field names are almost always Rust identifiers, which need no escaping.
        if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            self.out.push('"');
            self.out.push_str(name);
            self.out.push('"');
        } else {
            json::push_str(self.out, name);
        }
        self.out.push(':');
    }
}

impl Visit for Members<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        json::push_str(self.out, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        self.out.push_str(itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        self.out.push_str(itoa::Buffer::new().format(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            self.out.push_str(ryu::Buffer::new().format_finite(value));
        } else {
            self.out.push_str("null");
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.out.push('"');
        let _ = write!(Escaping(self.out), "{value:?}");
        self.out.push('"');
    }
}

/// Writes what it is given JSON-escaped, so `Debug` output goes into a string literal without a copy.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        json::escape_into(self.0, s);
        Ok(())
    }
}
