//! One benchmark run, start to end: scratch directory and databases, seeding each store through Strata, then
//! the ceiling and each (store, operation) measured one server at a time, each after a warm-up and on a freshly
//! started process (so its peak RSS is that load's), the report saved, and the databases dropped whatever happened.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::auth::{ISSUER, Principal, SEED_TOKEN_TTL, obtain_principal};
use crate::cli::Options;
use crate::load::{Generator, Load, Operation, Outcome};
use crate::posts::SCHEMA;
use crate::provenance::{cpu_model, git_commit, records_tag};
use crate::report::{Report, Row, Seeding};
use crate::seed::{count_posts, seed};
use crate::server::{Launch, Server};
use crate::store::{Database, StoreKind, reachable, redact};

/// A store ready for load: its database, the seeded ids and the user who owns them.
struct Prepared {
    db: Database,
    ids: Arc<Vec<String>>,
    ids_file: PathBuf,
    data_dir: PathBuf,
    principal: Option<Principal>,
}

impl Prepared {
    /// A store not seeded yet, with its files under `work`.
    fn new(db: Database, work: &Path) -> Prepared {
        let name = format!("{:?}", db.kind).to_lowercase();
        Prepared {
            db,
            ids: Arc::default(),
            ids_file: work.join(format!("{name}-ids.txt")),
            data_dir: work.join(format!("{name}-data")),
            principal: None,
        }
    }
}

/// Everything a run needs to know, resolved from the options.
struct Plan {
    options: Options,
    work: PathBuf,
    strata: PathBuf,
    ceiling: PathBuf,
    generator: Generator,
    client: reqwest::Client,
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
    for store in prepared.iter_mut() {
        let kind = store.db.kind;
        eprintln!("==> {kind}: seeding {} posts", options.records());
        let seconds = seed_store(plan, store).await?;
        eprintln!("    {seconds:.1} s");
        seeding.push(Seeding {
            store: kind,
            records: options.records(),
            seconds,
        });
    }
    let first = prepared.first().context("no store to measure")?;
    let principal = first.principal.clone().context("no principal")?;

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    eprintln!("==> ceiling");
    let ceiling = Launch {
        name: "ceiling".into(),
        program: plan.ceiling.clone(),
        args: vec![],
        env: vec![],
        ready_path: "/",
    };
    let (ceiling_outcome, rss) =
        measure_one(plan, &ceiling, Operation::Get, first, "ceiling").await?;
    let ceiling_rps = ceiling_outcome.requests_per_second();
    note(&mut failures, "ceiling", &ceiling_outcome);
    rows.push(Row::new(None, None, ceiling_outcome, rss, ceiling_rps));

