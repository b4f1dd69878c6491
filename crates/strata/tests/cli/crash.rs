//! A `2xx` means committed: kill the server with SIGKILL while clients write, restart it, and find every
//! acknowledged write, in a consistent database.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::process::Server;

const SCHEMA: &str = r#"
[collections.notes]
fields.text = { type = "text", required = true, max_length = 100 }
fields.n    = { type = "integer" }
rules.list = "true"
rules.view = "true"
rules.create = "true"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("strata.toml"), SCHEMA).expect("schema written");
    let server = Server::start(dir.path(), &[]);
    let address = server.address.clone();

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = crate::process::client();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, address, acknowledged) =
            (client.clone(), address.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = json!({"text": format!("writer {w} note {i}"), "n": i});
                let Ok(response) = client
                    .post(format!("{address}/api/v1/notes"))
                    .json(&body)
                    .send()
                    .await
                else {
                    break;
                };
                if response.status() != 201 {
                    break;
                }
                let Ok(created) = response.json::<serde_json::Value>().await else {
                    break;
                };
                acknowledged
                    .lock()
                    .expect("lock")
                    .push(created["data"]["id"].as_str().expect("id").to_owned());
            }
        }));
    }
    // Let the writers get going, then pull the plug.
    while acknowledged.lock().expect("lock").len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.kill();
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 200);
    eprintln!("{} writes acknowledged before SIGKILL", acknowledged.len());

    let server = Server::start(dir.path(), &[]);
    for id in &acknowledged {
        let response = client
            .get(format!("{}/api/v1/notes/{id}", server.address))
            .send()
            .await
            .expect("read");
        assert_eq!(response.status(), 200, "acknowledged record {id} was lost");
    }
    let total: serde_json::Value = client
        .get(format!(
            "{}/api/v1/notes?count=true&limit=1",
            server.address
        ))
        .send()
        .await
        .expect("count")
        .json()
        .await
        .expect("json");
    let total = total["total"].as_u64().expect("total") as usize;
    assert!(
        total >= acknowledged.len(),
        "{total} records for {} acknowledged",
        acknowledged.len()
    );
    assert_eq!(server.terminate().code(), Some(0));

    // Every record has its event: the outbox was written in the same transactions.
    let conn = rusqlite::Connection::open(dir.path().join("strata_data/data.db")).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
    let events: i64 = conn
        .query_row("SELECT COUNT(*) FROM _outbox", [], |r| r.get(0))
        .expect("outbox");
    assert_eq!(events as usize, total);
}
