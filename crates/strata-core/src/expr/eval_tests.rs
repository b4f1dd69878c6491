//! Tests of the evaluator: SQL's null logic, Kleene's connectives, folding, lists and relation paths.

use chrono::TimeZone;
use uuid::Uuid;

use super::*;
use crate::expr::{fixture, parse};
use crate::principal::PrincipalKind;

const AUTHOR: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// A post; `values` are title, status, views, score, published, due, day, ref, tags, author, team, note.
fn post(title: Value, views: Value, tags: Value, author: Value) -> Record {
    Record {
        id: Uuid::from_u128(7),
        created_at: at(2024, 1, 1),
        updated_at: at(2024, 1, 2),
        version: 1,
        values: vec![
            title,
            Value::Text("draft".into()),
            views,
            Value::Float(2.5),
            Value::Bool(true),
            Value::Datetime(at(2024, 6, 1)),
            Value::Null,
            Value::Null,
            tags,
            author,
            Value::Null,
            Value::Null,
        ],
    }
}

fn user() -> Principal {
    let record = Record {
        id: AUTHOR,
        created_at: at(2023, 1, 1),
        updated_at: at(2023, 1, 1),
        version: 3,
        // email, verified, roles, name, secret, team
        values: vec![
            Value::Text("bob@example.com".into()),
            Value::Bool(true),
            Value::Json(serde_json::json!(["moderator"])),
            Value::Text("Bob".into()),
            Value::Null,
            Value::Null,
        ],
    };
    Principal {
        kind: PrincipalKind::User,
        id: Some(AUTHOR),
        email: Some("bob@example.com".into()),
        roles: vec!["moderator".into()],
        user: Some(record),
        session: None,
        scopes: None,
    }
}

fn run(src: &str, record: &Record, principal: &Principal) -> Result<Tri, NeedsStore> {
    let schema = fixture::schema();
    let posts = schema.collection("posts").expect("posts");
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let ctx = EvalContext {
        schema: &schema,
        collection: posts,
        record: Some(record),
        data: Some(record),
        principal,
        now: at(2025, 1, 1),
    };
    eval(&expr, &ctx)
}

fn table(record: &Record, principal: &Principal, cases: &[(&str, Tri)]) {
    for (src, expected) in cases {
        assert_eq!(run(src, record, principal), Ok(*expected), "{src}");
    }
}

#[test]
fn only_a_comparison_with_the_null_literal_tests_for_null() {
    let record = post(Value::Null, Value::Null, Value::Null, Value::Null);
    table(
        &record,
        &user(),
        &[
            ("views = null", Tri::True),
            ("views != null", Tri::False),
            ("null = views", Tri::True),
            ("views = 1", Tri::Unknown),
            ("views != 1", Tri::Unknown),
            ("!(views = 1)", Tri::Unknown),
            ("views in (1, 2)", Tri::Unknown),
            ("title ~ 'x'", Tri::Unknown),
            ("title !~ 'x'", Tri::Unknown),
            ("tags ?= 'x'", Tri::Unknown),
            ("author = @auth.id", Tri::Unknown),
            ("null = null", Tri::True),
        ],
    );
}

#[test]
fn and_or_and_not_follow_kleene() {
    let record = post(Value::Null, Value::Int(2), Value::Null, Value::Null);
    table(
        &record,
        &user(),
        &[
            ("views = 1 || true", Tri::True),
            ("views = 1 || false", Tri::False),
            ("title = 'x' || false", Tri::Unknown),
            ("title = 'x' || views = 2", Tri::True),
            ("title = 'x' && false", Tri::False),
            ("title = 'x' && true", Tri::Unknown),
            ("!(title = 'x') || !(title = 'y')", Tri::Unknown),
            ("!!published", Tri::True),
        ],
    );
}

#[test]
fn an_anonymous_caller_owns_nothing() {
    let record = post(Value::Null, Value::Int(1), Value::Null, Value::Null);
    let anonymous = Principal::anonymous();
    table(
        &record,
        &anonymous,
        &[
            ("author = @auth.id", Tri::Unknown),
            ("@auth.id = null", Tri::True),
            ("@auth.kind = 'anonymous'", Tri::True),
            ("@auth.roles ?= 'moderator'", Tri::Unknown),
            ("@auth.name = 'Bob'", Tri::Unknown),
        ],
    );
}

