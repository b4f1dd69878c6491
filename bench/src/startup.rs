//! Start time (SPEC §13: start to `/readyz` 200 with 50 collections): Strata on SQLite with a schema of 50
//! collections shaped like `posts`, timed from spawning the process to its first 200 on `/readyz`, first on a
//! fresh data directory (the start creates every table and index) and then again on the same directory (a
//! restart, the schema already applied). Each is the best of a few starts, so that one slow fork of a busy
//! machine does not stand for the server. Readiness is polled every 5 ms, so the figures are that coarse.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::server::{Launch, Server};
use crate::setup::argon2_overrides;

/// How many collections the start-time schema declares.
pub const COLLECTIONS: usize = 50;
/// Starts per measurement; the fastest counts.
const TRIES: usize = 3;

/// The two start times, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StartTimes {
    pub collections: usize,
    /// A fresh data directory: every table and index is created before `/readyz` answers.
    pub first_start_ms: f64,
    /// The same directory again: nothing to migrate.
    pub restart_ms: f64,
}

/// A schema of `n` collections like the benchmark's posts: five fields, a relation, an index and rules.
pub fn schema(n: usize) -> String {
    let mut toml = String::from("# Written by strata-bench: the start-time schema (SPEC §13).\n");
    for i in 0..n {
        toml.push_str(&format!(
            r#"
[collections.c{i:02}]
fields.title  = {{ type = "text", required = true, max_length = 200 }}
fields.body   = {{ type = "text", max_length = 10000 }}
fields.status = {{ type = "select", options = ["draft", "published"], default = "draft" }}
fields.views  = {{ type = "integer", min = 0, default = 0 }}
fields.author = {{ type = "relation", collection = "users", required = true, on_delete = "cascade" }}
indexes = [["status", "created_at", "id"]]
rules.list   = "status = 'published' || author = @auth.id"
rules.view   = "status = 'published' || author = @auth.id"
rules.create = "@auth.id != null && @data.author = @auth.id"
"#
        ));
    }
    toml
}

/// Measure both start times with `strata`, in the scratch directory `work`.
pub async fn measure(strata: &Path, work: &Path) -> anyhow::Result<StartTimes> {
    let dir = work.join("start-time");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("strata.toml");
    std::fs::write(&config, schema(COLLECTIONS))?;
    let log = dir.join("strata.log");
    let mut first = Duration::MAX;
    let mut restart = Duration::MAX;
    for i in 0..TRIES {
        let launch = Launch {
            name: format!("strata ({COLLECTIONS} collections)"),
            program: strata.to_owned(),
            args: vec![
                "serve".into(),
                "--config".into(),
                config.clone().into(),
                "--data-dir".into(),
                dir.join(format!("data-{i}")).into(),
            ],
            env: vec![],
            env_remove: argon2_overrides(std::env::vars_os().map(|(name, _)| name)),
            ready_path: "/readyz",
        };
        first = first.min(time_to_ready(&launch, &log).await?);
        restart = restart.min(time_to_ready(&launch, &log).await?);
    }
    Ok(StartTimes {
        collections: COLLECTIONS,
        first_start_ms: first.as_secs_f64() * 1e3,
        restart_ms: restart.as_secs_f64() * 1e3,
    })
}

async fn time_to_ready(launch: &Launch, log: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let server = Server::start(launch, log).await?;
    let ready = started.elapsed();
    server.stop().await?;
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_schema_declares_fifty_distinct_collections() {
        let toml = schema(COLLECTIONS);
        let names: std::collections::BTreeSet<&str> = toml
            .lines()
            .filter_map(|l| l.strip_prefix("[collections.")?.strip_suffix(']'))
            .collect();
        assert_eq!(names.len(), COLLECTIONS);
    }
}
