//! The parser: tokens to an [`Expr`], with SPEC §7's precedence (`||` lowest, then `&&`, then `!`, then the
//! comparisons) and SPEC §14's limits. Recursion is bounded by the nesting limit, so no input, however long or
//! deep, can overflow the stack.
//!
//! ```text
//! or      = and { "||" and }
//! and     = not { "&&" not }
//! not     = "!" not | compare
//! compare = primary [ OP primary | "in" "(" value { "," value } ")" ]
//! primary = "(" or ")" | value
//! value   = 'text' | number | true | false | null | path | @auth.NAME | @data.NAME | @now
//! ```

use super::lexer::{Tok, Token, tokenize};
use super::{Expr, ExprError, Literal, MAX_DEPTH, MAX_IN_ITEMS, MAX_SOURCE_BYTES};

/// Parse an expression (a filter or a rule). Errors say what was expected and where, in characters from 0.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    if src.len() > MAX_SOURCE_BYTES {
        let position = src
            .char_indices()
            .take_while(|(i, _)| *i < MAX_SOURCE_BYTES)
            .count();
        return Err(ExprError {
            position,
            message: format!("the expression is longer than {MAX_SOURCE_BYTES} bytes"),
        });
    }
    let tokens = tokenize(src)?;
    let mut parser = Parser { tokens, next: 0 };
    let expr = parser.or(0)?;
    let token = parser.peek();
    match token.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(error(token.pos, "unexpected `)`")),
        _ => Err(error(
            token.pos,
            format!(
                "expected `&&`, `||` or the end, found {}",
                token.tok.describe()
            ),
        )),
    }
}

fn error(position: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        position,
        message: message.into(),
    }
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `bump` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.next += 1;
        }
        token
    }

    fn deeper(&self, depth: usize, pos: usize) -> Result<usize, ExprError> {
        if depth >= MAX_DEPTH {
            return Err(error(
                pos,
                format!("the expression is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(depth + 1)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let first = self.and(depth)?;
        if self.peek().tok != Tok::Or {
            return Ok(first);
        }
        let position = self.peek().pos;
        let mut operands = vec![first];
        while self.peek().tok == Tok::Or {
            self.bump();
            operands.push(self.and(depth)?);
        }
        Ok(Expr::Or { operands, position })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let first = self.not(depth)?;
        if self.peek().tok != Tok::And {
            return Ok(first);
        }
        let position = self.peek().pos;
        let mut operands = vec![first];
        while self.peek().tok == Tok::And {
            self.bump();
            operands.push(self.not(depth)?);
        }
        Ok(Expr::And { operands, position })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.peek().tok != Tok::Not {
            return self.compare(depth);
        }
        let position = self.bump().pos;
        let inner = self.not(self.deeper(depth, position)?)?;
        Ok(Expr::Not {
            expr: Box::new(inner),
            position,
        })
    }

    fn compare(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let left = self.primary(depth)?;
        let token = self.peek().clone();
        match token.tok {
            Tok::Op(op) => {
                self.bump();
                let right = self.primary(depth)?;
                for side in [&left, &right] {
                    if !side.is_value() {
                        return Err(error(
                            token.pos,
                            format!("`{}` compares values, not conditions", op.as_str()),
                        ));
                    }
                }
                Ok(Expr::Compare {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                    position: token.pos,
                })
            }
            Tok::In => {
                self.bump();
                if !left.is_value() {
                    return Err(error(token.pos, "`in` tests a value, not a condition"));
                }
                let list = self.list()?;
                Ok(Expr::In {
                    expr: Box::new(left),
                    list,
                    position: token.pos,
                })
            }
            _ => Ok(left),
        }
    }

    fn list(&mut self) -> Result<Vec<Expr>, ExprError> {
        let open = self.bump();
        if open.tok != Tok::LParen {
            return Err(error(
                open.pos,
                "`in` takes a list in parentheses, as in `status in ('a', 'b')`",
            ));
        }
        let mut items = Vec::new();
        loop {
            let pos = self.peek().pos;
            if items.len() == MAX_IN_ITEMS {
                return Err(error(
                    pos,
                    format!("an `in` list has at most {MAX_IN_ITEMS} items"),
                ));
            }
            items.push(self.value()?);
            let token = self.bump();
            match token.tok {
                Tok::Comma => {}
                Tok::RParen => return Ok(items),
                Tok::End => return Err(error(open.pos, "unclosed `(`")),
                other => {
                    return Err(error(
                        token.pos,
                        format!("expected `,` or `)`, found {}", other.describe()),
                    ));
                }
            }
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if self.peek().tok != Tok::LParen {
            return self.value();
        }
        let open = self.bump().pos;
        let inner = self.or(self.deeper(depth, open)?)?;
        let token = self.bump();
        match token.tok {
            Tok::RParen => Ok(inner),
            Tok::End => Err(error(open, "unclosed `(`")),
            other => Err(error(
                token.pos,
                format!("expected `)`, found {}", other.describe()),
            )),
        }
    }

    fn value(&mut self) -> Result<Expr, ExprError> {
        let token = self.bump();
        let expr = match token.tok {
            Tok::Text(s) => Expr::Literal(Literal::Text(s)),
            Tok::Int(i) => Expr::Literal(Literal::Int(i)),
            Tok::Float(f) => Expr::Literal(Literal::Float(f)),
            Tok::True => Expr::Literal(Literal::Bool(true)),
            Tok::False => Expr::Literal(Literal::Bool(false)),
            Tok::Null => Expr::Literal(Literal::Null),
            Tok::Path(path) => Expr::Field {
                path,
                position: token.pos,
            },
            Tok::Auth(name) => Expr::Auth {
                name,
                position: token.pos,
            },
            Tok::Data(name) => Expr::Data {
                name,
                position: token.pos,
            },
            Tok::Now => Expr::Now {
                position: token.pos,
            },
            Tok::RParen => return Err(error(token.pos, "unexpected `)`")),
            other => {
                return Err(error(
                    token.pos,
                    format!("expected a value, found {}", other.describe()),
                ));
            }
        };
        Ok(expr)
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
