//! Listing (SPEC §4, §14 "Reading"): filter, sort, limits, keyset cursors, offset, fields, expand, count.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    the_default_order_is_creation_and_the_default_limit_20,
    limits_and_offsets_out_of_range_are_400,
    filters_and_multi_key_sorts_select_and_order,
    cursors_walk_every_record_exactly_once_while_others_insert,
    a_cursor_only_works_with_its_own_sort_and_filter,
    offset_pages_are_bounded,
    fields_select_what_is_returned,
    expand_embeds_related_records_nested,
    count_adds_the_total_of_matching_rows,
    unknown_names_in_sort_fields_and_expand_are_400,
);

async fn seed(app: &TestApp, n: usize) -> Vec<Value> {
    let mut posts = Vec::new();
    for i in 0..n {
        let status = if i % 3 == 0 { "published" } else { "draft" };
        posts.push(
            app.create(
                "posts",
                json!({"title": format!("post {i:03}"), "views": i % 7, "status": status}),
            )
            .await,
        );
    }
    posts
}

fn ids(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(app: &TestApp, query: &[(&str, &str)]) -> crate::helpers::Reply {
    app.send(app.client.get(app.url("/api/v1/posts")).query(query))
        .await
}

async fn the_default_order_is_creation_and_the_default_limit_20(app: TestApp) {
    let posts = seed(&app, 25).await;
    let reply = app.get("/api/v1/posts").await;
    assert_eq!(reply.status, 200);
    let expected: Vec<String> = posts
        .iter()
        .take(20)
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids(&reply.body), expected);
    assert!(reply.body["next_cursor"].is_string());
    assert!(reply.body.get("total").is_none(), "no COUNT unless asked");
    let rest = list(
        &app,
        &[("cursor", reply.body["next_cursor"].as_str().unwrap())],
    )
    .await;
    assert_eq!(ids(&rest.body).len(), 5);
    assert_eq!(rest.body["next_cursor"], Value::Null);
}

async fn limits_and_offsets_out_of_range_are_400(app: TestApp) {
    for query in [
        [("limit", "501")],
        [("limit", "0")],
        [("limit", "-1")],
        [("limit", "ten")],
        [("offset", "10001")],
        [("offset", "-5")],
        [("count", "yes")],
    ] {
        let reply = list(&app, &query).await;
        assert_eq!(reply.status, 400, "{query:?}");
        assert_eq!(reply.code(), "invalid_query", "{query:?}");
    }
    assert_eq!(
        list(&app, &[("limit", "500"), ("offset", "10000")])
            .await
            .status,
        200
    );
}

