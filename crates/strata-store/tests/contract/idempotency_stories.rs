//! Idempotency keys (SPEC §14): claimed first, in progress while held, done with their answer, released on a
//! 5xx, taken over once lapsed; a 2xx is stored in the write's own transaction and a failed write stores nothing.

use chrono::Duration;
use strata_store::{
    Claim, IdempotencyKey, IdempotentResponse, RecordStore, WriteBatch, WriteOutcome,
};

use crate::fixtures::*;
use crate::harness::Probe;

fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey {
        scope: "user:1".into(),
        key: name.into(),
        fingerprint: format!("sha256-of-{name}"),
    }
}

pub async fn idempotency_keys_go_from_claimed_to_done(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let now = strata_core::value::now();
    let lapse = now - Duration::minutes(1);
    let claim = |k: IdempotencyKey, before| store.claim_idempotency(k, before);

    assert!(matches!(
        claim(key("a"), lapse).await.expect("claim"),
        Claim::Claimed
    ));
    assert!(
        matches!(
            claim(key("a"), lapse).await.expect("claim"),
            Claim::InProgress
        ),
        "a held key is in progress"
    );
    let response = IdempotentResponse {
        status: 422,
        headers: vec![("content-type".into(), "application/problem+json".into())],
        body: br#"{"title":"Unprocessable"}"#.to_vec(),
    };
    store
        .complete_idempotency(key("a"), response.clone())
        .await
        .expect("complete");
    match claim(key("a"), lapse).await.expect("claim") {
        Claim::Done {
            fingerprint,
            response: stored,
        } => {
            assert_eq!(fingerprint, key("a").fingerprint);
            assert_eq!(
                (stored.status, stored.headers, stored.body),
                (response.status, response.headers, response.body)
            );
        }
        other => panic!("a completed key replays, got {other:?}"),
    }

    assert!(matches!(
        claim(key("b"), lapse).await.expect("claim"),
        Claim::Claimed
    ));
    store.release_idempotency(key("b")).await.expect("release");
    assert!(
        matches!(claim(key("b"), lapse).await.expect("claim"), Claim::Claimed),
        "a released key is free"
    );
    let later = strata_core::value::now() + Duration::hours(1);
    assert!(
        matches!(claim(key("b"), later).await.expect("claim"), Claim::Claimed),
        "a lapsed claim is taken over"
    );

    // A 2xx is stored in the write's own transaction; a failed write stores nothing.
    let scope = admin_scope(&schema);
    let posts = collection(&scope, "posts");
    assert!(matches!(
        claim(key("c"), lapse).await.expect("claim"),
        Claim::Claimed
    ));
    let post = record(&posts, &[("title", text("once")), ("slug", text("once"))]);
    let finish = Box::new(|_: &[WriteOutcome]| IdempotentResponse {
        status: 201,
        headers: vec![],
        body: b"{}".to_vec(),
    });
    let mut with_key = batch(&scope, vec![insert_op(&posts, &post)]);
    with_key.idempotency = Some((key("c"), finish));
    store.write(with_key).await.expect("write with its key");
    assert!(
        matches!(claim(key("c"), lapse).await.expect("claim"), Claim::Done { response, .. } if response.status == 201)
    );

    assert!(matches!(
        claim(key("d"), lapse).await.expect("claim"),
        Claim::Claimed
    ));
    let finish = Box::new(|_: &[WriteOutcome]| IdempotentResponse {
        status: 201,
        headers: vec![],
        body: vec![],
    });
    let twin = record(&posts, &[("title", text("twice")), ("slug", text("once"))]);
    let failing: WriteBatch = WriteBatch {
        idempotency: Some((key("d"), finish)),
        ..batch(&scope, vec![insert_op(&posts, &twin)])
    };
    error(store.write(failing).await);
    assert!(
        matches!(
            claim(key("d"), lapse).await.expect("claim"),
            Claim::InProgress
        ),
        "nothing was stored"
    );
}
