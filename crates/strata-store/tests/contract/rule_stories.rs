//! Rules checked inside a write (SPEC §7, §14): a create, update or delete whose rule fails is refused whole,
//! and a record its reader may not see is not found.

use strata_core::expr::Mode;
use strata_core::schema::Action;
use strata_core::{Record, Value};
use strata_store::{RecordStore, StoreError, WriteOp};

use crate::fixtures::*;
use crate::harness::Probe;

pub async fn rules_checked_in_a_write_refuse_it_whole(store: &dyn RecordStore, _: &Probe) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let admin = admin_scope(&schema);
    let (authors, posts) = (collection(&admin, "authors"), collection(&admin, "posts"));
    let bob = record(&authors, &[("name", text("Bob"))]);
    insert_all(store, &admin, &authors, std::slice::from_ref(&bob)).await;
    let scope = user_scope(&admin, bob.id);
    let rule = |src, action| checked(&scope, &posts, src, Mode::Rule(action));

    let draft = record(
        &posts,
        &[
            ("title", text("draft")),
            ("status", text("draft")),
            ("views", Value::Int(0)),
        ],
    );
    let create = |r: &Record| WriteOp::Insert {
        collection: posts.clone(),
        record: r.clone(),
        check: Some(rule("@data.views > 0 || views > 0", Action::Create)),
        reads: Vec::new(),
    };
    let e = error(
        write(
            store,
            &scope,
            vec![insert_op(&authors, &record(&authors, &[])), create(&draft)],
        )
        .await,
    );
    assert!(matches!(e.error, StoreError::Forbidden), "{:?}", e.error);
    assert_eq!(e.index, 1);
    assert!(
        get(store, &admin, &posts, draft.id).await.is_none(),
        "a refused create stores nothing"
    );
    let mut seen = draft.clone();
    seen.values[posts.field_index("views").expect("views")] = Value::Int(1);
    write(store, &scope, vec![create(&seen)])
        .await
        .expect("the create rule holds");

    let hidden = WriteOp::Update {
        collection: posts.clone(),
        id: seen.id,
        visible: vec![rule("status = 'published'", Action::View)],
        allowed: None,
        if_match: None,
        apply: Box::new(|r: &Record| Ok(r.values.clone())),
        reads: Vec::new(),
    };
    let e = error(write(store, &scope, vec![hidden]).await);
    assert!(
        matches!(e.error, StoreError::NotFound),
        "what the caller cannot see is not found: {:?}",
        e.error
    );

    let refused = WriteOp::Update {
        collection: posts.clone(),
        id: seen.id,
        visible: vec![],
        allowed: Some(rule(
            "author = @auth.id && @data.views < 100",
            Action::Update,
        )),
        if_match: None,
        apply: Box::new(|r: &Record| Ok(r.values.clone())),
        reads: Vec::new(),
    };
    let e = error(write(store, &scope, vec![refused]).await);
    assert!(matches!(e.error, StoreError::Forbidden), "{:?}", e.error);

    let delete = |allowed| WriteOp::Delete {
        collection: posts.clone(),
        id: seen.id,
        visible: vec![],
        allowed,
        if_match: None,
    };
    let e = error(
        write(
            store,
            &scope,
            vec![delete(Some(rule("author = @auth.id", Action::Delete)))],
        )
        .await,
    );
    assert!(matches!(e.error, StoreError::Forbidden), "{:?}", e.error);
    assert_eq!(
        get(store, &admin, &posts, seen.id).await.as_ref(),
        Some(&seen),
        "refused writes change nothing"
    );
    write(
        store,
        &scope,
        vec![delete(Some(rule("author = null", Action::Delete)))],
    )
    .await
    .expect("the rule holds");
    assert!(get(store, &admin, &posts, seen.id).await.is_none());
}
