//! Parse and evaluate throughput for representative selectors.
//!
//! Run with `cargo bench -p calico-selector`; figures are recorded in
//! docs/benchmarks-selector.md.

use std::collections::BTreeMap;
use std::hint::black_box;

use calico_selector::{parse, Selector};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The "typical" selector: three terms of different kinds.
const TYPICAL: &str = r#"app == "web" && tier in {"a","b","c"} && !has(deprecated)"#;

fn labels(n: usize, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = (0..n)
        .map(|i| (format!("label-{i:02}"), format!("value-{i:02}")))
        .collect();
    for (k, v) in extra {
        m.insert(k.to_string(), v.to_string());
    }
    m
}

/// Twenty terms mixing every operator, all true for `twenty_labels()` so that
/// evaluation visits every term (no short-circuit).
fn twenty_terms() -> String {
    let mut terms = Vec::new();
    for i in 0..20 {
        let t = match i % 7 {
            0 => format!(r#"l{i} == "v{i}""#),
            1 => format!(r#"l{i} != "other""#),
            2 => format!("has(l{i})"),
            3 => format!(r#"l{i} in {{"a", "v{i}", "z"}}"#),
            4 => format!(r#"l{i} not in {{"a", "b"}}"#),
            5 => format!(r#"l{i} starts with "v""#),
            _ => format!(r#"l{i} contains "{i}""#),
        };
        terms.push(t);
    }
    terms.join(" && ")
}

fn twenty_labels() -> BTreeMap<String, String> {
    (0..20)
        .map(|i| (format!("l{i}"), format!("v{i}")))
        .collect()
}

fn hundred_set() -> String {
    let values: Vec<String> = (0..100).map(|i| format!(r#""value-{i:03}""#)).collect();
    format!("x in {{{}}}", values.join(", "))
}

fn bench_case(c: &mut Criterion, name: &str, input: &str, labels: &BTreeMap<String, String>) {
    let sel: Selector = match parse(input) {
        Ok(s) => s,
        Err(e) => panic!("benchmark selector does not parse: {e}"),
    };
    assert!(
        sel.evaluate(labels),
        "{name}: benchmark labels should match"
    );

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| b.iter(|| parse(black_box(input))));
    group.bench_function("evaluate", |b| {
        b.iter(|| black_box(&sel).evaluate(black_box(labels)))
    });
    group.finish();
}

/// The floor for the typical selector: the three label lookups it must do,
/// with nothing else.  Evaluation cost above this is the selector's own.
fn bench_lookup_floor(c: &mut Criterion, labels: &BTreeMap<String, String>) {
    let mut group = c.benchmark_group("typical_3_terms");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_3_btreemap_gets", |b| {
        b.iter(|| {
            let m = black_box(labels);
            (
                m.get(black_box("app")).is_some(),
                m.get(black_box("tier")).is_some(),
                m.get(black_box("deprecated")).is_some(),
            )
        })
    });
    // The same labels as a plain vector of pairs: for ~10 labels a linear scan
    // (length check first) beats the B-tree's string comparisons.
    let sel = parse(TYPICAL).unwrap_or_else(|e| panic!("{e}"));
    let pairs: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert!(sel.evaluate(&pairs));
    group.bench_function("evaluate_vec_of_pairs", |b| {
        b.iter(|| black_box(&sel).evaluate(black_box(&pairs)))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let typical_labels = labels(8, &[("app", "web"), ("tier", "b")]);
    bench_case(c, "typical_3_terms", TYPICAL, &typical_labels);
    bench_lookup_floor(c, &typical_labels);
    bench_case(c, "twenty_terms", &twenty_terms(), &twenty_labels());
    bench_case(
        c,
        "in_set_100",
        &hundred_set(),
        &labels(9, &[("x", "value-077")]),
    );
}

criterion_group!(selector, benches);
criterion_main!(selector);
