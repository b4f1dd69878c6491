//! Reading: every type comes back exactly as written, and lists sort, count and page by keyset as SPEC §14
//! says (NULLs first ascending and last descending, ties broken by `id`, every row exactly once).

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde_json::json;
use strata_core::schema::Collection;
use strata_core::value::parse_datetime;
use strata_core::{Record, Value};
use strata_store::{ListQuery, RecordStore};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

fn datetime(s: &str) -> Value {
    Value::Datetime(parse_datetime(s).unwrap_or_else(|| panic!("bad datetime {s}")))
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}")))
}

pub async fn every_type_round_trips_exactly(store: &dyn RecordStore, _: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let author = record(
        &authors,
        &[("name", text("Zoë 🚀")), ("handle", text("zoe"))],
    );
    let full = record(
        &posts,
        &[
            (
                "title",
                text("Ünïcödé — 日本語 🎉 'single' \"double\" \\back\\slash %_ \t tab"),
            ),
            ("body", text(&"long text ".repeat(5000))),
            ("views", Value::Int(i64::MAX)),
            ("score", Value::Float(0.1 + 0.2)),
            ("published", Value::Bool(true)),
            ("published_at", datetime("2024-02-29T23:59:59.123456Z")),
            ("day", date(2024, 2, 29)),
            ("contact", text("ada@example.com")),
            ("link", text("https://example.com/a?b=c&d=é")),
            ("ref_id", Value::Uuid(Uuid::now_v7())),
            (
                "meta",
                Value::Json(
                    json!({"nested": {"list": [1, 2.5, "three", null, true]}, "ß": "→∑", "big": 9_007_199_254_740_993_i64}),
                ),
            ),
            ("status", text("published")),
            ("author", Value::Uuid(author.id)),
            ("editor", Value::Uuid(author.id)),
            ("reviewer", Value::Uuid(author.id)),
            ("slug", text("full")),
        ],
    );
    let low = record(
        &posts,
        &[
            ("title", text("low")),
            ("views", Value::Int(i64::MIN)),
            ("score", Value::Float(-f64::MAX)),
            ("published", Value::Bool(false)),
            ("published_at", datetime("1000-01-01T00:00:00.000001Z")),
            ("day", date(1000, 1, 1)),
            ("meta", Value::Json(json!([]))),
            ("status", text("draft")),
            ("slug", text("low")),
        ],
    );
    let high = record(
        &posts,
        &[
            ("title", text("high")),
            ("views", Value::Int(0)),
            ("score", Value::Float(f64::MIN_POSITIVE)),
            ("published_at", datetime("9999-12-31T23:59:59.999999Z")),
            ("day", date(9999, 12, 31)),
            ("meta", Value::Json(json!("just a string"))),
        ],
    );
    let nulls = record(&posts, &[("title", text("nulls"))]);
    insert_all(store, &scope, &authors, std::slice::from_ref(&author)).await;
    let written = [full, low, high, nulls];
    insert_all(store, &scope, &posts, &written).await;
    for r in &written {
        let read = get(store, &scope, &posts, r.id)
            .await
            .unwrap_or_else(|| panic!("{} is stored", r.id));
        assert_eq!(&read, r, "the record reads back exactly as written");
    }
    assert_eq!(
        get(store, &scope, &authors, author.id).await.as_ref(),
        Some(&author)
    );

    let page = store
        .list(list_query(&scope, &posts, &[("id", false)], 10))
        .await
        .expect("list");
    let mut expected = written.to_vec();
    expected.sort_by_key(|r| r.id);
    assert_eq!(
        page.records, expected,
        "a list reads the same values as a fetch"
    );
}

/// Posts with ties, NULLs and mixed-case text, in insertion order.
fn sortable_posts(posts: &Collection) -> Vec<Record> {
    let rows: [(&str, Option<i64>, Option<&str>); 8] = [
        ("a", Some(3), Some("draft")),
        ("B", None, Some("published")),
        ("é", Some(3), Some("draft")),
        ("c", Some(1), None),
        ("A", None, Some("draft")),
        ("b", Some(-5), Some("published")),
        ("z", Some(3), Some("published")),
        ("Z", Some(i64::MAX), None),
    ];
    rows.iter()
        .map(|(title, views, status)| {
            record(
                posts,
                &[
                    ("title", text(title)),
                    ("views", views.map_or(Value::Null, Value::Int)),
                    ("status", status.map_or(Value::Null, text)),
                ],
            )
        })
        .collect()
}

