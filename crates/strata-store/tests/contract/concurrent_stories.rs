//! Writes arriving together (on SQLite, committed together by the one writer): each commits or fails alone. A
//! write that fails leaves nothing behind and takes no other write with it, whether it fails before changing a
//! row (a taken unique value, a missing relation, a stale version) or after (a create rule decided on the stored
//! row, the second op of a batch).

use std::future::Future;
use std::pin::Pin;

use strata_core::expr::Mode;
use strata_core::schema::Action;
use strata_core::{ColType, Value};
use strata_store::{BatchError, RecordStore, StoreError, WriteOp, WriteOutcome};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Vec<WriteOutcome>, BatchError>> + Send + 'a>>;

/// What a write of the story must come to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Done,
    Unique,
    InvalidRelation,
    VersionMismatch,
    Forbidden,
}

fn came_to(result: &Result<Vec<WriteOutcome>, BatchError>) -> Expect {
    match result {
        Ok(_) => Expect::Done,
        Err(e) => match &e.error {
            StoreError::Unique { .. } => Expect::Unique,
            StoreError::InvalidRelation { .. } => Expect::InvalidRelation,
            StoreError::VersionMismatch => Expect::VersionMismatch,
            StoreError::Forbidden => Expect::Forbidden,
            other => panic!("unexpected error {other:?}"),
        },
    }
}

pub async fn writes_sent_together_commit_or_fail_alone(store: &dyn RecordStore, probe: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let (ada, taken) = ada_and_a_taken_slug(store, &scope, &authors, &posts).await;

    let post = |title: &str, slug: &str, author: Uuid| {
        record(
            &posts,
            &[
                ("title", text(title)),
                ("slug", text(slug)),
                ("views", Value::Int(1)),
                ("author", Value::Uuid(author)),
            ],
        )
    };
    let mut writes: Vec<(Expect, Vec<WriteOp>)> = Vec::new();
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    for i in 0..60 {
        let good = post("good", &format!("good-{i}"), ada.id);
        kept.push(good.id);
        writes.push((Expect::Done, vec![insert_op(&posts, &good)]));
        let failing = match i % 5 {
            0 => (
                Expect::Unique,
                vec![insert_op(&posts, &post("dup", "taken", ada.id))],
            ),
            1 => {
                let stray = post("stray", &format!("stray-{i}"), Uuid::now_v7());
                (Expect::InvalidRelation, vec![insert_op(&posts, &stray)])
            }
            2 => (
                Expect::VersionMismatch,
                vec![update_op(
                    &posts,
                    taken.id,
                    Some(99),
                    vec![("title", text("lost"))],
                )],
            ),
            3 => {
                let refused = post("refused", &format!("refused-{i}"), ada.id);
                let rule = checked(&scope, &posts, "views > 100", Mode::Rule(Action::Create));
                let op = WriteOp::Insert {
                    collection: posts.clone(),
                    record: refused.clone(),
                    check: Some(rule),
                    reads: Vec::new(),
                };
                (Expect::Forbidden, vec![op])
            }
            _ => {
                let first = post("first of two", &format!("first-{i}"), ada.id);
                let second = post("second of two", "taken", ada.id);
                (
                    Expect::Unique,
                    vec![insert_op(&posts, &first), insert_op(&posts, &second)],
                )
            }
        };
        if let Some(WriteOp::Insert { record, .. }) = failing.1.first() {
            lost.push(record.id);
        }
        writes.push(failing);
    }

    let expected: Vec<Expect> = writes.iter().map(|(e, _)| *e).collect();
    let pending: Vec<Pending<'_>> = writes
        .into_iter()
        .map(|(_, ops)| -> Pending<'_> { Box::pin(write(store, &scope, ops)) })
        .collect();
    let results = futures::future::join_all(pending).await;
    let outcomes: Vec<Expect> = results.iter().map(came_to).collect();
    assert_eq!(outcomes, expected);

    for id in &kept {
        assert_eq!(
            probe
                .count("_outbox", "subject", Value::Uuid(*id), ColType::Uuid)
                .await,
            1,
            "a committed create has its event"
        );
    }
    for id in &lost {
        assert_eq!(
            probe
                .count("posts", "id", Value::Uuid(*id), ColType::Uuid)
                .await,
            0
        );
        assert_eq!(
            probe
                .count("_outbox", "subject", Value::Uuid(*id), ColType::Uuid)
                .await,
            0
        );
    }
    assert_eq!(probe.count_all("posts").await, 1 + kept.len() as i64);
    assert_eq!(
        probe
            .count("posts", "title", text("taken"), ColType::Text)
            .await,
        1,
        "a stale update changed nothing"
    );
}