    for store in prepared.iter() {
        for &op in &options.ops {
            let kind = store.db.kind;
            eprintln!("==> {kind}: {op}");
            let launch = strata_launch(plan, store, false);
            let (outcome, rss) =
                measure_one(plan, &launch, op, store, &format!("{kind}-{op}")).await?;
            note(&mut failures, &format!("{kind} {op}"), &outcome);
            rows.push(Row::new(Some(op), Some(kind), outcome, rss, ceiling_rps));
        }
    }

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
        seeding,
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

/// Start Strata on the store, get the benchmark's user and seed its posts; stop it. The seconds seeding took.
async fn seed_store(plan: &Plan, store: &mut Prepared) -> anyhow::Result<f64> {
    let options = &plan.options;
    let kind = store.db.kind;
    let launch = strata_launch(plan, store, true);
    let log = plan.work.join(format!("{kind:?}-seed.log").to_lowercase());
    let server = Server::start(&launch, &log).await?;
    let principal =
        obtain_principal(&plan.client, &server.base_url, options.token.as_deref()).await?;
    let seeded = seed(
        &plan.client,
        &server.base_url,
        &principal.token,
        &principal.user_id,
        options.records(),
        options.seed_concurrency,
    )
    .await?;
    let listed = count_posts(&plan.client, &server.base_url, &principal.token).await?;
    if seeded.ids.len() as u64 != options.records() || listed != options.records() {
        bail!(
            "seeding {kind} made {} posts and the list counts {listed}, not {}",
            seeded.ids.len(),
            options.records()
        );
    }
    server.stop().await?;
    store.db.analyze().await?;
    std::fs::write(&store.ids_file, seeded.ids.join("\n") + "\n")
        .with_context(|| format!("writing {}", store.ids_file.display()))?;
    store.ids = Arc::new(seeded.ids);
    store.principal = Some(principal);
    Ok(seeded.elapsed.as_secs_f64())
}

/// Start the server, warm it up, measure one load as the store's user, read the peak RSS and stop the server.
async fn measure_one(
    plan: &Plan,
    launch: &Launch,
    operation: Operation,
    store: &Prepared,
    tag: &str,
) -> anyhow::Result<(Outcome, u64)> {
    let options = &plan.options;
    let principal = store
        .principal
        .as_ref()
        .context("the store was not seeded")?;
    let log = plan.work.join(format!("{tag}.log").to_lowercase());
    let mut server = Server::start(launch, &log).await?;
    let mut load = Load {
        operation,
        base_url: server.base_url.clone(),
        threads: options.threads,
        connections: options.connections,
        duration: options.warmup(),
        bearer: principal.token.clone(),
        author: principal.user_id.clone(),
        ids: store.ids.clone(),
        ids_file: store.ids_file.clone(),
    };
    if !load.duration.is_zero() {
        let warmup = plan.generator.run(&load).await?;
        if let Some(why) = warmup.failure() {
            bail!("{tag}: the warm-up failed: {why}");
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
    Ok((outcome, rss))
}

fn note(failures: &mut Vec<String>, what: &str, outcome: &Outcome) {
    if let Some(why) = outcome.failure() {
        failures.push(format!("{what}: {why}"));
    }
}

/// Strata on the store's database. Every start has the same issuer, and the seeding one issues long-lived tokens,
/// so that the seeding user's token holds on every later start (see `auth`).
fn strata_launch(plan: &Plan, store: &Prepared, seeding: bool) -> Launch {
    let mut env = vec![("STRATA_AUTH__ISSUER".to_owned(), ISSUER.to_owned())];
    if seeding {
        env.push((
            "STRATA_AUTH__ACCESS_TOKEN_TTL".to_owned(),
            SEED_TOKEN_TTL.to_owned(),
        ));
    }
    if let Some(url) = &store.db.url {
        env.push(("STRATA_DATABASE__URL".to_owned(), url.clone()));
    }
    Launch {
        name: format!("strata ({})", store.db.kind),
        program: plan.strata.clone(),
        args: vec![
            "serve".into(),
            "--config".into(),
            plan.work.join("strata.toml").into(),
            "--data-dir".into(),
            store.data_dir.clone().into(),
        ],
        env,
        ready_path: "/readyz",
    }
}

/// The stores to measure: all those asked for. In smoke mode a database server that does not answer is skipped
/// with a warning, unless `STRATA_REQUIRE_SERVICES=1` (as CI sets it).
async fn usable_stores(options: &Options) -> anyhow::Result<Vec<StoreKind>> {
    let require = !options.smoke || std::env::var("STRATA_REQUIRE_SERVICES").as_deref() == Ok("1");
    let mut usable = Vec::new();
    for &kind in &options.stores {
        if usable.contains(&kind) {
            continue;
        }
        match reachable(kind, server_url(options, kind)).await {
            Ok(()) => usable.push(kind),
            Err(e) if require => return Err(e.context(format!("{kind} is needed for this run"))),
            Err(e) => eprintln!(
                "warning: skipping {kind} ({}): {e:#}",
                redact(server_url(options, kind))
            ),
        }
    }
    if usable.is_empty() {
        bail!("no store to measure");
    }
    Ok(usable)
}

fn server_url(options: &Options, kind: StoreKind) -> &str {
    match kind {
        StoreKind::Postgres => &options.postgres_url,
        StoreKind::Mysql => &options.mysql_url,
        StoreKind::Sqlite => "",
    }
}

/// `given`, or the binary called `name` in the directory of the running one (the same cargo target profile).
fn sibling_binary(given: Option<&Path>, name: &str) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()?
            .parent()
            .context("the running binary has no directory")?
            .join(name),
    };
    if !path.is_file() {
        bail!(
            "{} not found: build it (`cargo build --release -p strata`, then `-p strata-bench`) or pass \
             its path",
            path.display()
        );
    }
    Ok(path)
}
