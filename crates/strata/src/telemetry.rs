//! Logs (SPEC §10): JSON lines, or human-readable lines when stdout is a terminal; `RUST_LOG` filters. Lines
//! are written to stdout in batches by a background thread ([`writer`]), so a request never waits on stdout.

use std::io::IsTerminal;

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{Compact, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

mod json;
mod writer;

pub use writer::LogGuard;

/// Install the global subscriber. Keep the guard until the process ends: dropping it flushes the last lines.
/// Safe to call more than once (tests): later calls install nothing.
pub fn init(default_level: &str) -> Option<LogGuard> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let terminal = std::io::stdout().is_terminal();
    let (writer, guard) = writer::batched(std::io::stdout());
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
