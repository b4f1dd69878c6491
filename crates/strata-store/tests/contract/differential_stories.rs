//! The differential property (issue: authorization): random well-typed expressions over random records give the
//! same answer compiled to SQL on this backend as evaluated in memory. NULLs, empty strings, case folding of
//! Unicode text, integers against floats, datetimes and JSON arrays are all in the mix. Each run draws new cases;
//! a disagreement prints the expression and the rows so it can be replayed by hand.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use strata_core::expr::{CheckScope, EvalContext, Mode, Tri, check, eval, parse};
use strata_core::value::parse_datetime;
use strata_core::{Record, Value};
use strata_store::RecordStore;
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

const TEXTS: &[&str] = &[
    "",
    "a",
    "A",
    "Straße",
    "STRASSE",
    "école",
    "ÉCOLE",
    "İstanbul",
    "istanbul",
    "K",
    "\u{212A}",
    "%_\\",
    "zz",
];
const TEXT_OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">=", "~", "!~"];
const ORDER_OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">="];

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn text_value() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(0.8, prop::sample::select(TEXTS).prop_map(str::to_owned))
}

/// One random post: every field may be null.
fn row() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    (
        text_value(),
        prop::option::weighted(0.8, -3i64..4),
        prop::option::weighted(
            0.8,
            prop::sample::select(vec![-1.5f64, 0.0, 1.0, 2.5, 1e10]),
        ),
        prop::option::weighted(0.8, any::<bool>()),
        prop::option::weighted(
            0.8,
            prop::sample::select(vec![
                "2024-01-01T00:00:00Z",
                "2024-06-30T12:30:00.123456Z",
                "1999-12-31T23:59:59Z",
            ]),
        ),
        prop::option::weighted(0.8, prop::sample::select(vec!["2024-02-29", "2000-01-01"])),
        prop::option::weighted(
            0.7,
            prop::collection::vec(prop::sample::select(vec!["a", "b", "Straße"]), 0..3),
        ),
        prop::option::weighted(0.8, prop::sample::select(vec!["draft", "published"])),
    )
        .prop_map(|(title, views, score, published, at, day, meta, status)| {
            let mut values = vec![("title", title.map_or(Value::Text("-".into()), Value::Text))];
            values.push(("body", Value::Null));
            values.push(("views", views.map_or(Value::Null, Value::Int)));
            values.push(("score", score.map_or(Value::Null, Value::Float)));
            values.push(("published", published.map_or(Value::Null, Value::Bool)));
            values.push((
                "published_at",
                at.and_then(parse_datetime)
                    .map_or(Value::Null, Value::Datetime),
            ));
            values.push((
                "day",
                day.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .map_or(Value::Null, Value::Date),
            ));
            values.push(("meta", meta.map_or(Value::Null, |m| Value::Json(json!(m)))));
            values.push((
                "status",
                status.map_or(Value::Null, |s| Value::Text(s.into())),
            ));
            values
        })
}

