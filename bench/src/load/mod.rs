//! The load: which requests an operation sends, and the two generators that send them with the same semantics
//! (T threads, C keep-alive connections each with one request in flight, a fixed duration, every non-2xx answer
//! and socket error counted): wrk with the Lua scripts in `bench/lua/`, or the in-repo generator when wrk is
//! not installed.

mod builtin;
mod wrk;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use serde::Serialize;

/// What one measured run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// `GET /api/v1/posts/{id}`, a random seeded id
    Get,
    /// `GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=20`
    List,
    /// `POST /api/v1/posts`, a random valid body
    Create,
}

impl Operation {
    pub const ALL: [Operation; 3] = [Operation::Get, Operation::List, Operation::Create];

    /// The request as the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Get => "GET /api/v1/posts/{id}",
            Operation::List => {
                "GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=20"
            }
            Operation::Create => "POST /api/v1/posts",
        }
    }

    /// The wrk script for this operation (the shared part first).
    fn lua(self) -> String {
        let own = match self {
            Operation::Get => include_str!("../../lua/get.lua"),
            Operation::List => include_str!("../../lua/list.lua"),
            Operation::Create => include_str!("../../lua/create.lua"),
        };
        format!("{}\n{own}", include_str!("../../lua/common.lua"))
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Get => "get",
            Operation::List => "list",
            Operation::Create => "create",
        })
    }
}

/// One bounded load against one server.
#[derive(Debug, Clone)]
pub struct Load {
    pub operation: Operation,
    pub base_url: String,
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
    /// The token every request carries, and its user's id (the author of created posts).
    pub bearer: String,
    pub author: String,
    /// The seeded ids, one per line in `ids_file` for wrk, and in memory for the in-repo generator.
    pub ids: Arc<Vec<String>>,
    pub ids_file: PathBuf,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub requests: u64,
    pub seconds: f64,
    /// Answers outside 200–299.
    pub non2xx: u64,
    /// Connect, read and write errors, and requests that timed out.
    pub socket_errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// The status and start of the body of the first non-2xx answer, to say why a run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

impl Outcome {
    pub fn requests_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Why this run counts as failed, if it does: any non-2xx answer or socket error, or no request at all.
    pub fn failure(&self) -> Option<String> {
        if self.requests == 0 {
            return Some("no request completed".into());
        }
        if self.non2xx == 0 && self.socket_errors == 0 {
            return None;
        }
        let mut why = format!(
            "{} non-2xx answers and {} socket errors in {} requests",
            self.non2xx, self.socket_errors, self.requests
        );
        if let Some(first) = &self.first_failure {
            why.push_str(&format!("; first: {first}"));
        }
        Some(why)
    }
}

/// The program that sends the load.
#[derive(Debug, Clone)]
pub enum Generator {
    /// wrk at this path; its scripts are written to the given directory.
    Wrk { program: PathBuf, scripts: PathBuf },
    /// The in-repo generator.
    Builtin,
}

/// Which generator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GeneratorChoice {
    /// wrk when it is on PATH, else the in-repo generator
    Auto,
    Wrk,
    Builtin,
}

impl Generator {
    /// The generator `choice` names, with wrk's scripts to be written under `work_dir`.
    pub fn choose(choice: GeneratorChoice, work_dir: &Path) -> anyhow::Result<Generator> {
        let found = find_on_path("wrk");
        match (choice, found) {
            (GeneratorChoice::Builtin, _) | (GeneratorChoice::Auto, None) => Ok(Generator::Builtin),
            (_, Some(program)) => Ok(Generator::Wrk {
                program,
                scripts: work_dir.to_owned(),
            }),
            (GeneratorChoice::Wrk, None) => {
                anyhow::bail!("wrk is not on PATH (install it with `apt-get install -y wrk`)")
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Generator::Wrk { program, .. } => wrk::version(program),
            Generator::Builtin => "strata-bench in-repo generator".into(),
        }
    }

    /// Send `load` and measure it.
    pub async fn run(&self, load: &Load) -> anyhow::Result<Outcome> {
        match self {
            Generator::Wrk { program, scripts } => wrk::run(program, scripts, load).await,
            Generator::Builtin => builtin::run(load).await,
        }
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_with_any_failed_request_is_failed() {
        let clean = Outcome {
            requests: 10,
            seconds: 1.0,
            ..Outcome::default()
        };
        assert_eq!(clean.failure(), None);
        let non2xx = Outcome {
            non2xx: 1,
            first_failure: Some("500 oops".into()),
            ..clean.clone()
        };
        assert!(non2xx.failure().unwrap().contains("500 oops"));
        let socket = Outcome {
            socket_errors: 1,
            ..clean.clone()
        };
        assert!(socket.failure().is_some());
        assert!(Outcome::default().failure().is_some());
    }

    #[test]
    fn every_script_has_the_shared_part_and_a_request_function() {
        for op in Operation::ALL {
            let lua = op.lua();
            assert!(lua.contains("function response("), "{op}");
            assert!(lua.contains("function request()"), "{op}");
            assert!(lua.contains("function prepare()"), "{op}");
        }
    }
}
