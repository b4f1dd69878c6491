//! The baseline's `posts` records: the row, its JSON as Strata writes it (fields in schema order after `id`,
//! datetimes as `YYYY-MM-DDTHH:MM:SS.ffffffZ`), a create body checked as Strata checks it against the benchmark's
//! schema (`bench/src/posts.rs`) and its create rule, and the CloudEvents 1.0 event Strata stores in `_outbox`.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use super::problem::{FieldError, Problem};
use super::token::Caller;

/// The options of `status`, and its default.
const STATUSES: [&str; 2] = ["draft", "published"];
const DEFAULT_STATUS: &str = "draft";
const TITLE_MAX: usize = 200;
const BODY_MAX: usize = 10_000;

/// One post, as read or written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Post {
    pub id: Uuid,
    pub title: Option<String>,
    pub body: Option<String>,
    pub status: Option<String>,
    pub views: Option<i64>,
    pub author: Option<Uuid>,
    #[serde(serialize_with = "micros")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "micros")]
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A create body: the writable fields, nothing else (SPEC §4: unknown fields are rejected).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPost {
    title: Option<String>,
    body: Option<String>,
    status: Option<String>,
    views: Option<i64>,
    author: Option<String>,
}

impl Post {
    /// The post a create body makes for `caller`, validated like Strata validates it (400 `validation_failed`
    /// with one error per field) and then held to the create rule
    /// `@auth.id != null && @data.author = @auth.id && @data.views >= 0` (403 `forbidden`).
    pub fn create(body: &[u8], caller: Caller) -> Result<Post, Problem> {
        let new: NewPost = serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                Problem::validation(vec![FieldError::new("", "invalid", e.to_string())])
            } else {
                Problem::malformed_json(e.to_string())
            }
        })?;
        let mut errors = Vec::new();
        match &new.title {
            None => errors.push(FieldError::new("/title", "required", "is required".into())),
            Some(t) if t.chars().count() > TITLE_MAX => errors.push(too_long("/title", TITLE_MAX)),
            Some(_) => {}
        }
        if new
            .body
            .as_ref()
            .is_some_and(|b| b.chars().count() > BODY_MAX)
        {
            errors.push(too_long("/body", BODY_MAX));
        }
        if new
            .status
            .as_deref()
            .is_some_and(|s| !STATUSES.contains(&s))
        {
            errors.push(FieldError::new(
                "/status",
                "invalid_option",
                "must be draft or published".into(),
            ));
        }
        if new.views.is_some_and(|v| v < 0) {
            errors.push(FieldError::new(
                "/views",
                "too_small",
                "must be at least 0".into(),
            ));
        }
        let author = match new.author.as_deref().map(Uuid::try_parse) {
            None => {
                errors.push(FieldError::new("/author", "required", "is required".into()));
                None
            }
            Some(Err(_)) => {
                errors.push(FieldError::new(
                    "/author",
                    "invalid_relation",
                    "is not a record id".into(),
                ));
                None
            }
            Some(Ok(id)) => Some(id),
        };
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let views = new.views.unwrap_or(0);
        if author != Some(caller.user_id) || views < 0 {
            return Err(Problem::forbidden());
        }
        let now = now_micros();
        Ok(Post {
            id: Uuid::now_v7(),
            title: new.title,
            body: new.body,
            status: Some(new.status.unwrap_or_else(|| DEFAULT_STATUS.to_owned())),
            views: Some(views),
            author,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }
}

fn too_long(path: &str, max: usize) -> FieldError {
    FieldError::new(
        path,
        "too_long",
        format!("must be at most {max} characters"),
    )
}

/// The CloudEvents 1.0 event of a created post, the shape Strata stores in `_outbox.payload` (SPEC §9).
#[derive(Debug, Serialize)]
pub struct Created<'a> {
    pub specversion: &'static str,
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: &'static str,
    pub subject: Uuid,
    #[serde(serialize_with = "micros")]
    pub time: DateTime<Utc>,
    pub datacontenttype: &'static str,
    pub requestid: Uuid,
    pub principalid: Uuid,
    pub data: CreatedData<'a>,
}

#[derive(Debug, Serialize)]
pub struct CreatedData<'a> {
    pub record: &'a Post,
}

