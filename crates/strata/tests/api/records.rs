//! Create, read, update, replace and delete one record (SPEC §4, §14 "Writing"), with their events.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    create_answers_201_with_location_etag_and_the_record,
    every_field_type_round_trips,
    reading_a_missing_or_malformed_id_is_404,
    patch_changes_only_the_given_fields_and_bumps_the_version,
    if_match_guards_updates_and_deletes,
    put_replaces_every_writable_field,
    delete_answers_204_and_the_record_is_gone,
    system_and_read_only_fields_are_ignored_only_when_unchanged,
    hidden_fields_are_never_returned_and_cannot_be_named,
    a_client_may_choose_the_id_once,
    on_delete_cascades_or_restricts,
);

async fn create_answers_201_with_location_etag_and_the_record(app: TestApp) {
    let reply = app
        .post(
            "/api/v1/posts",
            &json!({"title": "Hello", "tags": ["a", "b"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let data = &reply.body["data"];
    let id = data["id"].as_str().expect("an id");
    assert_eq!(
        uuid::Uuid::try_parse(id).expect("a uuid").get_version_num(),
        7
    );
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/posts/{id}").as_str())
    );
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(data["title"], "Hello");
    assert_eq!(data["status"], "draft", "defaults apply");
    assert_eq!(data["views"], 0);
    assert_eq!(data["version"], 1);
    assert_eq!(data["tags"], json!(["a", "b"]));
    assert_eq!(data["body"], json!(null));
    assert!(
        data["created_at"]
            .as_str()
            .is_some_and(|t| t.len() == 27 && t.ends_with('Z')),
        "{data}"
    );

    let read = app.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(&read.body["data"], data);
}

async fn every_field_type_round_trips(app: TestApp) {
    let author = app.create("authors", json!({"name": "Ada"})).await;
    let reference = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "title": "Types: ünïcødé ✓ 𝄞",
        "slug": "types-1",
        "body": "line\nbreak \"quoted\" \\ backslash",
        "status": "published",
        "views": 9007199254740993i64,
        "score": -10.25,
        "featured": true,
        "published": "2024-02-29T23:59:59.123456+02:00",
        "day": "1999-12-31",
        "contact": "  Ada@Example.COM ",
        "link": "https://example.com/a?b=c",
        "ref": reference,
        "tags": ["x", "ü"],
        "author": author["id"],
    });
    let created = app.create("posts", body).await;
    let read = app
        .get(&format!(
            "/api/v1/posts/{}",
            created["id"].as_str().unwrap()
        ))
        .await
        .body["data"]
        .clone();
    assert_eq!(read, created);
    assert_eq!(read["title"], "Types: ünïcødé ✓ 𝄞");
    assert_eq!(read["body"], "line\nbreak \"quoted\" \\ backslash");
    assert_eq!(read["views"], 9007199254740993i64);
    assert_eq!(read["score"], -10.25);
    assert_eq!(read["featured"], true);
    assert_eq!(
        read["published"], "2024-02-29T21:59:59.123456Z",
        "converted to UTC, microseconds kept"
    );
    assert_eq!(read["day"], "1999-12-31");
    assert_eq!(
        read["contact"], "ada@example.com",
        "emails are trimmed and lower-cased"
    );
    assert_eq!(read["ref"], reference.as_str());
    assert_eq!(read["author"], author["id"]);
}

async fn reading_a_missing_or_malformed_id_is_404(app: TestApp) {
    for path in [
        format!("/api/v1/posts/{}", uuid::Uuid::now_v7()),
        "/api/v1/posts/not-a-uuid".to_owned(),
        "/api/v1/nosuchcollection".to_owned(),
        format!("/api/v1/nosuchcollection/{}", uuid::Uuid::now_v7()),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.code(), "not_found");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }
}

