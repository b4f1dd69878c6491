//! The SQL a caller's own filter, sort and cursor compile to: fields read through their read rules, relation
//! steps that reach only records the caller may view (SPEC §14).

use strata_core::expr::parse;
use strata_core::principal::PrincipalKind;
use strata_core::schema::Schema;

use super::tests::{SCHEMA, param, posts_scope, schema, sql, sql_as, user};
use super::*;
use crate::sql::Param;

fn callers(dialect: Dialect, src: &str, principal: &Principal) -> (String, Vec<Param>) {
    sql_as(dialect, src, principal, Reading::AsCaller)
}

fn admin() -> Principal {
    Principal {
        kind: PrincipalKind::Admin,
        ..user()
    }
}

#[test]
fn a_callers_filter_reads_a_field_through_its_read_rule() {
    let (text, params) = callers(Dialect::Sqlite, "score > 1", &user());
    assert_eq!(
        text,
        r#"CASE WHEN "t"."published" = ? THEN "t"."score" END > ?"#
    );
    assert_eq!(
        params,
        [
            param(Value::Bool(true), ColType::Bool),
            param(Value::Float(1.0), ColType::Float)
        ]
    );
    assert_eq!(
        callers(Dialect::Postgres, "day = null", &Principal::anonymous()).0,
        r#"CASE WHEN CAST(NULL AS BOOLEAN) THEN "t"."day" END IS NULL"#,
        "a rule that cannot hold for the caller makes the field null on every row"
    );
    assert_eq!(
        callers(Dialect::Mysql, "score > 1", &admin()).0,
        "`t`.`score` > ?",
        "admins read every field"
    );
    assert_eq!(
        sql(Dialect::Sqlite, "score > 1", &user()).0,
        r#""t"."score" > ?"#,
        "rules read stored values"
    );
}

#[test]
fn a_callers_relation_steps_reach_only_records_it_may_view() {
    assert_eq!(
        callers(Dialect::Sqlite, "author.name = 'Bob'", &user()).0,
        concat!(
            r#"(SELECT "r1"."name" FROM "users" "r1" WHERE "r1"."id" = "t"."author" AND ("r1"."id" = ?)) "#,
            "= ?"
        )
    );
    assert_eq!(
        callers(Dialect::Mysql, "team.name = 'core'", &user()).0,
        "(SELECT `r1`.`name` FROM `teams` `r1` WHERE `r1`.`id` = `t`.`team`) = ?",
        "a public collection needs no condition"
    );
    assert_eq!(
        callers(
            Dialect::Postgres,
            "comments_via_post.author ?= @auth.id",
            &user()
        )
        .0,
        concat!(
            r#"EXISTS (SELECT 1 FROM "comments" "b1" WHERE "b1"."post" = "t"."id" AND ("b1"."author" = $1) "#,
            r#"AND "b1"."author" = $2)"#
        )
    );
    assert_eq!(
        callers(
            Dialect::Sqlite,
            "team.memberships_via_team.user ?= @auth.id",
            &user()
        )
        .0,
        concat!(
            r#"EXISTS (SELECT 1 FROM "teams" "r1" WHERE "r1"."id" = "t"."team" AND "#,
            r#"EXISTS (SELECT 1 FROM "memberships" "b2" WHERE "b2"."team" = "r1"."id" AND FALSE AND "b2"."user" = ?))"#
        ),
        "a collection the caller may not view at all is never reached"
    );
}

#[test]
fn a_read_rule_masks_the_relation_a_step_starts_from() {
    // With `team` readable to the post's author only, a path through it reads null for anyone else.
    let schema = Schema::from_toml(&SCHEMA.replace(
        r#"fields.team = { type = "relation", collection = "teams" }

[collections.comments]"#,
        r#"fields.team = { type = "relation", collection = "teams", read = "author = @auth.id" }

[collections.comments]"#,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let principal = user();
    let scope = posts_scope(&schema, &principal, "t", Reading::AsCaller);
    let mut out = SqlBuilder::new(Dialect::Sqlite);
    compile(&parse("team.name = 'x'").expect("parses"), &scope, &mut out).expect("compiles");
    assert_eq!(
        out.sql,
        concat!(
            r#"(SELECT "r1"."name" FROM "teams" "r1" WHERE "r1"."id" = "#,
            r#"CASE WHEN "t"."author" = ? THEN "t"."team" END) = ?"#
        )
    );
}

#[test]
fn a_sort_key_is_read_as_the_caller_reads_it() {
    let schema = schema();
    let principal = user();
    let key = |name: &str, reading: Reading| {
        let scope = posts_scope(&schema, &principal, "t", reading);
        let mut out = SqlBuilder::new(Dialect::Postgres);
        field_value(name, &scope, &mut out).expect("compiles");
        out.sql
    };
    assert_eq!(
        key("day", Reading::AsCaller),
        r#"CASE WHEN "t"."author" = $1 THEN "t"."day" END"#
    );
    assert_eq!(key("day", Reading::Stored), r#""t"."day""#);
    assert_eq!(key("created_at", Reading::AsCaller), r#""t"."created_at""#);
}
