//! The benchmark driver (SPEC §13): `bench [--smoke] [--million] [--stores …]`. See `strata_bench::run` for what
//! one run does; `./bench/run.sh` builds the binaries and then runs this. Build this package on its own
//! (`cargo build --release -p strata-bench`): built in one cargo command with `strata`, its reqwest gets Strata's
//! TLS feature without a crypto provider and panics on the first client.

use clap::Parser;
use strata_bench::cli::Options;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    match strata_bench::run::run(options).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: some requests failed (see FAILED above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
