//! Rules checked inside a write (SPEC §7, §14): a create, update or delete whose rule fails is refused whole,
//! and a record its reader may not see is not found.

use std::sync::Arc;
use strata_core::expr::{Expr, Mode};
use strata_core::schema::Action;

use strata_core::{Principal, Record, Value};
use strata_store::{FetchQuery, RecordStore, Scope, StoreError, WriteOp};

use crate::fixtures::*;
use crate::harness::Probe;

pub async fn rules_checked_in_a_write_refuse_it_whole(store: &dyn RecordStore, _: &Probe) {
    let (admin, authors, posts) = migrated(store).await;
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

/// A read by id is compiled once per collection, rule and caller (SPEC §13), with the caller's `@auth` values
/// folded in: so each caller must get their own statement, whoever asked first, and a rule reading `@now` must
/// see each request's time.
pub async fn reads_by_id_compiled_once_still_answer_each_caller(
    store: &dyn RecordStore,
    _: &Probe,
) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let admin = admin_scope(&schema);
    let (authors, posts) = (collection(&admin, "authors"), collection(&admin, "posts"));
    let (bob, ann) = (
        record(&authors, &[("name", text("Bob"))]),
        record(&authors, &[("name", text("Ann"))]),
    );
    insert_all(store, &admin, &authors, &[bob.clone(), ann.clone()]).await;
    let post = |title: &str, status: &str, author: &Record| {
        record(
            &posts,
            &[
                ("title", text(title)),
                ("status", text(status)),
                ("author", Value::Uuid(author.id)),
                ("published_at", Value::Datetime(chrono::Utc::now())),
            ],
        )
    };
    let (draft, published) = (post("draft", "draft", &bob), post("out", "published", &ann));
    insert_all(store, &admin, &posts, &[draft.clone(), published.clone()]).await;

    // One rule, as the schema holds it: the same condition on every request.
    let (as_bob, as_ann) = (user_scope(&admin, bob.id), user_scope(&admin, ann.id));
    let view = checked(
        &as_bob,
        &posts,
        "status = 'published' || author = @auth.id",
        Mode::Rule(Action::View),
    );
    // How many of the record `id` the caller of `scope` reads under `condition`: 1 or 0.
    let read = |scope: &Scope, id, condition: &Arc<Expr>| {
        let query = FetchQuery {
            scope: scope.clone(),
            collection: posts.clone(),
            ids: vec![id],
            conditions: vec![condition.clone()],
        };
        async move { store.fetch(query).await.expect("fetch").len() }
    };
    let anonymous = Scope {
        principal: Arc::new(Principal::anonymous()),
        ..admin.clone()
    };
    let cases = [
        (&as_bob, draft.id, 1, "Bob reads his draft"),
        (&as_ann, draft.id, 0, "Ann does not read Bob's draft"),
        (&as_ann, published.id, 1, "Ann reads what is published"),
        (&anonymous, draft.id, 0, "nobody else reads it"),
    ];
    for _ in 0..2 {
        for (scope, id, found, what) in cases {
            assert_eq!(read(scope, id, &view).await, found, "{what}");
        }
    }

    // `@now` is each request's: a scope whose time is before the post's hides it, a later one shows it.
    let due = checked(
        &as_bob,
        &posts,
        "published_at <= @now",
        Mode::Rule(Action::View),
    );
    let at = |now| Scope {
        now,
        ..as_ann.clone()
    };
    let hour = chrono::Duration::hours(1);
    assert_eq!(
        read(&at(chrono::Utc::now() - hour), published.id, &due).await,
        0
    );
    assert_eq!(
        read(&at(chrono::Utc::now() + hour), published.id, &due).await,
        1
    );
    assert_eq!(
        read(&at(chrono::Utc::now() - hour), published.id, &due).await,
        0
    );
}
