//! Where log lines go: into a bounded buffer in memory, which one background thread writes to stdout in batches.
//!
//! A request appends its line under a mutex and goes on; it never waits on stdout. The thread sleeps until a line
//! arrives, lets lines gather for [`LINGER`], then writes them all at once: under load that is one wake-up and
//! one write per few milliseconds, whatever the request rate. (tracing-appender's worker woke per line and
//! spun with `sched_yield` between lines: 4 % of a loaded server's CPU samples on two cores.) A burst that
//! outruns stdout past [`MAX_BUFFERED`] drops lines rather than stall the server; the drops are reported on
//! stderr.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the first line of a batch waits for others.
const LINGER: Duration = Duration::from_millis(5);
/// Lines held in memory at most; past this, lines are dropped until the thread catches up.
const MAX_BUFFERED: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    dropped: u64,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves whole lines behind: the buffer stays usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The [`MakeWriter`] the log subscriber writes each formatted line to.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Keep it while the process logs: dropping it writes what is buffered and stops the thread.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer whose lines the returned thread writes to `out`.
pub fn batched(out: impl Write + Send + 'static) -> (LogWriter, LogGuard) {
    let shared = Arc::new(Shared::default());
    let flusher = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&flusher, out))
        .ok();
    (LogWriter(shared.clone()), LogGuard { shared, thread })
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.lines.is_empty() && !pending.closed {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let closing = pending.closed;
        if !closing {
            drop(pending);
            std::thread::sleep(LINGER);
            pending = shared.lock();
        }
        std::mem::swap(&mut batch, &mut pending.lines);
        let dropped = std::mem::take(&mut pending.dropped);
        drop(pending);
        // stdout gone (a closed pipe) leaves nowhere to say so; the lines are lost either way.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        if dropped > 0 {
            eprintln!("strata: {dropped} log lines dropped: stdout did not keep up");
        }
        batch.clear();
        if closing {
            return;
        }
    }
}

impl Write for &LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        if pending.lines.len() + line.len() > MAX_BUFFERED {
            pending.dropped += 1;
        } else {
            let first = pending.lines.is_empty();
            pending.lines.extend_from_slice(line);
            drop(pending);
            if first {
                self.0.arrived.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A `Write` whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_and_the_guard_flushes_the_rest() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone());
        std::thread::scope(|s| {
            for t in 0..4 {
                let writer = writer.clone();
                s.spawn(move || {
                    for i in 0..500 {
                        let line = format!("thread {t} line {i}\n");
                        (&mut writer.make_writer())
                            .write_all(line.as_bytes())
                            .unwrap();
                    }
                });
            }
        });
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000);
        for t in 0..4 {
            let own: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..500).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(own, expected, "thread {t}'s lines, in order");
        }
    }

    #[test]
    fn lines_past_the_bound_are_dropped_not_queued() {
        /// A stdout that does not take anything until the test lets it.
        struct Stalled(Arc<Mutex<()>>, Sink);
        impl Write for Stalled {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let _open = self.0.lock().unwrap();
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let sink = Sink::default();
        let (writer, guard) = batched(Stalled(gate.clone(), sink.clone()));
        // Taken after the thread exists and dropped before it is joined, even if an assertion fails.
        let closed = gate.lock().unwrap();
        let line = vec![b'x'; 1023]
            .into_iter()
            .chain([b'\n'])
            .collect::<Vec<u8>>();
        // At most two bounds' worth is ever held: the batch the stalled thread took, and a full buffer behind it.
        let bound = MAX_BUFFERED / line.len();
        let sent = 3 * bound;
        for _ in 0..sent {
            (&mut writer.make_writer()).write_all(&line).unwrap();
            assert!(writer.0.lock().lines.len() <= MAX_BUFFERED);
        }
        drop(closed);
        drop(guard);
        let written = sink.0.lock().unwrap().len() / line.len();
        assert!(
            (bound..=2 * bound).contains(&written),
            "{written} of {sent} lines written"
        );
    }
}
