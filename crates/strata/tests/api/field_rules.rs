//! Field read rules and relation visibility (SPEC §7, §14): a field its read rule hides is absent from answers and
//! reads as null in the caller's filters, sorts and cursors; a relation step reads as null where the caller may
//! not view the record; and a relation may point only at a record its writer may view.

use serde_json::{Value, json};

use crate::authz::{User, admin_token, post_as, user};
use crate::authz_tests;
use crate::helpers::TestApp;

authz_tests!(
    read_rules_hide_fields_from_answers,
    read_ruled_fields_read_as_null_in_filters_sorts_and_cursors,
    relation_steps_read_as_null_where_the_caller_may_not_view,
    relations_may_point_only_at_visible_records
);

/// A list as `token`'s holder (`None`: anonymous): the ids in order and the `total` of `count=true`.
pub async fn list_ids(
    app: &TestApp,
    token: Option<&str>,
    collection: &str,
    query: &[(&str, &str)],
) -> (Vec<String>, Value) {
    let request = app
        .client
        .get(app.url(&format!("/api/v1/{collection}")))
        .query(&[("count", "true")])
        .query(query);
    let reply = match token {
        Some(token) => app.send_as(token, request).await,
        None => app.send(request).await,
    };
    assert_eq!(reply.status, 200, "{query:?}: {}", reply.body);
    let ids = reply.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, reply.body["total"].clone())
}

/// The ids `filter` selects, checked against the count of the same query (no oracle: SPEC §14).
async fn filtered(app: &TestApp, token: &str, collection: &str, filter: &str) -> Vec<String> {
    let (ids, total) = list_ids(app, Some(token), collection, &[("filter", filter)]).await;
    assert_eq!(total, json!(ids.len()), "{filter}: the total agrees");
    ids
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

/// The sort values a cursor carries (its payload is base64url JSON: `{"f": …, "v": [values…]}`).
pub fn cursor_values(cursor: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["v"].clone()
}

async fn read_rules_hide_fields_from_answers(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let post = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id, "notes": "secret"}),
    )
    .await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(
        app.send_as(&alice.token, app.client.get(app.url(&path)))
            .await
            .body["data"]["notes"],
        "secret"
    );
    let as_bob = app
        .send_as(&bob.token, app.client.get(app.url(&path)))
        .await;
    assert!(
        as_bob.body["data"].get("notes").is_none(),
        "{}",
        as_bob.body
    );
    let listed = app
        .send_as(
            &bob.token,
            app.client.get(app.url("/api/v1/posts?fields=id,notes")),
        )
        .await;
    assert_eq!(listed.body["data"][0], json!({"id": post["id"]}));
    assert!(!listed.body.to_string().contains("secret"));
    // Other users' emails stay private.
    let admin = admin_token(&app).await;
    let users = app
        .send_as(&admin, app.client.get(app.url("/api/v1/users")))
        .await;
    assert_eq!(users.status, 200);
    assert_eq!(
        users.body["data"].as_array().map(Vec::len),
        Some(2),
        "admins list users"
    );
    assert!(
        users.body.to_string().contains("alice@example.com"),
        "admins read every field"
    );
}

async fn read_ruled_fields_read_as_null_in_filters_sorts_and_cursors(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let admin = admin_token(&app).await;
    let post = |who: &User, status: &str, notes: Option<&str>| json!({"title": "t", "status": status, "author": who.id, "notes": notes});
    // In creation order, so in id order: a1 a2 a3 b1 b2 b3. Bob views all but a3 and reads only his own notes.
    let a1 = id(&post_as(&app, &alice, post(&alice, "published", Some("m-alice"))).await);
    let a2 = id(&post_as(&app, &alice, post(&alice, "published", None)).await);
    let a3 = id(&post_as(&app, &alice, post(&alice, "draft", Some("a-alice"))).await);
    let b1 = id(&post_as(&app, &bob, post(&bob, "published", Some("k-bob"))).await);
    let b2 = id(&post_as(&app, &bob, post(&bob, "draft", Some("z-bob"))).await);
    let b3 = id(&post_as(&app, &bob, post(&bob, "published", Some("m-alice"))).await);

    assert_eq!(
        filtered(&app, &bob.token, "posts", "notes = 'm-alice'").await,
        vec![b3.clone()],
        "alice's notes do not match for bob, though stored equal"
    );
    assert_eq!(
        filtered(&app, &bob.token, "posts", "notes = null").await,
        [a1.clone(), a2.clone()],
        "what bob may not read is null to him"
    );
    assert_eq!(
        filtered(&app, &bob.token, "posts", "notes ~ 'alice' || notes > 'l'").await,
        [b2.clone(), b3.clone()]
    );
    assert_eq!(
        filtered(&app, &alice.token, "posts", "notes = 'm-alice'").await,
        vec![a1.clone()]
    );
    assert_eq!(
        filtered(&app, &admin, "posts", "notes = 'm-alice'").await,
        [a1.clone(), b3.clone()],
        "admins filter on stored values"
    );

    // NULLs first ascending, last descending; ties by id in the direction of the last key.
    let ascending = [&a1, &a2, &b1, &b3, &b2].map(String::clone);
    let descending = [&b2, &b3, &b1, &a2, &a1].map(String::clone);
    assert_eq!(
        list_ids(&app, Some(&bob.token), "posts", &[("sort", "notes")])
            .await
            .0,
        ascending.clone()
    );
    assert_eq!(
        list_ids(&app, Some(&bob.token), "posts", &[("sort", "-notes")])
            .await
            .0,
        descending.clone()
    );
    assert_eq!(
        list_ids(&app, Some(&alice.token), "posts", &[("sort", "notes")])
            .await
            .0,
        [&a2, &b1, &b3, &a3, &a1].map(String::clone)
    );

    // A walk one record at a time meets each visible record once, and a cursor holds what bob reads.
    let readable: std::collections::HashMap<&str, &str> = [
        (b1.as_str(), "k-bob"),
        (b2.as_str(), "z-bob"),
        (b3.as_str(), "m-alice"),
    ]
    .into();
    for (sort, expected) in [("notes", ascending), ("-notes", descending)] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("sort", sort), ("limit", "1")];
            if let Some(c) = &cursor {
                query.push(("cursor", c));
            }
            let page = app
                .send_as(
                    &bob.token,
                    app.client.get(app.url("/api/v1/posts")).query(&query),
                )
                .await;
            assert_eq!(page.status, 200, "{}", page.body);
            let Some(record) = page.body["data"].get(0) else {
                break;
            };
            seen.push(id(record));
            let Some(next) = page.body["next_cursor"].as_str() else {
                break;
            };
            let values = cursor_values(next);
            let expected_value = readable.get(seen.last().unwrap().as_str());
            assert_eq!(
                values,
                json!([expected_value, seen.last()]),
                "{sort}: the cursor after {} holds the value bob reads",
                seen.len()
            );
            cursor = Some(next.to_owned());
            assert!(seen.len() <= 10, "the walk does not end");
        }
        assert_eq!(seen, expected, "{sort} by cursor");
    }
}

