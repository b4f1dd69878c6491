//! The compiler against the evaluator on a real SQLite database: for each expression and each row, the SQL
//! condition's value (1, 0 or NULL) must be the evaluator's (true, false or unknown). Rows hold nulls, text that
//! case folding treats specially (`Straße`, `ÉCOLE`, `İ`, the Kelvin sign), integers past 2^53, floats and
//! datetimes at the ends of their range.

use rusqlite::Connection;
use rusqlite::types::Value as Sql;
use strata_core::expr::{CheckScope, Mode, check, parse};
use strata_core::schema::validate_value;
use strata_core::value::format_datetime;
use uuid::Uuid;

use super::tests::{AUTHOR, now, schema, user};
use super::*;

const OTHER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

/// The posts, as a client would send them; the tests read them back through the schema's validation.
pub(super) fn posts() -> Vec<Record> {
    let rows = serde_json::json!([
        {"title": "Straße", "views": 1, "score": 1.5, "published": true, "due": "2024-01-01T00:00:00Z", "day": "2024-01-01", "tags": ["a", "b"], "author": AUTHOR},
        {"title": "ÉCOLE normale", "views": 2, "score": 2.0, "published": false, "due": "2024-06-01T12:30:00.123456Z", "day": "2024-06-01", "tags": [1, 2.5, true]},
        {"title": "İstanbul", "author": OTHER},
        {"views": 9_007_199_254_740_993_i64, "score": -0.5, "published": true, "due": "9999-12-31T23:59:59.999999Z", "day": "1000-01-01", "tags": {"a": "a"}},
        {"title": "100% \\ _x_ a", "views": -5, "score": 1e300, "published": false, "due": "1000-01-01T00:00:00Z", "day": "9999-12-31", "tags": [], "author": AUTHOR},
        {"title": "kelvin \u{212A} ſ", "views": i64::MAX, "score": 9_223_372_036_854_775_808.0, "due": "2024-06-01T14:30:00+02:00", "tags": ["K", ["a"]]},
        {"title": "", "views": 0, "score": 0.0, "published": true, "day": "2024-02-29", "tags": "a"},
    ]);
    let schema = schema();
    let posts = schema.collection("posts").expect("posts");
    let rows = rows.as_array().expect("an array of rows");
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let value = |field: &strata_core::schema::Field| {
                let json = row.get(&field.name).unwrap_or(&serde_json::Value::Null);
                validate_value(field, json)
                    .unwrap_or_else(|e| panic!("row {i}, {}: {e:?}", field.name))
            };
            Record {
                id: Uuid::from_u128(i as u128 + 1),
                created_at: now(),
                updated_at: now(),
                version: 1,
                values: posts.fields.iter().map(value).collect(),
            }
        })
        .collect()
}

fn to_sql(value: &Value) -> Sql {
    match value {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Int(i) => Sql::Integer(*i),
        Value::Float(f) => Sql::Real(*f),
        Value::Text(s) => Sql::Text(s.clone()),
        Value::Uuid(u) => Sql::Text(u.hyphenated().to_string()),
        Value::Datetime(d) => Sql::Text(format_datetime(d)),
        Value::Date(d) => Sql::Text(d.format("%Y-%m-%d").to_string()),
        Value::Json(j) => Sql::Text(j.to_string()),
    }
}

