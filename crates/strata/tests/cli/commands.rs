//! `strata serve`, `strata schema check` and `strata migrate plan|apply` as a user runs them.

use serde_json::json;

use crate::process::{Server, run};

#[tokio::test]
async fn serve_starts_with_no_configuration_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[]);
    let ready = crate::process::get(format!("{}/readyz", server.address))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    // Only the built-in users collection exists, and it is locked to admins.
    let users = crate::process::get(format!("{}/api/v1/users", server.address))
        .await
        .expect("users");
    assert_eq!(users.status(), 401);
    let posts = crate::process::get(format!("{}/api/v1/posts", server.address))
        .await
        .expect("posts");
    assert_eq!(posts.status(), 404);
    assert_eq!(server.terminate().code(), Some(0));
    assert!(
        dir.path().join("strata_data/data.db").exists(),
        "the SQLite file lives in ./strata_data"
    );
}

#[test]
fn schema_check_prints_every_problem_with_where_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = r#"
[collections.posts]
fields.title  = { type = "text", max_length = "long" }
fields.Bad    = { type = "text" }
fields.author = { type = "relation", collection = "ghosts" }
fields.kind   = { type = "colour" }
rules.list    = "title = "
rules.nope    = "true"

[collections.admin]
fields.x = { type = "text" }
"#;
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, schema).expect("write");
    let out = run(
        dir.path(),
        &[
            "schema",
            "check",
            "--config",
            path.to_str().expect("utf-8 path"),
        ],
    );
    assert!(!out.status.success(), "a bad schema fails the command");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "collections.posts.fields.title",
        "collections.posts.fields.Bad",
        "collections.posts.fields.author: relation to unknown collection `ghosts`",
        "collections.posts.fields.kind: unknown type `colour`",
        "collections.posts.rules.list",
        "position 8",
        "collections.posts.rules.nope",
        "collections.admin: `admin` is a reserved name",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }

    // `serve` refuses the same schema before binding anything.
    let serve = run(
        dir.path(),
        &[
            "serve",
            "--config",
            path.to_str().expect("utf-8 path"),
            "--addr",
            "127.0.0.1:0",
        ],
    );
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("collections.posts.fields.kind"));

    std::fs::write(
        dir.path().join("strata.toml"),
        "[collections.posts]\nfields.title = { type = \"text\" }\n",
    )
    .expect("write");
    let ok = run(dir.path(), &["schema", "check"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[tokio::test]
async fn migrations_add_on_serve_and_drop_only_when_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let v1 = "[collections.posts]\nfields.title = { type = \"text\" }\nfields.old = { type = \"text\" }\nrules.view = \"true\"\nrules.create = \"true\"\n";
    std::fs::write(dir.path().join("strata.toml"), v1).expect("write");
    let plan = run(dir.path(), &["migrate", "plan"]);
    assert!(String::from_utf8_lossy(&plan.stdout).contains("create table posts"));

    let server = Server::start(dir.path(), &[]);
    let client = crate::process::client();
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/posts", server.address))
        .json(&json!({"title": "kept", "old": "dropped later"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    assert_eq!(server.terminate().code(), Some(0));

    // The same schema again: nothing to do.
    let same = run(dir.path(), &["migrate", "plan"]);
    assert!(
        String::from_utf8_lossy(&same.stdout).contains("nothing to do"),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );

    // Adding a field is additive; dropping one is destructive.
    let v2 = "[collections.posts]\nfields.title = { type = \"text\" }\nfields.extra = { type = \"integer\" }\nrules.view = \"true\"\n";
    std::fs::write(dir.path().join("strata.toml"), v2).expect("write");
    let plan = String::from_utf8_lossy(&run(dir.path(), &["migrate", "plan"]).stdout).into_owned();
    assert!(plan.contains("add column posts.extra"), "{plan}");
    assert!(plan.contains("DESTRUCTIVE drop column posts.old"), "{plan}");
    let serve = run(dir.path(), &["serve", "--addr", "127.0.0.1:0"]);
    assert!(
        !serve.status.success(),
        "serve refuses a destructive change"
    );
    assert!(String::from_utf8_lossy(&serve.stderr).contains("--allow-destructive"));
    let refused = run(dir.path(), &["migrate", "apply"]);
    assert!(!refused.status.success());
    let applied = run(dir.path(), &["migrate", "apply", "--allow-destructive"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );

    let server = Server::start(dir.path(), &[]);
    let read: serde_json::Value =
        crate::process::get(format!("{}/api/v1/posts/{id}", server.address))
            .await
            .expect("read")
            .json()
            .await
            .expect("json");
    assert_eq!(read["data"]["title"], "kept");
    assert_eq!(read["data"]["extra"], serde_json::Value::Null);
    assert!(read["data"].get("old").is_none());
    assert_eq!(server.terminate().code(), Some(0));
}
