//! Conditions (SPEC §7, §14): every backend selects, counts and fetches exactly the rows the in-memory evaluator
//! accepts, and relation paths read the related table.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;
use strata_core::expr::{EvalContext, Mode, Tri, eval};
use strata_core::schema::Collection;
use strata_core::value::parse_datetime;
use strata_core::{Record, Value};
use strata_store::{FetchQuery, RecordStore};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

/// Conditions the evaluator can decide alone; the same set the compiler's SQLite differential test runs.
const FILTERS: &[&str] = &[
    "title = 'Straße'",
    "title != 'Straße'",
    "title < 'a'",
    "title >= 'É'",
    "title in ('Straße', @auth.email, '')",
    "title ~ 'STRAẞE'",
    "title ~ 'strasse'",
    "title ~ 'école'",
    "title ~ 'i'",
    "title ~ 'İ'",
    "title !~ 'e'",
    "title ~ '%'",
    "title ~ '_x_'",
    "title ~ '\\\\'",
    "title ~ ''",
    "title ~ 'k'",
    "title ~ 'S'",
    "title ~ '.'",
    "title !~ ''",
    "views = null",
    "views != null",
    "views > 1.5",
    "views = 2.0",
    "views in (1, 2, 1.5)",
    "views > 9007199254740992.0",
    "views >= 9.3e18",
    "views = 9007199254740993",
    "score > 2",
    "score < 9007199254740993",
    "score >= 9223372036854775807",
    "score = views",
    "score > views",
    "published",
    "!published",
    "published = false",
    "published != true",
    "published_at > '2024-01-01T00:00:00Z'",
    "published_at < @now",
    "published_at = '2024-06-01T14:30:00.123456+02:00'",
    "published_at = '2024-06-01T12:30:00Z'",
    "day >= '2024-01-01'",
    "day = null",
    "day < '2024-03-01'",
    "meta ?= 'a'",
    "meta ?= 1",
    "meta ?= 2.5",
    "meta ?= true",
    "meta ?= 'K'",
    "meta = null",
    "!(meta ?= 'a')",
    "author = @auth.id",
    "author != @auth.id",
    "author = null || author = @auth.id",
    "@auth.roles ?= 'moderator' && views > 0",
    "!(title = 'x' || views = 1)",
    "(views = 1 || score = 2) && !(published = null)",
    "created_at <= updated_at && version = 1",
];

fn at(s: &str) -> Value {
    Value::Datetime(parse_datetime(s).unwrap_or_else(|| panic!("bad datetime {s}")))
}

fn day(s: &str) -> Value {
    Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}")))
}

