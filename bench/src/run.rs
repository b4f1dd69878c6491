//! One benchmark run, start to end: scratch directory and databases, seeding each store through Strata, then
//! the ceiling and each (store, operation) measured one server at a time, each after a warm-up and on a freshly
//! started process (so its peak RSS is that load's), the report saved, and the databases dropped whatever happened.
//! On PostgreSQL and MySQL, each operation the baseline serves is measured on the baseline right before Strata,
//! with the same load on the same database (SPEC §13: Strata ≥ 1.2× the baseline).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::cli::Options;
use crate::launch::{baseline_launch, ceiling_launch, is_jwt, strata_launch};
use crate::load::{Generator, Load, Operation, Outcome};
use crate::posts::SCHEMA;
use crate::prepare::{Prepared, seed_store, seeded_collections};
use crate::provenance::{cpu_model, git_commit, records_tag};
use crate::report::{Report, Row, RowLoad, Seeding};
use crate::server::{Launch, Server};
use crate::setup::{server_url, sibling_binary, usable_stores};
use crate::store::{Database, StoreKind};

/// How long to wait after a login warm-up before measuring: wrk ends a run with requests in flight, whose
/// hashes still hold their slots of the pool for a few tens of milliseconds, and a measured request that found
/// the pool full would be answered 503.
const LOGIN_SETTLE: Duration = Duration::from_secs(1);

/// Everything a run needs to know, resolved from the options.
pub(crate) struct Plan {
    pub(crate) options: Options,
    pub(crate) work: PathBuf,
    pub(crate) strata: PathBuf,
    pub(crate) ceiling: PathBuf,
    pub(crate) baseline: PathBuf,
    pub(crate) generator: Generator,
    pub(crate) client: reqwest::Client,
}

/// Run the benchmark; `Ok(false)` when it ran but some request failed.
pub async fn run(options: Options) -> anyhow::Result<bool> {
    let started_at = chrono::Utc::now();
    let work = match &options.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "strata-bench-{}",
            started_at.format("%Y%m%dT%H%M%S")
        )),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let plan = Plan {
        strata: sibling_binary(options.strata_bin.as_deref(), "strata")?,
        ceiling: sibling_binary(options.ceiling_bin.as_deref(), "ceiling")?,
        baseline: sibling_binary(options.baseline_bin.as_deref(), "baseline")?,
        generator: Generator::choose(options.generator, &work)?,
        client: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()?,
        work,
        options,
    };
    std::fs::write(plan.work.join("strata.toml"), SCHEMA)?;
    eprintln!(
        "==> {} posts; load: {}; scratch: {}",
        plan.options.records(),
        plan.generator.describe(),
        plan.work.display()
    );

    let stores = usable_stores(&plan.options).await?;
    let mut prepared = Vec::new();
    let mut outcome = Ok(None);
    for &kind in &stores {
        match Database::create(kind, server_url(&plan.options, kind)).await {
            Ok(db) => prepared.push(Prepared::new(db, &plan.work)),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if outcome.is_ok() {
        // Ctrl-C ends the run here, so that the databases below are still dropped (the servers, dropped with the
        // run, are killed).
        outcome = tokio::select! {
            result = measure(&plan, &mut prepared, started_at) => result.map(Some),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
    }
    for store in prepared {
        if let Err(e) = store.db.drop_database().await {
            eprintln!("warning: {e:#}");
        }
    }
    let report = match outcome {
        Ok(Some(report)) => report,
        Ok(None) => bail!("no report"),
        Err(e) => {
            eprintln!("==> scratch kept: {}", plan.work.display());
            return Err(e);
        }
    };
    let passed = report.failures.is_empty();
    if passed && !plan.options.keep && plan.options.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&plan.work);
    } else {
        eprintln!("==> scratch kept: {}", plan.work.display());
    }
    Ok(passed)
}

