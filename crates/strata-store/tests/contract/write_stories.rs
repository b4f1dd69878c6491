//! Writing: constraint errors name what failed, versions guard updates, relations act on delete as declared,
//! and a batch commits whole, with its outbox events, or not at all.

use strata_core::{ColType, Value};
use strata_store::{RecordStore, StoreError, WriteOutcome};
use uuid::Uuid;

use crate::fixtures::*;
use crate::harness::Probe;

pub async fn a_unique_violation_names_the_field(store: &dyn RecordStore, _: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let first = record(&posts, &[("title", text("one")), ("slug", text("same"))]);
    insert_all(store, &scope, &posts, std::slice::from_ref(&first)).await;

    let again = record(&posts, &[("title", text("two")), ("slug", text("same"))]);
    let e = error(write(store, &scope, vec![insert_op(&posts, &again)]).await);
    assert_eq!(e.index, 0);
    assert!(
        matches!(&e.error, StoreError::Unique { field } if field == "slug"),
        "{:?}",
        e.error
    );

    let ada = record(&authors, &[("name", text("Ada")), ("handle", text("ada"))]);
    insert_all(store, &scope, &authors, std::slice::from_ref(&ada)).await;
    let twin = record(
        &authors,
        &[("name", text("Ada II")), ("handle", text("ada"))],
    );
    let e = error(write(store, &scope, vec![insert_op(&authors, &twin)]).await);
    assert!(
        matches!(&e.error, StoreError::Unique { field } if field == "handle"),
        "{:?}",
        e.error
    );

    let mut same_id = record(&authors, &[("name", text("Copy"))]);
    same_id.id = ada.id;
    let e = error(write(store, &scope, vec![insert_op(&authors, &same_id)]).await);
    assert!(
        matches!(&e.error, StoreError::Unique { field } if field == "id"),
        "{:?}",
        e.error
    );

    let differs = record(&authors, &[("name", text("Ada")), ("handle", text("ADA"))]);
    write(store, &scope, vec![insert_op(&authors, &differs)])
        .await
        .expect("unique is case-sensitive");
    let padded = record(&authors, &[("name", text("Ada")), ("handle", text("ada "))]);
    write(store, &scope, vec![insert_op(&authors, &padded)])
        .await
        .expect("unique is pad-free");
}

pub async fn an_update_checks_the_version_it_was_asked_for(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let scope = admin_scope(&schema);
    let posts = collection(&scope, "posts");
    let post = record(&posts, &[("title", text("v1")), ("views", Value::Int(1))]);
    insert_all(store, &scope, &posts, std::slice::from_ref(&post)).await;

    let stale = update_op(&posts, post.id, Some(2), vec![("title", text("lost"))]);
    let e = error(write(store, &scope, vec![stale]).await);
    assert!(
        matches!(e.error, StoreError::VersionMismatch),
        "{:?}",
        e.error
    );

    let fresh = update_op(
        &posts,
        post.id,
        Some(1),
        vec![("title", text("v2")), ("views", Value::Null)],
    );
    let outcomes = write(store, &scope, vec![fresh])
        .await
        .expect("the matching version updates");
    let [WriteOutcome::Updated(updated, _)] = outcomes.as_slice() else {
        panic!("{outcomes:?}")
    };
    assert_eq!(updated.version, 2);
    let stored = get(store, &scope, &posts, post.id).await.expect("stored");
    assert_eq!(&stored, updated, "the outcome is what was stored");
    assert_eq!(
        (stored.values[0].clone(), stored.values[2].clone()),
        (text("v2"), Value::Null)
    );
    assert!(stored.updated_at >= post.updated_at);
    assert_eq!(stored.created_at, post.created_at);

    let e = error(
        write(
            store,
            &scope,
            vec![update_op(&posts, Uuid::now_v7(), None, vec![])],
        )
        .await,
    );
    assert!(matches!(e.error, StoreError::NotFound), "{:?}", e.error);
}

