//! `strata`: serve, check the schema, plan and apply migrations.

use std::process::ExitCode;

use clap::Parser;
use strata::cli::{AdminAction, Cli, Command, Common, KeysAction, MigrateAction, SchemaAction};
use strata::settings::Settings;
use strata::startup::{self, Application};

/// mimalloc: the request path allocates many small, short-lived buffers, and glibc's malloc spent about a
/// quarter of a GET's instructions on them (callgrind); mimalloc also keeps per-thread heaps from hoarding
/// freed memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn settings(common: &Common, config: Option<&std::path::Path>) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(config)?;
    if let Some(dir) = &common.data_dir {
        settings.data_dir = dir.clone();
    }
    Ok(settings)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { common, addr } => {
            let config = startup::config_path(common.config.as_deref());
            let mut settings = settings(&common, config.as_deref())?;
            if let Some(addr) = addr {
                settings.server.addr = addr;
            }
            let schema = startup::load_schema(config.as_deref())?;
            Application::build(settings, schema).await?.run().await?;
        }
        Command::Schema {
            action: SchemaAction::Check { common },
        } => {
            let config = startup::config_path(common.config.as_deref());
            let schema = startup::load_schema(config.as_deref())?;
            println!(
                "the schema is valid: {} collection(s)",
                schema.collections().count()
            );
        }
        Command::Migrate { action } => {
            let (common, apply, allow_destructive) = match action {
                MigrateAction::Plan { common } => (common, false, false),
                MigrateAction::Apply {
                    common,
                    allow_destructive,
                } => (common, true, allow_destructive),
            };
            let config = startup::config_path(common.config.as_deref());
            let settings = settings(&common, config.as_deref())?;
            let schema = startup::load_schema(config.as_deref())?;
            let store = startup::open_store(&settings).await?;
            let plan = if apply {
                store.migrate(&schema, allow_destructive).await?
            } else {
                store.plan(&schema).await?
            };
            if plan.is_empty() {
                println!("the database matches the schema: nothing to do");
            }
            for change in &plan.changes {
                let mark = if change.destructive {
                    "DESTRUCTIVE "
                } else {
                    ""
                };
                println!("{mark}{}", change.description);
                for statement in &change.statements {
                    println!("    {statement};");
                }
            }
            if apply && !plan.is_empty() {
                println!("applied {} change(s)", plan.changes.len());
            }
            store.close().await;
        }
        Command::Admin {
            action:
                AdminAction::Create {
                    common,
                    email,
                    password,
                },
        } => {
            let auth = auth_service(&common).await?;
            let id = auth.create_admin(&email, &password).await?;
            println!("admin {email} created ({id})");
        }
        Command::Keys {
            action: KeysAction::Rotate { common },
        } => {
            let auth = auth_service(&common).await?;
            let kid = auth.rotate_keys().await?;
            println!(
                "new tokens are signed with key {kid}; tokens signed before stay valid until they expire"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The auth service over the configured, migrated store, for commands that manage accounts and keys.
async fn auth_service(common: &Common) -> anyhow::Result<strata_service::auth::AuthService> {
    let config = startup::config_path(common.config.as_deref());
    let settings = settings(common, config.as_deref())?;
    let schema = std::sync::Arc::new(startup::load_schema(config.as_deref())?);
    let store = startup::open_store(&settings).await?;
    store.migrate(&schema, false).await?;
    Ok(strata_service::auth::AuthService::start(store, schema, settings.auth_config()).await?)
}

fn main() -> ExitCode {
    let _logs = strata::telemetry::init("info");
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