async fn relation_steps_read_as_null_where_the_caller_may_not_view(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let admin = admin_token(&app).await;
    for (who, name) in [(&alice, "Alice"), (&bob, "Bob")] {
        let renamed = app
            .send_as(
                &who.token,
                app.client
                    .patch(app.url(&format!("/api/v1/users/{}", who.id)))
                    .json(&json!({"name": name})),
            )
            .await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
    }
    let published = json!({"title": "pub", "status": "published", "author": alice.id});
    let a1 = id(&post_as(&app, &alice, published).await);
    let draft = id(&post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await);
    let b1 = id(&post_as(
        &app,
        &bob,
        json!({"title": "pub", "status": "published", "author": bob.id}),
    )
    .await);

    // Users may view only themselves: to bob, alice's record is not there.
    assert_eq!(
        filtered(&app, &bob.token, "posts", "author.name = 'Alice'").await,
        Vec::<String>::new(),
        "bob sees alice's post but may not view alice"
    );
    assert_eq!(
        filtered(&app, &bob.token, "posts", "author.name = null").await,
        vec![a1.clone()]
    );
    assert_eq!(
        filtered(&app, &bob.token, "posts", "author.name = 'Bob'").await,
        vec![b1.clone()]
    );
    assert_eq!(
        filtered(&app, &alice.token, "posts", "author.name = 'Alice'").await,
        [a1.clone(), draft.clone()]
    );
    assert_eq!(
        filtered(&app, &admin, "posts", "author.name = 'Alice'").await,
        [a1.clone(), draft.clone()]
    );
    // A field the reached record's read rule hides reads as null too: emails are their owners' only.
    assert_eq!(
        filtered(&app, &alice.token, "posts", "author.email ~ 'example'").await,
        [a1.clone(), draft.clone()]
    );

    // From public comments to posts: the draft is not there for bob.
    let mut comments = Vec::new();
    for post in [&a1, &draft] {
        let reply = app
            .send_as(
                &admin,
                app.client
                    .post(app.url("/api/v1/comments"))
                    .json(&json!({"post": post, "body": "c"})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        comments.push(id(&reply.body["data"]));
    }
    assert_eq!(
        filtered(&app, &bob.token, "comments", "post.title = 'draft'").await,
        Vec::<String>::new()
    );
    assert_eq!(
        filtered(&app, &bob.token, "comments", "post.status = null").await,
        vec![comments[1].clone()]
    );
    assert_eq!(
        filtered(&app, &alice.token, "comments", "post.title = 'draft'").await,
        vec![comments[1].clone()]
    );
}

async fn relations_may_point_only_at_visible_records(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let draft = post_as(&app, &alice, json!({"title": "draft", "author": alice.id})).await;
    let published = post_as(
        &app,
        &alice,
        json!({"title": "pub", "status": "published", "author": alice.id}),
    )
    .await;
    let hidden = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": draft["id"], "body": "hi"})),
        )
        .await;
    assert_eq!(hidden.status, 400, "{}", hidden.body);
    assert_eq!(hidden.body["errors"][0]["code"], "invalid_relation");
    let missing = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": uuid::Uuid::now_v7(), "body": "hi"})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body["errors"][0]["code"], "invalid_relation",
        "the same answer as for a missing record"
    );
    assert_eq!(missing.body["detail"], hidden.body["detail"]);
    let visible = app
        .send_as(
            &bob.token,
            app.client
                .post(app.url("/api/v1/comments"))
                .json(&json!({"post": published["id"], "body": "hi"})),
        )
        .await;
    assert_eq!(visible.status, 201);
}
