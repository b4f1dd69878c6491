//! The request log (SPEC §10): one JSON line per request on stdout, with the request id and W3C trace id that
//! tie it to the client's view of the request.

use crate::process::{Server, client};

#[tokio::test]
async fn every_request_is_one_json_line_with_its_request_and_trace_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path(), &[]);
    let answer = client()
        .get(format!("{}/api/v1/users", server.address))
        .header("x-request-id", "client-chosen.1")
        .header(
            "traceparent",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        )
        .send()
        .await
        .expect("users");
    assert_eq!(answer.status(), 401);
    let unnamed = client()
        .get(format!("{}/healthz", server.address))
        .send()
        .await
        .expect("healthz");
    let generated = unnamed.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();

    let line = server.logged(|l| l["span"]["request_id"] == "client-chosen.1");
    let [line] = line.as_slice() else {
        panic!("one line for the request: {line:?}")
    };
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "request");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/v1/{collection}");
    assert_eq!(line["status"], 401);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert_eq!(line["target"], "strata_http::middleware");
    assert_eq!(line["span"]["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(line["span"]["name"], "request");
    let timestamp = line["timestamp"].as_str().expect("timestamp");
    assert_eq!(timestamp.len(), 27, "{timestamp}");
    chrono::DateTime::parse_from_rfc3339(timestamp).expect("RFC 3339 timestamp");

    let health = server.logged(|l| l["span"]["request_id"] == generated.as_str());
    assert_eq!(health.len(), 1, "the generated id is logged: {generated}");
    assert_eq!(health[0]["route"], "/healthz");
    assert_eq!(health[0]["span"]["trace_id"], "");
    assert_eq!(server.terminate().code(), Some(0));
}
