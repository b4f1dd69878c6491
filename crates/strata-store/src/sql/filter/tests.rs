//! The SQL text the compiler writes for each dialect, and what it binds.

use strata_core::expr::{CheckScope, Mode, check, parse};
use strata_core::principal::PrincipalKind;
use strata_core::schema::Schema;
use uuid::Uuid;

use super::*;
use crate::sql::Param;

pub(super) const SCHEMA: &str = r#"
[collections.users]
fields.name = { type = "text" }
fields.team = { type = "relation", collection = "teams" }
rules.view = "id = @auth.id"

[collections.teams]
fields.name = { type = "text" }
rules.view = "true"

[collections.posts]
fields.title = { type = "text" }
fields.views = { type = "integer" }
fields.score = { type = "number", read = "published = true" }
fields.published = { type = "boolean" }
fields.due = { type = "datetime" }
fields.day = { type = "date", read = "author = @auth.id" }
fields.tags = { type = "json" }
fields.author = { type = "relation", collection = "users" }
fields.team = { type = "relation", collection = "teams" }

[collections.comments]
fields.post = { type = "relation", collection = "posts" }
fields.author = { type = "relation", collection = "users" }
rules.view = "author = @auth.id"

[collections.memberships]
fields.team = { type = "relation", collection = "teams" }
fields.user = { type = "relation", collection = "users" }
"#;

pub(super) const AUTHOR: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

pub(super) fn schema() -> Schema {
    Schema::from_toml(SCHEMA).unwrap_or_else(|e| panic!("invalid test schema: {e:?}"))
}

pub(super) fn user() -> Principal {
    Principal {
        kind: PrincipalKind::User,
        id: Some(AUTHOR),
        email: Some("bob@example.com".into()),
        roles: vec!["moderator".into()],
        user: None,
        session: None,
        scopes: None,
    }
}

pub(super) fn now() -> DateTime<Utc> {
    strata_core::value::parse_datetime("2025-01-01T00:00:00Z").expect("valid datetime")
}

/// The posts table of `schema` as `alias`, for `principal`.
pub(super) fn posts_scope<'a>(
    schema: &'a Schema,
    principal: &'a Principal,
    alias: &'a str,
    reading: Reading,
) -> FilterScope<'a> {
    FilterScope {
        schema,
        collection: schema.collection("posts").expect("posts"),
        alias,
        principal,
        data: None,
        now: now(),
        reading,
    }
}

pub(super) fn sql(dialect: Dialect, src: &str, principal: &Principal) -> (String, Vec<Param>) {
    sql_as(dialect, src, principal, Reading::Stored)
}

pub(super) fn sql_as(
    dialect: Dialect,
    src: &str,
    principal: &Principal,
    reading: Reading,
) -> (String, Vec<Param>) {
    let schema = schema();
    let posts = schema.collection("posts").expect("posts");
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let check_scope = CheckScope {
        schema: &schema,
        collection: posts,
        mode: Mode::Filter,
        hidden_visible: false,
    };
    check(&expr, &check_scope).unwrap_or_else(|e| panic!("{src}: {e}"));
    let scope = posts_scope(&schema, principal, "t", reading);
    let mut out = SqlBuilder::new(dialect);
    compile(&expr, &scope, &mut out).unwrap_or_else(|e| panic!("{src}: {e}"));
    (out.sql, out.params)
}

fn text_of(dialect: Dialect, src: &str) -> String {
    sql(dialect, src, &user()).0
}

pub(super) fn param(value: Value, ty: ColType) -> Param {
    Param { value, ty }
}

