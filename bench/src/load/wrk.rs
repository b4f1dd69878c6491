//! Driving a server with wrk: the operation's Lua script written to disk, wrk run for the load's duration, and
//! the one `BENCH_RESULT {…}` line the script's `done()` prints parsed into an [`Outcome`].

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::{Load, Outcome};

/// The line `lua/common.lua` prints at the end of a run.
#[derive(Debug, Deserialize)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    non2xx: u64,
    socket_errors: u64,
    timeouts: u64,
    p50_us: u64,
    p99_us: u64,
    first_failure: String,
}

/// wrk's version line, e.g. `wrk 4.1.0 [epoll]`.
pub fn version(program: &Path) -> String {
    let output = Command::new(program).arg("-v").output();
    let text = match output {
        Ok(out) => format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => String::new(),
    };
    let line = text.lines().next().unwrap_or("wrk").trim();
    // "wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer": keep the name, version and engine.
    match line.find(" Copyright") {
        Some(end) => line[..end].to_owned(),
        None => line.to_owned(),
    }
}

pub async fn run(program: &Path, scripts: &Path, load: &Load) -> anyhow::Result<Outcome> {
    let script = scripts.join(format!("{}.lua", load.operation));
    std::fs::write(&script, load.operation.lua())
        .with_context(|| format!("writing {}", script.display()))?;
    let seconds = load.duration.as_secs().max(1);
    let mut command = Command::new(program);
    command
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{seconds}s"))
        .args(["--timeout", "10s", "-s"])
        .arg(&script)
        .arg(&load.base_url)
        .arg("--")
        .arg(&load.ids_file)
        .env("STRATA_BENCH_BEARER", &load.bearer)
        .env("STRATA_BENCH_AUTHOR", &load.author)
        .env("STRATA_BENCH_LOGIN_BODY", &load.login_body);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .with_context(|| format!("running {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk exited with {}: {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&stdout).with_context(|| {
        format!(
            "reading wrk's output:\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The outcome in wrk's standard output.
fn parse(stdout: &str) -> anyhow::Result<Outcome> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .context("no BENCH_RESULT line")?;
    let r: WrkResult = serde_json::from_str(line).context("parsing the BENCH_RESULT line")?;
    Ok(Outcome {
        requests: r.requests,
        seconds: r.duration_us as f64 / 1e6,
        non2xx: r.non2xx,
        socket_errors: r.socket_errors + r.timeouts,
        p50_us: r.p50_us,
        p99_us: r.p99_us,
        first_failure: Some(r.first_failure).filter(|f| !f.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_line_is_found_among_wrk_own_output() {
        let out = "Running 10s test @ http://127.0.0.1:1\n  2 threads and 64 connections\n\
            BENCH_RESULT {\"requests\":1000,\"duration_us\":2000000,\"non2xx\":2,\"socket_errors\":1,\
            \"timeouts\":1,\"p50_us\":900,\"p99_us\":4100,\"first_failure\":\"500 \\u0022x\\u0022\"}\n\
            Requests/sec: 500.00\n";
        let outcome = parse(out).unwrap();
        assert_eq!(outcome.requests, 1000);
        assert_eq!(outcome.seconds, 2.0);
        assert_eq!(outcome.requests_per_second(), 500.0);
        assert_eq!(outcome.non2xx, 2);
        assert_eq!(outcome.socket_errors, 2);
        assert_eq!((outcome.p50_us, outcome.p99_us), (900, 4100));
        assert_eq!(outcome.first_failure.as_deref(), Some("500 \"x\""));
    }

    #[test]
    fn output_without_a_result_line_is_an_error() {
        assert!(parse("Running 10s test\n").is_err());
    }
}
