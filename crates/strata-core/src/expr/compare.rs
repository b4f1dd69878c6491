//! Comparing values as both evaluators do (SPEC §7, §14): any null operand gives unknown, numbers compare by
//! exact value (an integer with a float too), text by code point, uuids, datetimes and dates by value, and a
//! string meets a uuid, datetime or date by being parsed as one.

use std::cmp::Ordering;

use super::{CompareOp, Tri};
use crate::value::{Value, parse_date, parse_datetime};

/// 2^63 as a float: the first float above every `i64`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// `a OP b` for the ordering and equality operators; `Unknown` when either is null or they cannot be compared.
/// `~`, `!~` and `?=` are not comparisons of two scalars and give `Unknown` here.
pub fn compare_values(op: CompareOp, a: &Value, b: &Value) -> Tri {
    if a.is_null() || b.is_null() {
        return Tri::Unknown;
    }
    let Some(order) = order(a, b) else {
        return Tri::Unknown;
    };
    let holds = match op {
        CompareOp::Eq => order == Ordering::Equal,
        CompareOp::Ne => order != Ordering::Equal,
        CompareOp::Gt => order == Ordering::Greater,
        CompareOp::Ge => order != Ordering::Less,
        CompareOp::Lt => order == Ordering::Less,
        CompareOp::Le => order != Ordering::Greater,
        CompareOp::Contains | CompareOp::NotContains | CompareOp::AnyEq => return Tri::Unknown,
    };
    Tri::from_bool(holds)
}

/// Whether one element of a JSON array equals `needle` for `?=`: strings with text (or a uuid's hyphenated
/// lowercase form), numbers by exact value, booleans with booleans. Nothing else is equal.
pub fn json_element_eq(element: &serde_json::Value, needle: &Value) -> bool {
    use serde_json::Value as J;
    match (element, needle) {
        (J::String(s), Value::Text(t)) => s == t,
        (J::String(s), Value::Uuid(u)) => *s == u.hyphenated().to_string(),
        (J::Bool(x), Value::Bool(y)) => x == y,
        (J::Number(n), Value::Int(_) | Value::Float(_)) => {
            let number = n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_f64().map(Value::Float));
            number.and_then(|v| order(&v, needle)) == Some(Ordering::Equal)
        }
        _ => false,
    }
}

/// The order of two non-null values, or `None` when their types do not compare.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => cmp_int_float(*x, *y),
        (Value::Float(x), Value::Int(y)) => cmp_int_float(*y, *x).map(Ordering::reverse),
        (Value::Text(x), Value::Text(y)) => Some(x.as_str().cmp(y.as_str())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Uuid(x), Value::Uuid(y)) => Some(x.cmp(y)),
        (Value::Uuid(x), Value::Text(y)) => Some(x.cmp(&uuid::Uuid::try_parse(y).ok()?)),
        (Value::Datetime(x), Value::Datetime(y)) => Some(x.cmp(y)),
        (Value::Datetime(x), Value::Text(y)) => Some(x.cmp(&parse_datetime(y)?)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Text(y)) => Some(x.cmp(&parse_date(y)?)),
        (Value::Text(_), Value::Uuid(_) | Value::Datetime(_) | Value::Date(_)) => {
            order(b, a).map(Ordering::reverse)
        }
        _ => None,
    }
}

/// The exact order of an integer and a float, with no rounding of either (`i64::MAX` is not `2^63`).
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    // In range and integral, so the cast is exact.
    match i.cmp(&(floor as i64)) {
        Ordering::Equal if f > floor => Some(Ordering::Less),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_floats_compare_by_exact_value() {
        assert_eq!(cmp_int_float(1, 1.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(2, 1.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(-1, -0.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(3, 3.0), Some(Ordering::Equal));
        // i64::MAX rounds to 2^63 as a float, but is below it.
        assert_eq!(
            cmp_int_float(i64::MAX, i64::MAX as f64),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_int_float(i64::MIN, i64::MIN as f64),
            Some(Ordering::Equal)
        );
        assert_eq!(cmp_int_float(0, f64::NAN), None);
    }

    #[test]
    fn a_null_operand_makes_any_comparison_unknown() {
        for op in [CompareOp::Eq, CompareOp::Ne, CompareOp::Lt] {
            assert_eq!(
                compare_values(op, &Value::Null, &Value::Int(1)),
                Tri::Unknown
            );
            assert_eq!(
                compare_values(op, &Value::Text("a".into()), &Value::Null),
                Tri::Unknown
            );
        }
    }

    #[test]
    fn text_compares_by_code_point() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(compare_values(CompareOp::Lt, &t("Z"), &t("a")), Tri::True);
        assert_eq!(compare_values(CompareOp::Lt, &t("z"), &t("é")), Tri::True);
        assert_eq!(compare_values(CompareOp::Eq, &t("a"), &t("A")), Tri::False);
        assert_eq!(compare_values(CompareOp::Eq, &t("a"), &t("a ")), Tri::False);
    }

    #[test]
    fn strings_meet_datetimes_dates_and_uuids_by_parsing() {
        let dt = parse_datetime("2024-05-01T10:00:00Z")
            .map(Value::Datetime)
            .expect("datetime");
        let text = Value::Text("2024-05-01T12:00:00+02:00".into());
        assert_eq!(compare_values(CompareOp::Eq, &dt, &text), Tri::True);
        assert_eq!(compare_values(CompareOp::Eq, &text, &dt), Tri::True);
        let id = uuid::Uuid::nil();
        let upper = Value::Text("00000000-0000-0000-0000-000000000000".into());
        assert_eq!(
            compare_values(CompareOp::Eq, &Value::Uuid(id), &upper),
            Tri::True
        );
        assert_eq!(
            compare_values(CompareOp::Eq, &Value::Uuid(id), &Value::Text("nope".into())),
            Tri::Unknown
        );
    }

    #[test]
    fn json_elements_match_by_type_and_value() {
        let one = serde_json::json!(1.0);
        assert!(json_element_eq(&one, &Value::Int(1)));
        assert!(!json_element_eq(&serde_json::json!("1"), &Value::Int(1)));
        assert!(!json_element_eq(&serde_json::json!(true), &Value::Int(1)));
        assert!(json_element_eq(
            &serde_json::json!(true),
            &Value::Bool(true)
        ));
        assert!(json_element_eq(
            &serde_json::json!("x"),
            &Value::Text("x".into())
        ));
    }
}
