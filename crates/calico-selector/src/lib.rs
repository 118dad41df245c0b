//! Project Calico's label selector language, reimplemented to behave exactly
//! like Calico's Go implementation (`libcalico-go/lib/selector`).
//!
//! Selectors such as `app == "web" && tier in {"a", "b"} && !has(deprecated)`
//! appear throughout Calico resources (policies, IP pools, BGP peers, …).  This
//! crate parses them ([`parse`]), evaluates them against a set of labels
//! ([`Selector::evaluate`]), and prints the canonical form Calico uses for
//! display and de-duplication ([`Selector::canonical`], [`Selector::unique_id`]).
//!
//! It is a pure library: no IO, no global state, no `unsafe`.  Parsing never
//! panics, whatever the input (nesting deeper than [`MAX_NESTING_DEPTH`]
//! parentheses is rejected instead of exhausting the stack), and evaluation
//! does not allocate.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! let sel = calico_selector::parse("app == 'web' && !has(deprecated)")?;
//! assert_eq!(sel.canonical(), r#"(app == "web" && !has(deprecated))"#);
//!
//! let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
//! assert!(sel.evaluate(&labels));
//! # Ok::<(), calico_selector::ParseError>(())
//! ```

mod ast;
mod labels;
mod lexer;
mod parser;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use sha2::Digest as _;

pub use labels::Labels;

/// Longest label name accepted in a selector, in bytes (Calico's limit).
pub const MAX_LABEL_LENGTH: usize = 512;

/// Deepest nesting of parentheses accepted.  Calico has no limit (Go stacks
/// grow), but recursion here uses the native stack, and no real selector comes
/// anywhere near this.
pub const MAX_NESTING_DEPTH: usize = 256;

/// Parses a selector.  Empty or whitespace-only input is [`Selector::all`].
pub fn parse(input: &str) -> Result<Selector, ParseError> {
    parser::parse(input)
}

/// Whether `input` is exactly `global()` (surrounding whitespace and spaces
/// inside the parentheses allowed), as opposed to merely parsing to it.
///
/// Calico's validator accepts `global()` in an EntityRule `namespaceSelector`
/// only in this bare form: `(global())` or `!!global()` are valid selectors
/// equal to `global()` yet are rejected there ("global() cannot be combined
/// with other selectors").
pub fn is_bare_global(input: &str) -> bool {
    parser::is_bare_global(input)
}

/// A parsed selector.
///
/// Equality and hashing are structural, which (since `in` sets are sorted and
/// de-duplicated while parsing) coincides with equality of
/// [`canonical`](Selector::canonical) strings.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    root: ast::Node,
}

impl Selector {
    /// The selector that matches everything; what an empty selector parses to.
    pub fn all() -> Selector {
        Selector {
            root: ast::Node::All,
        }
    }

    /// Whether `labels` match this selector.  Does not allocate.
    #[inline]
    pub fn evaluate<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        self.root.evaluate(labels)
    }

    /// Calico's canonical string form (its `String()`): fully parenthesised
    /// `&&`/`||` chains, one space around operators, sorted set literals, values
    /// double-quoted unless they contain `"`.  Parsing it gives back an equal
    /// selector.  Also available through `Display`.
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(self.root.canonical_len_hint());
        // Writing to a String cannot fail.
        let _ = self.root.write_canonical(&mut out);
        out
    }

    /// Calico's `UniqueID()`: `"s:"` followed by the unpadded URL-safe base64
    /// of SHA-224 over `"s:" + canonical`.  Equal selectors give equal IDs.
    pub fn unique_id(&self) -> String {
        let mut hasher = sha2::Sha224::new();
        hasher.update(b"s:");
        hasher.update(self.canonical().as_bytes());
        let digest = hasher.finalize();
        let mut id = String::from("s:");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(digest, &mut id);
        id
    }

    /// Whether `global()` appears anywhere in the selector.
    pub fn contains_global(&self) -> bool {
        self.root.contains_global()
    }

    /// Whether the selector as a whole is `global()` (its canonical form is
    /// `"global()"`).  See [`is_bare_global`] for the stricter textual test
    /// Calico's validator applies.
    pub fn is_global(&self) -> bool {
        self.root == ast::Node::Global
    }

    /// Whether the selector is `all()` (including the empty selector).
    pub fn is_all(&self) -> bool {
        self.root == ast::Node::All
    }

    /// The label names the selector refers to, sorted and de-duplicated.
    pub fn label_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.root.collect_labels(&mut names);
        names.sort_unstable();
        names.dedup();
        names
    }
}

impl Default for Selector {
    fn default() -> Self {
        Selector::all()
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.write_canonical(f)
    }
}

/// Shows the canonical form; the tree itself is an implementation detail.
impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Selector(")?;
        fmt::Debug::fmt(&self.canonical(), f)?;
        f.write_str(")")
    }
}

impl FromStr for Selector {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

/// A selector that failed to parse.
///
/// `message` is the complete human-readable text, e.g.
/// `invalid selector "a = 'b'": expected == at position 2`; it contains
/// Calico's wording of the problem ("expected ==", "unterminated string",
/// "expected )", …).  `Display` prints `message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Byte offset in the input where the problem was found (the input length
    /// if it is at the end).  Always on a UTF-8 character boundary.
    pub position: usize,
    /// Human-readable description, including the (possibly shortened) input.
    pub message: String,
}

/// Longest input echoed in an error message, in bytes.
const MAX_ECHO: usize = 200;

impl ParseError {
    pub(crate) fn new(input: &str, position: usize, reason: &str) -> Self {
        let message = if input.len() <= MAX_ECHO {
            format!("invalid selector {input:?}: {reason} at position {position}")
        } else {
            let mut cut = MAX_ECHO;
            while !input.is_char_boundary(cut) {
                cut -= 1;
            }
            let shown = &input[..cut];
            format!(
                "invalid selector {shown:?} (shortened, {} bytes): {reason} at position {position}",
                input.len()
            )
        };
        ParseError { position, message }
    }
}

#[cfg(test)]
mod tests;
