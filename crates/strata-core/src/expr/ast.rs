//! The syntax tree of the expression language (SPEC §7), shared by filters and rules: what the parser builds and
//! what the checker, the evaluator and the SQL compilers walk.

/// A literal written in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

/// Comparison operators, by SPEC §7's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~`: contains, after Unicode simple case folding.
    Contains,
    /// `!~`
    NotContains,
    /// `?=`: some element of the left array equals the right.
    AnyEq,
}

impl CompareOp {
    /// The operator as written in an expression.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Contains => "~",
            CompareOp::NotContains => "!~",
            CompareOp::AnyEq => "?=",
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`); `None` for the operators that are not
    /// symmetric in that way (`~`, `!~`, `?=`).
    pub fn flipped(self) -> Option<CompareOp> {
        match self {
            CompareOp::Eq | CompareOp::Ne => Some(self),
            CompareOp::Gt => Some(CompareOp::Lt),
            CompareOp::Ge => Some(CompareOp::Le),
            CompareOp::Lt => Some(CompareOp::Gt),
            CompareOp::Le => Some(CompareOp::Ge),
            CompareOp::Contains | CompareOp::NotContains | CompareOp::AnyEq => None,
        }
    }
}

/// An expression. `position` fields count characters from 0 in the source, for error messages; a literal has
/// none, so problems with one are reported at the operator that uses it.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A field of the record (`status`), a relation path (`author.team.name`) or a path through a back-relation
    /// (`memberships_via_team.user`): at most 4 names, so at most 3 relation steps.
    Field {
        path: Vec<String>,
        position: usize,
    },
    /// `@auth.NAME`
    Auth {
        name: String,
        position: usize,
    },
    /// `@data.NAME`
    Data {
        name: String,
        position: usize,
    },
    /// `@now`
    Now {
        position: usize,
    },
    /// `!expr`; `position` is the `!`'s.
    Not {
        expr: Box<Expr>,
        position: usize,
    },
    /// `a && b && …`, flattened; `position` is the first `&&`'s.
    And {
        operands: Vec<Expr>,
        position: usize,
    },
    /// `a || b || …`, flattened; `position` is the first `||`'s.
    Or {
        operands: Vec<Expr>,
        position: usize,
    },
    /// `left OP right`; `position` is the operator's.
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
        position: usize,
    },
    /// `expr in (a, b, …)`; `position` is the `in`'s.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        position: usize,
    },
}

impl Expr {
    /// Where this node starts or, for operators, where the operator is; `None` for literals.
    pub fn position(&self) -> Option<usize> {
        match self {
            Expr::Literal(_) => None,
            Expr::Field { position, .. }
            | Expr::Auth { position, .. }
            | Expr::Data { position, .. }
            | Expr::Now { position }
            | Expr::Not { position, .. }
            | Expr::And { position, .. }
            | Expr::Or { position, .. }
            | Expr::Compare { position, .. }
            | Expr::In { position, .. } => Some(*position),
        }
    }

    /// Whether this node is a value (a literal, a field or a context value) rather than a condition.
    pub fn is_value(&self) -> bool {
        matches!(
            self,
            Expr::Literal(_)
                | Expr::Field { .. }
                | Expr::Auth { .. }
                | Expr::Data { .. }
                | Expr::Now { .. }
        )
    }

    /// Call `f` on this node and on every node below it, parents first.
    pub fn visit<'e>(&'e self, f: &mut impl FnMut(&'e Expr)) {
        f(self);
        match self {
            Expr::Literal(_)
            | Expr::Field { .. }
            | Expr::Auth { .. }
            | Expr::Data { .. }
            | Expr::Now { .. } => {}
            Expr::Not { expr, .. } => expr.visit(f),
            Expr::And { operands, .. } | Expr::Or { operands, .. } => {
                operands.iter().for_each(|e| e.visit(f));
            }
            Expr::Compare { left, right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            Expr::In { expr, list, .. } => {
                expr.visit(f);
                list.iter().for_each(|e| e.visit(f));
            }
        }
    }

    /// Whether the result depends on the record a condition is tested on: whether it names a field. `@auth`,
    /// `@data` and `@now` are known before any row is read.
    pub fn reads_row(&self) -> bool {
        match self {
            Expr::Field { .. } => true,
            Expr::Literal(_) | Expr::Auth { .. } | Expr::Data { .. } | Expr::Now { .. } => false,
            Expr::Not { expr, .. } => expr.reads_row(),
            Expr::And { operands, .. } | Expr::Or { operands, .. } => {
                operands.iter().any(Expr::reads_row)
            }
            Expr::Compare { left, right, .. } => left.reads_row() || right.reads_row(),
            Expr::In { expr, list, .. } => expr.reads_row() || list.iter().any(Expr::reads_row),
        }
    }
}