async fn filters_and_multi_key_sorts_select_and_order(app: TestApp) {
    seed(&app, 21).await;
    let reply = list(
        &app,
        &[
            ("filter", "status = 'published' && views >= 3"),
            ("sort", "-views,title"),
            ("limit", "50"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rows = reply.body["data"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["status"] == "published" && r["views"].as_i64().unwrap() >= 3)
    );
    let keys: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                -r["views"].as_i64().unwrap(),
                r["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);

    let contains = list(&app, &[("filter", "title ~ 'POST 01'")]).await;
    assert_eq!(
        ids(&contains.body).len(),
        10,
        "~ ignores case: post 010..019"
    );
    let in_list = list(
        &app,
        &[("filter", "title in ('post 001', 'post 002', 'nope')")],
    )
    .await;
    assert_eq!(ids(&in_list.body).len(), 2);
    let nulls = list(&app, &[("filter", "body = null")]).await;
    assert_eq!(ids(&nulls.body).len(), 20);
}

async fn cursors_walk_every_record_exactly_once_while_others_insert(app: TestApp) {
    let posts = seed(&app, 30).await;
    let original: HashSet<String> = posts
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    for sort in [
        "created_at",
        "-created_at",
        "-views,title",
        "status,-views",
        "body,views",
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut inserted = 0;
        loop {
            let mut query = vec![("sort", sort), ("limit", "7")];
            if let Some(c) = &cursor {
                query.push(("cursor", c.as_str()));
            }
            let reply = list(&app, &query).await;
            assert_eq!(reply.status, 200, "{sort}: {}", reply.body);
            seen.extend(ids(&reply.body));
            // Others write between pages.
            app.create(
                "posts",
                json!({"title": format!("late {sort} {inserted}"), "views": inserted % 7}),
            )
            .await;
            inserted += 1;
            match reply.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no record twice");
        assert!(
            original.iter().all(|id| unique.contains(id)),
            "{sort}: every original record once"
        );
    }
}

async fn a_cursor_only_works_with_its_own_sort_and_filter(app: TestApp) {
    seed(&app, 5).await;
    let first = list(&app, &[("sort", "title"), ("limit", "2")]).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    for query in [
        vec![("sort", "-title"), ("cursor", cursor.as_str())],
        vec![
            ("sort", "title"),
            ("filter", "views > 1"),
            ("cursor", cursor.as_str()),
        ],
        vec![
            ("sort", "title"),
            ("cursor", cursor.as_str()),
            ("offset", "2"),
        ],
        vec![("sort", "title"), ("cursor", "garbage!")],
    ] {
        let reply = list(&app, &query).await;
        assert_eq!(reply.status, 400, "{query:?}");
        assert_eq!(reply.code(), "invalid_query");
    }
    assert_eq!(
        list(&app, &[("sort", "title"), ("cursor", cursor.as_str())])
            .await
            .status,
        200
    );
}

async fn offset_pages_are_bounded(app: TestApp) {
    let posts = seed(&app, 6).await;
    let reply = list(&app, &[("offset", "4"), ("limit", "10")]).await;
    let expected: Vec<String> = posts[4..]
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids(&reply.body), expected);
}

async fn fields_select_what_is_returned(app: TestApp) {
    seed(&app, 2).await;
    let reply = list(&app, &[("fields", "id,title")]).await;
    for row in reply.body["data"].as_array().unwrap() {
        let keys: HashSet<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, HashSet::from(["id", "title"]));
    }
    let post = reply.body["data"][0]["id"].as_str().unwrap().to_owned();
    let one = app.get(&format!("/api/v1/posts/{post}?fields=views")).await;
    assert_eq!(one.body["data"], json!({"views": 0}));
}

async fn expand_embeds_related_records_nested(app: TestApp) {
    let ada = app.create("authors", json!({"name": "Ada"})).await;
    let bob = app.create("authors", json!({"name": "Bob"})).await;
    let p1 = app
        .create("posts", json!({"title": "one", "author": ada["id"]}))
        .await;
    app.create("posts", json!({"title": "two", "author": bob["id"]}))
        .await;
    app.create("posts", json!({"title": "three"})).await;
    let c = app
        .create("comments", json!({"post": p1["id"], "text": "nice"}))
        .await;

    let reply = list(&app, &[("expand", "author"), ("sort", "created_at")]).await;
    let rows = reply.body["data"].as_array().unwrap();
    assert_eq!(rows[0]["author"], ada["id"], "the id stays in the field");
    assert_eq!(rows[0]["expand"]["author"]["name"], "Ada");
    assert_eq!(rows[1]["expand"]["author"]["name"], "Bob");
    assert!(rows[2].get("expand").is_none(), "nothing to expand");

    let nested = app
        .get(&format!(
            "/api/v1/comments/{}?expand=post.author",
            c["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(nested.status, 200, "{}", nested.body);
    assert_eq!(nested.body["data"]["expand"]["post"]["title"], "one");
    assert_eq!(
        nested.body["data"]["expand"]["post"]["expand"]["author"]["name"],
        "Ada"
    );

    let picked = app
        .get(&format!(
            "/api/v1/comments/{}?expand=post.author&fields=text,expand.post.title",
            c["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(picked.status, 200, "{}", picked.body);
    assert_eq!(picked.body["data"]["text"], "nice");
    assert!(picked.body["data"].get("post").is_none());
    assert_eq!(picked.body["data"]["expand"]["post"]["title"], "one");
    assert!(picked.body["data"]["expand"]["post"].get("views").is_none());
}

async fn count_adds_the_total_of_matching_rows(app: TestApp) {
    seed(&app, 9).await;
    let reply = list(
        &app,
        &[
            ("count", "true"),
            ("filter", "status = 'published'"),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(reply.body["total"], 3);
    assert_eq!(ids(&reply.body).len(), 1);
}

async fn unknown_names_in_sort_fields_and_expand_are_400(app: TestApp) {
    for query in [
        [("sort", "nope")],
        [("sort", "tags")],
        [("fields", "id,nope")],
        [("expand", "title")],
        [("expand", "nope")],
        [("expand", "a.b.c.d")],
        [("fields", "expand.author.name")],
    ] {
        let reply = list(&app, &query).await;
        assert_eq!(reply.status, 400, "{query:?}");
        assert_eq!(reply.code(), "invalid_query", "{query:?}");
    }
}