#[test]
fn auth_reads_the_principal_and_its_user_record() {
    let record = post(Value::Null, Value::Int(1), Value::Null, Value::Uuid(AUTHOR));
    table(
        &record,
        &user(),
        &[
            ("author = @auth.id", Tri::True),
            ("author.id = @auth.id", Tri::True),
            ("@auth.roles ?= 'moderator'", Tri::True),
            ("@auth.roles ?= 'admin'", Tri::False),
            (
                "@auth.name = 'Bob' && @auth.verified && @auth.version = 3",
                Tri::True,
            ),
            ("@auth.email ~ 'EXAMPLE'", Tri::True),
            ("@data.author = @auth.id && @data.views = views", Tri::True),
        ],
    );
}

#[test]
fn values_compare_by_type() {
    let record = post(
        Value::Text("Straße".into()),
        Value::Int(2),
        Value::Null,
        Value::Null,
    );
    table(
        &record,
        &user(),
        &[
            ("views > 1.5 && views < 2.5 && views = 2.0", Tri::True),
            ("score > 2 && score < 3", Tri::True),
            ("title = 'straße'", Tri::False),
            (
                "title ~ 'STRAẞE' && title ~ 'aß' && title !~ 'strasse'",
                Tri::True,
            ),
            ("due > '2024-05-31T23:00:00-02:00'", Tri::False),
            ("due < @now && created_at < updated_at", Tri::True),
            ("id = '00000000-0000-0000-0000-000000000007'", Tri::True),
            ("status in ('published', 'draft')", Tri::True),
            ("title in ('x', @auth.email)", Tri::False),
        ],
    );
}

#[test]
fn any_eq_looks_into_json_arrays() {
    let tags = Value::Json(serde_json::json!([
        "a",
        1.0,
        true,
        "0190a5a4-7b2c-7000-8000-000000000000"
    ]));
    let record = post(Value::Null, Value::Null, tags, Value::Null);
    table(
        &record,
        &user(),
        &[
            ("tags ?= 'a'", Tri::True),
            ("tags ?= 'A'", Tri::False),
            ("tags ?= 1", Tri::True),
            ("tags ?= '1'", Tri::False),
            ("tags ?= true", Tri::True),
            ("tags ?= false", Tri::False),
            ("tags != null", Tri::True),
        ],
    );
    let object = post(
        Value::Null,
        Value::Null,
        Value::Json(serde_json::json!({"a": "a"})),
        Value::Null,
    );
    assert_eq!(run("tags ?= 'a'", &object, &user()), Ok(Tri::False));
}

#[test]
fn relation_paths_need_the_store_unless_the_result_is_already_known() {
    let record = post(Value::Null, Value::Int(1), Value::Null, Value::Uuid(AUTHOR));
    let principal = user();
    assert_eq!(
        run("author.name = 'Bob'", &record, &principal),
        Err(NeedsStore)
    );
    assert_eq!(
        run("comments_via_post.author ?= @auth.id", &record, &principal),
        Err(NeedsStore)
    );
    assert_eq!(
        run("views = 1 && author.name = 'Bob'", &record, &principal),
        Err(NeedsStore)
    );
    assert_eq!(
        run("views = 1 || author.name = 'Bob'", &record, &principal),
        Ok(Tri::True)
    );
    assert_eq!(
        run("views = 2 && author.name = 'Bob'", &record, &principal),
        Ok(Tri::False)
    );
    assert_eq!(
        run("views in (1, author.team.name)", &record, &principal),
        Ok(Tri::True)
    );

    let schema = fixture::schema();
    let posts = schema.collection("posts").expect("posts");
    let needs = |src: &str| needs_store(&parse(src).expect("parses"), &schema, posts);
    assert!(needs("views = 1 || author.name = 'Bob'"));
    assert!(needs("!(team.owner.id = @auth.id)"));
    assert!(!needs("author.id = @auth.id && title ~ 'x'"));
}

#[test]
fn without_a_record_fields_read_as_null() {
    let schema = fixture::schema();
    let posts = schema.collection("posts").expect("posts");
    let principal = user();
    let ctx = EvalContext {
        schema: &schema,
        collection: posts,
        record: None,
        data: None,
        principal: &principal,
        now: at(2025, 1, 1),
    };
    let eval_src = |src: &str| eval(&parse(src).expect("parses"), &ctx);
    assert_eq!(
        eval_src("title = null && @data.title = null"),
        Ok(Tri::True)
    );
    assert_eq!(eval_src("title = 'x'"), Ok(Tri::Unknown));
}