pub(super) fn database(rows: &[Record]) -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory database");
    register_sqlite_functions(&conn).expect("functions register");
    conn.execute_batch(
        r#"
        CREATE TABLE users (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, version INTEGER, email TEXT,
            verified INTEGER, roles TEXT, name TEXT, team TEXT);
        CREATE TABLE teams (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, version INTEGER, name TEXT);
        CREATE TABLE posts (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, version INTEGER, title TEXT,
            views INTEGER, score REAL, published INTEGER, due TEXT, day TEXT, tags TEXT, author TEXT, team TEXT);
        CREATE TABLE comments (id TEXT PRIMARY KEY, created_at TEXT, updated_at TEXT, version INTEGER, post TEXT,
            author TEXT);
        "#,
    )
    .expect("tables");
    let users = [(AUTHOR, "Bob", r#"["moderator"]"#), (OTHER, "Ann", "[]")];
    for (id, name, roles) in users {
        conn.execute(
            "INSERT INTO users (id, name, roles) VALUES (?, ?, ?)",
            rusqlite::params![id.hyphenated().to_string(), name, roles],
        )
        .expect("user");
    }
    for row in rows {
        let mut values = vec![
            to_sql(&Value::Uuid(row.id)),
            to_sql(&Value::Datetime(row.created_at)),
        ];
        values.push(to_sql(&Value::Datetime(row.updated_at)));
        values.push(Sql::Integer(row.version));
        values.extend(row.values.iter().map(to_sql));
        conn.execute(
            "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params_from_iter(values),
        )
        .expect("post");
    }
    conn.execute(
        "INSERT INTO comments (id, post, author) VALUES ('c1', ?, ?)",
        rusqlite::params![
            Uuid::from_u128(2).hyphenated().to_string(),
            AUTHOR.hyphenated().to_string()
        ],
    )
    .expect("comment");
    conn
}

/// Each row's id and the SQL value of the compiled condition on it, in id order.
pub(super) fn sql_results(
    conn: &Connection,
    expr: &Expr,
    principal: &Principal,
    schema: &Schema,
) -> Vec<(String, Tri)> {
    sql_results_as(conn, expr, principal, schema, Reading::Stored)
}

/// [`sql_results`] for a rule (`Reading::Stored`) or a caller's own filter (`Reading::AsCaller`).
pub(super) fn sql_results_as(
    conn: &Connection,
    expr: &Expr,
    principal: &Principal,
    schema: &Schema,
    reading: Reading,
) -> Vec<(String, Tri)> {
    let posts = schema.collection("posts").expect("posts");
    let scope = FilterScope {
        schema,
        collection: posts,
        alias: "t",
        principal,
        data: None,
        now: now(),
        reading,
    };
    let mut out = SqlBuilder::new(Dialect::Sqlite);
    out.push(r#"SELECT "t"."id", ("#);
    compile(expr, &scope, &mut out).expect("compiles");
    out.push(r#") FROM "posts" "t" ORDER BY "t"."id""#);
    let mut statement = conn
        .prepare(&out.sql)
        .unwrap_or_else(|e| panic!("{}: {e}", out.sql));
    let params = rusqlite::params_from_iter(out.params.iter().map(|p| to_sql(&p.value)));
    let rows = statement.query_map(params, |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<i64>>(1)?))
    });
    rows.and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .unwrap_or_else(|e| panic!("{}: {e}", out.sql))
        .into_iter()
        .map(|(id, v)| (id, v.map_or(Tri::Unknown, |v| Tri::from_bool(v != 0))))
        .collect()
}

/// What a condition on the post `row` is evaluated against.
fn row_context<'a>(
    schema: &'a Schema,
    principal: &'a Principal,
    row: &'a Record,
) -> EvalContext<'a> {
    EvalContext {
        schema,
        collection: schema.collection("posts").expect("posts"),
        record: Some(row),
        data: None,
        principal,
        now: now(),
    }
}

pub(super) fn eval_results(
    expr: &Expr,
    rows: &[Record],
    principal: &Principal,
    schema: &Schema,
) -> Vec<(String, Tri)> {
    rows.iter()
        .map(|row| {
            let ctx = row_context(schema, principal, row);
            (
                row.id.hyphenated().to_string(),
                eval(expr, &ctx).expect("evaluable in memory"),
            )
        })
        .collect()
}

/// The rows as `principal` reads them: a field whose read rule is not true on a row is null there.
pub(super) fn as_read_by(rows: &[Record], principal: &Principal, schema: &Schema) -> Vec<Record> {
    let posts = schema.collection("posts").expect("posts");
    rows.iter()
        .map(|row| {
            let ctx = row_context(schema, principal, row);
            let mut read = row.clone();
            for (field, value) in posts.fields.iter().zip(read.values.iter_mut()) {
                let readable = field
                    .read
                    .as_ref()
                    .is_none_or(|rule| eval(&rule.expr, &ctx) == Ok(Tri::True));
                if !readable {
                    *value = Value::Null;
                }
            }
            read
        })
        .collect()
}

pub(super) fn checked(src: &str, schema: &Schema) -> Result<Expr, ExprError> {
    let posts = schema.collection("posts").expect("posts");
    let expr = parse(src)?;
    check(
        &expr,
        &CheckScope {
            schema,
            collection: posts,
            mode: Mode::Filter,
            hidden_visible: false,
        },
    )?;
    Ok(expr)
}

