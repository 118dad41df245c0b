//! Property tests.
//!
//! Random selectors are generated as a small independent model (with its own
//! evaluator), printed with random spacing, quoting and operator spellings, and
//! then checked against the parser:
//! 1. they parse; the canonical form re-parses to an equal selector and is a
//!    fixpoint;
//! 2. the parsed selector, and the one re-parsed from its canonical form, agree
//!    with the model's evaluation over random label maps;
//! 3. arbitrary strings and random soups of selector tokens never make the
//!    parser panic, and errors point inside the input.

use std::collections::BTreeMap;

use calico_selector::{parse, Selector};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::FileFailurePersistence;

#[derive(Clone, Copy, Debug)]
enum Cmp {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Debug)]
enum Model {
    Has(String),
    All,
    Global,
    Cmp(Cmp, String, String),
    Set {
        negated: bool,
        label: String,
        values: Vec<String>,
    },
    /// A run of 1–3 `!`s.
    Not(usize, Box<Model>),
    And(Vec<Model>),
    Or(Vec<Model>),
    Paren(Box<Model>),
}

impl Model {
    fn eval(&self, labels: &BTreeMap<String, String>) -> bool {
        let get = |k: &str| labels.get(k).map(String::as_str);
        match self {
            Model::Has(k) => get(k).is_some(),
            Model::All | Model::Global => true,
            Model::Cmp(op, k, v) => match (op, get(k)) {
                (Cmp::Ne, None) => true,
                (_, None) => false,
                (Cmp::Eq, Some(x)) => x == v,
                (Cmp::Ne, Some(x)) => x != v,
                (Cmp::Contains, Some(x)) => x.contains(v.as_str()),
                (Cmp::StartsWith, Some(x)) => x.starts_with(v.as_str()),
                (Cmp::EndsWith, Some(x)) => x.ends_with(v.as_str()),
            },
            Model::Set {
                negated,
                label,
                values,
            } => {
                let member = get(label).is_some_and(|x| values.iter().any(|v| v == x));
                if *negated {
                    get(label).is_none() || !member
                } else {
                    member
                }
            }
            Model::Not(bangs, inner) => (bangs % 2 == 1) != inner.eval(labels),
            Model::And(ops) => ops.iter().all(|m| m.eval(labels)),
            Model::Or(ops) => ops.iter().any(|m| m.eval(labels)),
            Model::Paren(inner) => inner.eval(labels),
        }
    }

    /// Can be printed after `!` without parentheses.
    fn is_operation(&self) -> bool {
        !matches!(self, Model::And(_) | Model::Or(_))
    }
}

/// Deterministic stream of style choices drawn by the strategy.
struct Style {
    bytes: Vec<u8>,
    next: usize,
}

impl Style {
    fn pick(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.next % self.bytes.len().max(1)).copied();
        self.next += 1;
        usize::from(b.unwrap_or(0)) % n
    }

    /// Optional whitespace.
    fn ws(&mut self) -> &'static str {
        ["", "", " ", "\t", "  "][self.pick(5)]
    }

    /// Mandatory whitespace (between a label and a word operator).
    fn ws1(&mut self) -> &'static str {
        [" ", "\t", " \t "][self.pick(3)]
    }

    fn quote(&mut self, v: &str) -> String {
        let q = if v.contains('"') {
            '\''
        } else if v.contains('\'') || self.pick(2) == 0 {
            '"'
        } else {
            '\''
        };
        format!("{q}{v}{q}")
    }
}

