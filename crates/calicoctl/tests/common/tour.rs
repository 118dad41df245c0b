//! The README's five-minute tour, as steps (shared by the embedded and etcd runs).

use std::path::PathBuf;

use assert_cmd::Command;

/// One `$ calicoctl …` line of the tour and the output shown under it.
pub struct Step {
    pub args: Vec<String>,
    pub expected: String,
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tour_steps() -> Vec<Step> {
    readme_steps("tour")
}

/// The `$ calicoctl …` steps of the README's block between `<!-- NAME -->` and `<!-- /NAME -->`.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub fn readme_steps(name: &str) -> Vec<Step> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("<!-- {name} -->"))
        .expect("block start marker");
    let end = readme
        .find(&format!("<!-- /{name} -->"))
        .expect("block end marker");
    let block = &readme[start..end];
    let body = block
        .split_once("```\n")
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.rsplit_once("```"))
        .map(|(inner, _)| inner)
        .expect("fenced block in the tour");
    let mut steps: Vec<Step> = Vec::new();
    for line in body.split_inclusive('\n') {
        if let Some(command) = line.strip_prefix("$ calicoctl ") {
            let args = shell_words::split(command.trim_end()).unwrap();
            steps.push(Step {
                args,
                expected: String::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push_str(line);
        }
    }
    // The README separates steps with one blank line, which is not part of the output.
    for step in &mut steps {
        if step.expected.ends_with("\n\n") {
            step.expected.pop();
        } else if step.expected == "\n" {
            step.expected.clear();
        }
    }
    steps
}

/// Runs every step with calicoctl commands from `calicoctl` and compares the output.
pub fn run(calicoctl: impl FnMut() -> Command) {
    run_normalized(calicoctl, str::to_string)
}

/// [`run`], comparing `normalize(output)` with the tour's text.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub fn run_normalized(mut calicoctl: impl FnMut() -> Command, normalize: impl Fn(&str) -> String) {
    let steps = tour_steps();
    assert!(steps.len() >= 10, "the tour has {} steps", steps.len());
    for step in steps {
        let output = calicoctl()
            .current_dir(repo_root())
            .args(&step.args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "calicoctl {:?} failed: {}{}",
            step.args,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            normalize(&stdout),
            step.expected,
            "output of calicoctl {:?}",
            step.args
        );
    }
}
