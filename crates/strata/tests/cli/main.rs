//! Process-level tests of the `strata` binary: its commands, exit codes, crash safety and shutdown.

mod commands;
mod crash;
mod process;
