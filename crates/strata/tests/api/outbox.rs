//! The transactional outbox as a client's writes leave it (SPEC §9): one CloudEvents 1.0 event per committed
//! write, none for a refused one, hidden fields never in it.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(every_write_stores_its_cloudevent);

async fn every_write_stores_its_cloudevent(app: TestApp) {
    let post = app.create("posts", json!({"title": "A"})).await;
    let id = post["id"].as_str().unwrap();
    let path = format!("/api/v1/posts/{id}");
    let patched = app
        .send(
            app.client
                .patch(app.url(&path))
                .header("x-request-id", "req-1")
                .json(&json!({"title": "B"})),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(app.delete(&path).await.status, 204);
    let refused = app.post("/api/v1/posts", &json!({"title": 1})).await;
    assert_eq!(refused.status, 400);

    let events = app.outbox().await;
    assert_eq!(events.len(), 3, "{events:?}");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "strata.record.created",
            "strata.record.updated",
            "strata.record.deleted"
        ]
    );
    for event in &events {
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/api/v1/posts");
        assert_eq!(event["subject"], id);
        assert_eq!(event["datacontenttype"], "application/json");
        assert!(uuid::Uuid::try_parse(event["id"].as_str().unwrap()).is_ok());
        assert!(
            event["data"]["record"].get("secret").is_none(),
            "hidden fields never leave"
        );
    }
    assert_eq!(events[1]["requestid"], "req-1");
    assert_eq!(events[1]["data"]["record"]["title"], "B");
    assert_eq!(events[1]["data"]["previous"]["title"], "A");
    assert_eq!(events[2]["data"]["previous"]["title"], "B");
}