async fn patch_changes_only_the_given_fields_and_bumps_the_version(app: TestApp) {
    let post = app
        .create(
            "posts",
            json!({"title": "A", "body": "keep me", "views": 3}),
        )
        .await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let reply = app.patch(&path, &json!({"title": "B"})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let data = &reply.body["data"];
    assert_eq!(data["title"], "B");
    assert_eq!(data["body"], "keep me");
    assert_eq!(data["views"], 3);
    assert_eq!(data["version"], 2);
    assert_eq!(data["created_at"], post["created_at"]);
    assert!(data["updated_at"].as_str() >= post["updated_at"].as_str());

    let cleared = app.patch(&path, &json!({"body": null})).await;
    assert_eq!(cleared.body["data"]["body"], json!(null));
    let required = app.patch(&path, &json!({"title": null})).await;
    assert_eq!(required.status, 400);
    assert_eq!(required.body["errors"][0]["code"], "required");
    assert_eq!(
        app.get(&path).await.body["data"]["title"],
        "B",
        "a refused patch changes nothing"
    );
}

async fn if_match_guards_updates_and_deletes(app: TestApp) {
    let post = app.create("posts", json!({"title": "A"})).await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let ok = app
        .send(
            app.client
                .patch(app.url(&path))
                .header("if-match", "\"1\"")
                .json(&json!({"title": "B"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    let stale = app
        .send(
            app.client
                .patch(app.url(&path))
                .header("if-match", "\"1\"")
                .json(&json!({"title": "C"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.code(), "precondition_failed");
    let star = app
        .send(
            app.client
                .put(app.url(&path))
                .header("if-match", "*")
                .json(&json!({"title": "D"})),
        )
        .await;
    assert_eq!(star.status, 200);
    let malformed = app
        .send(
            app.client
                .patch(app.url(&path))
                .header("if-match", "W/\"3\"")
                .json(&json!({})),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.code(), "invalid_query");
    let stale_delete = app
        .send(
            app.client
                .delete(app.url(&path))
                .header("if-match", "\"2\""),
        )
        .await;
    assert_eq!(stale_delete.status, 412);
    assert_eq!(app.get(&path).await.body["data"]["title"], "D");
    let delete = app
        .send(
            app.client
                .delete(app.url(&path))
                .header("if-match", "\"3\""),
        )
        .await;
    assert_eq!(delete.status, 204);
}

async fn put_replaces_every_writable_field(app: TestApp) {
    let post = app
        .create(
            "posts",
            json!({"title": "A", "body": "old", "status": "published", "views": 5}),
        )
        .await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let reply = app.put(&path, &json!({"title": "New"})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["title"], "New");
    assert_eq!(
        data["body"],
        json!(null),
        "absent optional fields become null"
    );
    assert_eq!(data["status"], "draft", "or their default");
    assert_eq!(data["views"], 0);
    let missing = app.put(&path, &json!({"body": "no title"})).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["errors"][0]["path"], "/title");
    assert_eq!(missing.body["errors"][0]["code"], "required");
    // A client may PUT back what it read.
    let read = app.get(&path).await.body["data"].clone();
    let again = app.put(&path, &read).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

async fn delete_answers_204_and_the_record_is_gone(app: TestApp) {
    let post = app.create("posts", json!({"title": "A"})).await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let reply = app.delete(&path).await;
    assert_eq!(reply.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
    assert_eq!(app.delete(&path).await.status, 404);
}

async fn system_and_read_only_fields_are_ignored_only_when_unchanged(app: TestApp) {
    let post = app.create("posts", json!({"title": "A"})).await;
    assert_eq!(post["rank"], 1);
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let same = app
        .patch(
            &path,
            &json!({"title": "B", "id": post["id"], "version": 1, "rank": 1}),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    let changed = app
        .patch(
            &path,
            &json!({"version": 7, "created_at": "2020-01-01T00:00:00Z", "rank": 5}),
        )
        .await;
    assert_eq!(changed.status, 400);
    let codes: Vec<(&str, &str)> = changed.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert!(codes.contains(&("/version", "read_only")), "{codes:?}");
    assert!(codes.contains(&("/created_at", "read_only")), "{codes:?}");
    assert!(codes.contains(&("/rank", "read_only")), "{codes:?}");
    let create = app
        .post("/api/v1/posts", &json!({"title": "x", "rank": 9}))
        .await;
    assert_eq!(create.status, 400);
    assert_eq!(create.body["errors"][0]["code"], "read_only");
}

async fn hidden_fields_are_never_returned_and_cannot_be_named(app: TestApp) {
    let post = app.create("posts", json!({"title": "A"})).await;
    assert!(post.get("secret").is_none(), "{post}");
    let named = app
        .post("/api/v1/posts", &json!({"title": "A", "secret": "x"}))
        .await;
    assert_eq!(named.status, 400);
    assert_eq!(named.body["errors"][0]["code"], "unknown_field");
    assert_eq!(named.body["errors"][0]["path"], "/secret");
    let list = app.get("/api/v1/posts").await;
    assert!(list.body["data"][0].get("secret").is_none());
    assert_eq!(app.get("/api/v1/posts?fields=secret").await.status, 400);
    assert_eq!(app.get("/api/v1/posts?sort=secret").await.status, 400);
    assert_eq!(
        app.get("/api/v1/posts?filter=secret%20%3D%20'x'")
            .await
            .code(),
        "invalid_filter"
    );
}

async fn a_client_may_choose_the_id_once(app: TestApp) {
    let id = uuid::Uuid::now_v7().to_string();
    let created = app
        .post("/api/v1/posts", &json!({"id": id, "title": "A"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["data"]["id"], id.as_str());
    let again = app
        .post("/api/v1/posts", &json!({"id": id, "title": "B"}))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "conflict");
    let bad = app
        .post("/api/v1/posts", &json!({"id": "nope", "title": 5}))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"].as_array().unwrap().len(),
        2,
        "all problems together: {}",
        bad.body
    );
}

async fn on_delete_cascades_or_restricts(app: TestApp) {
    let author = app.create("authors", json!({"name": "Ada"})).await;
    let post = app
        .create("posts", json!({"title": "A", "author": author["id"]}))
        .await;
    let post_path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let comment = app
        .create("comments", json!({"post": post["id"], "text": "hi"}))
        .await;

    let restricted = app.delete(&post_path).await;
    assert_eq!(restricted.status, 409, "{}", restricted.body);
    assert_eq!(restricted.code(), "conflict");
    assert_eq!(app.get(&post_path).await.status, 200);

    let comment_path = format!("/api/v1/comments/{}", comment["id"].as_str().unwrap());
    assert_eq!(app.delete(&comment_path).await.status, 204);
    let author_path = format!("/api/v1/authors/{}", author["id"].as_str().unwrap());
    assert_eq!(app.delete(&author_path).await.status, 204);
    assert_eq!(
        app.get(&post_path).await.status,
        404,
        "the post went with its author (cascade)"
    );

    let dangling = app
        .post(
            "/api/v1/posts",
            &json!({"title": "A", "author": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(dangling.status, 400);
    assert_eq!(dangling.body["errors"][0]["code"], "invalid_relation");
    assert_eq!(dangling.body["errors"][0]["path"], "/author");
}
