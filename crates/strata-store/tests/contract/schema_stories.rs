//! Migrations: a schema is created once, a second run changes nothing, additive changes apply freely and
//! destructive ones only when allowed.

use strata_core::Value;
use strata_store::RecordStore;

use crate::fixtures::*;
use crate::harness::Probe;

pub async fn migrating_twice_changes_nothing_the_second_time(
    store: &dyn RecordStore,
    probe: &Probe,
) {
    let schema = schema();
    let first = store
        .migrate(&schema, false)
        .await
        .expect("first migration");
    assert!(!first.is_empty(), "a fresh database needs tables");
    assert_eq!(
        first.destructive().count(),
        0,
        "creating tables destroys nothing"
    );
    for table in [
        "users",
        "authors",
        "posts",
        "_outbox",
        "_idempotency",
        "_migrations",
    ] {
        assert!(
            first
                .changes
                .iter()
                .any(|c| c.description == format!("create table {table}")),
            "the plan creates {table}: {:?}",
            first
                .changes
                .iter()
                .map(|c| &c.description)
                .collect::<Vec<_>>()
        );
    }
    let plan = store.plan(&schema).await.expect("plan");
    assert!(plan.is_empty(), "nothing left to do: {:?}", plan.changes);
    let second = store
        .migrate(&schema, false)
        .await
        .expect("second migration");
    assert!(
        second.is_empty(),
        "the second migration is a no-op: {:?}",
        second.changes
    );
    assert_eq!(
        probe.count_all("_migrations").await,
        1,
        "a no-op migration leaves no history row"
    );
}

pub async fn adding_a_field_is_additive_and_keeps_the_records(store: &dyn RecordStore, _: &Probe) {
    let v1 = schema();
    store.migrate(&v1, false).await.expect("migrate v1");
    let scope = admin_scope(&v1);
    let authors = collection(&scope, "authors");
    let ada = record(&authors, &[("name", text("Ada"))]);
    insert_all(store, &scope, &authors, std::slice::from_ref(&ada)).await;

    let handle = "fields.handle = { type = \"text\", max_length = 50, unique = true }\n";
    let grown = SCHEMA.replacen(
        handle,
        &format!("{handle}fields.extra = {{ type = \"integer\" }}\nfields.mentor = {{ type = \"relation\", collection = \"authors\", on_delete = \"set_null\" }}\n"),
        1,
    );
    assert_ne!(grown, SCHEMA, "the fields are added to authors");
    let v2 = schema_from(&format!(
        "{grown}\n[collections.notes]\nfields.text = {{ type = \"text\" }}\n"
    ));
    let plan = store.plan(&v2).await.expect("plan v2");
    assert!(
        !plan.is_empty(),
        "the new fields and collection need changes"
    );
    assert_eq!(
        plan.destructive().count(),
        0,
        "adding is never destructive: {:?}",
        plan.changes
    );
    store
        .migrate(&v2, false)
        .await
        .expect("an additive migration needs no permission");
    assert!(store.plan(&v2).await.expect("plan again").is_empty());

    let scope = admin_scope(&v2);
    let authors = collection(&scope, "authors");
    let stored = get(store, &scope, &authors, ada.id)
        .await
        .expect("the record survives the migration");
    assert_eq!(stored.values.len(), authors.fields.len());
    assert_eq!(stored.values[0], text("Ada"));
    assert!(
        stored.values[2..].iter().all(Value::is_null),
        "new columns read as null: {:?}",
        stored.values
    );
}

pub async fn removing_a_field_is_refused_unless_destruction_is_allowed(
    store: &dyn RecordStore,
    _: &Probe,
) {
    let wide = schema_with(
        "\n[collections.notes]\nfields.text = { type = \"text\" }\nfields.gone = { type = \"integer\" }\n",
    );
    store
        .migrate(&wide, false)
        .await
        .expect("migrate the wide schema");
    let scope = admin_scope(&wide);
    let notes = collection(&scope, "notes");
    let note = record(&notes, &[("text", text("kept")), ("gone", Value::Int(7))]);
    insert_all(store, &scope, &notes, std::slice::from_ref(&note)).await;

    let narrow = schema_with("\n[collections.notes]\nfields.text = { type = \"text\" }\n");
    let plan = store.plan(&narrow).await.expect("plan");
    let destructive: Vec<_> = plan.destructive().map(|c| c.description.clone()).collect();
    assert_eq!(
        destructive.len(),
        1,
        "dropping the column is the one destructive change: {:?}",
        plan.changes
    );
    assert!(destructive[0].contains("notes.gone"), "{destructive:?}");

    let refused = store.migrate(&narrow, false).await;
    assert!(
        refused.is_err(),
        "a destructive change needs --allow-destructive"
    );
    let still = get(store, &scope, &notes, note.id)
        .await
        .expect("the record is untouched");
    assert_eq!(
        still.values,
        vec![text("kept"), Value::Int(7)],
        "nothing was dropped"
    );

    let applied = store
        .migrate(&narrow, true)
        .await
        .expect("allowed, it applies");
    assert_eq!(applied.destructive().count(), 1);
    assert!(store.plan(&narrow).await.expect("plan after").is_empty());
    let scope = admin_scope(&narrow);
    let notes = collection(&scope, "notes");
    let after = get(store, &scope, &notes, note.id)
        .await
        .expect("the record survives without the column");
    assert_eq!(after.values, vec![text("kept")]);
}
