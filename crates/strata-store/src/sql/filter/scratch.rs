use super::differential::{EXPRESSIONS, checked, eval_results, posts};
use super::random::Gen;
use super::tests::{AUTHOR, now, schema, user};
use super::*;
use std::fmt::Write as _;
use strata_core::value::format_datetime;

fn lit(d: Dialect, v: &Value) -> String {
    let q = |s: &str| match d {
        Dialect::Mysql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        _ => format!("'{}'", s.replace('\'', "''")),
    };
    match (d, v) {
        (_, Value::Null) => "NULL".into(),
        (_, Value::Bool(b)) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        (Dialect::Postgres, Value::Int(i)) => format!("CAST({i} AS BIGINT)"),
        (_, Value::Int(i)) => i.to_string(),
        (Dialect::Postgres, Value::Float(f)) => format!("CAST('{f:e}' AS DOUBLE PRECISION)"),
        (_, Value::Float(f)) => format!("{f:e}"),
        (Dialect::Postgres, Value::Text(s)) => format!("CAST({} AS TEXT)", q(s)),
        (_, Value::Text(s)) => q(s),
        (Dialect::Postgres, Value::Uuid(u)) => format!("CAST('{u}' AS UUID)"),
        (_, Value::Uuid(u)) => format!("'{u}'"),
        (Dialect::Postgres, Value::Datetime(t)) => {
            format!("CAST('{}' AS TIMESTAMPTZ)", format_datetime(t))
        }
        (_, Value::Datetime(t)) => format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f")),
        (Dialect::Postgres, Value::Date(x)) => format!("CAST('{x}' AS DATE)"),
        (_, Value::Date(x)) => format!("'{x}'"),
        (Dialect::Postgres, Value::Json(j)) => format!("CAST({} AS JSONB)", q(&j.to_string())),
        (_, Value::Json(j)) => q(&j.to_string()),
    }
}

fn splice(d: Dialect, b: &SqlBuilder) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut chars = b.sql.chars().peekable();
    while let Some(c) = chars.next() {
        if d == Dialect::Postgres && c == '$' {
            let mut num = String::new();
            while let Some(x) = chars.peek().filter(|x| x.is_ascii_digit()) {
                num.push(*x);
                chars.next();
            }
            let i: usize = num.parse().unwrap();
            out.push_str(&lit(d, &b.params[i - 1].value));
        } else if d == Dialect::Mysql && c == '?' {
            out.push_str(&lit(d, &b.params[n].value));
            n += 1;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
#[ignore]
fn scratch_dialects() {
    let schema = schema();
    let rows = posts();
    let posts_c = schema.collection("posts").unwrap();
    let mut srcs: Vec<String> = EXPRESSIONS.iter().map(|s| s.to_string()).collect();
    srcs.extend(
        [
            "author.name = 'Bob'",
            "author.name ~ 'AN'",
            "author.name = null",
            "author.roles ?= 'moderator'",
            "comments_via_post.author ?= @auth.id",
            "!(comments_via_post.author ?= @auth.id)",
        ]
        .map(String::from),
    );
    let mut g = Gen(0x2545_F491_4F6C_DD1D);
    for _ in 0..600 {
        let s = g.condition(3);
        if checked(&s, &schema).is_ok() {
            srcs.push(s);
        }
    }
    for d in [Dialect::Postgres, Dialect::Mysql] {
        let mut sql = String::new();
        let mut expected = String::new();
        for row in &rows {
            let mut vals = vec![
                lit(d, &Value::Uuid(row.id)),
                lit(d, &Value::Datetime(row.created_at)),
                lit(d, &Value::Datetime(row.updated_at)),
                lit(d, &Value::Int(row.version)),
            ];
            vals.extend(row.values.iter().map(|v| lit(d, v)));
            writeln!(sql, "INSERT INTO posts VALUES ({});", vals.join(", ")).unwrap();
        }
        for (pi, principal) in [user(), Principal::anonymous()].iter().enumerate() {
            for (i, src) in srcs.iter().enumerate() {
                let expr = checked(src, &schema).unwrap();
                let scope = FilterScope {
                    schema: &schema,
                    collection: posts_c,
                    alias: "t",
                    principal,
                    data: None,
                    now: now(),
                };
                let mut b = SqlBuilder::new(d);
                compile(&expr, &scope, &mut b).unwrap();
                let cond = splice(d, &b);
                let cast = if d == Dialect::Postgres {
                    format!("CAST(({cond}) AS INT)")
                } else {
                    format!("({cond})")
                };
                let label = format!("{pi}-{i}");
                writeln!(sql, "SELECT '{label}', {cast} FROM posts t ORDER BY t.id;").unwrap();
                let ev = if i < EXPRESSIONS.len() || i >= EXPRESSIONS.len() + 6 {
                    eval_results(&expr, &rows, principal, &schema)
                        .into_iter()
                        .map(|(_, t)| {
                            match t {
                                Tri::True => "1",
                                Tri::False => "0",
                                Tri::Unknown => "NULL",
                            }
                            .to_string()
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    "STORE".into()
                };
                writeln!(expected, "{label}\t{ev}\t{src}").unwrap();
            }
        }
        let name = if d == Dialect::Postgres { "pg" } else { "my" };
        std::fs::write(
            format!("/tmp/scratch_{name}.sql"),
            sql.replace("\"t\"", "t"),
        )
        .unwrap();
        std::fs::write(format!("/tmp/scratch_{name}.expected"), expected).unwrap();
    }
    let _ = AUTHOR;
}
