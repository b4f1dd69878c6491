//! The schema the stories run on (two collections that use every field type, every `on_delete`, a unique field
//! and an index) and small builders for scopes, records, batches and queries.

use std::sync::Arc;

use strata_core::expr::{CheckScope, Expr, Mode, check, parse};
use strata_core::schema::{Collection, Schema};
use strata_core::{Principal, PrincipalKind, Record, Value};
use strata_store::{
    BatchError, EventMeta, FetchQuery, ListQuery, RecordStore, Scope, SortKey, WriteBatch, WriteOp,
    WriteOutcome,
};
use uuid::Uuid;

pub const SCHEMA: &str = r#"
[collections.authors]
fields.name   = { type = "text", required = true, max_length = 100 }
fields.handle = { type = "text", max_length = 50, unique = true }
rules.list   = "true"
rules.view   = "true"

[collections.posts]
fields.title        = { type = "text", required = true, max_length = 200 }
fields.body         = { type = "text" }
fields.views        = { type = "integer" }
fields.score        = { type = "number" }
fields.published    = { type = "boolean" }
fields.published_at = { type = "datetime" }
fields.day          = { type = "date" }
fields.contact      = { type = "email" }
fields.link         = { type = "url" }
fields.ref_id       = { type = "uuid" }
fields.meta         = { type = "json" }
fields.status       = { type = "select", options = ["draft", "published"] }
fields.author       = { type = "relation", collection = "authors", on_delete = "cascade" }
fields.editor       = { type = "relation", collection = "authors", on_delete = "set_null" }
fields.reviewer     = { type = "relation", collection = "authors", on_delete = "restrict" }
fields.slug         = { type = "text", max_length = 100, unique = true }
indexes = [["status", "published_at"]]
"#;

/// The stories' schema, with `extra` TOML appended (more collections for the migration stories).
pub fn schema_with(extra: &str) -> Arc<Schema> {
    schema_from(&format!("{SCHEMA}{extra}"))
}

pub fn schema_from(toml: &str) -> Arc<Schema> {
    match Schema::from_toml(toml) {
        Ok(schema) => Arc::new(schema),
        Err(errors) => panic!("the test schema is invalid: {errors:?}"),
    }
}

pub fn schema() -> Arc<Schema> {
    schema_with("")
}

/// An admin scope: no rule applies.
pub fn admin_scope(schema: &Arc<Schema>) -> Scope {
    let principal = Principal::admin(Uuid::now_v7(), "admin@example.com".into());
    Scope {
        schema: schema.clone(),
        principal: Arc::new(principal),
        now: strata_core::value::now(),
    }
}

pub fn collection(scope: &Scope, name: &str) -> Arc<Collection> {
    scope
        .schema
        .collection(name)
        .cloned()
        .unwrap_or_else(|| panic!("no collection {name}"))
}

