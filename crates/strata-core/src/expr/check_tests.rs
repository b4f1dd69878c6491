//! Tests of the type checker against the fixture schema.

use super::*;
use crate::expr::{fixture, parse};

fn check_in(src: &str, mode: Mode, hidden_visible: bool) -> Result<(), ExprError> {
    let schema = fixture::schema();
    let posts = schema.collection("posts").expect("posts");
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    check(
        &expr,
        &CheckScope {
            schema: &schema,
            collection: posts,
            mode,
            hidden_visible,
        },
    )
}

fn ok(src: &str) {
    if let Err(e) = check_in(src, Mode::Rule(Action::Update), false) {
        panic!("{src}: {e}");
    }
}

fn fails(src: &str, position: usize, message: &str) {
    assert_eq!(
        check_in(src, Mode::Rule(Action::Update), false),
        Err(ExprError::new(position, message)),
        "{src}"
    );
}

#[test]
fn well_typed_expressions_pass() {
    for src in [
        "true",
        "published",
        "!published && views > 1.5",
        "score >= 2 || views in (1, 2, 3)",
        "title = 'x' && status in ('draft', 'published')",
        "due < @now && due > '2024-01-01T00:00:00+02:00'",
        "day = '2024-02-29'",
        "ref = '0190a5a4-7b2c-7000-8000-000000000000' || id = @auth.id",
        "author = @auth.id && author.name ~ 'bob' && title !~ @auth.email",
        "author.team.owner.name = 'x'",
        "author.id = @auth.id",
        "tags ?= 'x' || tags ?= 1 || tags ?= true || tags ?= @auth.id",
        "@auth.roles ?= 'admin' && @auth.kind = 'user'",
        "comments_via_post.author ?= @auth.id",
        "team.memberships_via_team.user ?= @auth.id",
        "comments_via_post.author.name ?= 'bob'",
        "tags = null || author.name != null || null = title",
        "@data.views > views && @data.tags ?= 'x'",
        "@auth.name = 'bob' && @auth.team = team && @auth.created_at < @now",
        "version >= 1 && created_at <= updated_at",
    ] {
        ok(src);
    }
}

#[test]
fn unknown_names_are_reported_where_they_are() {
    fails("nope = 1", 0, "unknown field `nope`");
    fails(
        "title = 'x' || author.nope = 1",
        22,
        "unknown field `nope` in `users`",
    );
    fails(
        "title.x = 1",
        0,
        "`title` is not a relation, so a path cannot continue after it",
    );
    fails("nope.x = 1", 0, "unknown field `nope` in `posts`");
    fails(
        "posts_via_author.title ?= 'x'",
        0,
        "`posts_via_author` is not a back-relation to `posts`: expected COLLECTION_via_FIELD where FIELD is a relation to `posts`",
    );
    fails("@auth.nope = 1", 0, "unknown `@auth.nope`");
    fails("@auth.secret = 'x'", 0, "unknown `@auth.secret`");
    fails("@data.nope = 1", 0, "unknown field `@data.nope`");
}

#[test]
fn hidden_fields_are_unknown_to_non_admin_filters_only() {
    assert_eq!(
        check_in("note = 'x'", Mode::Filter, false),
        Err(ExprError::new(0, "unknown field `note`"))
    );
    assert_eq!(
        check_in("author.secret = 'x'", Mode::Filter, false).map_err(|e| e.position),
        Err(7)
    );
    assert_eq!(check_in("note = 'x'", Mode::Filter, true), Ok(()));
    assert_eq!(
        check_in("author.secret = 'x'", Mode::Rule(Action::View), true),
        Ok(())
    );
}

#[test]
fn data_exists_only_in_create_and_update_rules() {
    let message = "`@data` exists only in create and update rules";
    assert_eq!(
        check_in("@data.views = 1", Mode::Filter, true),
        Err(ExprError::new(0, message))
    );
    assert_eq!(
        check_in("@data.views = 1", Mode::Rule(Action::Delete), true),
        Err(ExprError::new(0, message))
    );
    assert_eq!(
        check_in("@data.views = 1", Mode::Rule(Action::Create), false),
        Ok(())
    );
}

