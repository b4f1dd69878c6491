//! Tests of the parser: the grammar, precedence, errors with positions and the limits of SPEC §14.

use super::*;
use crate::expr::CompareOp;

fn field(name: &str, position: usize) -> Expr {
    Expr::Field {
        path: name.split('.').map(str::to_owned).collect(),
        position,
    }
}

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::Text(s.into()))
}

fn err(src: &str) -> ExprError {
    parse(src).expect_err(src)
}

#[test]
fn true_parses_to_the_public_literal() {
    assert_eq!(parse("true"), Ok(Expr::Literal(Literal::Bool(true))));
    assert_eq!(parse("  true \n"), Ok(Expr::Literal(Literal::Bool(true))));
}

#[test]
fn a_comparison_keeps_its_operands_and_operator_position() {
    let expr = parse("status = 'published'").expect("parses");
    let expected = Expr::Compare {
        op: CompareOp::Eq,
        left: Box::new(field("status", 0)),
        right: Box::new(text("published")),
        position: 7,
    };
    assert_eq!(expr, expected);
}

#[test]
fn or_binds_looser_than_and_which_binds_looser_than_not() {
    let expr = parse("a = 1 || !b = 2 && c = 3").expect("parses");
    let Expr::Or {
        operands,
        position: 6,
    } = expr
    else {
        panic!("expected an or: {expr:?}")
    };
    assert_eq!(operands.len(), 2);
    let Expr::And { operands: and, .. } = &operands[1] else {
        panic!("expected an and")
    };
    assert!(
        matches!(&and[0], Expr::Not { expr, position: 9 } if matches!(**expr, Expr::Compare { .. }))
    );
}

#[test]
fn chains_of_and_are_flattened() {
    let src = vec!["a = 1"; 200].join(" && ");
    let Ok(Expr::And { operands, .. }) = parse(&src) else {
        panic!("expected an and")
    };
    assert_eq!(operands.len(), 200);
}

#[test]
fn parentheses_group() {
    let expr = parse("(a = 1 || b = 2) && c = 3").expect("parses");
    let Expr::And { operands, .. } = expr else {
        panic!("expected an and")
    };
    assert!(matches!(operands[0], Expr::Or { .. }));
}

#[test]
fn every_operator_is_recognized() {
    for (src, op) in [
        ("a = 1", CompareOp::Eq),
        ("a != 1", CompareOp::Ne),
        ("a > 1", CompareOp::Gt),
        ("a >= 1", CompareOp::Ge),
        ("a < 1", CompareOp::Lt),
        ("a <= 1", CompareOp::Le),
        ("a ~ 'x'", CompareOp::Contains),
        ("a !~ 'x'", CompareOp::NotContains),
        ("a ?= 'x'", CompareOp::AnyEq),
        ("a=1", CompareOp::Eq),
    ] {
        assert!(
            matches!(parse(src), Ok(Expr::Compare { op: o, .. }) if o == op),
            "{src}"
        );
    }
}

#[test]
fn literals_paths_and_context_values_parse() {
    let Ok(Expr::In {
        expr,
        list,
        position: 17,
    }) =
        parse("author.team.name in ('a\\'b', -12, 1.5e3, true, null, @auth.id, @data.title, @now)")
    else {
        panic!("expected an in")
    };
    assert_eq!(*expr, field("author.team.name", 0));
    assert_eq!(list[0], text("a'b"));
    assert_eq!(list[1], Expr::Literal(Literal::Int(-12)));
    assert_eq!(list[2], Expr::Literal(Literal::Float(1500.0)));
    assert_eq!(list[3], Expr::Literal(Literal::Bool(true)));
    assert_eq!(list[4], Expr::Literal(Literal::Null));
    assert_eq!(
        list[5],
        Expr::Auth {
            name: "id".into(),
            position: 53
        }
    );
    assert_eq!(
        list[6],
        Expr::Data {
            name: "title".into(),
            position: 63
        }
    );
    assert_eq!(list[7], Expr::Now { position: 76 });
}

#[test]
fn strings_escape_quotes_and_backslashes_only() {
    let expected = Expr::Compare {
        op: CompareOp::Eq,
        left: Box::new(field("a", 0)),
        right: Box::new(text("it's \\ ok")),
        position: 2,
    };
    assert_eq!(parse(r"a = 'it\'s \\ ok'"), Ok(expected));
    assert_eq!(
        err(r"a = 'x\n'"),
        ExprError::new(6, "unknown escape `\\n`; only \\' and \\\\ are escapes")
    );
    assert_eq!(parse("a = 'Straße ÉCOLE İ'").map(|_| ()), Ok(()));
}

#[test]
fn positions_count_characters_not_bytes() {
    assert_eq!(err("'é' = é").position, 6);
    assert_eq!(err("'ééé' = 1 &&").position, 12);
}

