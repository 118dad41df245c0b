//! calicoctl's summary lines for commands that act on many resources.

use std::fmt::Display;

/// How a multi-resource command ended.
#[derive(Debug, Default)]
pub struct Failure {
    /// Printed to stdout before the error (e.g. a "Partial success" line).
    pub stdout: String,
    /// Printed to stderr.
    pub message: String,
}

impl Failure {
    pub fn message(message: impl Into<String>) -> Self {
        Failure {
            stdout: String::new(),
            message: message.into(),
        }
    }
}

/// The outcome of one resource.
pub struct Outcome {
    pub kind: &'static str,
    pub error: Option<String>,
}

/// Renders the summary of create/apply/validate in calicoctl's words.
///
/// `verb` is `create`, `apply` or `validate`; `past` its past tense.
pub fn summarise(verb: &str, past: &str, outcomes: &[Outcome]) -> Result<String, Failure> {
    if outcomes.is_empty() {
        return Ok("No resources specified\n".to_string());
    }
    let single_kind = outcomes
        .first()
        .map(|o| o.kind)
        .filter(|kind| outcomes.iter().all(|o| o.kind == *kind));
    let errors: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    let succeeded = outcomes.len() - errors.len();
    if errors.is_empty() {
        return Ok(match single_kind {
            Some(kind) => format!("Successfully {past} {succeeded} '{kind}' resource(s)\n"),
            None => format!("Successfully {past} {succeeded} resource(s)\n"),
        });
    }
    let listed = bracketed(&errors);
    if succeeded == 0 {
        let message = match (single_kind, outcomes.len()) {
            (Some(kind), 1) => format!("failed to {verb} '{kind}' resource: {listed}"),
            (Some(kind), _) => format!("failed to {verb} any '{kind}' resources: {listed}"),
            (None, _) => format!("failed to {verb} any resources: {listed}"),
        };
        return Err(Failure::message(message));
    }
    // calicoctl prints the "Partial success" line only when the successes outnumber the
    // failures (it tests `NumHandled - len(ResErrs) > 0` with NumHandled the successes).
    if succeeded <= errors.len() {
        return Err(Failure::message(format!("hit error: {listed}")));
    }
    let stdout = match single_kind {
        Some(kind) => format!(
            "Partial success: {past} the first {succeeded} out of {} '{kind}' resources:\n",
            outcomes.len()
        ),
        None => format!(
            "Partial success: {past} the first {succeeded} out of {} resources:\n",
            outcomes.len()
        ),
    };
    Err(Failure {
        stdout,
        message: format!("hit error: {listed}"),
    })
}

/// Go's `%v` of a slice of errors: `[err1 err2]`.
fn bracketed<T: Display>(items: &[T]) -> String {
    let joined: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", joined.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: &'static str) -> Outcome {
        Outcome { kind, error: None }
    }

    fn bad(kind: &'static str, e: &str) -> Outcome {
        Outcome {
            kind,
            error: Some(e.to_string()),
        }
    }

    #[test]
    fn summaries_match_calicoctl() {
        assert_eq!(
            summarise("validate", "validated", &[ok("IPPool"), ok("IPPool")]).ok(),
            Some("Successfully validated 2 'IPPool' resource(s)\n".to_string())
        );
        assert_eq!(
            summarise("create", "created", &[ok("IPPool"), ok("Tier")]).ok(),
            Some("Successfully created 2 resource(s)\n".to_string())
        );
        let one = summarise("create", "created", &[bad("IPPool", "e1")]).unwrap_err();
        assert_eq!(one.message, "failed to create 'IPPool' resource: [e1]");
        let many =
            summarise("apply", "applied", &[bad("Tier", "e1"), bad("Tier", "e2")]).unwrap_err();
        assert_eq!(
            many.message,
            "failed to apply any 'Tier' resources: [e1 e2]"
        );
        let partial = summarise(
            "create",
            "created",
            &[ok("Tier"), ok("Tier"), bad("IPPool", "e")],
        )
        .unwrap_err();
        assert_eq!(
            partial.stdout,
            "Partial success: created the first 2 out of 3 resources:\n"
        );
        assert_eq!(partial.message, "hit error: [e]");
        let even = summarise("create", "created", &[ok("Tier"), bad("IPPool", "e")]).unwrap_err();
        assert_eq!(even.stdout, "");
        assert_eq!(even.message, "hit error: [e]");
        assert_eq!(
            summarise("create", "created", &[]).ok(),
            Some("No resources specified\n".to_string())
        );
    }
}
