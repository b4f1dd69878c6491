//! `POST /api/v1/batch`: several writes in one transaction, all or nothing (SPEC §4, §14).

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    a_batch_applies_every_write_in_order,
    a_failing_item_rolls_back_the_whole_batch,
    malformed_batches_are_refused
);

async fn a_batch_applies_every_write_in_order(app: TestApp) {
    let existing = app.create("posts", json!({"title": "old"})).await;
    let existing_id = existing["id"].as_str().unwrap();
    let author = uuid::Uuid::now_v7().to_string();
    let body = json!({"requests": [
        {"method": "POST", "path": "/authors", "body": {"id": author, "name": "Ada"}},
        {"method": "POST", "path": "/posts", "body": {"title": "new", "author": author}},
        {"method": "PATCH", "path": format!("/posts/{existing_id}"), "body": {"title": "renamed"}, "if_match": "\"1\""},
        {"method": "DELETE", "path": format!("/posts/{existing_id}")},
    ]});
    let reply = app.post("/api/v1/batch", &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.body["data"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["status"], 201);
    assert_eq!(results[0]["data"]["id"], author.as_str());
    assert_eq!(
        results[1]["data"]["author"],
        author.as_str(),
        "later items see earlier ones"
    );
    assert_eq!(results[2]["status"], 200);
    assert_eq!(results[2]["data"]["title"], "renamed");
    assert_eq!(results[3], json!({"status": 204}));
    assert_eq!(
        app.get(&format!("/api/v1/posts/{existing_id}"))
            .await
            .status,
        404
    );
    assert_eq!(app.outbox().await.len(), 5);
}

async fn a_failing_item_rolls_back_the_whole_batch(app: TestApp) {
    let body = json!({"requests": [
        {"method": "POST", "path": "/posts", "body": {"title": "first"}},
        {"method": "POST", "path": "/posts", "body": {"title": "second", "slug": "dup"}},
        {"method": "POST", "path": "/posts", "body": {"title": "third", "views": -1}},
    ]});
    let reply = app.post("/api/v1/batch", &body).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.body["failed_index"], 2);
    assert_eq!(reply.body["errors"][0]["path"], "/requests/2/body/views");

    let conflict = json!({"requests": [
        {"method": "POST", "path": "/posts", "body": {"title": "first", "slug": "dup"}},
        {"method": "POST", "path": "/posts", "body": {"title": "second", "slug": "dup"}},
    ]});
    let reply = app.post("/api/v1/batch", &conflict).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.body["failed_index"], 1);
    let missing = json!({"requests": [
        {"method": "POST", "path": "/posts", "body": {"title": "first"}},
        {"method": "DELETE", "path": format!("/posts/{}", uuid::Uuid::now_v7())},
    ]});
    let reply = app.post("/api/v1/batch", &missing).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["failed_index"], 1);
    assert_eq!(
        app.get("/api/v1/posts?count=true").await.body["total"],
        0,
        "nothing of any batch stayed"
    );
    assert!(app.outbox().await.is_empty(), "nor any event");
}

async fn malformed_batches_are_refused(app: TestApp) {
    let too_many: Vec<_> = (0..101)
        .map(|i| json!({"method": "POST", "path": "/posts", "body": {"title": i.to_string()}}))
        .collect();
    let reply = app
        .post("/api/v1/batch", &json!({"requests": too_many}))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "invalid_query");
    let query = app
        .post(
            "/api/v1/batch",
            &json!({"requests": [{"method": "POST", "path": "/posts?x=1", "body": {}}]}),
        )
        .await;
    assert_eq!(query.code(), "invalid_query");
    let method = app
        .post(
            "/api/v1/batch",
            &json!({"requests": [{"method": "GET", "path": "/posts"}]}),
        )
        .await;
    assert_eq!(method.status, 400);
    assert_eq!(method.body["failed_index"], 0);
    let shape = app.post("/api/v1/batch", &json!({"reqs": []})).await;
    assert_eq!(shape.status, 400);
    assert_eq!(app.get("/api/v1/posts?count=true").await.body["total"], 0);
}