fn print(m: &Model, st: &mut Style, out: &mut String) {
    match m {
        Model::Has(k) => {
            let (a, b) = (st.ws(), st.ws());
            out.push_str(&format!("has({a}{k}{b})"));
        }
        Model::All => out.push_str(&format!("all({})", st.ws())),
        Model::Global => out.push_str(&format!("global({})", st.ws())),
        Model::Cmp(op, k, v) => {
            out.push_str(k);
            let spelling = match op {
                Cmp::Eq => "==",
                Cmp::Ne => "!=",
                Cmp::Contains => "contains",
                Cmp::StartsWith => ["starts with", "startswith", "starts \t with"][st.pick(3)],
                Cmp::EndsWith => ["ends with", "endswith", "ends  with"][st.pick(3)],
            };
            let before = if matches!(op, Cmp::Eq | Cmp::Ne) {
                st.ws()
            } else {
                st.ws1()
            };
            out.push_str(before);
            out.push_str(spelling);
            out.push_str(st.ws());
            let quoted = st.quote(v);
            out.push_str(&quoted);
        }
        Model::Set {
            negated,
            label,
            values,
        } => {
            out.push_str(label);
            out.push_str(st.ws1());
            let op = if *negated {
                ["not in", "notin", "not\tin"][st.pick(3)]
            } else {
                "in"
            };
            out.push_str(op);
            out.push_str(st.ws());
            out.push('{');
            for (i, v) in values.iter().enumerate() {
                out.push_str(st.ws());
                if i > 0 {
                    out.push(',');
                    out.push_str(st.ws());
                }
                let quoted = st.quote(v);
                out.push_str(&quoted);
            }
            out.push_str(st.ws());
            out.push('}');
        }
        Model::Not(bangs, inner) => {
            for _ in 0..*bangs {
                out.push('!');
                out.push_str(st.ws());
            }
            if inner.is_operation() {
                print(inner, st, out);
            } else {
                out.push('(');
                print(inner, st, out);
                out.push(')');
            }
        }
        Model::And(ops) | Model::Or(ops) => {
            let sep = if matches!(m, Model::And(_)) {
                "&&"
            } else {
                "||"
            };
            for (i, op) in ops.iter().enumerate() {
                if i > 0 {
                    out.push_str(st.ws());
                    out.push_str(sep);
                    out.push_str(st.ws());
                }
                // `||` inside `&&` needs grouping to keep its meaning.
                if matches!(m, Model::And(_)) && matches!(op, Model::Or(_)) {
                    out.push('(');
                    print(op, st, out);
                    out.push(')');
                } else {
                    print(op, st, out);
                }
            }
        }
        Model::Paren(inner) => {
            out.push('(');
            out.push_str(st.ws());
            print(inner, st, out);
            out.push_str(st.ws());
            out.push(')');
        }
    }
}

const LABELS: &[&str] = &["a", "b", "app", "k8s.io/role", "x_y-z"];
const VALUES: &[&str] = &["", "x", "y", "xy", "\"", "'", "é", "x y"];

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(LABELS).prop_map(str::to_owned),
        1 => "[a-zA-Z0-9_./-]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(VALUES).prop_map(str::to_owned),
        1 => "[a-z\"' é&|(){}!=,\t\n]{0,5}".prop_map(|v| {
            // No escapes exist, so a value cannot contain both quote kinds.
            if v.contains('"') { v.replace('\'', "") } else { v }
        }),
    ]
}

fn cmp() -> impl Strategy<Value = Cmp> {
    select(
        &[
            Cmp::Eq,
            Cmp::Ne,
            Cmp::Contains,
            Cmp::StartsWith,
            Cmp::EndsWith,
        ][..],
    )
}

fn model() -> impl Strategy<Value = Model> {
    let leaf = prop_oneof![
        2 => label().prop_map(Model::Has),
        1 => Just(Model::All),
        1 => Just(Model::Global),
        5 => (cmp(), label(), value()).prop_map(|(op, k, v)| Model::Cmp(op, k, v)),
        3 => (any::<bool>(), label(), prop::collection::vec(value(), 0..5)).prop_map(
            |(negated, label, values)| Model::Set {
                negated,
                label,
                values
            }
        ),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            (1usize..=3, inner.clone()).prop_map(|(n, m)| Model::Not(n, Box::new(m))),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Model::And),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Model::Or),
            inner.prop_map(|m| Model::Paren(Box::new(m))),
        ]
    })
}

