//! The baseline (SPEC §13): a hand-written axum + sqlx server doing the queries Strata does for the benchmark's
//! three operations, on the PostgreSQL or MySQL database Strata created and seeded, with Strata's bearer tokens.
//! Strata's throughput on those stores is reported as a ratio to this server's, measured in the same run. See
//! `strata_bench::baseline` for what it serves and how.

use anyhow::Context as _;
use clap::{ArgAction, Parser};
use jsonwebtoken::jwk::JwkSet;
use strata_bench::baseline::db::{Db, STRATA_POOL};
use strata_bench::baseline::token::Verifier;
use strata_bench::baseline::{App, router};
use tokio::net::TcpListener;

/// The same allocator as Strata's, so that the two compare as code rather than as allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A hand-written axum + sqlx server for the benchmark's posts on PostgreSQL or MySQL.
#[derive(Debug, Parser)]
#[command(name = "baseline", version, about)]
struct Args {
    /// Listen address; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    addr: String,

    /// The database Strata created and seeded (postgres://… or mysql://…)
    #[arg(
        long,
        env = "BASELINE_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: String,

    /// Strata's public keys, as it serves them at /.well-known/jwks.json
    #[arg(long, value_name = "FILE")]
    jwks: std::path::PathBuf,

    /// The issuer (`iss`) of the accepted tokens: Strata's `auth.issuer`
    #[arg(long, default_value = strata_bench::auth::ISSUER)]
    issuer: String,

    /// Pool size [default: Strata's]
    #[arg(long, default_value_t = STRATA_POOL, value_name = "N")]
    max_connections: u32,

    /// Ping each connection taken from the pool, as sqlx does by default and Strata's pool does
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    test_before_acquire: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let jwks: JwkSet = serde_json::from_slice(
        &std::fs::read(&args.jwks).with_context(|| format!("reading {}", args.jwks.display()))?,
    )
    .with_context(|| format!("parsing the key set {}", args.jwks.display()))?;
    let verifier = Verifier::new(&jwks, &args.issuer)?;
    let db = Db::connect(
        &args.database_url,
        args.max_connections,
        args.test_before_acquire,
    )
    .await?;
    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    // The driver waits for this line, as it does for Strata's own (SPEC §2).
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(App::new(db.clone(), verifier)))
        .with_graceful_shutdown(strata_bench::shutdown::stop_signal())
        .await?;
    db.close().await;
    Ok(())
}
