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
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// `GET /api/v1/posts/{id}`, a random seeded id (view rule on `@auth.id`)
    Get,
    /// `GET /api/v1/notes/{id}`: the same load on a collection whose rules are all `"true"`
    GetPublic,
    /// `GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=20` (list rule on `@auth.id`)
    List,
    /// The same list on the public `notes` collection
    ListPublic,
    /// `POST /api/v1/posts`, a random valid body
    Create,
    /// `POST /api/v1/auth/login` as the benchmark's user: Argon2id at Strata's defaults, one connection per core
    Login,
}

/// The collection of the rules' cost comparison (issue 5): the posts' fields and index, every rule `"true"`.
pub const PUBLIC_COLLECTION: &str = "notes";
/// The benchmark's collection with rules on `@auth.id`.
pub const RULED_COLLECTION: &str = "posts";

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::Get,
        Operation::GetPublic,
        Operation::List,
        Operation::ListPublic,
        Operation::Create,
        Operation::Login,
    ];

    /// The request as the table shows it.
    pub fn label(self) -> &'static str {
        match self {
            Operation::Get => "GET /api/v1/posts/{id}",
            Operation::GetPublic => "GET /api/v1/notes/{id} (public)",
            Operation::List => {
                "GET /api/v1/posts?filter=status='published'&sort=-created_at&limit=20"
            }
            Operation::ListPublic => {
                "GET /api/v1/notes?filter=status='published'&sort=-created_at&limit=20 (public)"
            }
            Operation::Create => "POST /api/v1/posts",
            Operation::Login => "POST /api/v1/auth/login (1 thread, 1 connection per core)",
        }
    }

    /// The collection the operation reads or writes (`None` for sign-in).
    pub fn collection(self) -> Option<&'static str> {
        match self {
            Operation::Get | Operation::List | Operation::Create => Some(RULED_COLLECTION),
            Operation::GetPublic | Operation::ListPublic => Some(PUBLIC_COLLECTION),
            Operation::Login => None,
        }
    }

    /// The operation on the public collection that measures the same requests without rules.
    pub fn public_twin(self) -> Option<Operation> {
        match self {
            Operation::Get => Some(Operation::GetPublic),
            Operation::List => Some(Operation::ListPublic),
            _ => None,
        }
    }

    /// Whether the baseline server (`bench/src/baseline/`) serves this operation, so that Strata's throughput on
    /// PostgreSQL and MySQL is compared with it (SPEC §13): the three operations on the ruled `posts`.
    pub fn has_baseline(self) -> bool {
        matches!(self, Operation::Get | Operation::List | Operation::Create)
    }

    /// Whether the load has one connection per core and one thread rather than the configured ones: Strata
    /// hashes passwords on a pool of one thread per core and answers 503 past it (SPEC §14), so more connections
    /// would measure the refusals rather than the hashing.
    pub fn bounded_by_cores(self) -> bool {
        self == Operation::Login
    }

    /// The wrk script for this operation: the shared part, the collection it works on, then its own part.
    fn lua(self) -> String {
        let own = match self {
            Operation::Get | Operation::GetPublic => include_str!("../../lua/get.lua"),
            Operation::List | Operation::ListPublic => include_str!("../../lua/list.lua"),
            Operation::Create => include_str!("../../lua/create.lua"),
            Operation::Login => include_str!("../../lua/login.lua"),
        };
        format!(
            "{}\ncollection = \"{}\"\n\n{own}",
            include_str!("../../lua/common.lua"),
            self.collection().unwrap_or("")
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Get => "get",
            Operation::GetPublic => "get-public",
            Operation::List => "list",
            Operation::ListPublic => "list-public",
            Operation::Create => "create",
            Operation::Login => "login",
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
    /// The body of a sign-in, `{"email": …, "password": …}` (the login load only).
    pub login_body: String,
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

    #[test]
    fn each_script_names_its_collection() {
        assert!(Operation::Get.lua().contains("collection = \"posts\""));
        assert!(
            Operation::GetPublic
                .lua()
                .contains("collection = \"notes\"")
        );
        assert!(
            Operation::ListPublic
                .lua()
                .contains("collection = \"notes\"")
        );
        assert!(Operation::Login.lua().contains("/api/v1/auth/login"));
    }

    #[test]
    fn the_ruled_reads_have_public_twins_and_only_login_is_bounded_by_cores() {
        assert_eq!(Operation::Get.public_twin(), Some(Operation::GetPublic));
        assert_eq!(Operation::List.public_twin(), Some(Operation::ListPublic));
        assert_eq!(Operation::Create.public_twin(), None);
        let bounded: Vec<_> = Operation::ALL
            .into_iter()
            .filter(|op| op.bounded_by_cores())
            .collect();
        assert_eq!(bounded, [Operation::Login]);
    }

    #[test]
    fn the_baseline_serves_the_three_operations_on_posts() {
        let served: Vec<_> = Operation::ALL
            .into_iter()
            .filter(|op| op.has_baseline())
            .collect();
        assert_eq!(served, [Operation::Get, Operation::List, Operation::Create]);
        assert!(
            served
                .iter()
                .all(|op| op.collection() == Some(RULED_COLLECTION))
        );
    }

    #[test]
    fn operations_are_named_alike_on_the_command_line_in_json_and_in_messages() {
        for op in Operation::ALL {
            let cli = op.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(cli.as_deref(), Some(op.to_string().as_str()));
            assert_eq!(serde_json::to_value(op).unwrap(), op.to_string());
        }
    }
}