pub async fn relations_restrict_cascade_and_set_null_on_delete(store: &dyn RecordStore, _: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let ada = record(&authors, &[("name", text("Ada"))]);
    insert_all(store, &scope, &authors, std::slice::from_ref(&ada)).await;
    let by = |title: &str, field: &str| {
        record(
            &posts,
            &[("title", text(title)), (field, Value::Uuid(ada.id))],
        )
    };
    let (written, edited, reviewed) = (
        by("written", "author"),
        by("edited", "editor"),
        by("reviewed", "reviewer"),
    );
    insert_all(
        store,
        &scope,
        &posts,
        &[written.clone(), edited.clone(), reviewed.clone()],
    )
    .await;

    let missing = record(
        &posts,
        &[
            ("title", text("orphan")),
            ("author", Value::Uuid(Uuid::now_v7())),
        ],
    );
    let e = error(write(store, &scope, vec![insert_op(&posts, &missing)]).await);
    assert!(
        matches!(&e.error, StoreError::InvalidRelation { field } if field == "author"),
        "{:?}",
        e.error
    );

    let e = error(write(store, &scope, vec![delete_op(&authors, ada.id)]).await);
    assert!(
        matches!(e.error, StoreError::Restricted),
        "a restrict relation blocks the delete: {:?}",
        e.error
    );
    for post in [&written, &edited, &reviewed] {
        assert!(
            get(store, &scope, &posts, post.id).await.is_some(),
            "nothing was deleted"
        );
    }
    assert!(get(store, &scope, &authors, ada.id).await.is_some());

    let unreview = update_op(&posts, reviewed.id, None, vec![("reviewer", Value::Null)]);
    write(store, &scope, vec![unreview])
        .await
        .expect("clear the restricting relation");
    let outcomes = write(store, &scope, vec![delete_op(&authors, ada.id)])
        .await
        .expect("now the delete goes through");
    assert!(matches!(outcomes.as_slice(), [WriteOutcome::Deleted(r)] if r.id == ada.id));
    assert!(get(store, &scope, &authors, ada.id).await.is_none());
    assert!(
        get(store, &scope, &posts, written.id).await.is_none(),
        "cascade deleted the post"
    );
    let edited = get(store, &scope, &posts, edited.id)
        .await
        .expect("set_null keeps the post");
    assert_eq!(
        edited.values[posts.field_index("editor").expect("editor")],
        Value::Null
    );
}

pub async fn a_failing_op_rolls_back_the_whole_batch(store: &dyn RecordStore, probe: &Probe) {
    let (scope, authors, posts) = migrated(store).await;
    let taken = record(&posts, &[("title", text("taken")), ("slug", text("taken"))]);
    insert_all(store, &scope, &posts, std::slice::from_ref(&taken)).await;

    let ada = record(&authors, &[("name", text("Ada"))]);
    let fresh = record(
        &posts,
        &[("title", text("fresh")), ("author", Value::Uuid(ada.id))],
    );
    let clash = record(&posts, &[("title", text("clash")), ("slug", text("taken"))]);
    let bump = update_op(&posts, taken.id, None, vec![("title", text("changed"))]);
    let ops = vec![
        insert_op(&authors, &ada),
        insert_op(&posts, &fresh),
        bump,
        insert_op(&posts, &clash),
    ];
    let e = error(write(store, &scope, ops).await);
    assert_eq!(e.index, 3, "the error names the op that failed");
    assert!(
        matches!(e.error, StoreError::Unique { .. }),
        "{:?}",
        e.error
    );

    assert!(
        get(store, &scope, &authors, ada.id).await.is_none(),
        "the first insert was rolled back"
    );
    assert!(
        get(store, &scope, &posts, fresh.id).await.is_none(),
        "the second insert was rolled back"
    );
    assert_eq!(
        get(store, &scope, &posts, taken.id).await.as_ref(),
        Some(&taken),
        "the update was rolled back"
    );
    for id in [ada.id, fresh.id, clash.id] {
        assert_eq!(
            probe
                .count("_outbox", "subject", Value::Uuid(id), ColType::Uuid)
                .await,
            0,
            "no event survives"
        );
    }
    assert_eq!(
        probe
            .count("_outbox", "subject", Value::Uuid(taken.id), ColType::Uuid)
            .await,
        1,
        "only the create"
    );
}

pub async fn every_write_leaves_its_outbox_event(store: &dyn RecordStore, probe: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let scope = admin_scope(&schema);
    let posts = collection(&scope, "posts");
    let post = record(&posts, &[("title", text("evented"))]);
    let events = |kind: &str| probe.count("_outbox", "type", text(kind), ColType::Text);

    write(store, &scope, vec![insert_op(&posts, &post)])
        .await
        .expect("create");
    assert_eq!(
        probe
            .count("_outbox", "subject", Value::Uuid(post.id), ColType::Uuid)
            .await,
        1
    );
    assert_eq!(events("created").await, 1);
    write(
        store,
        &scope,
        vec![update_op(
            &posts,
            post.id,
            None,
            vec![("title", text("again"))],
        )],
    )
    .await
    .expect("update");
    assert_eq!(events("updated").await, 1);
    write(store, &scope, vec![delete_op(&posts, post.id)])
        .await
        .expect("delete");
    assert_eq!(events("deleted").await, 1);
    assert_eq!(
        probe
            .count("_outbox", "subject", Value::Uuid(post.id), ColType::Uuid)
            .await,
        3
    );
    assert_eq!(probe.count_all("_outbox").await, 3, "one event per write");
}