#[test]
fn a_rule_binds_every_value_and_folds_what_it_knows() {
    let src = "title = 'published' || author = @auth.id";
    let (text, params) = sql(Dialect::Sqlite, src, &user());
    assert_eq!(text, r#"("t"."title" = ? OR "t"."author" = ?)"#);
    assert_eq!(
        params,
        [
            param(Value::Text("published".into()), ColType::Text),
            param(Value::Uuid(AUTHOR), ColType::Uuid)
        ]
    );
    let (text, params) = sql(Dialect::Postgres, src, &Principal::anonymous());
    assert_eq!(text, r#"("t"."title" = $1 OR CAST(NULL AS BOOLEAN))"#);
    assert_eq!(params.len(), 1);
    assert_eq!(
        sql(Dialect::Mysql, src, &Principal::anonymous()).0,
        "(`t`.`title` = ? OR NULL)"
    );
    assert_eq!(
        text_of(Dialect::Sqlite, "@auth.roles ?= 'moderator' || views > 1"),
        r#"(TRUE OR "t"."views" > ?)"#
    );
}

#[test]
fn null_literals_become_is_null_tests() {
    assert_eq!(
        text_of(Dialect::Sqlite, "views = null"),
        r#""t"."views" IS NULL"#
    );
    assert_eq!(
        text_of(Dialect::Mysql, "null != tags"),
        "`t`.`tags` IS NOT NULL"
    );
    assert_eq!(
        text_of(Dialect::Postgres, "!(title = null)"),
        r#"NOT ("t"."title" IS NULL)"#
    );
}

#[test]
fn context_values_are_typed_by_the_column_they_meet() {
    let (text, params) = sql(
        Dialect::Postgres,
        "@now > due && score < 3 && views in (1, 2.0, 2.5)",
        &user(),
    );
    assert_eq!(
        text,
        r#"("t"."due" < $1 AND "t"."score" < $2 AND "t"."views" IN ($3, $4))"#
    );
    assert_eq!(
        params,
        [
            param(Value::Datetime(now()), ColType::Datetime),
            param(Value::Float(3.0), ColType::Float),
            param(Value::Int(1), ColType::Int),
            param(Value::Int(2), ColType::Int),
        ]
    );
    let (text, params) = sql(
        Dialect::Sqlite,
        "published && views > 1.5 && views = 0.5",
        &user(),
    );
    assert_eq!(
        text,
        r#"("t"."published" = ? AND "t"."views" > ? AND ("t"."views" IS NULL AND NULL))"#
    );
    assert_eq!(
        params,
        [
            param(Value::Bool(true), ColType::Bool),
            param(Value::Int(1), ColType::Int)
        ]
    );
}

#[test]
fn contains_is_a_case_folded_pattern_on_every_dialect() {
    let (text, params) = sql(Dialect::Sqlite, "title ~ 'Ké%'", &user());
    assert_eq!(text, r#""t"."title" REGEXP ?"#);
    assert_eq!(
        params,
        [param(
            Value::Text(r"[Kk\x{212A}][\x{C9}\x{E9}]\x{25}".into()),
            ColType::Text
        )]
    );
    let (text, params) = sql(Dialect::Postgres, "title !~ 'é'", &user());
    assert_eq!(text, r#"NOT ("t"."title" ~ $1)"#);
    assert_eq!(
        params,
        [param(
            Value::Text(r"[\U000000C9\U000000E9]".into()),
            ColType::Text
        )]
    );
    assert_eq!(
        text_of(Dialect::Mysql, "title ~ 'x'"),
        "`t`.`title` REGEXP ?"
    );
    assert_eq!(
        sql(
            Dialect::Mysql,
            "title ~ @auth.name",
            &Principal::anonymous()
        )
        .0,
        "NULL"
    );
}

#[test]
fn relation_paths_are_nested_scalar_subqueries() {
    assert_eq!(
        text_of(Dialect::Sqlite, "author.team.name = 'core'"),
        concat!(
            r#"(SELECT (SELECT "r2"."name" FROM "teams" "r2" WHERE "r2"."id" = "r1"."team") "#,
            r#"FROM "users" "r1" WHERE "r1"."id" = "t"."author") = ?"#
        )
    );
    assert_eq!(
        text_of(Dialect::Mysql, "author.name ~ 'bob'"),
        "(SELECT `r1`.`name` FROM `users` `r1` WHERE `r1`.`id` = `t`.`author`) REGEXP ?"
    );
    assert_eq!(
        text_of(Dialect::Postgres, "author.id = @auth.id"),
        r#""t"."author" = $1"#
    );
}

#[test]
fn back_relations_are_exists_chains() {
    assert_eq!(
        text_of(Dialect::Postgres, "comments_via_post.author ?= @auth.id"),
        r#"EXISTS (SELECT 1 FROM "comments" "b1" WHERE "b1"."post" = "t"."id" AND "b1"."author" = $1)"#
    );
    assert_eq!(
        text_of(
            Dialect::Sqlite,
            "team.memberships_via_team.user ?= @auth.id"
        ),
        concat!(
            r#"EXISTS (SELECT 1 FROM "teams" "r1" WHERE "r1"."id" = "t"."team" AND "#,
            r#"EXISTS (SELECT 1 FROM "memberships" "b2" WHERE "b2"."team" = "r1"."id" AND "b2"."user" = ?))"#
        )
    );
    assert_eq!(
        sql(
            Dialect::Sqlite,
            "comments_via_post.author ?= @auth.id",
            &Principal::anonymous()
        )
        .0,
        "NULL"
    );
}

#[test]
fn any_eq_on_json_is_a_containment_test_per_dialect() {
    let (text, params) = sql(Dialect::Sqlite, "tags ?= 'a'", &user());
    assert_eq!(
        text,
        concat!(
            r#"CASE WHEN "t"."tags" IS NULL THEN NULL WHEN json_type("t"."tags") = 'array' THEN EXISTS (SELECT 1 FROM "#,
            r#"json_each("t"."tags") "j1" WHERE "j1"."type" = 'text' AND "j1"."value" = ?) ELSE FALSE END"#
        )
    );
    assert_eq!(params, [param(Value::Text("a".into()), ColType::Text)]);
    let (text, params) = sql(Dialect::Postgres, "tags ?= 2", &user());
    assert_eq!(text, r#"("t"."tags" @> CAST($1 AS JSONB))"#);
    assert_eq!(
        params,
        [param(Value::Json(serde_json::json!([2])), ColType::Json)]
    );
    let (text, params) = sql(Dialect::Mysql, "tags ?= true", &user());
    assert_eq!(
        text,
        concat!(
            "CASE WHEN `t`.`tags` IS NULL THEN NULL WHEN JSON_TYPE(`t`.`tags`) = 'ARRAY' THEN EXISTS (SELECT 1 FROM ",
            "JSON_TABLE(`t`.`tags`, '$[*]' COLUMNS (v JSON PATH '$')) `j1` WHERE JSON_TYPE(`j1`.`v`) NOT IN ",
            "('ARRAY', 'OBJECT') AND JSON_CONTAINS(`j1`.`v`, ?)) ELSE FALSE END"
        )
    );
    assert_eq!(
        params,
        [param(Value::Json(serde_json::json!(true)), ColType::Json)]
    );
}

#[test]
fn an_integer_column_meets_a_float_column_exactly() {
    assert_eq!(
        text_of(Dialect::Sqlite, "score > views"),
        r#""t"."views" < "t"."score""#
    );
    assert_eq!(
        text_of(Dialect::Postgres, "score > views"),
        concat!(
            r#"CASE WHEN "t"."views" IS NULL OR "t"."score" IS NULL THEN NULL "#,
            r#"WHEN CAST("t"."views" AS DOUBLE PRECISION) <> "t"."score" "#,
            r#"THEN CAST("t"."views" AS DOUBLE PRECISION) < "t"."score" "#,
            r#"WHEN "t"."score" >= CAST('9223372036854775808' AS DOUBLE PRECISION) THEN TRUE "#,
            r#"ELSE "t"."views" < CAST("t"."score" AS BIGINT) END"#
        )
    );
    assert_eq!(
        text_of(Dialect::Mysql, "views = score"),
        concat!(
            "CASE WHEN `t`.`views` IS NULL OR `t`.`score` IS NULL THEN NULL WHEN (`t`.`views` + 0e0) <> `t`.`score` ",
            "THEN (`t`.`views` + 0e0) = `t`.`score` WHEN `t`.`score` >= 9223372036854775808e0 THEN FALSE ",
            "ELSE `t`.`views` = CAST(`t`.`score` AS SIGNED) END"
        )
    );
}

#[test]
fn subquery_aliases_never_shadow_the_outer_table() {
    let schema = schema();
    let principal = user();
    let scope = posts_scope(&schema, &principal, "r1", Reading::Stored);
    let mut out = SqlBuilder::new(Dialect::Sqlite);
    compile(
        &parse("author.name = 'x'").expect("parses"),
        &scope,
        &mut out,
    )
    .expect("compiles");
    assert_eq!(
        out.sql,
        r#"(SELECT "r2"."name" FROM "users" "r2" WHERE "r2"."id" = "r1"."author") = ?"#
    );
}
