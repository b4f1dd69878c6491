//! Lone creates sent together (on PostgreSQL and MySQL, written in one transaction) each commit or fail alone, as
//! in [`crate::concurrent_stories`].

use strata_core::{ColType, Record, Value};
use strata_store::{RecordStore, StoreError};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;
use crate::together_stories::waiting_on_a_lock;

pub async fn creates_sent_together_commit_together(store: &dyn RecordStore, probe: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let (ada, _) = ada_and_a_taken_slug(store, &scope, &authors, &posts).await;
    let post = |slug: String, author: Uuid| {
        record(
            &posts,
            &[
                ("title", text("new")),
                ("slug", text(&slug)),
                ("author", Value::Uuid(author)),
            ],
        )
    };

    // A round with creates whose author does not exist, then one with a slug already taken: every other create
    // of each round commits, with its event.
    for round in ["stray authors", "a taken slug"] {
        let creates: Vec<(Record, Option<&str>)> = (0..30)
            .map(|i| match (round, i % 6) {
                ("stray authors", 5) => {
                    (post(format!("{round}-{i}"), Uuid::now_v7()), Some("author"))
                }
                ("a taken slug", 5) => (post("taken".to_owned(), ada.id), Some("slug")),
                _ => (post(format!("{round}-{i}"), ada.id), None),
            })
            .collect();
        let writes = futures::future::join_all(
            creates
                .iter()
                .map(|(r, _)| write(store, &scope, vec![insert_op(&posts, r)])),
        );
        let results = if matches!(probe, Probe::Sqlite(_)) {
            writes.await
        } else {
            let (results, waiting) = waiting_on_a_lock(probe, writes).await;
            assert_eq!(
                waiting, 2,
                "{round}: two creates wait on the lock (two groups may run at once), the others wait for them"
            );
            results
        };
        for ((record, fails_on), result) in creates.iter().zip(results) {
            let kept = match (fails_on, result) {
                (None, Ok(_)) => true,
                (Some("author"), Err(e)) => {
                    assert!(
                        matches!(&e.error, StoreError::InvalidRelation { field } if field == "author"),
                        "{round}: {e:?}"
                    );
                    false
                }
                (Some("slug"), Err(e)) => {
                    assert!(
                        matches!(&e.error, StoreError::Unique { field } if field == "slug"),
                        "{round}: {e:?}"
                    );
                    false
                }
                (expected, result) => {
                    panic!("{round}: expected a failure on {expected:?}, got {result:?}")
                }
            };
            let count = |table| {
                probe.count(
                    table,
                    if table == "posts" { "id" } else { "subject" },
                    Value::Uuid(record.id),
                    ColType::Uuid,
                )
            };
            assert_eq!(count("posts").await, i64::from(kept), "{round}: the record");
            assert_eq!(
                count("_outbox").await,
                i64::from(kept),
                "{round}: its event"
            );
        }
        if round == "stray authors" && matches!(probe, Probe::Postgres(_)) {
            // The first two creates alone, the rest in one transaction: the rows carry three transaction ids.
            let mut b = strata_store::sql::SqlBuilder::new(probe.dialect());
            b.push("SELECT COUNT(DISTINCT xmin::text) FROM posts WHERE slug LIKE ")
                .param(text("stray authors-%"), ColType::Text);
            let rows = probe.fetch(&b, &[ColType::Int]).await.expect("xmin");
            assert_eq!(
                rows,
                vec![vec![Value::Int(3)]],
                "transactions that wrote the round"
            );
        }
    }
}
