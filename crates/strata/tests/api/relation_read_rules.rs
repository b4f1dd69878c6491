//! A read rule that follows relations (SPEC §7): `budget` is readable to the owner of the report's project's team.
//! It needs other records, so the store decides it; the answer must be the same on every path a record takes to
//! its reader: get, list, expansion, filters and sorts, and the answers of writes (idempotent ones included).

use serde_json::{Value, json};

use crate::authz::{User, user};
use crate::field_rules::list_ids;
use crate::helpers::TestApp;
use crate::on_backends_with;

const TEAMS: &str = r#"
[collections.teams]
fields.name  = { type = "text", required = true, max_length = 50 }
fields.owner = { type = "relation", collection = "users", required = true }
rules.list   = "true"
rules.view   = "true"
rules.create = "@data.owner = @auth.id"

[collections.projects]
fields.name = { type = "text", required = true, max_length = 50 }
fields.team = { type = "relation", collection = "teams", required = true }
rules.list   = "true"
rules.view   = "true"
rules.create = "@auth.id != null"

[collections.reports]
fields.title   = { type = "text", required = true, max_length = 100 }
fields.project = { type = "relation", collection = "projects", required = true }
fields.budget  = { type = "integer", read = "project.team.owner = @auth.id" }
rules.list   = "true"
rules.view   = "true"
rules.create = "@auth.id != null"
rules.update = "@auth.id != null"

[collections.notes]
fields.report = { type = "relation", collection = "reports", required = true }
fields.text   = { type = "text", required = true, max_length = 100 }
rules.list   = "true"
rules.view   = "true"
rules.create = "@auth.id != null"
"#;

on_backends_with!(TEAMS; a_read_rule_that_follows_relations_is_decided_per_record);

async fn create(app: &TestApp, who: &User, collection: &str, body: Value) -> Value {
    let reply = app
        .send_as(
            &who.token,
            app.client
                .post(app.url(&format!("/api/v1/{collection}")))
                .json(&body),
        )
        .await;
    assert_eq!(reply.status, 201, "{collection}: {}", reply.body);
    reply.body["data"].clone()
}

async fn get(app: &TestApp, who: &User, path: &str) -> Value {
    let reply = app.send_as(&who.token, app.client.get(app.url(path))).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.body["data"].clone()
}

async fn a_read_rule_that_follows_relations_is_decided_per_record(app: TestApp) {
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let team = create(
        &app,
        &alice,
        "teams",
        json!({"name": "A", "owner": alice.id}),
    )
    .await;
    let project = create(
        &app,
        &alice,
        "projects",
        json!({"name": "P", "team": team["id"]}),
    )
    .await;
    let bobs_team = create(&app, &bob, "teams", json!({"name": "B", "owner": bob.id})).await;
    let bobs_project = create(
        &app,
        &bob,
        "projects",
        json!({"name": "Q", "team": bobs_team["id"]}),
    )
    .await;

    // Write answers: bob writes a report into alice's project, whose budget only alice may read.
    let report = json!({"title": "r1", "project": project["id"], "budget": 100});
    let written = create(&app, &bob, "reports", report.clone()).await;
    assert!(written.get("budget").is_none(), "{written}");
    let own = create(
        &app,
        &bob,
        "reports",
        json!({"title": "r2", "project": bobs_project["id"], "budget": 200}),
    )
    .await;
    assert_eq!(own["budget"], 200);
    let r1 = written["id"].as_str().unwrap().to_owned();
    let r2 = own["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/reports/{r1}");
    for (who, expected) in [(&alice, Some(100)), (&bob, None)] {
        let patched = app
            .send_as(
                &who.token,
                app.client
                    .patch(app.url(&path))
                    .json(&json!({"title": "r1"})),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(
            patched.body["data"].get("budget").and_then(Value::as_i64),
            expected
        );
        let batch = app
            .send_as(
                &who.token,
                app.client.post(app.url("/api/v1/batch")).json(&json!({"requests": [
                    {"method": "PATCH", "path": format!("/reports/{r1}"), "body": {"title": "r1"}}
                ]})),
            )
            .await;
        assert_eq!(batch.status, 200, "{}", batch.body);
        assert_eq!(
            batch.body["data"][0]["data"]
                .get("budget")
                .and_then(Value::as_i64),
            expected
        );
    }
    // An idempotent create stores its answer inside the write's transaction; the replay is the same answer.
    let keyed = |key: &str| {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("Idempotency-Key", key)
            .json(&json!({"title": "r3", "project": project["id"], "budget": 300}))
    };
    for who in [&alice, &bob] {
        let key = format!("key-{}", who.id);
        let first = app.send_as(&who.token, keyed(&key)).await;
        let again = app.send_as(&who.token, keyed(&key)).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body, again.body);
        let expected = if who.id == alice.id { Some(300) } else { None };
        assert_eq!(
            first.body["data"].get("budget").and_then(Value::as_i64),
            expected
        );
    }

    // Reads: get, list and expansion.
    assert_eq!(get(&app, &alice, &path).await["budget"], 100);
    assert!(get(&app, &bob, &path).await.get("budget").is_none());
    assert_eq!(
        get(&app, &bob, &format!("/api/v1/reports/{r2}")).await["budget"],
        200
    );
    let note = create(&app, &bob, "notes", json!({"report": r1, "text": "n"})).await;
    let expanded = format!(
        "/api/v1/notes/{}?expand=report",
        note["id"].as_str().unwrap()
    );
    assert_eq!(
        get(&app, &alice, &expanded).await["expand"]["report"]["budget"],
        100
    );
    let as_bob = get(&app, &bob, &expanded).await;
    assert_eq!(as_bob["expand"]["report"]["id"], r1.as_str());
    assert!(
        as_bob["expand"]["report"].get("budget").is_none(),
        "{as_bob}"
    );
    for (who, projects) in [(&alice, &project), (&bob, &bobs_project)] {
        let reply = app
            .send_as(&who.token, app.client.get(app.url("/api/v1/reports")))
            .await;
        let records = reply.body["data"].as_array().unwrap();
        assert_eq!(records.len(), 4);
        for record in records {
            assert_eq!(
                record.get("budget").is_some(),
                record["project"] == projects["id"],
                "{record} in the list of {}",
                who.id
            );
        }
    }

    // Filters and sorts see the same: a budget bob may not read is null to him.
    let bobs = Some(bob.token.as_str());
    let (ids, _) = list_ids(&app, bobs, "reports", &[("filter", "budget = 100")]).await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = list_ids(&app, bobs, "reports", &[("filter", "budget != null")]).await;
    assert_eq!(ids, vec![r2.clone()]);
    let (ids, _) = list_ids(&app, bobs, "reports", &[("sort", "-budget")]).await;
    assert_eq!(
        ids.first(),
        Some(&r2),
        "bob's readable budget before the nulls"
    );
    let alices = Some(alice.token.as_str());
    let (ids, _) = list_ids(&app, alices, "reports", &[("filter", "budget = 100")]).await;
    assert_eq!(ids, vec![r1.clone()]);
}