pub(super) const EXPRESSIONS: &[&str] = &[
    "title = 'Straße'",
    "title != 'Straße'",
    "title < 'a'",
    "title >= 'É'",
    "title in ('Straße', @auth.email, '')",
    "title ~ 'STRAẞE'",
    "title ~ 'strasse'",
    "title ~ 'école'",
    "title ~ 'i'",
    "title ~ 'İ'",
    "title !~ 'e'",
    "title ~ '%'",
    "title ~ '_x_'",
    "title ~ '\\\\'",
    "title ~ ''",
    "title ~ 'k'",
    "title ~ 'S'",
    "title ~ '.'",
    "title !~ ''",
    "views = null",
    "views != null",
    "views > 1.5",
    "views = 2.0",
    "views in (1, 2, 1.5)",
    "views in (1.5)",
    "views > 9007199254740992.0",
    "views < 9223372036854775807.0",
    "views >= 9.3e18",
    "views = 9007199254740993",
    "score > 2",
    "score < 9007199254740993",
    "score >= 9223372036854775807",
    "score = views",
    "score > views",
    "views <= score",
    "published",
    "!published",
    "published = false",
    "published != true",
    "due > '2024-01-01T00:00:00Z'",
    "due < @now",
    "due = '2024-06-01T14:30:00.123456+02:00'",
    "due = '2024-06-01T12:30:00Z'",
    "day >= '2024-01-01'",
    "day = null",
    "day < '2024-03-01'",
    "tags ?= 'a'",
    "tags ?= 1",
    "tags ?= 2.5",
    "tags ?= true",
    "tags ?= false",
    "tags ?= 'K'",
    "tags ?= 'k'",
    "tags = null",
    "!(tags ?= 'a')",
    "author = @auth.id",
    "author != @auth.id",
    "author.id = @auth.id",
    "author = null || author = @auth.id",
    "@auth.roles ?= 'moderator' && views > 0",
    "author = '01900000-0000-7000-8000-000000000001'",
    "!(title = 'x' || views = 1)",
    "(views = 1 || score = 2) && !(published = null)",
    "@auth.id = null",
    "@auth.kind = 'user' && title ~ 'a'",
    "id = '00000000-0000-0000-0000-000000000003'",
    "created_at <= updated_at && version = 1",
];

#[test]
fn compiled_sql_and_eval_agree_on_every_row() {
    let schema = schema();
    let rows = posts();
    let conn = database(&rows);
    for principal in [user(), Principal::anonymous()] {
        for src in EXPRESSIONS {
            let expr = checked(src, &schema).unwrap_or_else(|e| panic!("{src}: {e}"));
            let sql = sql_results(&conn, &expr, &principal, &schema);
            assert_eq!(
                sql,
                eval_results(&expr, &rows, &principal, &schema),
                "{src} as {:?}",
                principal.kind
            );
        }
    }
}

/// The rows (by number) where `src` is true.
pub(super) fn matching(
    conn: &Connection,
    schema: &Schema,
    src: &str,
    principal: &Principal,
    reading: Reading,
) -> Vec<u128> {
    let expr = checked(src, schema).unwrap_or_else(|e| panic!("{src}: {e}"));
    sql_results_as(conn, &expr, principal, schema, reading)
        .into_iter()
        .filter(|(_, t)| *t == Tri::True)
        .filter_map(|(id, _)| Uuid::try_parse(&id).ok().map(|u| u.as_u128()))
        .collect()
}

#[test]
fn relation_paths_read_other_tables() {
    let schema = schema();
    let conn = database(&posts());
    let matching = |src: &str, principal: &Principal| {
        matching(&conn, &schema, src, principal, Reading::Stored)
    };
    assert_eq!(matching("author.name = 'Bob'", &user()), [1, 5]);
    assert_eq!(matching("author.name ~ 'AN'", &user()), [3]);
    assert_eq!(matching("author.name = null", &user()), [2, 4, 6, 7]);
    assert_eq!(matching("author.roles ?= 'moderator'", &user()), [1, 5]);
    assert_eq!(
        matching("comments_via_post.author ?= @auth.id", &user()),
        [2]
    );
    assert_eq!(
        matching("!(comments_via_post.author ?= @auth.id)", &user()),
        [1, 3, 4, 5, 6, 7]
    );
    assert_eq!(
        matching(
            "comments_via_post.author ?= @auth.id",
            &Principal::anonymous()
        ),
        [0u128; 0]
    );
}
