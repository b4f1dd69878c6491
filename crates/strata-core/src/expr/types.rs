//! The types the checker gives operands, and which pairs of them compare (SPEC §7, §14).

use crate::value::ColType;

/// The static type of an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    /// The literal `null`.
    Null,
    Bool,
    Int,
    Float,
    /// A text field or context value.
    Text,
    /// A string literal: text, or a uuid, datetime or date where compared with one.
    TextLit,
    Uuid,
    Datetime,
    Date,
    /// A json field: usable with `?=` (as an array) and `= null`.
    Json,
    /// A list of values of one type: a back-relation path or `@auth.roles`; usable with `?=` only.
    List(ColType),
}

impl Ty {
    pub(super) fn of(ty: ColType) -> Ty {
        match ty {
            ColType::Text => Ty::Text,
            ColType::Int => Ty::Int,
            ColType::Float => Ty::Float,
            ColType::Bool => Ty::Bool,
            ColType::Uuid => Ty::Uuid,
            ColType::Datetime => Ty::Datetime,
            ColType::Date => Ty::Date,
            ColType::Json => Ty::Json,
        }
    }

    /// The type with an article, for messages: "an integer", "a list".
    pub(super) fn described(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Bool => "a boolean",
            Ty::Int => "an integer",
            Ty::Float => "a number",
            Ty::Text | Ty::TextLit => "text",
            Ty::Uuid => "a uuid",
            Ty::Datetime => "a datetime",
            Ty::Date => "a date",
            Ty::Json => "json",
            Ty::List(_) => "a list",
        }
    }

    pub(super) fn is_text(self) -> bool {
        matches!(self, Ty::Text | Ty::TextLit)
    }

    pub(super) fn is_collection(self) -> bool {
        matches!(self, Ty::Json | Ty::List(_))
    }
}

/// Whether two non-null scalar types compare, and if a string literal must parse as the other side's type, which.
pub(super) enum Pairing {
    Compatible,
    /// The literal on this side must parse as the given type.
    LeftLiteralAs(Ty),
    RightLiteralAs(Ty),
    Incompatible,
}

pub(super) fn pairing(left: Ty, right: Ty) -> Pairing {
    use Ty::*;
    match (left, right) {
        (Int | Float, Int | Float)
        | (Text | TextLit, Text | TextLit)
        | (Bool, Bool)
        | (Uuid, Uuid)
        | (Datetime, Datetime)
        | (Date, Date) => Pairing::Compatible,
        (Uuid | Datetime | Date, TextLit) => Pairing::RightLiteralAs(left),
        (TextLit, Uuid | Datetime | Date) => Pairing::LeftLiteralAs(right),
        _ => Pairing::Incompatible,
    }
}
