//! Selector AST: evaluation and Calico's canonical printing.

use std::fmt::{self, Write};

use crate::Labels;

/// One node of a parsed selector.
///
/// Boxed strings rather than `String`s: nodes are immutable after parsing and
/// the smaller node keeps `And`/`Or` operand slices denser in cache.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    All,
    Global,
    Has(Box<str>),
    Eq(Box<str>, Box<str>),
    Ne(Box<str>, Box<str>),
    Contains(Box<str>, Box<str>),
    StartsWith(Box<str>, Box<str>),
    EndsWith(Box<str>, Box<str>),
    In(Box<str>, StrSet),
    NotIn(Box<str>, StrSet),
    Not(Box<Node>),
    And(Box<[Node]>),
    Or(Box<[Node]>),
}

/// The value set of `in` / `not in`: sorted (byte order) and de-duplicated,
/// which is both what the canonical form prints and what binary search needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StrSet(Box<[Box<str>]>);

/// Below this size a linear scan beats binary search: it touches the same
/// strings but has no unpredictable branches.
const LINEAR_SCAN_MAX: usize = 8;

impl StrSet {
    pub(crate) fn new(mut values: Vec<Box<str>>) -> Self {
        values.sort_unstable();
        values.dedup();
        StrSet(values.into_boxed_slice())
    }

    #[inline]
    pub(crate) fn contains(&self, value: &str) -> bool {
        if self.0.len() <= LINEAR_SCAN_MAX {
            self.0.iter().any(|v| **v == *value)
        } else {
            self.0.binary_search_by(|v| (**v).cmp(value)).is_ok()
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|v| &**v)
    }
}

impl Node {
    pub(crate) fn evaluate<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match self {
            Node::Not(inner) => !inner.evaluate_inline(labels),
            Node::And(operands) => operands.iter().all(|n| n.evaluate_inline(labels)),
            Node::Or(operands) => operands.iter().any(|n| n.evaluate_inline(labels)),
            leaf => leaf.evaluate_inline(labels),
        }
    }

    /// Leaves are evaluated in place, so the operand loops of `&&`/`||` (the
    /// common shape: a chain of comparisons) make no calls besides the label
    /// lookups; only nested groups recurse.
    #[inline(always)]
    fn evaluate_inline<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match self {
            Node::All | Node::Global => true,
            Node::Has(k) => labels.get_label(k).is_some(),
            Node::Eq(k, v) => labels.get_label(k) == Some(&**v),
            Node::Ne(k, v) => labels.get_label(k) != Some(&**v),
            Node::Contains(k, v) => labels.get_label(k).is_some_and(|x| x.contains(&**v)),
            Node::StartsWith(k, v) => labels.get_label(k).is_some_and(|x| x.starts_with(&**v)),
            Node::EndsWith(k, v) => labels.get_label(k).is_some_and(|x| x.ends_with(&**v)),
            Node::In(k, set) => labels.get_label(k).is_some_and(|x| set.contains(x)),
            Node::NotIn(k, set) => !labels.get_label(k).is_some_and(|x| set.contains(x)),
            Node::Not(_) | Node::And(_) | Node::Or(_) => self.evaluate(labels),
        }
    }

    /// Writes Calico's `String()` form.
    pub(crate) fn write_canonical<W: Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        match self {
            Node::All => out.write_str("all()"),
            Node::Global => out.write_str("global()"),
            Node::Has(k) => write!(out, "has({k})"),
            Node::Eq(k, v) => write_comparison(out, k, " == ", v),
            Node::Ne(k, v) => write_comparison(out, k, " != ", v),
            Node::Contains(k, v) => write_comparison(out, k, " contains ", v),
            Node::StartsWith(k, v) => write_comparison(out, k, " starts with ", v),
            Node::EndsWith(k, v) => write_comparison(out, k, " ends with ", v),
            Node::In(k, set) => write_set(out, k, " in {", set),
            Node::NotIn(k, set) => write_set(out, k, " not in {", set),
            Node::Not(inner) => {
                out.write_char('!')?;
                inner.write_canonical(out)
            }
            Node::And(operands) => write_chain(out, operands, " && "),
            Node::Or(operands) => write_chain(out, operands, " || "),
        }
    }

    /// Rough canonical length, so `canonical()` allocates once.
    pub(crate) fn canonical_len_hint(&self) -> usize {
        match self {
            Node::All | Node::Global => 8,
            Node::Has(k) => k.len() + 5,
            Node::Eq(k, v)
            | Node::Ne(k, v)
            | Node::Contains(k, v)
            | Node::StartsWith(k, v)
            | Node::EndsWith(k, v) => k.len() + v.len() + 15,
            Node::In(k, set) | Node::NotIn(k, set) => {
                k.len() + 10 + set.iter().map(|v| v.len() + 4).sum::<usize>()
            }
            Node::Not(inner) => 1 + inner.canonical_len_hint(),
            Node::And(ops) | Node::Or(ops) => {
                2 + ops
                    .iter()
                    .map(|n| n.canonical_len_hint() + 4)
                    .sum::<usize>()
            }
        }
    }

    pub(crate) fn contains_global(&self) -> bool {
        match self {
            Node::Global => true,
            Node::Not(inner) => inner.contains_global(),
            Node::And(ops) | Node::Or(ops) => ops.iter().any(Node::contains_global),
            _ => false,
        }
    }

    pub(crate) fn collect_labels<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::All | Node::Global => {}
            Node::Has(k)
            | Node::Eq(k, _)
            | Node::Ne(k, _)
            | Node::Contains(k, _)
            | Node::StartsWith(k, _)
            | Node::EndsWith(k, _)
            | Node::In(k, _)
            | Node::NotIn(k, _) => out.push(k),
            Node::Not(inner) => inner.collect_labels(out),
            Node::And(ops) | Node::Or(ops) => ops.iter().for_each(|n| n.collect_labels(out)),
        }
    }
}

/// Calico has no escapes, so a value is quoted with `"` unless it contains
/// one (it then cannot contain `'`, having been lexed from a `'…'` literal).
fn quote_for(value: &str) -> char {
    if value.contains('"') {
        '\''
    } else {
        '"'
    }
}

fn write_comparison<W: Write + ?Sized>(out: &mut W, k: &str, op: &str, v: &str) -> fmt::Result {
    let q = quote_for(v);
    out.write_str(k)?;
    out.write_str(op)?;
    out.write_char(q)?;
    out.write_str(v)?;
    out.write_char(q)
}

fn write_set<W: Write + ?Sized>(out: &mut W, k: &str, op: &str, set: &StrSet) -> fmt::Result {
    out.write_str(k)?;
    out.write_str(op)?;
    for (i, v) in set.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        let q = quote_for(v);
        out.write_char(q)?;
        out.write_str(v)?;
        out.write_char(q)?;
    }
    out.write_char('}')
}

fn write_chain<W: Write + ?Sized>(out: &mut W, operands: &[Node], sep: &str) -> fmt::Result {
    out.write_char('(')?;
    for (i, n) in operands.iter().enumerate() {
        if i > 0 {
            out.write_str(sep)?;
        }
        n.write_canonical(out)?;
    }
    out.write_char(')')
}