#[test]
fn syntax_errors_say_what_and_where() {
    let cases = [
        ("", 0, "expected a value, found the end"),
        ("a =", 3, "expected a value, found the end"),
        ("a = 'open", 4, "unclosed string"),
        ("(a = 1", 0, "unclosed `(`"),
        ("a = 1)", 5, "unexpected `)`"),
        (")", 0, "unexpected `)`"),
        (
            "a = 1 b = 2",
            6,
            "expected `&&`, `||` or the end, found `b`",
        ),
        ("a = = 1", 4, "expected a value, found `=`"),
        ("a == 1", 2, "`==` is written `=`"),
        ("a & b", 2, "expected `&&`"),
        ("a | b", 2, "expected `||`"),
        ("a ? b", 2, "expected `?=`"),
        (
            "a = \"x\"",
            4,
            "strings are written in single quotes: 'text'",
        ),
        ("a = 1 # x", 6, "unexpected character `#`"),
        ("a. = 1", 2, "expected a name after `.`"),
        (
            "a.b.c.d.e = 1",
            0,
            "a path has at most 4 names (3 relation steps)",
        ),
        ("@auth = 1", 5, "expected `.` and a name after `@auth`"),
        (
            "@user.id = 1",
            0,
            "unknown context value; expected @auth.NAME, @data.NAME or @now",
        ),
        ("@auth.a.b = 1", 7, "`@auth` takes a single name"),
        ("@now.x = 1", 4, "`@now` takes no name"),
        (
            "a in 'x'",
            5,
            "`in` takes a list in parentheses, as in `status in ('a', 'b')`",
        ),
        ("a in ()", 6, "unexpected `)`"),
        ("a in ('x',)", 10, "unexpected `)`"),
        ("a in ('x' 'y')", 10, "expected `,` or `)`, found a string"),
        ("a in ('x'", 5, "unclosed `(`"),
        ("(a = 1) = true", 8, "`=` compares values, not conditions"),
        (
            "a = 1 in (1)",
            6,
            "expected `&&`, `||` or the end, found `in`",
        ),
        (
            "a = 99999999999999999999",
            4,
            "integer out of the signed 64-bit range",
        ),
        ("a = 1e999", 4, "number out of range"),
        ("a = 1.", 6, "expected a digit after the decimal point"),
        ("a = 12abc", 4, "invalid number"),
    ];
    for (src, position, message) in cases {
        assert_eq!(err(src), ExprError::new(position, message), "{src}");
    }
}

#[test]
fn nesting_up_to_the_limit_is_accepted_and_deeper_is_rejected() {
    let ok = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!(
        "{}a = 1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        err(&deep),
        ExprError::new(MAX_DEPTH, "the expression is nested deeper than 32 levels")
    );
    let nots = format!("{}a", "!".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&nots).position, MAX_DEPTH);
}

#[test]
fn a_thousand_open_parentheses_are_an_error_not_a_stack_overflow() {
    assert_eq!(err(&"(".repeat(4000)).position, MAX_DEPTH);
    assert_eq!(err(&"!(".repeat(2000)).position, MAX_DEPTH);
}

#[test]
fn a_source_over_4_kib_is_rejected_before_lexing() {
    let long = format!("a = '{}'", "x".repeat(1 << 20));
    assert_eq!(
        err(&long),
        ExprError::new(4096, "the expression is longer than 4096 bytes")
    );
    let wide = format!("a = '{}'", "é".repeat(3000));
    assert_eq!(err(&wide).position, 5 + 2046);
    let just = format!("a = '{}'", "x".repeat(4096 - 6));
    assert!(parse(&just).is_ok());
}

#[test]
fn an_in_list_holds_at_most_100_items() {
    let items = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert!(parse(&format!("a in ({})", items(100))).is_ok());
    let over = format!("a in ({})", items(101));
    let position = over.rfind(",100").map(|p| p + 1).expect("has item 100");
    assert_eq!(
        err(&over),
        ExprError::new(position, "an `in` list has at most 100 items")
    );
}

/// A small deterministic generator, so the fuzz tests need no dependency and always run the same inputs.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soup_never_panics() {
    let pieces = [
        "a",
        "b.c",
        "x_via_y.z",
        "@auth.id",
        "@data.x",
        "@now",
        "@",
        "'s'",
        "'",
        "\\",
        "1",
        "-2",
        "1.5",
        "1e",
        "true",
        "null",
        "in",
        "(",
        ")",
        ",",
        "=",
        "!=",
        "!",
        "~",
        "!~",
        "?=",
        "?",
        "&&",
        "||",
        "&",
        "<",
        "<=",
        ">",
        ".",
        " ",
        "é",
        "İ",
        "\u{0}",
    ];
    let mut rng = XorShift(42);
    for _ in 0..20_000 {
        let len = rng.below(40);
        let src: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
        if let Err(e) = parse(&src) {
            assert!(e.position <= src.chars().count(), "{src:?}: {e}");
        }
    }
}
