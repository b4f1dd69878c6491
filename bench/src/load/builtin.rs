//! The in-repo load generator, for machines without wrk: the same semantics as the Lua scripts (the same
//! requests, `threads` runtime workers, `connections` keep-alive connections each with one request in flight until
//! the duration ends, every non-2xx answer and socket error counted), with latencies kept exactly and read at
//! the 50th and 99th percentile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::task::JoinSet;

use super::{Load, Operation, Outcome};
use crate::posts::{Rng, new_post};

/// A request slower than this counts as a socket error (wrk's `--timeout` in the scripts).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The list's query, after `/api/v1/{collection}` (the same as `lua/list.lua`).
const LIST_QUERY: &str = "?filter=status%3D%27published%27&sort=-created_at&limit=20";

/// What one connection measured.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    non2xx: u64,
    socket_errors: u64,
    first_failure: Option<String>,
}

/// Run `load` on a runtime of its own, so that its threads are the load's and nothing else's.
pub async fn run(load: &Load) -> anyhow::Result<Outcome> {
    let load = load.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("bench-load".into())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(load.threads.max(1) as usize)
                .enable_all()
                .build()
                .context("building the load's runtime")
                .and_then(|runtime| runtime.block_on(drive(load)));
            let _ = tx.send(outcome);
        })?;
    rx.await
        .context("the load thread ended without an answer")?
}

async fn drive(load: Load) -> anyhow::Result<Outcome> {
    let connections = load.connections.max(1) as usize;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let load = Arc::new(load);
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut tasks = JoinSet::new();
    for n in 0..connections {
        tasks.spawn(connection(client.clone(), load.clone(), n as u64, deadline));
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        let tally = joined.context("a load task panicked")?;
        total.latencies_us.extend(tally.latencies_us);
        total.non2xx += tally.non2xx;
        total.socket_errors += tally.socket_errors;
        total.first_failure = total.first_failure.or(tally.first_failure);
    }
    let seconds = started.elapsed().as_secs_f64();
    total.latencies_us.sort_unstable();
    Ok(Outcome {
        requests: total.latencies_us.len() as u64,
        seconds,
        non2xx: total.non2xx,
        socket_errors: total.socket_errors,
        p50_us: percentile(&total.latencies_us, 50.0),
        p99_us: percentile(&total.latencies_us, 99.0),
        first_failure: total.first_failure,
    })
}

/// One connection's loop: one request in flight at a time until the deadline.
async fn connection(client: reqwest::Client, load: Arc<Load>, n: u64, deadline: Instant) -> Tally {
    let mut rng = Rng::new(n + 0x5eed);
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let request = build(&client, &load, &mut rng);
        let sent = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        match answer {
            Ok((status, body)) => {
                tally.latencies_us.push(took);
                if !status.is_success() {
                    tally.non2xx += 1;
                    if tally.first_failure.is_none() {
                        let text = String::from_utf8_lossy(&body);
                        let start: String = text.chars().take(300).collect();
                        tally.first_failure = Some(format!("{} {start}", status.as_u16()));
                    }
                }
            }
            Err(_) => tally.socket_errors += 1,
        }
    }
    tally
}

fn build(client: &reqwest::Client, load: &Load, rng: &mut Rng) -> reqwest::RequestBuilder {
    let base = &load.base_url;
    let collection = load.operation.collection().unwrap_or_default();
    let request = match load.operation {
        Operation::Get | Operation::GetPublic => {
            let id = load
                .ids
                .get(rng.index(load.ids.len().max(1)))
                .map_or("", String::as_str);
            client.get(format!("{base}/api/v1/{collection}/{id}"))
        }
        Operation::List | Operation::ListPublic => {
            client.get(format!("{base}/api/v1/{collection}{LIST_QUERY}"))
        }
        Operation::Create => client
            .post(format!("{base}/api/v1/{collection}"))
            .json(&new_post(rng, &load.author)),
        // A sign-in carries no bearer token.
        Operation::Login => {
            return client
                .post(format!("{base}/api/v1/auth/login"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(load.login_body.clone());
        }
    };
    request.bearer_auth(&load.bearer)
}

/// The nearest-rank percentile `p` of sorted `values` (0 when empty).
fn percentile(sorted: &[u32], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    u64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
