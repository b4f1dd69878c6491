//! Typed field values: what a validated body holds, what stores bind and read, and what expressions compare.

use chrono::{DateTime, NaiveDate, Utc};
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
    StoredDatetime(d).to_string()
}

/// Writes a datetime as `YYYY-MM-DDTHH:MM:SS.ffffffZ` digit by digit: every record carries three of them, so
/// serializing a page of records formats dozens per request (chrono's general formatter costs several times
/// more). Years are 1000–9999 (SPEC §14), so the width is fixed.
pub struct StoredDatetime<'a>(pub &'a DateTime<Utc>);

impl StoredDatetime<'_> {
    /// The 27 ASCII bytes of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn bytes(&self) -> [u8; 27] {
        use chrono::{Datelike, Timelike};
        let d = self.0;
        let micros = d.nanosecond() / 1_000 % 1_000_000;
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, d.year().clamp(0, 9999) as u32);
        put(5, 2, d.month());
        put(8, 2, d.day());
        put(11, 2, d.hour());
        put(14, 2, d.minute());
        put(17, 2, d.second());
        put(20, 6, micros);
        buf
    }
}

impl std::fmt::Display for StoredDatetime<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only ASCII digits and separators are written.
        f.write_str(std::str::from_utf8(&self.bytes()).map_err(|_| std::fmt::Error)?)
    }
}

/// Read a datetime stored in the fixed-width form quickly, falling back to any RFC 3339 text.
pub fn parse_stored_datetime(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let fixed = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z';
    if fixed {
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
        let time = chrono::NaiveTime::from_hms_micro_opt(
            num(11, 13)?,
            num(14, 16)?,
            num(17, 19)?,
            num(20, 26)?,
        )?;
        return Some(date.and_time(time).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_datetimes_format_and_parse_back_exactly() {
        for text in [
            "2024-02-29T23:59:59.123456Z",
            "1000-01-01T00:00:00.000000Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let parsed = parse_stored_datetime(text).expect("parses");
            assert_eq!(format_datetime(&parsed), text);
            assert_eq!(
                Some(parsed),
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            );
        }
        let offset =
            parse_stored_datetime("2024-06-30T14:30:00.5+02:00").expect("any RFC 3339 text");
        assert_eq!(format_datetime(&offset), "2024-06-30T12:30:00.500000Z");
        assert!(parse_stored_datetime("2024-13-01T00:00:00.000000Z").is_none());
        assert!(parse_stored_datetime("nope").is_none());
    }
}
