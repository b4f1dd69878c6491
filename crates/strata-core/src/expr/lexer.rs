//! Splitting an expression's source into tokens, each with the character position where it starts.
//!
//! Strings are single-quoted; inside one, `\'` is a quote and `\\` a backslash, and no other escape exists (so a
//! Windows path or a regex must double its backslashes). Paths (`author.team.name`) and context values
//! (`@auth.id`) are single tokens, written without spaces around their dots.

use super::{CompareOp, ExprError, MAX_PATH_NAMES};

/// One token of the expression language.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    Int(i64),
    Float(f64),
    True,
    False,
    Null,
    In,
    Path(Vec<String>),
    Auth(String),
    Data(String),
    Now,
    Op(CompareOp),
    And,
    Or,
    Not,
    LParen,
    RParen,
    Comma,
    End,
}

impl Tok {
    /// How the token is named in an error message.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Text(_) => "a string".into(),
            Tok::Int(_) | Tok::Float(_) => "a number".into(),
            Tok::True => "`true`".into(),
            Tok::False => "`false`".into(),
            Tok::Null => "`null`".into(),
            Tok::In => "`in`".into(),
            Tok::Path(path) => format!("`{}`", path.join(".")),
            Tok::Auth(name) => format!("`@auth.{name}`"),
            Tok::Data(name) => format!("`@data.{name}`"),
            Tok::Now => "`@now`".into(),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::End => "the end".into(),
        }
    }
}

/// A token and the character position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

fn error(position: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        position,
        message: message.into(),
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Tokenize `src`; the last token is always [`Tok::End`].
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let end = token.tok == Tok::End;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Lexer<'_> {
    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn next_token(&mut self) -> Result<Token, ExprError> {
        while self.peek_at(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::End,
                pos: start,
            });
        };
        let next = self.peek_at(1);
        let (tok, len) = match (c, next) {
            ('\'', _) => return self.string(),
            ('"', _) => return Err(error(start, "strings are written in single quotes: 'text'")),
            ('@', _) => return self.context(),
            ('-', Some(d)) if d.is_ascii_digit() => return self.number(),
            (d, _) if d.is_ascii_digit() => return self.number(),
            (n, _) if is_name_start(n) => return self.name(),
            ('=', Some('=')) => return Err(error(start, "`==` is written `=`")),
            ('=', _) => (Tok::Op(CompareOp::Eq), 1),
            ('!', Some('=')) => (Tok::Op(CompareOp::Ne), 2),
            ('!', Some('~')) => (Tok::Op(CompareOp::NotContains), 2),
            ('!', _) => (Tok::Not, 1),
            ('>', Some('=')) => (Tok::Op(CompareOp::Ge), 2),
            ('>', _) => (Tok::Op(CompareOp::Gt), 1),
            ('<', Some('=')) => (Tok::Op(CompareOp::Le), 2),
            ('<', Some('>')) => return Err(error(start, "`<>` is written `!=`")),
            ('<', _) => (Tok::Op(CompareOp::Lt), 1),
            ('~', _) => (Tok::Op(CompareOp::Contains), 1),
            ('?', Some('=')) => (Tok::Op(CompareOp::AnyEq), 2),
            ('?', _) => return Err(error(start, "expected `?=`")),
            ('&', Some('&')) => (Tok::And, 2),
            ('&', _) => return Err(error(start, "expected `&&`")),
            ('|', Some('|')) => (Tok::Or, 2),
            ('|', _) => return Err(error(start, "expected `||`")),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            (other, _) => {
                return Err(error(
                    start,
                    format!("unexpected character `{}`", other.escape_debug()),
                ));
            }
        };
        self.pos += len;
        Ok(Token { tok, pos: start })
    }

    fn string(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek_at(0) {
                None => return Err(error(start, "unclosed string")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Token {
                        tok: Tok::Text(text),
                        pos: start,
                    });
                }
                Some('\\') => match self.peek_at(1) {
                    Some(c @ ('\'' | '\\')) => {
                        text.push(c);
                        self.pos += 2;
                    }
                    None => return Err(error(start, "unclosed string")),
                    Some(c) => {
                        return Err(error(
                            self.pos,
                            format!(
                                "unknown escape `\\{}`; only \\' and \\\\ are escapes",
                                c.escape_debug()
                            ),
                        ));
                    }
                },
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - from
    }

    fn number(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        if self.peek_at(0) == Some('-') {
            self.pos += 1;
        }
        self.digits();
        let mut float = false;
        if self.peek_at(0) == Some('.') {
            self.pos += 1;
            float = true;
            if self.digits() == 0 {
                return Err(error(self.pos, "expected a digit after the decimal point"));
            }
        }
        if matches!(self.peek_at(0), Some('e' | 'E')) {
            self.pos += 1;
            float = true;
            if matches!(self.peek_at(0), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(error(self.pos, "expected a digit in the exponent"));
            }
        }
        if self.peek_at(0).is_some_and(|c| is_name_char(c) || c == '.') {
            return Err(error(start, "invalid number"));
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let tok = if float {
            match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Tok::Float(f),
                _ => return Err(error(start, "number out of range")),
            }
        } else {
            match text.parse::<i64>() {
                Ok(i) => Tok::Int(i),
                Err(_) => return Err(error(start, "integer out of the signed 64-bit range")),
            }
        };
        Ok(Token { tok, pos: start })
    }

    /// A name at the current position, which must start one.
    fn bare_name(&mut self) -> Option<String> {
        if !self.peek_at(0).is_some_and(is_name_start) {
            return None;
        }
        let from = self.pos;
        while self.peek_at(0).is_some_and(is_name_char) {
            self.pos += 1;
        }
        Some(self.chars[from..self.pos].iter().collect())
    }

    fn name(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        let mut path = Vec::new();
        loop {
            let Some(name) = self.bare_name() else {
                return Err(error(self.pos, "expected a name after `.`"));
            };
            path.push(name);
            if self.peek_at(0) != Some('.') {
                break;
            }
            self.pos += 1;
        }
        if path.len() > MAX_PATH_NAMES {
            return Err(error(
                start,
                format!("a path has at most {MAX_PATH_NAMES} names (3 relation steps)"),
            ));
        }
        let tok = match (path.len(), path[0].as_str()) {
            (1, "true") => Tok::True,
            (1, "false") => Tok::False,
            (1, "null") => Tok::Null,
            (1, "in") => Tok::In,
            _ => Tok::Path(path),
        };
        Ok(Token { tok, pos: start })
    }

    fn context(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let kind = self.bare_name().unwrap_or_default();
        let tok = match kind.as_str() {
            "now" => Tok::Now,
            "auth" | "data" => {
                if self.peek_at(0) != Some('.') {
                    return Err(error(
                        self.pos,
                        format!("expected `.` and a name after `@{kind}`"),
                    ));
                }
                self.pos += 1;
                let Some(name) = self.bare_name() else {
                    return Err(error(self.pos, format!("expected a name after `@{kind}.`")));
                };
                if kind == "auth" {
                    Tok::Auth(name)
                } else {
                    Tok::Data(name)
                }
            }
            _ => {
                return Err(error(
                    start,
                    "unknown context value; expected @auth.NAME, @data.NAME or @now",
                ));
            }
        };
        if self.peek_at(0) == Some('.') {
            let message = if kind == "now" {
                "`@now` takes no name".into()
            } else {
                format!("`@{kind}` takes a single name")
            };
            return Err(error(self.pos, message));
        }
        Ok(Token { tok, pos: start })
    }
}
