//! The driver's command line. Defaults are the full benchmark of SPEC §13; `--smoke` turns them into a
//! seconds-long check that the benchmark still runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::load::{GeneratorChoice, Operation};
use crate::store::StoreKind;

/// Measure Strata against a bare axum ceiling and, on PostgreSQL and MySQL, a hand-written axum+sqlx baseline on
/// the same machine, one server at a time, and write the table to bench/results/. Usually run through `./bench/run.sh`, which builds first.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench", version, about)]
pub struct Options {
    /// A quick check that the benchmark runs: 200 posts, 1 s per operation, no warm-up; fails on any failed
    /// request, never on a timing. Results go to the scratch directory unless --results is given
    #[arg(long)]
    pub smoke: bool,

    /// Posts to seed [default: 10000; 200 with --smoke]
    #[arg(long, value_name = "N")]
    pub records: Option<u64>,

    /// Seed 1,000,000 posts (the same as --records 1000000)
    #[arg(long, conflicts_with = "records")]
    pub million: bool,

    /// The stores to measure Strata on, in order
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub stores: Vec<StoreKind>,

    /// The operations to measure, in order (each public read right after its ruled twin, so the two compare
    /// under the same machine conditions). login runs 1 thread and one connection per core whatever
    /// --threads and --connections say: Strata's hashing pool holds one hash per core (SPEC §14)
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "get,get-public,list,list-public,create,login"
    )]
    pub ops: Vec<Operation>,

    /// Seconds of load per measured run [default: 10; 1 with --smoke]
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,

    /// Seconds of unmeasured load before each measured run [default: 2; 0 with --smoke]
    #[arg(long, value_name = "SECONDS")]
    pub warmup: Option<u64>,

    /// Load generator threads
    #[arg(long, default_value_t = 2)]
    pub threads: u32,

    /// Keep-alive connections, each with one request in flight
    #[arg(long, default_value_t = 64)]
    pub connections: u32,

    /// Seed batches in flight at once
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub seed_concurrency: usize,

    /// Bearer token every request carries; without one, the driver registers a user on each Strata it starts
    /// (see bench/src/auth.rs)
    #[arg(long, env = "STRATA_BENCH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The load generator
    #[arg(long, value_enum, default_value = "auto")]
    pub generator: GeneratorChoice,

    /// PostgreSQL server URL with a database to connect to for CREATE/DROP DATABASE
    #[arg(
        long,
        env = "STRATA_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_url: String,

    /// MySQL/MariaDB server URL for CREATE/DROP DATABASE
    #[arg(
        long,
        env = "STRATA_BENCH_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306/"
    )]
    pub mysql_url: String,

    /// The strata binary [default: the one next to this binary]
    #[arg(long, value_name = "PATH")]
    pub strata_bin: Option<PathBuf>,

    /// The ceiling binary [default: the one next to this binary]
    #[arg(long, value_name = "PATH")]
    pub ceiling_bin: Option<PathBuf>,

    /// The baseline binary (hand-written axum+sqlx, measured on PostgreSQL and MySQL) [default: the one next to
    /// this binary]
    #[arg(long, value_name = "PATH")]
    pub baseline_bin: Option<PathBuf>,

    /// Whether the baseline's pool pings each connection it hands out (sqlx's `test_before_acquire`, a round trip
    /// per request): on by default, as a hand-written sqlx server has it. Strata's pool pings only connections
    /// idle for over 500 ms; `false` gives the baseline the same saving
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub baseline_ping_on_acquire: bool,

    /// Where the results go [default: bench/results; the scratch directory with --smoke]
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,

    /// Scratch directory for databases, logs and scripts [default: a new one under the temp dir, removed after a
    /// successful run]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Keep the scratch directory after a successful run
    #[arg(long)]
    pub keep: bool,

    /// The build profile the binaries come from, for the report (set by run.sh)
    #[arg(long, default_value = "release", hide = true)]
    pub profile: String,
}

impl Options {
    pub fn records(&self) -> u64 {
        match (self.million, self.records, self.smoke) {
            (true, _, _) => 1_000_000,
            (false, Some(n), _) => n,
            (false, None, true) => 200,
            (false, None, false) => 10_000,
        }
    }

    pub fn duration(&self) -> Duration {
        let default = if self.smoke { 1 } else { 10 };
        Duration::from_secs(self.duration.unwrap_or(default).max(1))
    }

    pub fn warmup(&self) -> Duration {
        let default = if self.smoke { 0 } else { 2 };
        Duration::from_secs(self.warmup.unwrap_or(default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        Options::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_defaults_are_the_full_benchmark() {
        let o = parse(&[]);
        assert_eq!(o.records(), 10_000);
        assert_eq!(o.duration(), Duration::from_secs(10));
        assert_eq!(o.warmup(), Duration::from_secs(2));
        assert_eq!(o.stores, [StoreKind::Sqlite, StoreKind::Postgres]);
        assert_eq!(o.ops, Operation::ALL);
        assert_eq!((o.threads, o.connections), (2, 64));
        assert!(o.baseline_ping_on_acquire);
        assert!(!parse(&["--baseline-ping-on-acquire", "false"]).baseline_ping_on_acquire);
    }

    #[test]
    fn smoke_is_small_and_short_but_explicit_values_win() {
        let o = parse(&["--smoke"]);
        assert_eq!(o.records(), 200);
        assert_eq!(o.duration(), Duration::from_secs(1));
        assert_eq!(o.warmup(), Duration::ZERO);
        let o = parse(&["--smoke", "--records", "50", "--duration", "2"]);
        assert_eq!(o.records(), 50);
        assert_eq!(o.duration(), Duration::from_secs(2));
    }

    #[test]
    fn million_seeds_a_million() {
        assert_eq!(parse(&["--million"]).records(), 1_000_000);
        assert!(Options::try_parse_from(["bench", "--million", "--records", "5"]).is_err());
    }

    #[test]
    fn stores_and_operations_are_comma_lists() {
        let o = parse(&["--stores", "sqlite,mysql", "--ops", "list"]);
        assert_eq!(o.stores, [StoreKind::Sqlite, StoreKind::Mysql]);
        assert_eq!(o.ops, [Operation::List]);
        let o = parse(&["--ops", "get-public,login,list-public"]);
        assert_eq!(
            o.ops,
            [
                Operation::GetPublic,
                Operation::Login,
                Operation::ListPublic
            ]
        );
    }
}
