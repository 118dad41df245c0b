//! Manifests calicoctl refuses, and exactly what Calico's own calicoctl printed for each.
//!
//! `tests/decode_goldens/` holds each input and the exit code, stdout and stderr that Calico's
//! calicoctl (built from the reference snapshot) gave for `calicoctl validate -f <input>` run in
//! that folder: Go's decoder and YAML reader texts (`json: cannot unmarshal ...`, duplicate
//! keys, unknown fields, empty documents). Ours must print the same bytes.

mod common;

use std::fs;
use std::path::Path;

fn is_input(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "json")
    )
}

#[test]
fn refusals_read_as_calicos() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/decode_goldens");
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| is_input(p))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 30, "goldens missing in {}", dir.display());
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let expected = |ext: &str| fs::read_to_string(dir.join(format!("{name}.{ext}"))).unwrap();
        let output = common::bare(&std::env::temp_dir())
            .current_dir(&dir)
            .args(["validate", "-f", &name])
            .output()
            .unwrap();
        let got_rc = format!("{}\n", output.status.code().unwrap_or(-1));
        let got_out = String::from_utf8_lossy(&output.stdout);
        let got_err = String::from_utf8_lossy(&output.stderr);
        if got_rc != expected("rc")
            || got_out != expected("stdout")
            || got_err != expected("stderr")
        {
            failures.push(format!(
                "{name}:\n  expected rc {} stdout {:?} stderr {:?}\n  got      rc {} stdout {:?} stderr {:?}",
                expected("rc").trim(),
                expected("stdout"),
                expected("stderr"),
                got_rc.trim(),
                got_out,
                got_err
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
