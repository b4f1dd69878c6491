//! The command line (SPEC §2): `strata serve`, `strata schema check`, `strata migrate plan|apply`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One binary that gives an application a complete backend from a declared schema.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// The configuration and schema file [default: ./strata.toml when present]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where the embedded SQLite database and other local data live [default: ./strata_data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the REST API over the declared collections
    Serve {
        #[command(flatten)]
        common: Common,
        /// Listen address; port 0 picks a free port [default: 127.0.0.1:8080]
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
    /// Check the schema and print every problem
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Show or apply the changes the schema makes to the database
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage admin accounts
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Manage the keys that sign access tokens
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an admin account; the password comes from --password or STRATA_ADMIN__PASSWORD
    Create {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
        /// The password (8 to 256 characters); prefer STRATA_ADMIN__PASSWORD, which stays out of shell history
        #[arg(long, env = "STRATA_ADMIN__PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Start signing with a new key; tokens signed with the old one stay valid until they expire
    Rotate {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Check strata.toml without starting the server; exits non-zero on any problem
    Check {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Print the changes applying the schema would make, destructive ones marked
    Plan {
        #[command(flatten)]
        common: Common,
    },
    /// Apply the schema's changes to the database
    Apply {
        #[command(flatten)]
        common: Common,
        /// Also drop tables and columns and change column types (data is lost)
        #[arg(long)]
        allow_destructive: bool,
    },
}
