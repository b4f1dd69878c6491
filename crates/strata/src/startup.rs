//! Building and running the server: settings and schema in, store opened and migrated, listener bound (only
//! then, SPEC §14), graceful shutdown on SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;
use strata_core::schema::{Schema, SchemaError};
use strata_http::{AppState, HttpConfig};
use strata_service::RecordService;
use strata_service::auth::AuthService;
use strata_store::{ConnectOptions, DynStore};
use tokio::net::TcpListener;

use crate::settings::Settings;

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The configuration file to read: the one given, else `./strata.toml` when it exists.
pub fn config_path(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_owned()),
        None => Some(PathBuf::from("strata.toml")).filter(|p| p.exists()),
    }
}

/// A schema that failed its checks, with every problem.
#[derive(Debug)]
pub struct InvalidSchema(pub Vec<SchemaError>);

impl std::fmt::Display for InvalidSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the schema has {} problem(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidSchema {}

/// Read the schema from the config file (the built-in `users` collection alone without one).
pub fn load_schema(config: Option<&Path>) -> anyhow::Result<Schema> {
    let source = match config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => String::new(),
    };
    Schema::from_toml(&source).map_err(|errors| InvalidSchema(errors).into())
}

/// Open the configured store.
pub async fn open_store(settings: &Settings) -> anyhow::Result<DynStore> {
    let options = ConnectOptions {
        max_connections: settings.database.max_connections,
        statement_timeout: settings.database.statement_timeout,
    };
    Ok(strata_store::connect(&settings.database_url(), &options).await?)
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: DynStore,
    port: u16,
}

impl Application {
    /// Open and migrate the store, then bind the listener.
    pub async fn build(settings: Settings, schema: Schema) -> anyhow::Result<Application> {
        let store = open_store(&settings).await?;
        let applied = store
            .migrate(&schema, false)
            .await
            .context("migrating the database")?;
        for change in &applied.changes {
            tracing::info!(change = %change.description, "migration applied");
        }
        let schema = Arc::new(schema);
        let auth =
            AuthService::start(store.clone(), schema.clone(), settings.auth_config()).await?;
        if let (Some(email), Some(password)) = (&settings.admin.email, &settings.admin.password)
            && auth.ensure_admin(email, password.expose()).await?
        {
            tracing::info!(email = %email, "admin account created");
        }
        let forget = auth.clone();
        let records = RecordService::new(store.clone(), schema, settings.server.request_timeout)
            .on_user_change(move |id| forget.forget_user(id));
        let config = HttpConfig {
            body_limit: settings.server.body_limit,
            request_timeout: settings.server.request_timeout,
        };
        let router = strata_http::router(AppState { records, auth }, config);
        let listener = TcpListener::bind(&settings.server.addr)
            .await
            .with_context(|| format!("binding {}", settings.server.addr))?;
        let port = listener.local_addr()?.port();
        Ok(Application {
            listener,
            router,
            store,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until `shutdown` resolves, then finish in-flight requests (bounded) and close the store.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.listener.local_addr()?;
        tracing::info!("listening on http://{addr}");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let mut stopped = stop_rx.clone();
        // Every piece of an answer goes out when it is written, never held back until the client acknowledges the
        // previous one (Nagle's algorithm, which with delayed ACKs costs 40 ms a wait).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!("TCP_NODELAY not set on an accepted connection: {e}");
            }
        });
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        });
        let server = tokio::spawn(async move { server.await });
        shutdown.await;
        tracing::info!("stopping: finishing in-flight requests");
        let _ = stop_tx.send(true);
        match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
            Ok(joined) => joined??,
            Err(_) => tracing::warn!("in-flight requests did not finish in time"),
        }
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }

    /// Serve until SIGTERM or SIGINT.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(stop_signal()).await
    }
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
