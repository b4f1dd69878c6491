//! The ceiling (SPEC §13): a bare axum server that answers every request, on any path and method, with one fixed
//! JSON post record. Strata's throughput is reported as a ratio to this server's, measured in the same run on the
//! same machine, so the table says how much of the machine's HTTP capacity Strata's work takes.

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use clap::Parser;
use tokio::net::TcpListener;

/// A bare axum server answering a fixed post record on any path.
#[derive(Debug, Parser)]
#[command(name = "ceiling", version, about)]
struct Args {
    /// Listen address; port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    addr: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Built once; each response shares it by reference count.
    let body =
        axum::body::Bytes::from(serde_json::to_vec(&strata_bench::posts::sample_response())?);
    let app = Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
    });
    let listener = TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    // The driver waits for this line, as it does for Strata's own (SPEC §2).
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(strata_bench::shutdown::stop_signal())
        .await?;
    Ok(())
}
