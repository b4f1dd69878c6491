//! Typed field values: what a validated body holds, what stores bind and read, and what expressions compare.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

/// A field value, typed by its field. Relations, uuids, emails, urls and selects are `Text`/`Uuid` as noted on
/// [`crate::schema::FieldKind::storage`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Uuid(Uuid),
    Datetime(DateTime<Utc>),
    Date(NaiveDate),
    Json(serde_json::Value),
}

/// How a value is stored in a column; each store maps it to its own column type and decodes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColType {
    Text,
    Int,
    Float,
    Bool,
    Uuid,
    Datetime,
    Date,
    Json,
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The JSON a client sees for this value (SPEC §14: datetimes as `YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            Value::Text(s) => s.clone().into(),
            Value::Uuid(u) => u.to_string().into(),
            Value::Datetime(d) => format_datetime(d).into(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string().into(),
            Value::Json(j) => j.clone(),
        }
    }
}

/// The one textual form of a datetime, on output and in SQLite's fixed-width column.
pub fn format_datetime(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parse an RFC 3339 datetime with any offset, convert to UTC and truncate to microseconds; `None` when it is not
/// one or its year is outside 1000–9999.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let d = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    in_year_range(d.date_naive()).then(|| truncate_micros(d))
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    in_year_range(d).then_some(d)
}

fn in_year_range(d: NaiveDate) -> bool {
    use chrono::Datelike;
    (1000..=9999).contains(&d.year())
}

pub fn truncate_micros(d: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    d.trunc_subsecs(6)
}

/// The current time as stored: UTC, microseconds.
pub fn now() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}