async fn measure(
    plan: &Plan,
    prepared: &mut [Prepared],
    started_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Report> {
    let options = &plan.options;
    let mut seeding = Vec::new();
    let collections = seeded_collections(&options.ops);
    for store in prepared.iter_mut() {
        let kind = store.db.kind;
        eprintln!(
            "==> {kind}: seeding {} records in each of {}",
            options.records(),
            collections.join(", ")
        );
        let seconds = seed_store(plan, store, &collections).await?;
        eprintln!("    {seconds:.1} s");
        seeding.push(Seeding {
            store: kind,
            records: options.records(),
            collections: collections.iter().map(|c| (*c).to_owned()).collect(),
            seconds,
        });
    }
    let first = prepared.first().context("no store to measure")?;
    let principal = first.principal.clone().context("no principal")?;
    if !is_jwt(&principal.token) && prepared.iter().any(|s| s.db.url.is_some()) {
        eprintln!(
            "warning: the configured token is not an access token (JWT), which the baseline verifies; \
             the baseline is not measured"
        );
    }

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    eprintln!("==> ceiling");
    let ceiling = ceiling_launch(plan);
    let (ceiling_outcome, rss, load) =
        measure_one(plan, &ceiling, Operation::Get, first, "ceiling").await?;
    let ceiling_rps = ceiling_outcome.requests_per_second();
    note(&mut failures, "ceiling", &ceiling_outcome);
    rows.push(Row::new(
        None,
        None,
        load,
        ceiling_outcome,
        rss,
        ceiling_rps,
    ));

    for store in prepared.iter() {
        for &op in &options.ops {
            let kind = store.db.kind;
            let baseline = measure_baseline(plan, store, op, ceiling_rps).await?;
            let baseline_rps = baseline.as_ref().map(|row| row.requests_per_second);
            if let Some(row) = baseline {
                note(
                    &mut failures,
                    &format!("{kind} {op} (baseline)"),
                    &row.outcome,
                );
                rows.push(row);
            }
            eprintln!("==> {kind}: {op}");
            let launch = strata_launch(plan, store, false);
            let (outcome, rss, load) =
                measure_one(plan, &launch, op, store, &format!("{kind}-{op}")).await?;
            note(&mut failures, &format!("{kind} {op}"), &outcome);
            let row = Row::new(Some(op), Some(kind), load, outcome, rss, ceiling_rps);
            rows.push(match baseline_rps {
                Some(rps) => row.against_baseline(rps),
                None => row,
            });
        }
    }

    let start = if options.stores.contains(&StoreKind::Sqlite) {
        eprintln!(
            "==> start time with {} collections",
            crate::startup::COLLECTIONS
        );
        Some(crate::startup::measure(&plan.strata, &plan.work).await?)
    } else {
        None
    };
    let report = Report {
        started_at: started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        commit: git_commit(),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        cpu_model: cpu_model(),
        smoke: options.smoke,
        profile: options.profile.clone(),
        generator: plan.generator.describe(),
        threads: options.threads,
        connections: options.connections,
        duration_seconds: options.duration().as_secs(),
        warmup_seconds: options.warmup().as_secs(),
        records: options.records(),
        principal: principal.describe().into(),
        baseline_ping_on_acquire: options.baseline_ping_on_acquire,
        seeding,
        start,
        rows,
        failures,
    };
    println!("{}", report.markdown());
    let results = match (&options.results, options.smoke) {
        (Some(dir), _) => dir.clone(),
        (None, true) => plan.work.join("results"),
        (None, false) => PathBuf::from("bench/results"),
    };
    let stamp = format!(
        "{}-{}{}",
        started_at.format("%Y%m%dT%H%M%SZ"),
        records_tag(options.records()),
        if options.smoke { "-smoke" } else { "" }
    );
    for path in report.save(&results, &stamp)? {
        eprintln!("    wrote {}", path.display());
    }
    Ok(report)
}

/// The baseline's row for `op` on the store, measured like Strata's (fresh process, warm-up, same load), when the
/// baseline serves it there. Its creates are removed after its run, so that Strata's create load, measured next,
/// meets the table as it would have without the baseline.
async fn measure_baseline(
    plan: &Plan,
    store: &Prepared,
    op: Operation,
    ceiling_rps: f64,
) -> anyhow::Result<Option<Row>> {
    let Some(launch) = baseline_launch(plan, store, op) else {
        return Ok(None);
    };
    let kind = store.db.kind;
    eprintln!("==> {kind}: {op} (baseline)");
    let since = chrono::Utc::now();
    let (outcome, rss, load) =
        measure_one(plan, &launch, op, store, &format!("{kind}-{op}-baseline")).await?;
    if op == Operation::Create {
        store.db.remove_posts_since(since).await?;
    }
    Ok(Some(
        Row::new(Some(op), Some(kind), load, outcome, rss, ceiling_rps).of_baseline(),
    ))
}

/// The generator's threads and connections for `operation`: the configured ones, except for a load bounded by
/// the hashing pool (login), which gets one thread and one connection per core (at most the configured
/// connections), so that it never asks for more hashes at once than Strata's pool of one thread per core holds.
pub fn load_shape(operation: Operation, threads: u32, connections: u32, cores: usize) -> RowLoad {
    if operation.bounded_by_cores() {
        let cores = u32::try_from(cores.max(1)).unwrap_or(u32::MAX);
        RowLoad {
            threads: 1,
            connections: cores.min(connections.max(1)),
        }
    } else {
        RowLoad {
            threads,
            connections,
        }
    }
}

/// Start the server, warm it up, measure one load as the store's user, read the peak RSS and stop the server.
async fn measure_one(
    plan: &Plan,
    launch: &Launch,
    operation: Operation,
    store: &Prepared,
    tag: &str,
) -> anyhow::Result<(Outcome, u64, RowLoad)> {
    let options = &plan.options;
    let principal = store
        .principal
        .as_ref()
        .context("the store was not seeded")?;
    if operation == Operation::Login && store.login_body.is_empty() {
        bail!("{tag}: no credentials to sign in with");
    }
    let shape = load_shape(
        operation,
        options.threads,
        options.connections,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    let ids = store.ids_for(operation);
    let log = plan.work.join(format!("{tag}.log").to_lowercase());
    let mut server = Server::start(launch, &log).await?;
    let mut load = Load {
        operation,
        base_url: server.base_url.clone(),
        threads: shape.threads,
        connections: shape.connections,
        duration: options.warmup(),
        bearer: principal.token.clone(),
        author: principal.user_id.clone(),
        login_body: store.login_body.clone(),
        ids: ids.ids.clone(),
        ids_file: ids.file.clone(),
    };
    if !load.duration.is_zero() {
        let warmup = plan.generator.run(&load).await?;
        if let Some(why) = warmup.failure() {
            bail!("{tag}: the warm-up failed: {why}");
        }
        if operation.bounded_by_cores() {
            tokio::time::sleep(LOGIN_SETTLE).await;
        }
    }
    load.duration = options.duration();
    let outcome = plan.generator.run(&load).await?;
    let rss = server.peak_rss_kib()?;
    server.stop().await?;
    eprintln!(
        "    {:.0} req/s, p50 {} µs, p99 {} µs, peak RSS {} KiB{}",
        outcome.requests_per_second(),
        outcome.p50_us,
        outcome.p99_us,
        rss,
        outcome
            .failure()
            .map(|why| format!(" — FAILED: {why}"))
            .unwrap_or_default()
    );
    Ok((outcome, rss, shape))
}

fn note(failures: &mut Vec<String>, what: &str, outcome: &Outcome) {
    if let Some(why) = outcome.failure() {
        failures.push(format!("{what}: {why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_runs_one_thread_and_one_connection_per_core() {
        let login = load_shape(Operation::Login, 2, 64, 2);
        assert_eq!((login.threads, login.connections), (1, 2));
        let login = load_shape(Operation::Login, 2, 1, 4);
        assert_eq!((login.threads, login.connections), (1, 1));
        let get = load_shape(Operation::GetPublic, 2, 64, 2);
        assert_eq!((get.threads, get.connections), (2, 64));
    }
}
