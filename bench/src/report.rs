//! The result of a run: one row per measured load, rendered as the Markdown table SPEC §13 asks for (printed and
//! saved) and as JSON, both under the results directory with a timestamped name and as `latest.*`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::load::{Operation, Outcome, PUBLIC_COLLECTION};
use crate::store::StoreKind;

/// SPEC §13's targets on SQLite, as ratios to the ceiling.
const TARGET_RATIO: [(Operation, f64); 3] = [
    (Operation::Get, 0.40),
    (Operation::List, 0.20),
    (Operation::Create, 0.20),
];
const TARGET_READ_P99_US: u64 = 10_000;
const TARGET_RSS_KIB: u64 = 64 * 1024;
/// Issue 5: the reads with a rule stay within 10 % of the same reads on a public collection.
const TARGET_RULE_RATIO: f64 = 0.90;

/// The generator's threads and connections for one measured load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowLoad {
    pub threads: u32,
    pub connections: u32,
}

/// One measured load.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `None` for the ceiling.
    pub operation: Option<Operation>,
    pub store: Option<StoreKind>,
    #[serde(flatten)]
    pub load: RowLoad,
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
        load: RowLoad,
        outcome: Outcome,
        peak_rss_kib: u64,
        ceiling_rps: f64,
    ) -> Row {
        let rps = outcome.requests_per_second();
        Row {
            operation,
            store,
            load,
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
            md.push_str(
                "\nSPEC §13 targets on SQLite, and what rules cost on each store (issue 5):\n\n",
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

    /// Each SQLite target with the measured value and whether it is met, then the cost of rules on each store.
    fn targets(&self) -> Vec<String> {
        let row = |store: StoreKind, op: Operation| {
            self.rows
                .iter()
                .find(|r| r.store == Some(store) && r.operation == Some(op))
        };
        let sqlite = |op: Operation| row(StoreKind::Sqlite, op);
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
        // SPEC §13's RSS target is for its workload (the reads and the create); login's Argon2id memory is
        // reported on its own line.
        let peak = self
            .rows
            .iter()
            .filter(|r| {
                r.store == Some(StoreKind::Sqlite)
                    && r.operation.is_some_and(|op| op != Operation::Login)
            })
            .map(|r| r.peak_rss_kib)
            .max();
        if let Some(peak) = peak {
            lines.push(format!(
                "peak RSS: {:.1} MiB, target ≤ 64 MiB: {}",
                peak as f64 / 1024.0,
                mark(peak <= TARGET_RSS_KIB)
            ));
        }
        let mut stores: Vec<StoreKind> = Vec::new();
        for store in self.rows.iter().filter_map(|r| r.store) {
            if !stores.contains(&store) {
                stores.push(store);
            }
        }
        for &store in &stores {
            for op in [Operation::Get, Operation::List] {
                let (Some(ruled), Some(public)) = (
                    row(store, op),
                    op.public_twin().and_then(|twin| row(store, twin)),
                ) else {
                    continue;
                };
                lines.push(rule_cost_line(store, op, ruled, public));
            }
        }
        if let Some(login) = sqlite(Operation::Login) {
            lines.push(format!(
                "login (no §13 target; Argon2id at Strata's defaults, {} connections): {} req/s, p99 {}, \
                 peak RSS {:.1} MiB",
                login.load.connections,
                thousands(login.requests_per_second),
                millis(login.outcome.p99_us),
                login.peak_rss_kib as f64 / 1024.0,
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

fn mark(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The reads with a rule against the same reads on the public collection: the ratio of their req/s, and whether
/// it is within [`TARGET_RULE_RATIO`] (issue 5).
fn rule_cost_line(store: StoreKind, op: Operation, ruled: &Row, public: &Row) -> String {
    let ratio = if public.requests_per_second > 0.0 {
        ruled.requests_per_second / public.requests_per_second
    } else {
        0.0
    };
    format!(
        "{store} {op} with its rule vs {}: {:.1} % ({} vs {} req/s; p99 {} vs {}), target within 10 %: {}",
        op.public_twin()
            .map_or_else(String::new, |twin| twin.to_string()),
        ratio * 100.0,
        thousands(ruled.requests_per_second),
        thousands(public.requests_per_second),
        millis(ruled.outcome.p99_us),
        millis(public.outcome.p99_us),
        mark(ratio >= TARGET_RULE_RATIO)
    )
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

    const WIDE: RowLoad = RowLoad {
        threads: 2,
        connections: 64,
    };

    fn row(op: Option<Operation>, store: Option<StoreKind>, requests: u64, rss_kib: u64) -> Row {
        Row::new(op, store, WIDE, outcome(requests, 4_000), rss_kib, 1_000.0)
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
        let row = Row::new(
            Some(Operation::Get),
            None,
            WIDE,
            outcome(450, 1),
            0,
            1_000.0,
        );
        assert!((row.ratio_to_ceiling - 0.45).abs() < 1e-9);
    }

    #[test]
    fn the_table_has_one_line_per_row_and_the_targets_on_sqlite() {
        let rows = vec![
            Row::new(None, None, WIDE, outcome(1_000, 4_000), 6_000, 1_000.0),
            Row::new(
                Some(Operation::Get),
                Some(StoreKind::Sqlite),
                WIDE,
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
    fn the_reads_with_a_rule_are_compared_with_the_public_ones_on_each_store() {
        let sqlite = Some(StoreKind::Sqlite);
        let postgres = Some(StoreKind::Postgres);
        let rows = vec![
            row(None, None, 1_000, 6_000),
            row(Some(Operation::Get), sqlite, 450, 20_000),
            row(Some(Operation::GetPublic), sqlite, 480, 20_000),
            row(Some(Operation::List), sqlite, 200, 20_000),
            row(Some(Operation::ListPublic), sqlite, 250, 20_000),
            row(Some(Operation::Get), postgres, 100, 20_000),
            row(Some(Operation::GetPublic), postgres, 95, 20_000),
            // No public twin measured: no line.
            row(Some(Operation::List), postgres, 80, 20_000),
        ];
        let md = report(rows).markdown();
        assert!(md.contains(
            "- SQLite get with its rule vs get-public: 93.8 % (450 vs 480 req/s; p99 4.00 ms vs 4.00 ms), \
             target within 10 %: met"
        ));
        assert!(
            md.contains("- SQLite list with its rule vs list-public: 80.0 % (200 vs 250 req/s;")
        );
        assert!(md.contains("within 10 %: NOT met"));
        assert!(md.contains("- PostgreSQL get with its rule vs get-public: 105.3 %"));
        assert!(!md.contains("PostgreSQL list with its rule"));
        assert!(md.contains("| `GET /api/v1/notes/{id} (public)` | SQLite | 480 | 48.0 % |"));
    }

    #[test]
    fn login_is_reported_with_its_own_load_and_outside_the_rss_target() {
        let login = Row::new(
            Some(Operation::Login),
            Some(StoreKind::Sqlite),
            RowLoad {
                threads: 1,
                connections: 2,
            },
            outcome(40, 60_000),
            90 * 1024,
            1_000.0,
        );
        let rows = vec![
            row(None, None, 1_000, 6_000),
            row(
                Some(Operation::Get),
                Some(StoreKind::Sqlite),
                450,
                30 * 1024,
            ),
            login,
        ];
        let md = report(rows).markdown();
        assert!(md.contains("- other loads: login (SQLite): 1 thread, 2 connections."));
        assert!(md.contains(
            "| `POST /api/v1/auth/login (1 thread, 1 connection per core)` | SQLite | 40 | 4.0 % |"
        ));
        assert!(md.contains("peak RSS: 30.0 MiB, target ≤ 64 MiB: met"));
        assert!(md.contains(
            "login (no §13 target; Argon2id at Strata's defaults, 2 connections): 40 req/s, p99 60.00 ms, \
             peak RSS 90.0 MiB"
        ));
    }

    #[test]
    fn rows_carry_their_load_and_operation_names_in_json() {
        let json = serde_json::to_value(row(Some(Operation::ListPublic), None, 1, 1)).unwrap();
        assert_eq!(json["operation"], "list-public");
        assert_eq!(
            (json["threads"].as_u64(), json["connections"].as_u64()),
            (Some(2), Some(64))
        );
    }

    #[test]
    fn a_run_with_only_the_configured_load_has_no_note_about_other_loads() {
        let md = report(vec![row(
            Some(Operation::Get),
            Some(StoreKind::Sqlite),
            1,
            1,
        )])
        .markdown();
        assert!(!md.contains("other loads"));
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
