//! Property: walking a list page by page with its cursors visits every record exactly once, whatever the sort
//! (NULLs and ties included) and the page size, while other records are inserted between pages (SPEC §14).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use strata_core::Principal;
use strata_core::schema::Schema;
use strata_service::{Context, ReadParams, RecordService};
use strata_store::RecordStore;
use strata_store::sqlite::SqliteStore;

const SCHEMA: &str = r#"
[collections.items]
fields.a = { type = "integer" }
fields.b = { type = "text", max_length = 10 }
fields.c = { type = "boolean" }
rules.list = "true"
rules.view = "true"
rules.create = "true"
"#;

fn item() -> impl Strategy<Value = (Option<i64>, Option<String>, Option<bool>)> {
    (
        prop::option::of(0i64..3),
        prop::option::of(prop::sample::select(vec![
            "x".to_owned(),
            "Y".into(),
            "ü".into(),
            "".into(),
        ])),
        prop::option::of(any::<bool>()),
    )
}

fn sort() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "a",
        "-a",
        "b",
        "-b",
        "c",
        "-c",
        "created_at",
        "-created_at",
    ]);
    prop::collection::vec(key, 0..3).prop_map(|keys| {
        let mut seen = Vec::new();
        for k in keys {
            let name = k.trim_start_matches('-');
            if !seen
                .iter()
                .any(|s: &&str| s.trim_start_matches('-') == name)
            {
                seen.push(k);
            }
        }
        seen.join(",")
    })
}

fn body((a, b, c): &(Option<i64>, Option<String>, Option<bool>)) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("a".into(), json!(a));
    map.insert("b".into(), json!(b));
    map.insert("c".into(), json!(c));
    map
}

async fn walk(
    initial: Vec<(Option<i64>, Option<String>, Option<bool>)>,
    inserts: Vec<(Option<i64>, Option<String>, Option<bool>)>,
    sort: String,
    page: u32,
    filter: Option<String>,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("data.db"), 2, Duration::from_secs(5)).expect("open"),
    );
    let schema = Arc::new(Schema::from_toml(SCHEMA).expect("schema"));
    store.migrate(&schema, false).await.expect("migrate");
    let records = RecordService::new(store.clone(), schema, Duration::from_secs(30));
    let ctx = Context::new(Principal::anonymous(), "test");

    let mut expected = Vec::new();
    for item in &initial {
        let created = match records
            .create(&ctx, "items", body(item), None)
            .await
            .expect("create")
        {
            strata_service::Written::Fresh(doc) => doc,
            strata_service::Written::Replayed(_) => unreachable!("no idempotency key"),
        };
        // `a != 1` holds only where `a` is known and not 1: SQL's null logic.
        let matches = filter.is_none() || item.0.is_some_and(|a| a != 1);
        expected.push((created.record.id, matches));
    }
    let mut seen: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut cursor = None;
    let mut pending = inserts.iter();
    loop {
        let params = ReadParams {
            sort: (!sort.is_empty()).then(|| sort.clone()),
            limit: Some(page.to_string()),
            cursor: cursor.clone(),
            filter: filter.clone(),
            ..ReadParams::default()
        };
        let result = records.list(&ctx, "items", &params).await.expect("list");
        for doc in &result.docs {
            *seen.entry(doc.record.id).or_default() += 1;
        }
        if let Some(item) = pending.next() {
            records
                .create(&ctx, "items", body(item), None)
                .await
                .expect("insert between pages");
        }
        match result.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for (id, count) in &seen {
        prop_assert_eq!(
            *count,
            1,
            "record {} seen {} times with sort `{}`",
            id,
            count,
            sort
        );
    }
    for (id, matches) in &expected {
        prop_assert_eq!(
            seen.contains_key(id),
            *matches,
            "record {} with sort `{}` and filter {:?}",
            id,
            sort,
            filter
        );
    }
    store.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_record_is_visited_exactly_once(
        initial in prop::collection::vec(item(), 0..30),
        inserts in prop::collection::vec(item(), 0..10),
        sort in sort(),
        page in 1u32..6,
        filtered in any::<bool>(),
    ) {
        let filter = filtered.then(|| "a != 1".to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(walk(initial, inserts, sort, page, filter))?;
    }
}
