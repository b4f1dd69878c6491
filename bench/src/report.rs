//! The result of a run: one row per measured load, rendered as the Markdown table SPEC §13 asks for (printed and
//! saved) and as JSON, both under the results directory with a timestamped name and as `latest.*`. Strata's rows
//! on PostgreSQL and MySQL carry their ratio to the baseline's row for the same operation and store.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::load::{Operation, Outcome, PUBLIC_COLLECTION};
use crate::store::StoreKind;

mod targets;

/// What the baseline is and how it was measured, under the header when the table has its rows.
const BASELINE_NOTE: &str = "- baseline (PostgreSQL and MySQL): a hand-written axum 0.8 + sqlx 0.9 server \
     (`bench/src/baseline/`, no Strata crate) serving get, list and create on `posts` over the database Strata \
     created and seeded, with the statements and round trips Strata sends (sqlx prepared statements, a pool of 16 \
     as Strata's default, the same rule conditions and validation, post and outbox event in one transaction) and \
     Strata's EdDSA tokens checked against its JWKS with a cache of verified tokens. It runs right before Strata \
     on each operation, as a fresh process with the same warm-up and load; the posts its create load adds are \
     deleted after its run (then VACUUM ANALYZE or ANALYZE TABLE), so Strata's create meets the table as it \
     would have without it. vs baseline: Strata's req/s ÷ the baseline's (SPEC §13: ≥ 1.2× on PostgreSQL and \
     MySQL)";

/// Which server a row measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    Ceiling,
    Strata,
    /// The hand-written axum+sqlx server of `bench/src/baseline/`.
    Baseline,
}

/// The generator's threads and connections for one measured load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowLoad {
    pub threads: u32,
    pub connections: u32,
}

/// One measured load.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub server: ServerKind,
    /// `None` for the ceiling.
    pub operation: Option<Operation>,
    pub store: Option<StoreKind>,
    #[serde(flatten)]
    pub load: RowLoad,
    pub requests_per_second: f64,
    /// Requests per second over the ceiling's in the same run.
    pub ratio_to_ceiling: f64,
    /// Strata's requests per second over the baseline's for the same operation and store, in the same run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs_baseline: Option<f64>,
    pub peak_rss_kib: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Row {
    /// Strata's row, or the ceiling's when `operation` is `None`.
    pub fn new(
        operation: Option<Operation>,
        store: Option<StoreKind>,
        load: RowLoad,
        outcome: Outcome,
        peak_rss_kib: u64,
        ceiling_rps: f64,
    ) -> Row {
        let rps = outcome.requests_per_second();
        Row {
            server: if operation.is_some() {
                ServerKind::Strata
            } else {
                ServerKind::Ceiling
            },
            operation,
            store,
            load,
            requests_per_second: rps,
            ratio_to_ceiling: if ceiling_rps > 0.0 {
                rps / ceiling_rps
            } else {
                0.0
            },
            vs_baseline: None,
            peak_rss_kib,
            outcome,
        }
    }

    /// The same measurement, made on the baseline.
    pub fn of_baseline(self) -> Row {
        Row {
            server: ServerKind::Baseline,
            vs_baseline: None,
            ..self
        }
    }

    /// Strata's row with its ratio to the baseline's `baseline_rps` for the same operation and store.
    pub fn against_baseline(self, baseline_rps: f64) -> Row {
        Row {
            vs_baseline: Some(if baseline_rps > 0.0 {
                self.requests_per_second / baseline_rps
            } else {
                0.0
            }),
            ..self
        }
    }

    /// The store column: the store, and which server when it is not Strata.
    fn store_label(&self) -> String {
        match (self.store, self.server) {
            (None, _) => "—".to_owned(),
            (Some(store), ServerKind::Baseline) => format!("{store} (baseline)"),
            (Some(store), _) => store.to_string(),
        }
    }

    fn label(&self) -> &'static str {
        self.operation.map_or(
            "ceiling: bare axum, fixed post JSON, same GET load",
            Operation::label,
        )
    }
}

/// How long seeding took on one store.
#[derive(Debug, Clone, Serialize)]
pub struct Seeding {
    pub store: StoreKind,
    /// Records in each collection.
    pub records: u64,
    /// The collections seeded, `posts` first.
    pub collections: Vec<String>,
    /// For all of them.
    pub seconds: f64,
}

/// Everything one run measured, and how.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started_at: String,
    pub commit: Option<String>,
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub smoke: bool,
    pub profile: String,
    pub generator: String,
    pub threads: u32,
    pub connections: u32,
    pub duration_seconds: u64,
    pub warmup_seconds: u64,
    pub records: u64,
    pub principal: String,
    /// Whether the baseline's pool pinged each connection it handed out (as Strata's pool does by default).
    pub baseline_ping_on_acquire: bool,
    pub seeding: Vec<Seeding>,
    /// Start to `/readyz` 200 with 50 collections on SQLite, when measured.
    pub start: Option<crate::startup::StartTimes>,
    pub rows: Vec<Row>,
    /// Why each failed run failed; a report with any is a failed benchmark.
    pub failures: Vec<String>,
}

