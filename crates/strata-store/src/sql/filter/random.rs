//! Random filters, from a seeded generator, compiled for SQLite and evaluated in memory on the rows of the
//! differential test: both must give every row the same truth value, as a rule on the stored rows and as a
//! caller's filter on the rows as the caller reads them.

use strata_core::Principal;

use super::Reading;
use super::differential::{
    as_read_by, checked, database, eval_results, posts, sql_results, sql_results_as,
};
use super::tests::{schema, user};

/// A seeded generator of well-typed filters over the posts table.
struct Gen(u64);

impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn comparison(&mut self) -> String {
        const OPS: &[&str] = &["=", "!=", ">", ">=", "<", "<="];
        let op = self.pick(OPS);
        match self.below(8) {
            0 => format!(
                "title {op} {}",
                self.pick(&["'Straße'", "'a'", "''", "'İstanbul'", "@auth.email", "null"])
            ),
            1 => format!(
                "title {} {}",
                self.pick(&["~", "!~"]),
                self.pick(&["'ss'", "'E'", "'ß'", "'%'", "'K'", "''", "@auth.email"])
            ),
            2 => format!(
                "views {op} {}",
                self.pick(&[
                    "0",
                    "1.5",
                    "-5",
                    "9007199254740992",
                    "9.3e18",
                    "null",
                    "score"
                ])
            ),
            3 => format!(
                "score {op} {}",
                self.pick(&["2", "-0.5", "1e300", "9007199254740993", "views"])
            ),
            4 => format!(
                "due {op} {}",
                self.pick(&[
                    "@now",
                    "'2024-06-01T12:30:00.123456Z'",
                    "created_at",
                    "null"
                ])
            ),
            5 => format!(
                "tags ?= {}",
                self.pick(&["'a'", "1", "true", "2.5", "@auth.email"])
            ),
            6 => format!(
                "author {} {}",
                self.pick(&["=", "!="]),
                self.pick(&["@auth.id", "null", "author"])
            ),
            _ => format!(
                "{} in ({}, {})",
                self.pick(&["views", "score"]),
                self.pick(&["1", "2.0"]),
                self.pick(&["1.5", "-5", "@auth.id"])
            ),
        }
    }

    fn condition(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.comparison();
        }
        match self.below(5) {
            0 => format!("!({})", self.condition(depth - 1)),
            1 => format!(
                "({}) && ({})",
                self.condition(depth - 1),
                self.condition(depth - 1)
            ),
            2 => format!(
                "({}) || ({})",
                self.condition(depth - 1),
                self.condition(depth - 1)
            ),
            3 => self
                .pick(&["published", "!published", "true", "false"])
                .to_owned(),
            _ => self.comparison(),
        }
    }
}

#[test]
fn random_filters_agree_between_sql_and_eval() {
    let schema = schema();
    let rows = posts();
    let conn = database(&rows);
    let mut generator = Gen(0x2545_F491_4F6C_DD1D);
    let mut tested = 0;
    for i in 0..600 {
        let src = generator.condition(3);
        let Ok(expr) = checked(&src, &schema) else {
            continue;
        };
        let principal = if i % 3 == 0 {
            Principal::anonymous()
        } else {
            user()
        };
        let sql = sql_results(&conn, &expr, &principal, &schema);
        assert_eq!(
            sql,
            eval_results(&expr, &rows, &principal, &schema),
            "{src}"
        );
        // The same filter as the caller's own sees each row as the caller reads it.
        let read = as_read_by(&rows, &principal, &schema);
        assert_eq!(
            sql_results_as(&conn, &expr, &principal, &schema, Reading::AsCaller),
            eval_results(&expr, &read, &principal, &schema),
            "{src} as the caller's"
        );
        tested += 1;
    }
    assert!(tested > 300, "only {tested} generated filters type-checked");
}
