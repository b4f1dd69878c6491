//! Logs (SPEC §10): JSON lines, or human-readable lines when stdout is a terminal; `RUST_LOG` filters. Lines
//! are written by a background thread, so a request never waits on stdout; a burst past the buffer drops lines
//! (counted by tracing-appender) rather than stall the server. The thread buffers what it takes from its queue
//! and flushes once the queue is empty: one write to stdout per burst, not one per line.

use std::io::IsTerminal;

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Compact, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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
        builder
            .event_format(Terminal(
                tracing_subscriber::fmt::format().compact().with_ansi(true),
            ))
            .try_init()
    } else {
        builder
            .event_format(json::JsonLines)
            .fmt_fields(json::JsonFields)
            .try_init()
    };
    installed.ok().map(|()| guard)
}

/// tracing-subscriber's compact lines for a terminal, each written while serving a request ending with the
/// request's ids, where compact lines put their span's fields.
struct Terminal(Format<Compact>);

impl<S, N> FormatEvent<S, N> for Terminal
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let body = line.strip_suffix('\n').unwrap_or(&line);
        writer.write_str(body)?;
        strata_http::with_current_request(|ids| {
            write!(writer, " request_id={}", ids.request_id)?;
            match &ids.trace_id {
                Some(trace) => write!(writer, " trace_id={trace}"),
                None => Ok(()),
            }
        })
        .unwrap_or(Ok(()))?;
        writer.write_char('\n')
    }
}
