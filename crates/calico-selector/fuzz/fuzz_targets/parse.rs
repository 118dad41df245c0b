//! Fuzz target: the selector parser must never panic, report errors inside
//! the input, and for anything it accepts the canonical form must re-parse to
//! an equal selector (a fixpoint) that evaluates identically.

#![no_main]

use std::collections::BTreeMap;

use calico_selector::{parse, Selector};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Arbitrary bytes become UTF-8 lossily; valid UTF-8 passes through as is.
    let input = String::from_utf8_lossy(data);
    check(&input);
});

fn check(input: &str) {
    let sel = match parse(input) {
        Ok(sel) => sel,
        Err(e) => {
            assert!(e.position <= input.len(), "position out of range: {e}");
            assert!(
                input.is_char_boundary(e.position),
                "position not on a char boundary: {e}"
            );
            return;
        }
    };
    let canonical = sel.canonical();
    let again = match parse(&canonical) {
        Ok(s) => s,
        Err(e) => panic!("canonical form {canonical:?} of {input:?} does not parse: {e}"),
    };
    assert_eq!(
        again, sel,
        "canonical {canonical:?} of {input:?} parses differently"
    );
    assert_eq!(
        again.canonical(),
        canonical,
        "canonical form is not a fixpoint"
    );
    assert_eq!(again.unique_id(), sel.unique_id());
    assert_eq!(sel.to_string(), canonical);

    for labels in label_maps(input, &sel) {
        assert_eq!(
            sel.evaluate(&labels),
            again.evaluate(&labels),
            "{input:?} and its canonical form {canonical:?} disagree on {labels:?}"
        );
    }
}

/// Label maps over the selector's own label names, with values taken from
/// string literals of the input (so that comparisons can succeed) and a few
/// fixed ones, rotated so that each map differs.
fn label_maps(input: &str, sel: &Selector) -> Vec<BTreeMap<String, String>> {
    let mut values: Vec<&str> = vec!["", "a", "x"];
    values.extend(
        input
            .split(['"', '\''])
            .skip(1)
            .step_by(2)
            .filter(|v| v.len() <= 32)
            .take(16),
    );
    let names = sel.label_names();
    let slots = values.len() + 1; // one more slot meaning "label absent"
    (0..6)
        .map(|round| {
            names
                .iter()
                .enumerate()
                .filter_map(|(i, name)| {
                    let pick = (round * 7 + i * 3 + round * i) % slots;
                    values
                        .get(pick)
                        .map(|v| ((*name).to_owned(), (*v).to_owned()))
                })
                .collect()
        })
        .collect()
}
