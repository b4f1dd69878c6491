//! Running the real `strata` binary: start `serve` on a free port, find the port in its log, stop it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_strata");

/// A `strata serve` process and the address it listens on.
pub struct Server {
    pub child: Child,
    pub address: String,
    /// Every line the server has written to stdout so far.
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Start `strata serve` in `dir` (its working directory) with extra arguments, and wait until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("STRATA_DATABASE__URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("strata starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                kept.lock().expect("log lines").push(line.clone());
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| *c != '"' && !c.is_whitespace())
                        .collect();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("strata logs its address");
        Server {
            child,
            address: format!("http://{addr}"),
            lines,
        }
    }

    /// The JSON log lines written so far that satisfy `pick`, waiting up to 10 s for a first one (lines are
    /// written by a background thread).
    pub fn logged(&self, pick: impl Fn(&serde_json::Value) -> bool) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<serde_json::Value> = self
                .lines
                .lock()
                .expect("log lines")
                .iter()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
                .filter(|v| pick(v))
                .collect();
            if !found.is_empty() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "strata did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

/// Run a `strata` command to completion in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("STRATA_DATABASE__URL")
        .output()
        .expect("strata runs")
}

/// An HTTP client for talking to the server. reqwest is built with rustls but no crypto of its own (the server
/// installs ring when it needs TLS); this test process installs it too, once.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// `GET url` with [`client`].
pub async fn get(url: String) -> reqwest::Result<reqwest::Response> {
    client().get(url).send().await
}