impl Report {
    /// The Markdown: a short header saying what was measured, the table, and SPEC §13's targets on SQLite.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Strata benchmark, {}\n", self.started_at);
        let _ = writeln!(
            md,
            "- {} posts{}{}; commit {}; {} build",
            thousands(self.records as f64),
            if self.seeds_notes() {
                " and as many public notes"
            } else {
                ""
            },
            self.seeding_summary(),
            self.commit.as_deref().unwrap_or("unknown"),
            self.profile,
        );
        let _ = writeln!(
            md,
            "- machine: {} CPUs{}",
            self.cpus,
            self.cpu_model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            md,
            "- load: {}, {} threads, {} connections, {} s per run after {} s of warm-up, servers one at a time; \
             principal: {}{}\n",
            self.generator,
            self.threads,
            self.connections,
            self.duration_seconds,
            self.warmup_seconds,
            self.principal,
            if self.smoke {
                "; SMOKE RUN (timings mean nothing)"
            } else {
                ""
            },
        );
        if let Some(note) = self.other_loads_note() {
            let _ = writeln!(md, "{note}\n");
        }
        if self.rows.iter().any(|r| r.server == ServerKind::Baseline) {
            let _ = writeln!(
                md,
                "{BASELINE_NOTE}. Its pool {} each connection it hands out (sqlx's `test_before_acquire`, its \
                 default; Strata's pool pings only connections idle for over 500 ms)\n",
                if self.baseline_ping_on_acquire {
                    "pings"
                } else {
                    "does NOT ping"
                }
            );
        }
        md.push_str(
            "| operation | store | req/s | vs ceiling | vs baseline | p50 | p99 | peak RSS |\n",
        );
        md.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for row in &self.rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {:.1} % | {} | {} | {} | {:.1} MiB |",
                row.label(),
                row.store_label(),
                thousands(row.requests_per_second),
                row.ratio_to_ceiling * 100.0,
                row.vs_baseline
                    .map_or("—".to_owned(), |ratio| format!("{ratio:.2}×")),
                millis(row.outcome.p50_us),
                millis(row.outcome.p99_us),
                row.peak_rss_kib as f64 / 1024.0,
            );
        }
        let targets = self.targets();
        if !targets.is_empty() {
            md.push_str(
                "\nSPEC §13 targets (on SQLite as ratios to the ceiling, on PostgreSQL and MySQL to the \
                 baseline), and what rules cost on each store (issue 5):\n\n",
            );
            for line in targets {
                let _ = writeln!(md, "- {line}");
            }
        }
        if !self.failures.is_empty() {
            md.push_str("\nFAILED runs (any non-2xx answer or socket error fails a run):\n\n");
            for failure in &self.failures {
                let _ = writeln!(md, "- {failure}");
            }
        }
        md
    }

    fn seeds_notes(&self) -> bool {
        self.seeding
            .iter()
            .any(|s| s.collections.iter().any(|c| c == PUBLIC_COLLECTION))
    }

    /// Which rows ran another load than the header's (login: one connection per core), and why.
    fn other_loads_note(&self) -> Option<String> {
        let shapes: Vec<String> = self
            .rows
            .iter()
            .filter_map(|row| {
                let op = row.operation?;
                let other =
                    row.load.threads != self.threads || row.load.connections != self.connections;
                other.then(|| {
                    format!(
                        "{op} ({}): {} thread{}, {} connection{}",
                        row.store.map_or("—".to_owned(), |s| s.to_string()),
                        row.load.threads,
                        plural(row.load.threads),
                        row.load.connections,
                        plural(row.load.connections),
                    )
                })
            })
            .collect();
        if shapes.is_empty() {
            return None;
        }
        Some(format!(
            "- other loads: {}. Login verifies a password with Argon2id at Strata's defaults (19 MiB, 2 \
             iterations, 1 lane) on a pool of one thread per core that answers 503 when full (SPEC §14), so it \
             runs one connection per core; its ratio to the ceiling (measured with {} connections) is for \
             completeness only",
            shapes.join(", "),
            self.connections
        ))
    }

    fn seeding_summary(&self) -> String {
        if self.seeding.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .seeding
            .iter()
            .map(|s| format!("{} {:.1} s", s.store, s.seconds))
            .collect();
        let analyzed = if self.seeding.iter().any(|s| s.store != StoreKind::Sqlite) {
            ", then ANALYZE on the server databases"
        } else {
            ""
        };
        format!(
            " seeded through POST /api/v1/batch ({}){analyzed}",
            parts.join(", ")
        )
    }

    /// Write `<stamp>.md`, `<stamp>.json`, `latest.md` and `latest.json` under `dir`; the paths written.
    pub fn save(&self, dir: &Path, stamp: &str) -> anyhow::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let markdown = self.markdown();
        let json = serde_json::to_string_pretty(self)? + "\n";
        let mut written = Vec::new();
        for name in [stamp, "latest"] {
            for (ext, text) in [("md", &markdown), ("json", &json)] {
                let path = dir.join(format!("{name}.{ext}"));
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push(path);
            }
        }
        Ok(written)
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `12345.6` as `12,346`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds as milliseconds with two decimals.
pub fn millis(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
