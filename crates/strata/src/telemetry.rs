//! Logs (SPEC §10): JSON lines, or human-readable lines when stdout is a terminal; `RUST_LOG` filters. Lines
//! are written by a background thread, so a request never waits on stdout; a burst past the buffer drops lines
//! (counted by tracing-appender) rather than stall the server. The thread buffers what it takes from its queue
//! and flushes once the queue is empty: one write to stdout per burst, not one per line.

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

mod json;

/// Install the global subscriber. Keep the guard until the process ends: dropping it flushes the last lines.
/// Safe to call more than once (tests): later calls install nothing.
pub fn init(default_level: &str) -> Option<WorkerGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let terminal = std::io::stdout().is_terminal();
    let stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
    let (writer, guard) = tracing_appender::non_blocking(stdout);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = if terminal {
        builder.compact().try_init()
    } else {
        builder
            .event_format(json::JsonLines)
            .fmt_fields(json::JsonFields)
            .try_init()
    };
    installed.ok().map(|()| guard)
}
