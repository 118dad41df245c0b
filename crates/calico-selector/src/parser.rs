//! Recursive-descent parser producing the AST in `ast.rs`.
//!
//! Tree shape follows Calico exactly (it is observable through the canonical
//! string): a `&&`/`||` chain of one operand adds no node, a parenthesised group
//! adds no node, a chain of n operands is one n-ary node, and each run of `!`
//! collapses to zero or one negation.  The one deliberate difference is that a
//! negation applied to an already-negated group (`!(!a == "b")`) cancels out:
//! Calico keeps both negations and prints `!!a == "b"`, which then re-parses as
//! `a == "b"`, so its canonical form is not a fixpoint for such inputs.  Here the
//! canonical form is the one Calico's form settles on after one more round trip.

use crate::ast::{Node, StrSet};
use crate::lexer::{LexError, Lexer, Tok, Token};
use crate::{ParseError, Selector, MAX_NESTING_DEPTH};

pub(crate) fn parse(input: &str) -> Result<Selector, ParseError> {
    let mut parser = Parser {
        lexer: Lexer::new(input),
        peeked: None,
    };
    parser
        .parse_root()
        .map(|root| Selector { root })
        .map_err(|e| {
            // Calico tokenizes everything before parsing, so any tokenizer
            // error in the rest of the input takes precedence over a grammar
            // error found first.
            let e = match e {
                Failure::Grammar(g) => parser.drain().err().unwrap_or(g),
                Failure::Lex(l) => l,
            };
            ParseError::new(input, e.pos, &e.reason)
        })
}

/// Is `input` exactly the `global()` function, give or take surrounding
/// whitespace?  This is the test Calico's validator applies to an EntityRule's
/// `namespaceSelector`: `(global())` or `!!global()` parse to the same
/// selector but are rejected there.
pub(crate) fn is_bare_global(input: &str) -> bool {
    let mut lexer = Lexer::new(input);
    matches!(
        lexer.next_token(),
        Ok(Token {
            tok: Tok::Global,
            ..
        })
    ) && matches!(lexer.next_token(), Ok(Token { tok: Tok::Eof, .. }))
}

enum Failure {
    /// From the tokenizer: final.
    Lex(LexError),
    /// From the grammar: reported only if the rest of the input tokenizes.
    Grammar(LexError),
}

impl From<LexError> for Failure {
    fn from(e: LexError) -> Self {
        Failure::Lex(e)
    }
}

fn grammar<T>(pos: usize, reason: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Grammar(LexError {
        pos,
        reason: reason.into(),
    }))
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Tok<'a>, Failure> {
        if let Some(t) = self.peeked {
            return Ok(t.tok);
        }
        let t = self.lexer.next_token()?;
        self.peeked = Some(t);
        Ok(t.tok)
    }

    fn bump(&mut self) -> Result<Token<'a>, Failure> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => Ok(self.lexer.next_token()?),
        }
    }

    /// Runs the tokenizer to the end of the input, returning its first error.
    fn drain(&mut self) -> Result<(), LexError> {
        if self.peeked.is_some_and(|t| t.tok == Tok::Eof) {
            return Ok(());
        }
        loop {
            if self.lexer.next_token()?.tok == Tok::Eof {
                return Ok(());
            }
        }
    }

    fn parse_root(&mut self) -> Result<Node, Failure> {
        if self.peek()? == Tok::Eof {
            return Ok(Node::All);
        }
        let node = self.parse_or(0)?;
        let rest = self.bump()?;
        if rest.tok != Tok::Eof {
            return grammar(
                rest.pos,
                format!(
                    "unexpected content at end of selector: {}",
                    rest.tok.describe()
                ),
            );
        }
        Ok(node)
    }

    fn parse_or(&mut self, depth: usize) -> Result<Node, Failure> {
        let first = self.parse_and(depth)?;
        if self.peek()? != Tok::Or {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek()? == Tok::Or {
            self.bump()?;
            operands.push(self.parse_and(depth)?);
        }
        Ok(Node::Or(operands.into_boxed_slice()))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Node, Failure> {
        let first = self.parse_operation(depth)?;
        if self.peek()? != Tok::And {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.peek()? == Tok::And {
            self.bump()?;
            operands.push(self.parse_operation(depth)?);
        }
        Ok(Node::And(operands.into_boxed_slice()))
    }

    fn parse_operation(&mut self, depth: usize) -> Result<Node, Failure> {
        let mut negated = false;
        while self.peek()? == Tok::Not {
            self.bump()?;
            negated = !negated;
        }
        let t = self.bump()?;
        let node = match t.tok {
            Tok::Has(label) => Node::Has(label.into()),
            Tok::All => Node::All,
            Tok::Global => Node::Global,
            Tok::Label(label) => self.parse_comparison(label)?,
            Tok::LParen => {
                if depth >= MAX_NESTING_DEPTH {
                    return grammar(
                        t.pos,
                        format!(
                            "selector nested too deeply (more than {MAX_NESTING_DEPTH} levels of parentheses)"
                        ),
                    );
                }
                let inner = self.parse_or(depth + 1)?;
                let close = self.bump()?;
                if close.tok != Tok::RParen {
                    return grammar(close.pos, "expected )");
                }
                inner
            }
            other => {
                return grammar(t.pos, format!("unexpected token: {}", other.describe()));
            }
        };
        Ok(match (negated, node) {
            (false, node) => node,
            (true, Node::Not(inner)) => *inner,
            (true, node) => Node::Not(Box::new(node)),
        })
    }

    /// The rest of an operation that started with a label.
    fn parse_comparison(&mut self, label: &str) -> Result<Node, Failure> {
        let op = self.bump()?;
        let build: fn(Box<str>, Box<str>) -> Node = match op.tok {
            Tok::Eof => return grammar(op.pos, "unexpected end of string looking for op"),
            Tok::Eq => Node::Eq,
            Tok::Ne => Node::Ne,
            Tok::Contains => Node::Contains,
            Tok::StartsWith => Node::StartsWith,
            Tok::EndsWith => Node::EndsWith,
            Tok::In | Tok::NotIn => {
                let set = self.parse_set()?;
                return Ok(if op.tok == Tok::In {
                    Node::In(label.into(), set)
                } else {
                    Node::NotIn(label.into(), set)
                });
            }
            other => {
                return grammar(
                    op.pos,
                    format!("expected == or != not: {}", other.describe()),
                );
            }
        };
        let value = self.bump()?;
        match value.tok {
            Tok::Str(v) => Ok(build(label.into(), v.into())),
            _ => grammar(value.pos, "expected string"),
        }
    }

    /// `{` [ string ( `,` string )* ] `}`
    fn parse_set(&mut self) -> Result<StrSet, Failure> {
        let open = self.bump()?;
        if open.tok != Tok::LBrace {
            return grammar(open.pos, "expected set literal");
        }
        let mut values: Vec<Box<str>> = Vec::new();
        if let Tok::Str(first) = self.peek()? {
            self.bump()?;
            values.push(first.into());
            while self.peek()? == Tok::Comma {
                self.bump()?;
                // Calico's parser accepts a trailing comma (`{"a",}`), although the
                // reference grammar says otherwise; the code is what clusters run.
                if self.peek()? == Tok::RBrace {
                    break;
                }
                let t = self.bump()?;
                match t.tok {
                    Tok::Str(v) => values.push(v.into()),
                    _ => return grammar(t.pos, "expected }"),
                }
            }
        }
        let close = self.bump()?;
        if close.tok != Tok::RBrace {
            return grammar(close.pos, "expected }");
        }
        Ok(StrSet::new(values))
    }
}