/// SPEC §14's order for one key: NULLs first ascending, so last descending.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Uuid(x), Value::Uuid(y)) => x.cmp(y),
        (Value::Datetime(x), Value::Datetime(y)) => x.cmp(y),
        other => panic!("no order for {other:?}"),
    }
}

fn expected_order(c: &Collection, records: &[Record], sort: &[(&str, bool)]) -> Vec<Uuid> {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| {
        sort.iter()
            .map(|(field, descending)| {
                let (x, y) = (
                    a.get(c, field).unwrap_or(Value::Null),
                    b.get(c, field).unwrap_or(Value::Null),
                );
                if *descending {
                    compare(&y, &x)
                } else {
                    compare(&x, &y)
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    sorted.iter().map(|r| r.id).collect()
}

/// Walk every page of `query` by keyset; the ids in the order seen.
async fn walk(store: &dyn RecordStore, c: &Collection, mut query: ListQuery) -> Vec<Uuid> {
    let mut seen = Vec::new();
    loop {
        let page = store.list(query.clone()).await.expect("list a page");
        assert!(page.records.len() <= query.limit as usize);
        seen.extend(page.records.iter().map(|r| r.id));
        let Some(last) = page.records.last() else {
            break;
        };
        if !page.has_more {
            break;
        }
        let after = query
            .sort
            .iter()
            .map(|k| last.get(c, &k.field).unwrap_or(Value::Null))
            .collect();
        query.after = Some(after);
        assert!(seen.len() <= 100, "the walk does not end");
    }
    seen
}

pub async fn lists_sort_and_keyset_pages_visit_every_row_once(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let scope = admin_scope(&schema);
    let posts = collection(&scope, "posts");
    let records = sortable_posts(&posts);
    insert_all(store, &scope, &posts, &records).await;

    let sorts: [&[(&str, bool)]; 6] = [
        &[("created_at", false), ("id", false)],
        &[("views", false), ("id", false)],
        &[("views", true), ("id", true)],
        &[("status", false), ("views", true), ("id", true)],
        &[("status", true), ("views", false), ("id", false)],
        &[("title", false), ("id", false)],
    ];
    for sort in sorts {
        let expected = expected_order(&posts, &records, sort);
        let all = store
            .list(list_query(&scope, &posts, sort, 100))
            .await
            .expect("list");
        let ids: Vec<Uuid> = all.records.iter().map(|r| r.id).collect();
        assert_eq!(ids, expected, "one page sorted by {sort:?}");
        assert!(!all.has_more);
        for limit in [1, 2, 3] {
            let walked = walk(store, &posts, list_query(&scope, &posts, sort, limit)).await;
            assert_eq!(walked, expected, "pages of {limit} sorted by {sort:?}");
        }
    }
    let titles = store
        .list(list_query(
            &scope,
            &posts,
            &[("title", false), ("id", false)],
            100,
        ))
        .await
        .expect("list");
    let titles: Vec<Value> = titles.records.iter().map(|r| r.values[0].clone()).collect();
    let code_points: Vec<Value> = ["A", "B", "Z", "a", "b", "c", "z", "é"]
        .into_iter()
        .map(text)
        .collect();
    assert_eq!(
        titles, code_points,
        "text sorts by code point, case-sensitively"
    );
}

pub async fn lists_count_and_take_an_offset(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let scope = admin_scope(&schema);
    let posts = collection(&scope, "posts");
    let records = sortable_posts(&posts);
    insert_all(store, &scope, &posts, &records).await;
    let sort = [("views", true), ("id", true)];
    let expected = expected_order(&posts, &records, &sort);

    let mut query = list_query(&scope, &posts, &sort, 3);
    query.count = true;
    let page = store.list(query.clone()).await.expect("count");
    assert_eq!(page.total, Some(records.len() as u64));
    assert!(page.has_more);
    query.count = false;
    query.offset = 3;
    let page = store.list(query.clone()).await.expect("offset");
    assert_eq!(page.total, None, "no COUNT(*) unless asked");
    assert_eq!(
        page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        expected[3..6]
    );
    query.offset = 6;
    let page = store.list(query).await.expect("last page");
    assert_eq!(page.records.len(), 2);
    assert!(!page.has_more);

    let empty = schema_with("\n[collections.notes]\nfields.text = { type = \"text\" }\n");
    store.migrate(&empty, false).await.expect("migrate notes");
    let scope = admin_scope(&empty);
    let mut query = list_query(&scope, &collection(&scope, "notes"), &[("id", false)], 10);
    query.count = true;
    let page = store.list(query).await.expect("an empty list");
    assert_eq!(
        (page.records.len(), page.has_more, page.total),
        (0, false, Some(0))
    );
}
