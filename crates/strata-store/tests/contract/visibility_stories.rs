//! What a caller's own filter, sort and cursor see (SPEC §14): a field whose read rule fails reads as null, a
//! relation step reaches only records the caller may view; and read rules that follow relations are decided in
//! SQL, for records read and inside a write's transaction.

use std::sync::Arc;

use strata_core::expr::Mode;
use strata_core::schema::{Action, Collection};
use strata_core::{Record, Value};
use strata_store::{CheckQuery, Checked, ListQuery, RecordStore, Scope, WriteOp, WriteOutcome};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

const CARDS: &str = r#"
[collections.people]
fields.name = { type = "text", max_length = 50 }
fields.mail = { type = "text", max_length = 50 }
rules.list = "true"
rules.view = "id = @auth.id"

[collections.cards]
fields.owner = { type = "relation", collection = "people" }
fields.code  = { type = "text", max_length = 50, read = "owner = @auth.id" }
fields.level = { type = "integer", read = "owner.mail = @auth.email" }
fields.tags  = { type = "json", read = "owner = @auth.id" }
rules.list = "true"
rules.view = "true"
"#;

/// The stories' world: Pat (whose record is the caller's, with the caller's email) and Quinn, and their cards.
struct World {
    admin: Scope,
    pat: Scope,
    cards: Arc<Collection>,
    pat_id: Uuid,
    quinn_id: Uuid,
}

async fn world(store: &dyn RecordStore) -> World {
    let schema = schema_from(CARDS);
    store.migrate(&schema, false).await.expect("migrate");
    let admin = admin_scope(&schema);
    let (people, cards) = (collection(&admin, "people"), collection(&admin, "cards"));
    let pat = record(
        &people,
        &[("name", text("Pat")), ("mail", text("bob@example.com"))],
    );
    let quinn = record(&people, &[("name", text("Quinn"))]);
    insert_all(store, &admin, &people, &[pat.clone(), quinn.clone()]).await;
    World {
        pat: user_scope(&admin, pat.id),
        admin,
        cards,
        pat_id: pat.id,
        quinn_id: quinn.id,
    }
}

fn card(w: &World, owner: Uuid, code: Option<&str>, level: i64) -> Record {
    record(
        &w.cards,
        &[
            ("owner", Value::Uuid(owner)),
            ("code", code.map_or(Value::Null, text)),
            ("level", Value::Int(level)),
            ("tags", Value::Json(serde_json::json!([code]))),
        ],
    )
}

