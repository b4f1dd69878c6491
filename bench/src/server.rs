//! The servers under load, as child processes: started on a free port with their output in a log file, awaited
//! until they answer 200 on their readiness path (`/readyz` for Strata), measured (peak RSS from `/proc`) and
//! stopped with SIGTERM. A server still running when its handle is dropped (an error path) is killed.
//!
//! The port is picked here rather than with `--addr 127.0.0.1:0` and Strata's "listening on" log line, so that
//! `RUST_LOG=warn` (Strata without its request logs) works too.

use std::ffi::OsString;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a server may take from spawn to ready (opening a large database included).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Fine enough to time a start of a few tens of milliseconds (`startup`).
const POLL: Duration = Duration::from_millis(5);

/// What to run: a program, its arguments (`--addr 127.0.0.1:PORT` is added) and extra environment.
#[derive(Debug, Clone)]
pub struct Launch {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    /// Inherited environment variables the program must not see.
    pub env_remove: Vec<OsString>,
    /// A path that answers 200 once the server can take load (`/readyz` for Strata).
    pub ready_path: &'static str,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    name: String,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
}

impl Server {
    /// Spawn `launch` with stdout and stderr appended to `log`, and wait until it is ready.
    pub async fn start(launch: &Launch, log: &Path) -> anyhow::Result<Server> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let addr = free_local_addr()?;
        let mut command = Command::new(&launch.program);
        command
            .args(&launch.args)
            .args(["--addr", &addr])
            .envs(launch.env.iter().map(|(k, v)| (k, v)));
        for name in &launch.env_remove {
            command.env_remove(name);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", launch.program.display()))?;
        let mut server = Server {
            child: Some(child),
            name: launch.name.clone(),
            log: log.to_owned(),
            base_url: format!("http://{addr}"),
        };
        server.wait_ready(launch.ready_path).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}{path}", self.base_url);
        loop {
            self.check_alive()?;
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer 200 on {path} within {START_TIMEOUT:?}{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            bail!("{} exited with {status}{}", self.name, self.log_tail());
        }
        Ok(())
    }

    /// The process's peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&mut self) -> anyhow::Result<u64> {
        self.check_alive()?;
        let pid = self
            .child
            .as_ref()
            .map(Child::id)
            .context("the server is not running")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        vm_hwm_kib(&status).context("no VmHWM line in /proc/PID/status")
    }

    /// Stop with SIGTERM (graceful shutdown: in-flight requests finish, the store closes), killing the process if
    /// it does not exit in time. A server that had already exited is an error: it crashed under load.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.check_alive()?;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .context("running kill")?;
        if !sent.success() {
            child.kill()?;
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!(
                    "{} exited with {status} on SIGTERM{}",
                    self.name,
                    self.log_tail()
                );
            }
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!(
                    "{} did not stop within {STOP_TIMEOUT:?} of SIGTERM",
                    self.name
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The end of the server's log, for error messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        format!(" (log: {}; last lines below)\n{tail}", self.log.display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback address whose port is free right now (the kernel's pick, released for the server to bind).
fn free_local_addr() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.to_string())
}

/// `VmHWM` from the text of `/proc/PID/status`, in KiB.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_from_proc_status() {
        let status = "Name:\tstrata\nVmPeak:\t  100 kB\nVmHWM:\t   13712 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(13_712));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
    }

    #[test]
    fn our_own_process_has_a_peak_rss() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(vm_hwm_kib(&status).unwrap() > 0);
    }

    #[test]
    fn free_ports_are_on_loopback() {
        assert!(free_local_addr().unwrap().starts_with("127.0.0.1:"));
    }
}