/// A new record (version 1, created now) with the given values; every other field is null.
pub fn record(c: &Collection, values: &[(&str, Value)]) -> Record {
    let now = strata_core::value::now();
    let mut row = vec![Value::Null; c.fields.len()];
    for (name, value) in values {
        let i = c
            .field_index(name)
            .unwrap_or_else(|| panic!("no field {name} in {}", c.name));
        row[i] = value.clone();
    }
    Record {
        id: Uuid::now_v7(),
        created_at: now,
        updated_at: now,
        version: 1,
        values: row,
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub fn batch(scope: &Scope, ops: Vec<WriteOp>) -> WriteBatch {
    let meta = EventMeta {
        request_id: "test".into(),
        principal_id: None,
    };
    WriteBatch {
        scope: scope.clone(),
        ops,
        meta,
        idempotency: None,
    }
}

pub fn insert_op(c: &Arc<Collection>, record: &Record) -> WriteOp {
    WriteOp::Insert {
        collection: c.clone(),
        record: record.clone(),
        check: None,
        reads: Vec::new(),
    }
}

pub fn delete_op(c: &Arc<Collection>, id: Uuid) -> WriteOp {
    WriteOp::Delete {
        collection: c.clone(),
        id,
        visible: vec![],
        allowed: None,
        if_match: None,
    }
}

/// An update that sets `values` (by name) on the stored record.
pub fn update_op(
    c: &Arc<Collection>,
    id: Uuid,
    if_match: Option<i64>,
    values: Vec<(&str, Value)>,
) -> WriteOp {
    let indexed: Vec<(usize, Value)> = values
        .into_iter()
        .map(|(name, v)| {
            (
                c.field_index(name)
                    .unwrap_or_else(|| panic!("no field {name}")),
                v,
            )
        })
        .collect();
    let apply = Box::new(move |current: &Record| {
        let mut next = current.values.clone();
        for (i, v) in indexed {
            next[i] = v;
        }
        Ok(next)
    });
    WriteOp::Update {
        collection: c.clone(),
        id,
        visible: vec![],
        allowed: None,
        if_match,
        apply,
        reads: Vec::new(),
    }
}

/// Insert records, one batch each, and return them as stored.
pub async fn insert_all(
    store: &dyn RecordStore,
    scope: &Scope,
    c: &Arc<Collection>,
    records: &[Record],
) {
    for r in records {
        store
            .write(batch(scope, vec![insert_op(c, r)]))
            .await
            .unwrap_or_else(|e| panic!("insert {}: {e:?}", r.id));
    }
}

pub async fn write(
    store: &dyn RecordStore,
    scope: &Scope,
    ops: Vec<WriteOp>,
) -> Result<Vec<WriteOutcome>, BatchError> {
    store.write(batch(scope, ops)).await
}

/// The error of a write that must fail.
pub fn error(result: Result<Vec<WriteOutcome>, BatchError>) -> BatchError {
    match result {
        Ok(outcomes) => panic!("the write should fail, yet did {outcomes:?}"),
        Err(e) => e,
    }
}

pub async fn get(
    store: &dyn RecordStore,
    scope: &Scope,
    c: &Arc<Collection>,
    id: Uuid,
) -> Option<Record> {
    let query = FetchQuery {
        scope: scope.clone(),
        collection: c.clone(),
        ids: vec![id],
        conditions: vec![],
    };
    store.fetch(query).await.expect("fetch").into_iter().next()
}

/// A page in the order of `sort` (`(field, descending)`), which should end with `id`.
pub fn list_query(
    scope: &Scope,
    c: &Arc<Collection>,
    sort: &[(&str, bool)],
    limit: u32,
) -> ListQuery {
    ListQuery {
        scope: scope.clone(),
        collection: c.clone(),
        conditions: vec![],
        filter: None,
        sort: sort
            .iter()
            .map(|(f, d)| SortKey {
                field: (*f).to_owned(),
                descending: *d,
            })
            .collect(),
        limit,
        after: None,
        offset: 0,
        count: false,
    }
}

/// Parse and check a condition, as the services do before handing it to a store.
pub fn checked(scope: &Scope, c: &Collection, src: &str, mode: Mode) -> Arc<Expr> {
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let check_scope = CheckScope {
        schema: &scope.schema,
        collection: c,
        mode,
        hidden_visible: true,
    };
    check(&expr, &check_scope).unwrap_or_else(|e| panic!("{src}: {e}"));
    Arc::new(expr)
}

/// A user's scope: Bob, a moderator, when `id` is his record's.
pub fn user_scope(scope: &Scope, id: Uuid) -> Scope {
    let principal = Principal {
        kind: PrincipalKind::User,
        id: Some(id),
        email: Some("bob@example.com".into()),
        roles: vec!["moderator".into()],
        user: None,
        session: None,
        scopes: None,
    };
    Scope {
        principal: Arc::new(principal),
        ..scope.clone()
    }
}

/// The stories' schema migrated on `store`: an admin scope and the `authors` and `posts` collections.
pub async fn migrated(store: &dyn RecordStore) -> (Scope, Arc<Collection>, Arc<Collection>) {
    let schema = schema();
    store.migrate(&schema, false).await.expect("migrate");
    let scope = admin_scope(&schema);
    let (authors, posts) = (collection(&scope, "authors"), collection(&scope, "posts"));
    (scope, authors, posts)
}

/// The author Ada and a post holding the slug `taken`, stored: what the stories of writes sent together start from.
pub async fn ada_and_a_taken_slug(
    store: &dyn RecordStore,
    scope: &Scope,
    authors: &Arc<Collection>,
    posts: &Arc<Collection>,
) -> (Record, Record) {
    let ada = record(authors, &[("name", text("Ada"))]);
    insert_all(store, scope, authors, std::slice::from_ref(&ada)).await;
    let taken = record(posts, &[("title", text("taken")), ("slug", text("taken"))]);
    insert_all(store, scope, posts, std::slice::from_ref(&taken)).await;
    (ada, taken)
}
