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
    /// The text's two-digit groups, in order: century, year of century, month, day, hour, minute, second, and
    /// the microseconds in three groups.
    fn pairs(&self) -> [u32; 10] {
        use chrono::{Datelike, Timelike};
        // The naive UTC value once: each of `DateTime`'s own field getters converts to local time first.
        let naive = self.0.naive_utc();
        let (date, time) = (naive.date(), naive.time());
        let year = date.year().clamp(0, 9999) as u32;
        let seconds = time.num_seconds_from_midnight();
        let micros = time.nanosecond() / 1_000 % 1_000_000;
        [
            year / 100,
            year % 100,
            date.month(),
            date.day(),
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            micros / 10_000,
            micros / 100 % 100,
            micros % 100,
        ]
    }

    /// The 27 ASCII bytes of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    pub fn bytes(&self) -> [u8; 27] {
        let mut buf = *b"0000-00-00T00:00:00.000000Z";
        for (at, n) in [0, 2, 5, 8, 11, 14, 17, 20, 22, 24]
            .into_iter()
            .zip(self.pairs())
        {
            buf[at] = b'0' + (n / 10) as u8;
            buf[at + 1] = b'0' + (n % 10) as u8;
        }
        buf
    }

    /// Append `YYYY-MM-DDTHH:MM:SS.ffffffZ` to `out`.
    pub fn push_to(&self, out: &mut String) {
        // Only ASCII digits and separators: the check cannot fail, and costs less than pushing piece by piece.
        out.push_str(std::str::from_utf8(&self.bytes()).unwrap_or_default());
    }
}

impl std::fmt::Display for StoredDatetime<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only ASCII digits and separators are written.
        f.write_str(std::str::from_utf8(&self.bytes()).map_err(|_| std::fmt::Error)?)
    }
}

/// Read a datetime stored in the fixed-width form quickly, straight from its bytes, falling back to any RFC 3339
/// text.
pub fn parse_stored_datetime(b: &[u8]) -> Option<DateTime<Utc>> {
    let fixed = b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z';
    if fixed {
        let two = |at: usize| -> Option<u32> {
            let (tens, ones) = (b[at].wrapping_sub(b'0'), b[at + 1].wrapping_sub(b'0'));
            (tens < 10 && ones < 10).then(|| u32::from(tens) * 10 + u32::from(ones))
        };
        let date = NaiveDate::from_ymd_opt((two(0)? * 100 + two(2)?) as i32, two(5)?, two(8)?)?;
        let time = chrono::NaiveTime::from_hms_micro_opt(
            two(11)?,
            two(14)?,
            two(17)?,
            two(20)? * 10_000 + two(22)? * 100 + two(24)?,
        )?;
        return Some(date.and_time(time).and_utc());
    }
    DateTime::parse_from_rfc3339(std::str::from_utf8(b).ok()?)
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
            let parsed = parse_stored_datetime(text.as_bytes()).expect("parses");
            assert_eq!(format_datetime(&parsed), text);
            assert_eq!(
                Some(parsed),
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            );
        }
        let offset =
            parse_stored_datetime(b"2024-06-30T14:30:00.5+02:00").expect("any RFC 3339 text");
        assert_eq!(format_datetime(&offset), "2024-06-30T12:30:00.500000Z");
        assert!(parse_stored_datetime(b"2024-13-01T00:00:00.000000Z").is_none());
        assert!(parse_stored_datetime(b"nope").is_none());
        assert!(parse_stored_datetime(b"2024-02-30T00:00:00.000000Z").is_none());
        assert!(parse_stored_datetime(b"2024-01-01T24:00:00.000000Z").is_none());
        assert!(parse_stored_datetime(b"2024-01-01T00:00:00.00000aZ").is_none());
    }

    #[test]
    fn the_fixed_width_form_is_chronos_own_over_the_whole_range() {
        let first = parse_datetime("1000-01-01T00:00:00Z")
            .expect("first")
            .timestamp();
        let last = parse_datetime("9999-12-31T23:59:59Z")
            .expect("last")
            .timestamp();
        // A stride prime to every calendar period walks through days, months, leap years and times of day.
        let stride = 86_400 * 37 + 3_607;
        for (i, secs) in (first..=last).step_by(stride).enumerate() {
            let micros = (i as u32).wrapping_mul(7_919) % 1_000_000;
            let d = DateTime::from_timestamp(secs, micros * 1_000).expect("in range");
            let text = format_datetime(&d);
            assert_eq!(text, d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
            let mut pushed = String::from("at ");
            StoredDatetime(&d).push_to(&mut pushed);
            assert_eq!(pushed, format!("at {text}"));
            assert_eq!(parse_stored_datetime(text.as_bytes()), Some(d), "{text}");
        }
    }
}
