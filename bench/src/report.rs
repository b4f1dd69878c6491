//! The result of a run: one row per measured load, rendered as the Markdown table SPEC §13 asks for (printed and
//! saved) and as JSON, both under the results directory with a timestamped name and as `latest.*`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::load::{Operation, Outcome};
use crate::store::StoreKind;

/// SPEC §13's targets on SQLite, as ratios to the ceiling.
const TARGET_RATIO: [(Operation, f64); 3] = [
    (Operation::Get, 0.40),
    (Operation::List, 0.20),
    (Operation::Create, 0.20),
];
const TARGET_READ_P99_US: u64 = 10_000;
const TARGET_RSS_KIB: u64 = 64 * 1024;

/// One measured load.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `None` for the ceiling.
    pub operation: Option<Operation>,
    pub store: Option<StoreKind>,
    pub requests_per_second: f64,
    /// Requests per second over the ceiling's in the same run.
    pub ratio_to_ceiling: f64,
    pub peak_rss_kib: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Row {
    pub fn new(
        operation: Option<Operation>,
        store: Option<StoreKind>,
        outcome: Outcome,
        peak_rss_kib: u64,
        ceiling_rps: f64,
    ) -> Row {
        let rps = outcome.requests_per_second();
        Row {
            operation,
            store,
            requests_per_second: rps,
            ratio_to_ceiling: if ceiling_rps > 0.0 {
                rps / ceiling_rps
            } else {
                0.0
            },
            peak_rss_kib,
            outcome,
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
    pub records: u64,
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
    pub seeding: Vec<Seeding>,
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
            "- {} posts{}; commit {}; {} build",
            thousands(self.records as f64),
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
        md.push_str("| operation | store | req/s | vs ceiling | p50 | p99 | peak RSS |\n");
        md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        for row in &self.rows {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {:.1} % | {} | {} | {:.1} MiB |",
                row.label(),
                row.store.map_or("—".to_owned(), |s| s.to_string()),
                thousands(row.requests_per_second),
                row.ratio_to_ceiling * 100.0,
                millis(row.outcome.p50_us),
                millis(row.outcome.p99_us),
                row.peak_rss_kib as f64 / 1024.0,
            );
        }
        let targets = self.targets();
        if !targets.is_empty() {
            md.push_str("\nSPEC §13 targets on SQLite:\n\n");
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

    /// Each SQLite target with the measured value and whether it is met.
    fn targets(&self) -> Vec<String> {
        let sqlite = |op: Operation| {
            self.rows
                .iter()
                .find(|r| r.store == Some(StoreKind::Sqlite) && r.operation == Some(op))
        };
        let mark = |met: bool| if met { "met" } else { "NOT met" };
        let mut lines = Vec::new();
        for (op, target) in TARGET_RATIO {
            if let Some(row) = sqlite(op) {
                lines.push(format!(
                    "{op}: {:.1} % of the ceiling, target ≥ {:.0} %: {}",
                    row.ratio_to_ceiling * 100.0,
                    target * 100.0,
                    mark(row.ratio_to_ceiling >= target)
                ));
            }
        }
        for op in [Operation::Get, Operation::List] {
            if let Some(row) = sqlite(op) {
                lines.push(format!(
                    "{op} p99: {}, target ≤ 10 ms: {}",
                    millis(row.outcome.p99_us),
                    mark(row.outcome.p99_us <= TARGET_READ_P99_US)
                ));
            }
        }
        let peak = self
            .rows
            .iter()
            .filter(|r| r.store == Some(StoreKind::Sqlite))
            .map(|r| r.peak_rss_kib)
            .max();
        if let Some(peak) = peak {
            lines.push(format!(
                "peak RSS: {:.1} MiB, target ≤ 64 MiB: {}",
                peak as f64 / 1024.0,
                mark(peak <= TARGET_RSS_KIB)
            ));
        }
        lines
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
mod tests {
    use super::*;

    fn outcome(requests: u64, p99_us: u64) -> Outcome {
        Outcome {
            requests,
            seconds: 1.0,
            p50_us: 500,
            p99_us,
            ..Outcome::default()
        }
    }

    fn report(rows: Vec<Row>) -> Report {
        Report {
            started_at: "2026-01-01T00:00:00Z".into(),
            commit: Some("abc1234".into()),
            cpus: 2,
            cpu_model: None,
            smoke: false,
            profile: "release".into(),
            generator: "wrk 4.1.0".into(),
            threads: 2,
            connections: 64,
            duration_seconds: 10,
            warmup_seconds: 2,
            records: 10_000,
            principal: "anonymous".into(),
            seeding: vec![],
            rows,
            failures: vec![],
        }
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn ratios_are_to_the_ceiling_of_the_same_run() {
        let row = Row::new(Some(Operation::Get), None, outcome(450, 1), 0, 1_000.0);
        assert!((row.ratio_to_ceiling - 0.45).abs() < 1e-9);
    }

    #[test]
    fn the_table_has_one_line_per_row_and_the_targets_on_sqlite() {
        let rows = vec![
            Row::new(None, None, outcome(1_000, 4_000), 6_000, 1_000.0),
            Row::new(
                Some(Operation::Get),
                Some(StoreKind::Sqlite),
                outcome(450, 12_000),
                20_000,
                1_000.0,
            ),
        ];
        let md = report(rows).markdown();
        assert!(
            md.contains(
                "| `GET /api/v1/posts/{id}` | SQLite | 450 | 45.0 % | 0.50 ms | 12.00 ms |"
            )
        );
        assert!(md.contains("get: 45.0 % of the ceiling, target ≥ 40 %: met"));
        assert!(md.contains("get p99: 12.00 ms, target ≤ 10 ms: NOT met"));
        assert!(md.contains("peak RSS: 19.5 MiB, target ≤ 64 MiB: met"));
    }

    #[test]
    fn saving_writes_the_stamped_and_latest_files() {
        let dir = tempfile::tempdir().unwrap();
        let written = report(vec![]).save(dir.path(), "stamp").unwrap();
        assert_eq!(written.len(), 4);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("latest.json")).unwrap())
                .unwrap();
        assert_eq!(json["records"], 10_000);
        assert!(dir.path().join("stamp.md").exists());
    }
}
