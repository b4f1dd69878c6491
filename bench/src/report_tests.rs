//! Tests of the report: the table, the targets section and the number formats.

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
        baseline_ping_on_acquire: true,
        seeding: vec![],
        start: None,
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
            "| `GET /api/v1/posts/{id}` | SQLite | 450 | 45.0 % | — | 0.50 ms | 12.00 ms |"
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
    assert!(md.contains("- SQLite list with its rule vs list-public: 80.0 % (200 vs 250 req/s;"));
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
fn strata_is_compared_with_the_baseline_on_the_same_store_and_operation() {
    let postgres = Some(StoreKind::Postgres);
    let mysql = Some(StoreKind::Mysql);
    let rows = vec![
        row(None, None, 1_000, 6_000),
        row(Some(Operation::Get), postgres, 100, 10_000).of_baseline(),
        row(Some(Operation::Get), postgres, 130, 30_000).against_baseline(100.0),
        row(Some(Operation::Create), mysql, 40, 10_000).of_baseline(),
        row(Some(Operation::Create), mysql, 44, 30_000).against_baseline(40.0),
        // Measured without a baseline (a public twin): no ratio.
        row(Some(Operation::GetPublic), postgres, 120, 30_000),
    ];
    let md = report(rows).markdown();
    assert!(md.contains("| vs ceiling | vs baseline |"));
    assert!(
        md.contains("- baseline (PostgreSQL and MySQL): a hand-written axum 0.8 + sqlx 0.9 server")
    );
    assert!(md.contains("Its pool pings each connection it hands out"));
    assert!(md.contains(
        "| `GET /api/v1/posts/{id}` | PostgreSQL (baseline) | 100 | 10.0 % | — | 0.50 ms | 4.00 ms | 9.8 MiB |"
    ));
    assert!(md.contains("| `GET /api/v1/posts/{id}` | PostgreSQL | 130 | 13.0 % | 1.30× |"));
    assert!(md.contains("| `GET /api/v1/notes/{id} (public)` | PostgreSQL | 120 | 12.0 % | — |"));
    assert!(md.contains(
        "- PostgreSQL get: 1.30× the baseline (130 vs 100 req/s; p99 4.00 ms vs 4.00 ms), target ≥ 1.2×: met"
    ));
    assert!(md.contains("- MySQL create: 1.10× the baseline (44 vs 40 req/s;"));
    assert!(md.contains("target ≥ 1.2×: NOT met"));
    // The baseline's rows are not Strata's: the rule-cost line compares Strata's get with Strata's get-public.
    assert!(
        md.contains("- PostgreSQL get with its rule vs get-public: 108.3 % (130 vs 120 req/s;")
    );
}

#[test]
fn a_run_without_a_baseline_says_nothing_of_it() {
    let md = report(vec![row(
        Some(Operation::Get),
        Some(StoreKind::Sqlite),
        1,
        1,
    )])
    .markdown();
    assert!(!md.contains("- baseline"));
    assert!(!md.contains("× the baseline"));
}

#[test]
fn rows_name_their_server_and_strata_s_carry_the_ratio_to_the_baseline_in_json() {
    let ceiling = serde_json::to_value(row(None, None, 1_000, 1)).unwrap();
    assert_eq!(ceiling["server"], "ceiling");
    assert!(ceiling.get("vs_baseline").is_none());
    let baseline = serde_json::to_value(
        row(Some(Operation::List), Some(StoreKind::Postgres), 80, 1).of_baseline(),
    )
    .unwrap();
    assert_eq!(baseline["server"], "baseline");
    assert!(baseline.get("vs_baseline").is_none());
    let strata = serde_json::to_value(
        row(Some(Operation::List), Some(StoreKind::Postgres), 100, 1).against_baseline(80.0),
    )
    .unwrap();
    assert_eq!(strata["server"], "strata");
    assert_eq!(strata["vs_baseline"], 1.25);
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
