//! The `strata` binary's library: command line, settings, telemetry and startup, so that tests can build the
//! real [`startup::Application`] on port 0.

pub mod cli;
pub mod settings;
pub mod startup;
pub mod telemetry;
