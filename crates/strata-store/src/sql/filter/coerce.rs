//! Binding a value known in memory against a column: the value takes the column's type (a string literal
//! becomes the uuid, datetime or date it spells), and an integer meets a float by exact value on every dialect.
//! PostgreSQL and MySQL compare a BIGINT with a DOUBLE by converting to double, which rounds beyond 2^53; so the
//! comparison is rewritten to one of the column's own type that holds exactly when the original does
//! (`views > 1.5` is `views > 1`; `views = 1.5` holds for no integer).

use strata_core::expr::{CompareOp, Tri};
use strata_core::value::{parse_date, parse_datetime};
use strata_core::{ColType, Value};

/// 2^63: the first float above every `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// How `column OP value` is written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bound {
    /// `column OP' ?`, with this value bound as the column's type.
    Param(CompareOp, Value),
    /// The same for every non-null value of the column: true or false where it is not null, unknown where it is.
    Always(Tri),
}

/// Rewrite `column OP value` for a column of type `ty`; `value` is not null. The error is for a value of a type
/// the checker would have refused.
pub(super) fn bind(op: CompareOp, value: Value, ty: ColType) -> Result<Bound, String> {
    let param = |v: Value| Ok(Bound::Param(op, v));
    match (ty, value) {
        (ColType::Int, Value::Int(i)) => param(Value::Int(i)),
        (ColType::Int, Value::Float(f)) => Ok(int_column_against_float(op, f)),
        (ColType::Float, Value::Float(f)) => param(Value::Float(f)),
        (ColType::Float, Value::Int(i)) => Ok(float_column_against_int(op, i)),
        (ColType::Text, Value::Text(s)) => param(Value::Text(s)),
        (ColType::Bool, Value::Bool(b)) => param(Value::Bool(b)),
        (ColType::Uuid, Value::Uuid(u)) => param(Value::Uuid(u)),
        (ColType::Uuid, Value::Text(s)) => match uuid::Uuid::try_parse(&s) {
            Ok(u) => param(Value::Uuid(u)),
            Err(_) => Err(format!("'{s}' is not a uuid")),
        },
        (ColType::Datetime, Value::Datetime(d)) => param(Value::Datetime(d)),
        (ColType::Datetime, Value::Text(s)) => match parse_datetime(&s) {
            Some(d) => param(Value::Datetime(d)),
            None => Err(format!("'{s}' is not an RFC 3339 datetime")),
        },
        (ColType::Date, Value::Date(d)) => param(Value::Date(d)),
        (ColType::Date, Value::Text(s)) => match parse_date(&s) {
            Some(d) => param(Value::Date(d)),
            None => Err(format!("'{s}' is not a date")),
        },
        (ty, value) => Err(format!("cannot compare a {ty:?} column with {value:?}")),
    }
}

/// An integral float within `i64`'s range, as an `i64`.
fn exact_int(f: f64) -> Option<i64> {
    (-TWO_POW_63..TWO_POW_63).contains(&f).then_some(f as i64)
}

/// `x OP f` for an integer `x`, as a comparison with an integer.
fn int_column_against_float(op: CompareOp, f: f64) -> Bound {
    let (bound, op) = match op {
        CompareOp::Eq | CompareOp::Ne => {
            let never = Bound::Always(Tri::from_bool(op == CompareOp::Ne));
            return match exact_int(f).filter(|_| f.fract() == 0.0) {
                Some(i) => Bound::Param(op, Value::Int(i)),
                None => never,
            };
        }
        // x > f ⇔ x > ⌊f⌋; x <= f ⇔ x <= ⌊f⌋; x >= f ⇔ x >= ⌈f⌉; x < f ⇔ x < ⌈f⌉.
        CompareOp::Gt | CompareOp::Le => (f.floor(), op),
        _ => (f.ceil(), op),
    };
    if bound >= TWO_POW_63 {
        // Above every integer.
        return Bound::Always(Tri::from_bool(matches!(op, CompareOp::Lt | CompareOp::Le)));
    }
    if bound < -TWO_POW_63 {
        return Bound::Always(Tri::from_bool(matches!(op, CompareOp::Gt | CompareOp::Ge)));
    }
    Bound::Param(op, Value::Int(bound as i64))
}

/// `x OP i` for a float `x`, as a comparison with a float. An integer no double equals lies strictly between two
/// adjacent doubles, one of which is `i as f64`, so the comparison moves to that double.
fn float_column_against_int(op: CompareOp, i: i64) -> Bound {
    let c = i as f64;
    if exact_int(c) == Some(i) {
        return Bound::Param(op, Value::Float(c));
    }
    let rounded_up = c as i128 > i as i128;
    let op = match (op, rounded_up) {
        (CompareOp::Eq, _) => return Bound::Always(Tri::False),
        (CompareOp::Ne, _) => return Bound::Always(Tri::True),
        (CompareOp::Gt | CompareOp::Ge, true) => CompareOp::Ge,
        (CompareOp::Lt | CompareOp::Le, true) => CompareOp::Lt,
        (CompareOp::Gt | CompareOp::Ge, false) => CompareOp::Gt,
        (CompareOp::Lt | CompareOp::Le, false) => CompareOp::Le,
        (other, _) => other,
    };
    Bound::Param(op, Value::Float(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_core::expr::compare_values;

    /// For every integer near `value`, the rewritten comparison holds exactly when the exact one does.
    fn agrees(op: CompareOp, column: ColType, value: Value, samples: &[Value]) {
        let bound = bind(op, value.clone(), column).expect("binds");
        for x in samples {
            let expected = compare_values(op, x, &value);
            let got = match &bound {
                Bound::Param(op, v) => compare_values(*op, x, v),
                Bound::Always(t) => *t,
            };
            assert_eq!(got, expected, "{x:?} {op:?} {value:?} as {bound:?}");
        }
    }

    const OPS: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    #[test]
    fn an_integer_column_meets_a_float_exactly() {
        let ints: Vec<Value> = [i64::MIN, -3, -2, -1, 0, 1, 2, 3, i64::MAX]
            .into_iter()
            .map(Value::Int)
            .collect();
        for f in [
            1.5,
            -1.5,
            2.0,
            -0.0,
            1e19,
            -1e19,
            9_223_372_036_854_775_808.0,
            -9_223_372_036_854_775_808.0,
        ] {
            for op in OPS {
                agrees(op, ColType::Int, Value::Float(f), &ints);
            }
        }
    }

    #[test]
    fn a_float_column_meets_a_large_integer_exactly() {
        let floats: Vec<Value> = [
            -9.3e18,
            -1.0,
            0.0,
            2.5,
            9_007_199_254_740_992.0,
            9.2e18,
            9_223_372_036_854_775_808.0,
        ]
        .into_iter()
        .map(Value::Float)
        .collect();
        for i in [
            0,
            3,
            9_007_199_254_740_993,
            i64::MAX,
            i64::MIN + 1,
            -9_007_199_254_740_993,
        ] {
            for op in OPS {
                agrees(op, ColType::Float, Value::Int(i), &floats);
            }
        }
    }

    #[test]
    fn strings_bind_as_the_column_type() {
        let bound = bind(
            CompareOp::Eq,
            Value::Text("2024-01-01T02:00:00+02:00".into()),
            ColType::Datetime,
        );
        let expected = parse_datetime("2024-01-01T00:00:00Z")
            .map(|d| Bound::Param(CompareOp::Eq, Value::Datetime(d)));
        assert_eq!(bound.ok(), expected);
        assert!(bind(CompareOp::Eq, Value::Text("nope".into()), ColType::Uuid).is_err());
    }
}
