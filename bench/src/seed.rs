//! Seeding a collection (`posts`, and `notes` when its loads run) through Strata's own API (`POST /api/v1/batch`,
//! 100 creates per batch, several batches in flight), so the data is exactly what the API writes: ids,
//! timestamps, versions and outbox events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::posts::{Rng, new_post};

/// The most writes one batch may hold (SPEC §14).
pub const BATCH_SIZE: u64 = 100;

/// What seeding made.
#[derive(Debug)]
pub struct Seeded {
    /// The ids of every post created, for the GET load to pick from.
    pub ids: Vec<String>,
    pub elapsed: Duration,
}

/// What to seed: `records` records of the posts' shape in `collection`, by `author`, whose token is `bearer`.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan<'a> {
    pub collection: &'a str,
    pub bearer: &'a str,
    pub author: &'a str,
    pub records: u64,
    /// Batches in flight at once.
    pub concurrency: usize,
}

/// Seed as `plan` says on the Strata server at `base_url`.
pub async fn seed(
    client: &reqwest::Client,
    base_url: &str,
    plan: SeedPlan<'_>,
) -> anyhow::Result<Seeded> {
    let SeedPlan {
        collection,
        bearer,
        author,
        records,
        concurrency,
    } = plan;
    let started = Instant::now();
    let batches = records.div_ceil(BATCH_SIZE);
    let next = Arc::new(AtomicU64::new(0));
    let url = format!("{base_url}/api/v1/batch");
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        let (bearer, author) = (bearer.to_owned(), author.to_owned());
        let collection = collection.to_owned();
        workers.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let batch = next.fetch_add(1, Ordering::Relaxed);
                if batch >= batches {
                    return anyhow::Ok(ids);
                }
                let size = BATCH_SIZE.min(records - batch * BATCH_SIZE);
                let body = batch_body(&collection, batch, size, &author);
                let response = client
                    .post(&url)
                    .bearer_auth(&bearer)
                    .json(&body)
                    .send()
                    .await
                    .context("sending a seed batch")?;
                let status = response.status();
                let text = response.text().await?;
                if status.as_u16() != 200 {
                    bail!("a seed batch answered {status}: {text}");
                }
                ids.extend(created_ids(&text, size)?);
                report_progress(batch, batches);
            }
        });
    }
    let mut ids = Vec::new();
    while let Some(joined) = workers.join_next().await {
        ids.extend(joined.context("a seeding task panicked")??);
    }
    Ok(Seeded {
        ids,
        elapsed: started.elapsed(),
    })
}

/// The body of batch number `batch`: `size` creates in `collection` by `author`, generated from the batch number
/// so that runs are repeatable (and both collections hold the same data).
pub fn batch_body(collection: &str, batch: u64, size: u64, author: &str) -> Value {
    let mut rng = Rng::new(batch + 1);
    let path = format!("/{collection}");
    let requests: Vec<Value> = (0..size)
        .map(|_| json!({"method": "POST", "path": path, "body": new_post(&mut rng, author)}))
        .collect();
    json!({ "requests": requests })
}

/// The ids in a batch answer `{"data": [{"status": 201, "data": {"id": …}}, …]}`, checking that all `expected`
/// items were created.
pub fn created_ids(answer: &str, expected: u64) -> anyhow::Result<Vec<String>> {
    let answer: Value = serde_json::from_str(answer).context("parsing a batch answer")?;
    let items = answer
        .get("data")
        .and_then(Value::as_array)
        .context("a batch answer without a data array")?;
    if items.len() as u64 != expected {
        bail!("a batch of {expected} answered {} results", items.len());
    }
    items
        .iter()
        .map(|item| {
            if item.get("status").and_then(Value::as_u64) != Some(201) {
                bail!("a batch item was not created: {item}");
            }
            item.pointer("/data/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .context("a created item without data.id")
        })
        .collect()
}

fn report_progress(batch: u64, batches: u64) {
    let step = (batches / 10).max(1);
    if batches >= 1_000 && (batch + 1).is_multiple_of(step) {
        eprintln!("    seeded {}%", (batch + 1) * 100 / batches);
    }
}

/// How many records of `collection` the server at `base_url` lists in all (`count=true`), to check that seeding
/// landed.
pub async fn count_records(
    client: &reqwest::Client,
    base_url: &str,
    collection: &str,
    bearer: &str,
) -> anyhow::Result<u64> {
    let response = client
        .get(format!("{base_url}/api/v1/{collection}?limit=1&count=true"))
        .bearer_auth(bearer)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("counting {collection} answered {status}: {text}");
    }
    let answer: Value = serde_json::from_str(&text)?;
    answer
        .get("total")
        .and_then(Value::as_u64)
        .context("the count answer has no total")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_the_requested_number_of_creates() {
        let body = batch_body("posts", 3, 42, "a");
        let requests = body["requests"].as_array().unwrap();
        assert_eq!(requests.len(), 42);
        assert_eq!(requests[0]["method"], "POST");
        assert_eq!(requests[0]["path"], "/posts");
        assert!(requests[0]["body"]["title"].is_string());
    }

    #[test]
    fn batches_are_repeatable_and_differ_from_each_other() {
        assert_eq!(
            batch_body("posts", 5, 10, "a"),
            batch_body("posts", 5, 10, "a")
        );
        assert_ne!(
            batch_body("posts", 5, 10, "a"),
            batch_body("posts", 6, 10, "a")
        );
    }

    #[test]
    fn both_collections_are_seeded_with_the_same_records() {
        let (posts, notes) = (
            batch_body("posts", 2, 5, "a"),
            batch_body("notes", 2, 5, "a"),
        );
        assert_eq!(notes["requests"][0]["path"], "/notes");
        for (p, n) in posts["requests"]
            .as_array()
            .unwrap()
            .iter()
            .zip(notes["requests"].as_array().unwrap())
        {
            assert_eq!(p["body"], n["body"]);
        }
    }

    #[test]
    fn ids_are_read_from_a_batch_answer() {
        let answer =
            r#"{"data":[{"status":201,"data":{"id":"a"}},{"status":201,"data":{"id":"b"}}]}"#;
        assert_eq!(created_ids(answer, 2).unwrap(), ["a", "b"]);
    }

    #[test]
    fn a_short_or_failed_batch_answer_is_an_error() {
        let answer = r#"{"data":[{"status":201,"data":{"id":"a"}}]}"#;
        assert!(created_ids(answer, 2).is_err());
        let answer = r#"{"data":[{"status":400,"data":{}}]}"#;
        assert!(created_ids(answer, 1).is_err());
    }
}