#[test]
fn incompatible_comparisons_are_rejected_at_the_operator() {
    fails("title = 1", 6, "cannot compare text with an integer");
    fails("views = 'x'", 6, "cannot compare an integer with text");
    fails(
        "published = 'true'",
        10,
        "cannot compare a boolean with text",
    );
    fails("author = @auth.email", 7, "cannot compare a uuid with text");
    fails("due > day", 4, "cannot compare a datetime with a date");
    fails(
        "due > 'yesterday'",
        4,
        "'yesterday' is not an RFC 3339 datetime in the years 1000 to 9999",
    );
    fails(
        "day = '2024-02-30'",
        4,
        "'2024-02-30' is not a date as YYYY-MM-DD in the years 1000 to 9999",
    );
    fails("ref = 'abc'", 4, "'abc' is not a uuid");
    fails(
        "views in (1, 'x')",
        6,
        "cannot compare an integer with text",
    );
    fails(
        "views in (1, @auth.email)",
        13,
        "cannot compare an integer with text",
    );
}

#[test]
fn null_is_tested_with_equality_only() {
    fails("views > null", 6, "only `=` and `!=` compare with null");
    fails(
        "title ~ null",
        6,
        "`~` does not test for null; use `= null` or `!= null`",
    );
    fails(
        "views in (1, null)",
        6,
        "an `in` list cannot hold null; test with `= null`",
    );
    fails(
        "tags ?= null",
        5,
        "`?=` looks for one value in a list, found null",
    );
    fails(
        "comments_via_post.author = null",
        25,
        "a list is never null; use `?=` to look into it",
    );
}

#[test]
fn contains_needs_text_and_a_known_needle() {
    fails(
        "views ~ 'x'",
        6,
        "`~` looks for text in text, found an integer",
    );
    fails(
        "title ~ 1",
        6,
        "`~` looks for text in text, found an integer",
    );
    fails("ref ~ 'x'", 4, "`~` looks for text in text, found a uuid");
    fails(
        "@auth.email ~ title",
        12,
        "the right side of `~` must be a literal, an @auth value or an @data value, not a field",
    );
}

#[test]
fn any_eq_needs_a_list_on_its_left() {
    fails(
        "title ?= 'x'",
        6,
        "`?=` needs a list on its left (a json field, @auth.roles or a back-relation path), found text",
    );
    fails(
        "@auth.roles ?= 1",
        12,
        "cannot compare text with an integer",
    );
    fails(
        "tags ?= @now",
        5,
        "a json list holds text, numbers and booleans, not a datetime",
    );
    fails(
        "tags ?= title",
        5,
        "the right side of `?=` must be a literal, an @auth value or an @data value, not a field",
    );
    fails(
        "comments_via_post.author = @auth.id",
        25,
        "a list compares only with `?=`, not `=`",
    );
    fails(
        "tags = 'x'",
        5,
        "json compares only with null or with `?=`, not `=`",
    );
}

#[test]
fn logic_operands_must_be_conditions() {
    fails(
        "views && published",
        0,
        "expected a condition, found an integer; compare it with something",
    );
    fails(
        "published || 'x'",
        10,
        "expected a condition (a comparison or a boolean), found a literal",
    );
    fails(
        "!title",
        1,
        "expected a condition, found text; compare it with something",
    );
    fails(
        "1",
        0,
        "expected a condition (a comparison or a boolean), found a literal",
    );
}

#[test]
fn schema_rules_are_checked_when_the_schema_is_built() {
    let toml = r#"
[collections.notes]
fields.body = { type = "text" }
fields.owner = { type = "relation", collection = "users", read = "owner = 'me'" }
rules.list = "body = 1"
rules.view = "@data.body = 'x'"
"#;
    let errors = crate::schema::Schema::from_toml(toml).expect_err("bad rules");
    let found: Vec<(String, String)> = errors
        .into_iter()
        .map(|e| (e.location, e.message))
        .collect();
    assert_eq!(
        found,
        [
            ("collections.notes.rules.list".into(), "cannot compare text with an integer at position 5 in `body = 1`".into()),
            (
                "collections.notes.rules.view".into(),
                "`@data` exists only in create and update rules at position 0 in `@data.body = 'x'`".into()
            ),
            (
                "collections.notes.fields.owner.read".into(),
                "'me' is not a uuid at position 6 in `owner = 'me'`".into()
            ),
        ]
    );
}
