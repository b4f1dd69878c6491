//! Process-level tests of the `strata` binary: its commands, exit codes, crash safety and shutdown.
#![allow(clippy::unwrap_used)]

mod commands;
mod crash;
mod logs;
mod process;