impl<'a> Created<'a> {
    /// The event of `post`, created by `caller` in request `request_id`.
    pub fn of(post: &'a Post, caller: Caller, request_id: Uuid) -> Created<'a> {
        Created {
            specversion: "1.0",
            id: Uuid::now_v7(),
            kind: "strata.record.created",
            source: "/api/v1/posts",
            subject: post.id,
            time: now_micros(),
            datacontenttype: "application/json",
            requestid: request_id,
            principalid: caller.user_id,
            data: CreatedData { record: post },
        }
    }
}

/// Now, to the microsecond, as the databases store it.
pub fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, digit by digit (a page of 20 records has 60 of them; chrono's general
/// formatter costs several times more). Years are 1000–9999, as SPEC §14 fixes them.
pub fn format_micros(d: &DateTime<Utc>) -> [u8; 27] {
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, d.year().clamp(0, 9999) as u32);
    put(5, 2, d.month());
    put(8, 2, d.day());
    put(11, 2, d.hour());
    put(14, 2, d.minute());
    put(17, 2, d.second());
    put(20, 6, (d.nanosecond() / 1_000).min(999_999));
    out
}

fn micros<S: Serializer>(d: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let bytes = format_micros(d);
    s.serialize_str(std::str::from_utf8(&bytes).map_err(serde::ser::Error::custom)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            user_id: Uuid::parse_str("01a21302-bd51-7179-b199-60e368cd2100").unwrap(),
            exp: i64::MAX,
        }
    }

    fn create(body: serde_json::Value) -> Result<Post, Problem> {
        Post::create(body.to_string().as_bytes(), caller())
    }

    #[test]
    fn datetimes_are_written_to_the_microsecond_like_strata_writes_them() {
        let d = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678901Z")
            .unwrap()
            .to_utc();
        assert_eq!(&format_micros(&d), b"2026-01-02T03:04:05.678901Z");
        let d = DateTime::parse_from_rfc3339("2026-11-25T14:01:21Z")
            .unwrap()
            .to_utc();
        assert_eq!(&format_micros(&d), b"2026-11-25T14:01:21.000000Z");
    }

    #[test]
    fn a_valid_body_makes_a_post_with_the_defaults_and_strata_s_field_order() {
        let author = caller().user_id.to_string();
        let post = create(serde_json::json!({"title": "t", "author": author})).unwrap();
        assert_eq!(post.status.as_deref(), Some("draft"));
        assert_eq!(
            (post.views, post.version, post.body.as_deref()),
            (Some(0), 1, None)
        );
        let json = serde_json::to_string(&post).unwrap();
        let keys: Vec<&str> = [
            "\"id\"",
            "\"title\"",
            "\"body\"",
            "\"status\"",
            "\"views\"",
            "\"author\"",
            "\"created_at\"",
            "\"updated_at\"",
            "\"version\"",
        ]
        .into_iter()
        .collect();
        let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }

    #[test]
    fn invalid_fields_are_400_and_another_author_is_403() {
        let author = caller().user_id.to_string();
        let status = |r: Result<Post, Problem>| r.unwrap_err().status.as_u16();
        assert_eq!(status(create(serde_json::json!({"author": author}))), 400);
        let long = "x".repeat(201);
        assert_eq!(
            status(create(serde_json::json!({"title": long, "author": author}))),
            400
        );
        assert_eq!(
            status(create(
                serde_json::json!({"title": "t", "status": "x", "author": author})
            )),
            400
        );
        assert_eq!(
            status(create(
                serde_json::json!({"title": "t", "views": -1, "author": author})
            )),
            400
        );
        assert_eq!(
            status(create(
                serde_json::json!({"title": "t", "extra": 1, "author": author})
            )),
            400
        );
        let other = Uuid::now_v7().to_string();
        assert_eq!(
            status(create(serde_json::json!({"title": "t", "author": other}))),
            403
        );
        assert_eq!(status(Post::create(b"{", caller())), 400);
    }

    #[test]
    fn the_event_is_a_cloudevent_carrying_the_record() {
        let author = caller().user_id.to_string();
        let post = create(serde_json::json!({"title": "t", "author": author})).unwrap();
        let event = serde_json::to_value(Created::of(&post, caller(), Uuid::now_v7())).unwrap();
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], "strata.record.created");
        assert_eq!(event["source"], "/api/v1/posts");
        assert_eq!(event["subject"], post.id.to_string());
        assert_eq!(event["principalid"], author);
        assert_eq!(
            event["data"]["record"],
            serde_json::to_value(&post).unwrap()
        );
    }
}