fn ids(records: &[Record]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

/// A list of cards as `scope`'s caller, with its own filter and an order.
fn query(w: &World, scope: &Scope, filter: Option<&str>, sort: &[(&str, bool)]) -> ListQuery {
    let mut q = list_query(scope, &w.cards, sort, 100);
    q.filter = filter.map(|src| checked(scope, &w.cards, src, Mode::Filter));
    q.count = true;
    q
}

async fn matching(store: &dyn RecordStore, w: &World, scope: &Scope, filter: &str) -> Vec<Uuid> {
    let page = store
        .list(query(w, scope, Some(filter), &[("id", false)]))
        .await
        .expect("list");
    assert_eq!(
        page.total,
        Some(page.records.len() as u64),
        "{filter}: the count agrees"
    );
    ids(&page.records)
}

/// Every page of `q` by keyset, each position taken as Pat reads it: a code of another's card is null.
async fn walk(store: &dyn RecordStore, w: &World, mut q: ListQuery) -> Vec<Uuid> {
    q.limit = 2;
    q.count = false;
    let mut seen = Vec::new();
    loop {
        let page = store.list(q.clone()).await.expect("list a page");
        seen.extend(ids(&page.records));
        let Some(last) = page.records.last().filter(|_| page.has_more) else {
            break;
        };
        let code = match last.get(&w.cards, "owner") {
            Some(Value::Uuid(owner)) if owner == w.pat_id => {
                last.get(&w.cards, "code").unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        q.after = Some(vec![code, Value::Uuid(last.id)]);
        assert!(seen.len() <= 20, "the walk does not end");
    }
    seen
}

pub async fn a_callers_filter_sort_and_cursor_read_hidden_values_as_null(
    store: &dyn RecordStore,
    _: &Probe,
) {
    let w = world(store).await;
    let (pat, quinn) = (w.pat_id, w.quinn_id);
    let c = [
        card(&w, pat, Some("b"), 1),
        card(&w, quinn, Some("a"), 2),
        card(&w, pat, None, 3),
        card(&w, quinn, Some("z"), 4),
        card(&w, pat, Some("c"), 5),
    ];
    insert_all(store, &w.admin, &w.cards, &c).await;
    let id = |i: usize| c[i].id;

    assert_eq!(
        matching(store, &w, &w.pat, "code = null").await,
        [id(1), id(2), id(3)],
        "Quinn's codes read as null to Pat"
    );
    assert!(matching(store, &w, &w.pat, "code = 'a'").await.is_empty());
    assert_eq!(
        matching(store, &w, &w.pat, "code >= 'a'").await,
        [id(0), id(4)]
    );
    assert_eq!(matching(store, &w, &w.admin, "code = 'a'").await, [id(1)]);
    assert_eq!(
        matching(store, &w, &w.pat, "tags ?= 'a' || tags ?= 'b'").await,
        [id(0)]
    );
    assert_eq!(
        matching(store, &w, &w.admin, "tags ?= 'a' || tags ?= 'b'").await,
        [id(0), id(1)]
    );
    assert!(
        matching(store, &w, &w.pat, "owner.name = 'Quinn'")
            .await
            .is_empty(),
        "Pat may not view Quinn's record"
    );
    assert_eq!(
        matching(store, &w, &w.pat, "owner.name = 'Pat'").await,
        [id(0), id(2), id(4)]
    );
    assert_eq!(
        matching(store, &w, &w.admin, "owner.name = 'Quinn'").await,
        [id(1), id(3)]
    );

    let ascending = [id(1), id(2), id(3), id(0), id(4)];
    let descending = [id(4), id(0), id(3), id(2), id(1)];
    for (sort, expected) in [
        ([("code", false), ("id", false)], ascending),
        ([("code", true), ("id", true)], descending),
    ] {
        let q = query(&w, &w.pat, None, &sort);
        let page = store.list(q.clone()).await.expect("list");
        assert_eq!(
            ids(&page.records),
            expected,
            "{sort:?}: nulls where Pat reads null"
        );
        assert_eq!(walk(store, &w, q).await, expected, "{sort:?} by keyset");
    }
    let by_admin = store
        .list(query(&w, &w.admin, None, &[("code", false), ("id", false)]))
        .await
        .expect("list");
    assert_eq!(
        ids(&by_admin.records),
        [id(2), id(1), id(0), id(4), id(3)],
        "admins sort by the stored values"
    );
}

pub async fn read_rules_that_follow_relations_are_decided_in_sql(
    store: &dyn RecordStore,
    _: &Probe,
) {
    let w = world(store).await;
    let mine = card(&w, w.pat_id, None, 1);
    let theirs = card(&w, w.quinn_id, None, 2);
    insert_all(store, &w.admin, &w.cards, &[mine.clone(), theirs.clone()]).await;
    let level = checked(
        &w.pat,
        &w.cards,
        "owner.mail = @auth.email",
        Mode::Rule(Action::View),
    );
    let mut decided = store
        .check(CheckQuery {
            scope: w.pat.clone(),
            collection: w.cards.clone(),
            ids: vec![mine.id, theirs.id, Uuid::now_v7()],
            checks: vec![level.clone()],
        })
        .await
        .expect("check");
    decided.sort_by_key(|c| c.id);
    assert_eq!(
        decided,
        [
            Checked {
                id: mine.id,
                version: 1,
                holds: vec![true]
            },
            Checked {
                id: theirs.id,
                version: 1,
                holds: vec![false]
            },
        ],
        "one answer per record that exists"
    );

    // In a write, as Pat: the rule is decided on the written row, in the transaction.
    let created = card(&w, w.pat_id, None, 3);
    let ownerless = record(&w.cards, &[("level", Value::Int(4))]);
    let insert = |r: &Record| WriteOp::Insert {
        collection: w.cards.clone(),
        record: r.clone(),
        check: None,
        reads: vec![level.clone()],
    };
    let mut update = update_op(&w.cards, mine.id, None, vec![("level", Value::Int(9))]);
    if let WriteOp::Update { reads, .. } = &mut update {
        reads.push(level.clone());
    }
    let outcomes = write(
        store,
        &w.pat,
        vec![insert(&created), insert(&ownerless), update],
    )
    .await
    .expect("write");
    let holds: Vec<&[bool]> = outcomes
        .iter()
        .map(|o| match o {
            WriteOutcome::Created(_, holds) | WriteOutcome::Updated(_, holds) => holds.as_slice(),
            WriteOutcome::Deleted(_) => &[],
        })
        .collect();
    assert_eq!(holds, [&[true][..], &[false], &[true]]);
}