fn label_maps() -> impl Strategy<Value = Vec<BTreeMap<String, String>>> {
    let pair = (
        select(LABELS).prop_map(str::to_owned),
        select(VALUES).prop_map(str::to_owned),
    );
    prop::collection::vec(prop::collection::btree_map(pair.0, pair.1, 0..5), 1..8)
}

fn printed() -> impl Strategy<Value = (Model, String)> {
    (model(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(m, bytes)| {
        let mut st = Style { bytes, next: 0 };
        let mut s = String::from(st.ws());
        print(&m, &mut st, &mut s);
        s.push_str(st.ws());
        (m, s)
    })
}

/// Checks every parse outcome: no panic, errors inside the input, and the
/// canonical form of anything accepted round-trips.
fn check_outcome(input: &str) -> Result<Option<Selector>, TestCaseError> {
    match parse(input) {
        Ok(sel) => {
            let canonical = sel.canonical();
            let again = parse(&canonical)
                .map_err(|e| TestCaseError::fail(format!("canonical {canonical:?}: {e}")))?;
            prop_assert_eq!(&again, &sel);
            prop_assert_eq!(again.canonical(), canonical);
            Ok(Some(sel))
        }
        Err(e) => {
            prop_assert!(e.position <= input.len(), "{e}");
            prop_assert!(input.is_char_boundary(e.position), "{e}");
            prop_assert!(e.message.starts_with("invalid selector "), "{e}");
            Ok(None)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // Integration tests have no lib.rs beside them for the default policy.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn generated_selectors_round_trip((m, s) in printed()) {
        let sel = parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        let canonical = sel.canonical();
        let reparsed = parse(&canonical)
            .map_err(|e| TestCaseError::fail(format!("canonical {canonical:?}: {e}")))?;
        prop_assert_eq!(&reparsed, &sel, "input {:?} model {:?}", s, m);
        prop_assert_eq!(reparsed.canonical(), canonical.clone());
        prop_assert_eq!(reparsed.unique_id(), sel.unique_id());
        prop_assert_eq!(sel.to_string(), canonical);
    }

    #[test]
    fn evaluation_matches_model((m, s) in printed(), maps in label_maps()) {
        let sel = parse(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        let reparsed = parse(&sel.canonical())
            .map_err(|e| TestCaseError::fail(format!("canonical of {s:?}: {e}")))?;
        for labels in &maps {
            let expected = m.eval(labels);
            prop_assert_eq!(sel.evaluate(labels), expected, "{:?} on {:?}", s, labels);
            prop_assert_eq!(reparsed.evaluate(labels), expected);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_outcome(&s)?;
    }

    #[test]
    fn token_soup_never_panics(
        parts in prop::collection::vec(select(&[
            "(", ")", "{", "}", ",", "==", "!=", "!", "&&", "||", "=", "&", "|",
            "in", "not", "not in", "notin", "contains", "starts", "with", "ends",
            "startswith", "has(", "has(a)", "all(", "all()", "global(", "global()",
            "a", "b", "'x'", "\"y\"", "'", "\"", " ", "\t", "\n", "é", "%",
        ][..]), 0..24),
    ) {
        let s: String = parts.concat();
        check_outcome(&s)?;
    }

    /// Mutating valid selectors (dropping or duplicating a byte range) hits
    /// error paths deep inside otherwise well-formed input.
    #[test]
    fn mutated_selectors_never_panic((_, s) in printed(), cut in any::<prop::sample::Index>(), len in 0usize..4, dup in any::<bool>()) {
        let bytes = s.as_bytes();
        let start = cut.index(bytes.len() + 1);
        let end = (start + len).min(bytes.len());
        let mut mutated = bytes[..start].to_vec();
        if dup {
            mutated.extend_from_slice(&bytes[start..end]);
            mutated.extend_from_slice(&bytes[start..]);
        } else {
            mutated.extend_from_slice(&bytes[end..]);
        }
        let mutated = String::from_utf8_lossy(&mutated);
        check_outcome(&mutated)?;
    }
}