/// A leaf condition on one field, well typed.
fn leaf() -> impl Strategy<Value = String> {
    let text = (prop::sample::select(TEXT_OPS), prop::sample::select(TEXTS))
        .prop_map(|(op, v)| format!("title {op} {}", quoted(v)));
    let text_null = prop::sample::select(vec![
        "title = null",
        "title != null",
        "meta = null",
        "meta != null",
    ])
    .prop_map(str::to_owned);
    let ints = (
        prop::sample::select(ORDER_OPS),
        prop::sample::select(vec!["-1", "0", "2", "1.5", "-2.5", "9007199254740993"]),
    )
        .prop_map(|(op, v)| format!("views {op} {v}"));
    let floats = (
        prop::sample::select(ORDER_OPS),
        prop::sample::select(vec!["-1.5", "0", "1", "2.5", "10000000000"]),
    )
        .prop_map(|(op, v)| format!("score {op} {v}"));
    let mixed = prop::sample::select(ORDER_OPS).prop_map(|op| format!("score {op} views"));
    let bools = prop::sample::select(vec![
        "published = true",
        "published = false",
        "published != true",
        "published = null",
    ])
    .prop_map(str::to_owned);
    let times = (
        prop::sample::select(ORDER_OPS),
        prop::sample::select(vec![
            "'2024-01-01T00:00:00Z'",
            "'2024-06-30T14:30:00.123456+02:00'",
            "@now",
        ]),
    )
        .prop_map(|(op, v)| format!("published_at {op} {v}"));
    let days = (
        prop::sample::select(ORDER_OPS),
        prop::sample::select(vec!["'2024-02-29'", "'2001-01-01'"]),
    )
        .prop_map(|(op, v)| format!("day {op} {v}"));
    let json = prop::sample::select(vec!["meta ?= 'a'", "meta ?= 'Straße'", "meta ?= 'z'"])
        .prop_map(str::to_owned);
    let lists = prop::sample::select(vec![
        "status in ('draft')",
        "title in ('a', 'A', '')",
        "views in (0, 2, -3)",
    ])
    .prop_map(str::to_owned);
    let auth = prop::sample::select(vec![
        "title = @auth.email",
        "@auth.roles ?= 'moderator'",
        "@auth.id != null",
        "status = @auth.email",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        text, text_null, ints, floats, mixed, bools, times, days, json, lists, auth
    ]
}

/// Conditions of leaves under `!`, `&&` and `||`.
fn condition() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) && ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) || ({b})")),
        ]
    })
}

pub async fn random_filters_agree_with_the_evaluator(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let admin = admin_scope(&schema);
    let posts = collection(&admin, "posts");
    let scope = user_scope(&admin, Uuid::now_v7());
    let mut runner = TestRunner::new(Config {
        cases: 1,
        ..Config::default()
    });
    let mut checked_count = 0;
    let mut disagreements = Vec::new();
    for _round in 0..4 {
        let rows = prop::collection::vec(row(), 12..20)
            .new_tree(&mut runner)
            .expect("rows")
            .current();
        let records: Vec<Record> = rows.iter().map(|values| record(&posts, values)).collect();
        insert_all(store, &admin, &posts, &records).await;
        let ids: Vec<Uuid> = records.iter().map(|r| r.id).collect();
        let exprs = prop::collection::vec(condition(), 40)
            .new_tree(&mut runner)
            .expect("exprs")
            .current();
        for src in exprs {
            // Some combinations are ill-typed (the checker refuses them, as it would a client's filter).
            let check_scope = CheckScope {
                schema: &scope.schema,
                collection: &posts,
                mode: Mode::Filter,
                hidden_visible: true,
            };
            let Ok(expr) =
                parse(&src).and_then(|e| check(&e, &check_scope).map(|()| std::sync::Arc::new(e)))
            else {
                continue;
            };
            checked_count += 1;
            let mut expected: Vec<Uuid> = records
                .iter()
                .filter(|r| {
                    let ctx = EvalContext {
                        schema: &scope.schema,
                        collection: &posts,
                        record: Some(r),
                        data: None,
                        principal: &scope.principal,
                        now: scope.now,
                    };
                    eval(&expr, &ctx) == Ok(Tri::True)
                })
                .map(|r| r.id)
                .collect();
            expected.sort();
            let fetch = strata_store::FetchQuery {
                scope: scope.clone(),
                collection: posts.clone(),
                ids: ids.clone(),
                conditions: vec![expr],
            };
            match store.fetch(fetch).await {
                Ok(found) => {
                    let mut got: Vec<Uuid> = found.iter().map(|r| r.id).collect();
                    got.sort();
                    if got != expected {
                        let show = |set: &[Uuid]| {
                            set.iter()
                                .filter_map(|id| records.iter().position(|r| r.id == *id))
                                .collect::<Vec<_>>()
                        };
                        disagreements.push(format!(
                            "`{src}`: evaluator rows {:?}, SQL rows {:?}",
                            show(&expected),
                            show(&got)
                        ));
                    }
                }
                Err(e) => disagreements.push(format!("`{src}`: {e:?}")),
            }
        }
        // Next round on fresh rows.
        for id in ids {
            store
                .write(batch(&admin, vec![delete_op(&posts, id)]))
                .await
                .expect("delete");
        }
    }
    assert!(
        checked_count >= 100,
        "only {checked_count} of the generated expressions were well typed"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