/// Rows with nulls, text that case folding treats specially, integers past 2^53, floats and datetimes at the
/// ends of their range; rows 0 and 4 are Bob's, row 2 Ann's.
fn filter_posts(posts: &Collection, bob: Uuid, ann: Uuid) -> Vec<Record> {
    let (t, f, n) = (Value::Bool(true), Value::Bool(false), Value::Null);
    let row = |title: Value,
               views: Value,
               score: f64,
               published: Value,
               at: Value,
               day: Value,
               meta,
               author| {
        let fields = [
            ("title", title),
            ("views", views),
            ("score", Value::Float(score)),
            ("published", published),
            ("published_at", at),
            ("day", day),
            ("meta", meta),
            ("author", author),
        ];
        record(posts, &fields)
    };
    let json = |j: serde_json::Value| Value::Json(j);
    vec![
        row(
            text("Straße"),
            Value::Int(1),
            1.5,
            t.clone(),
            at("2024-01-01T00:00:00Z"),
            day("2024-01-01"),
            json(json!(["a", "b"])),
            Value::Uuid(bob),
        ),
        row(
            text("ÉCOLE normale"),
            Value::Int(2),
            2.0,
            f.clone(),
            at("2024-06-01T12:30:00.123456Z"),
            day("2024-06-01"),
            json(json!([1, 2.5, true])),
            n.clone(),
        ),
        row(
            text("İstanbul"),
            n.clone(),
            0.25,
            n.clone(),
            n.clone(),
            n.clone(),
            n.clone(),
            Value::Uuid(ann),
        ),
        row(
            n.clone(),
            Value::Int(9_007_199_254_740_993),
            -0.5,
            t.clone(),
            at("9999-12-31T23:59:59.999999Z"),
            day("1000-01-01"),
            json(json!({"a": "a"})),
            n.clone(),
        ),
        row(
            text("100% \\ _x_ a"),
            Value::Int(-5),
            1e300,
            f,
            at("1000-01-01T00:00:00Z"),
            day("9999-12-31"),
            json(json!([])),
            Value::Uuid(bob),
        ),
        row(
            text("kelvin \u{212A} ſ"),
            Value::Int(i64::MAX),
            9_223_372_036_854_775_808.0,
            n.clone(),
            at("2024-06-01T12:30:00Z"),
            n.clone(),
            json(json!(["K", ["a"]])),
            n.clone(),
        ),
        row(
            text(""),
            Value::Int(0),
            0.0,
            t,
            n.clone(),
            day("2024-02-29"),
            json(json!("a")),
            n,
        ),
    ]
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

pub async fn filters_select_what_the_evaluator_accepts(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let admin = admin_scope(&schema);
    let (authors, posts) = (collection(&admin, "authors"), collection(&admin, "posts"));
    let bob = record(&authors, &[("name", text("Bob")), ("handle", text("bob"))]);
    let ann = record(&authors, &[("name", text("Ann")), ("handle", text("ann"))]);
    insert_all(store, &admin, &authors, &[bob.clone(), ann.clone()]).await;
    let rows = filter_posts(&posts, bob.id, ann.id);
    insert_all(store, &admin, &posts, &rows).await;
    let scope = user_scope(&admin, bob.id);

    // Row positions, for messages a reader can check against `filter_posts`.
    let positions = |ids: Vec<Uuid>| -> Vec<usize> {
        let mut p: Vec<usize> = ids
            .iter()
            .filter_map(|id| rows.iter().position(|r| r.id == *id))
            .collect();
        p.sort_unstable();
        p
    };
    let mut disagreements = Vec::new();
    for src in FILTERS {
        let expr = checked(&scope, &posts, src, Mode::Filter);
        let accepts = |r: &&Record| {
            let ctx = EvalContext {
                schema: &scope.schema,
                collection: &posts,
                record: Some(*r),
                data: None,
                principal: &scope.principal,
                now: scope.now,
            };
            eval(&expr, &ctx).unwrap_or_else(|_| panic!("{src} needs the store")) == Tri::True
        };
        let expected = positions(rows.iter().filter(accepts).map(|r| r.id).collect());
        let mut query = list_query(&scope, &posts, &[("id", false)], 100);
        query.conditions = vec![expr.clone()];
        query.count = true;
        let ids = rows.iter().map(|r| r.id).collect();
        let fetch = FetchQuery {
            scope: scope.clone(),
            collection: posts.clone(),
            ids,
            conditions: vec![expr],
        };
        let outcome = match (store.list(query).await, store.fetch(fetch).await) {
            (Ok(page), Ok(fetched)) => {
                let listed: Vec<Uuid> = page.records.iter().map(|r| r.id).collect();
                let ordered = listed.windows(2).all(|w| w[0] < w[1]);
                let (listed, fetched) = (
                    positions(listed),
                    positions(fetched.iter().map(|r| r.id).collect()),
                );
                let total = page.total.map(|n| n as usize);
                (ordered
                    && listed == expected
                    && fetched == expected
                    && total == Some(expected.len()))
                .then_some(())
                .ok_or(format!(
                    "list {listed:?} (count {total:?}), fetch {fetched:?}"
                ))
            }
            (Err(e), _) | (_, Err(e)) => Err(format!("{e:?}")),
        };
        if let Err(got) = outcome {
            disagreements.push(format!(
                "`{src}`: rows {expected:?} by the evaluator, {got}"
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "the backend disagrees with the evaluator:\n{}",
        disagreements.join("\n")
    );

    let matching = |c: Arc<Collection>, src: &'static str| {
        let mut query = list_query(&scope, &c, &[("id", false)], 100);
        query.conditions = vec![checked(&scope, &c, src, Mode::Filter)];
        async move {
            store
                .list(query)
                .await
                .unwrap_or_else(|e| panic!("{src}: {e:?}"))
                .records
        }
    };
    let ids = |records: Vec<Record>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(matching(posts.clone(), "author.name = 'Bob'").await),
        sorted(vec![rows[0].id, rows[4].id])
    );
    assert_eq!(
        ids(matching(posts.clone(), "author.name ~ 'AN'").await),
        vec![rows[2].id]
    );
    let without: Vec<Uuid> = [1, 3, 5, 6].iter().map(|&i| rows[i].id).collect();
    assert_eq!(
        ids(matching(posts.clone(), "author.name = null").await),
        without
    );
    assert_eq!(
        ids(matching(authors.clone(), "posts_via_author.title ?= 'Straße'").await),
        vec![bob.id]
    );
}
