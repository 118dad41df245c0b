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
#[derive(Debug, Default)]
pub struct Outcome {
    pub kind: &'static str,
    /// Calico's text of the failure, `None` when the resource was handled.
    pub error: Option<String>,
    /// How a grouped report names the resource (e.g. `IPPool(pool-1)`); empty: its kind.
    pub name: String,
    /// What failures are grouped by: the failure without the resource's own name (`None`:
    /// the whole text).
    pub cause: Option<String>,
    /// The write was sent but its outcome could not be learnt (the connection failed and the
    /// datastore could not be read back): the resource may or may not be stored.
    pub unknown: bool,
}

/// Up to this many failures are reported as calicoctl reports them (one bracketed list);
/// more are grouped by cause. Calico's own tests and outputs never have more than a handful.
pub const GROUP_ABOVE: usize = 10;

/// How many resources each grouped line names.
const NAMES_PER_CAUSE: usize = 3;

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
    if errors.len() > GROUP_ABOVE {
        return Err(grouped(verb, past, single_kind, outcomes));
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

/// The report of many failures: calicoctl's first words, then one line per distinct cause with
/// a count and the first few resources. The "Partial success" line's N is the length of the
/// longest run of handled resources from the start of the input, so "the first N" is true.
fn grouped(verb: &str, past: &str, single_kind: Option<&str>, outcomes: &[Outcome]) -> Failure {
    let total = outcomes.len();
    let prefix = outcomes.iter().take_while(|o| o.error.is_none()).count();
    let succeeded = outcomes.iter().filter(|o| o.error.is_none()).count();
    let unknown = outcomes.iter().filter(|o| o.unknown).count();
    let failed = total - succeeded - unknown;
    let what = match single_kind {
        Some(kind) => format!("'{kind}' resources"),
        None => "resources".to_string(),
    };
    let mut summary = format!(
        "{} of {} {what} {past}",
        thousands(succeeded),
        thousands(total)
    );
    if failed > 0 {
        summary.push_str(&format!(", {} failed", thousands(failed)));
    }
    if unknown > 0 {
        summary.push_str(&format!(
            ", {} not known whether {past} (replies lost)",
            thousands(unknown)
        ));
    }
    let mut message = if succeeded == 0 {
        format!("failed to {verb} any {what}: {summary}:")
    } else {
        format!("hit error: {summary}:")
    };
    message.push_str(&cause_lines(single_kind, outcomes));
    let stdout = if prefix > 0 {
        format!(
            "Partial success: {past} the first {} out of {} {what}:\n",
            prefix, total
        )
    } else {
        String::new()
    };
    Failure { stdout, message }
}

/// One line per distinct cause of the failed `outcomes` (each starting with a newline): the
/// count, the cause, and the first few resources.
pub fn cause_lines(single_kind: Option<&str>, outcomes: &[Outcome]) -> String {
    // (unknown, cause) → names, in the order the causes first appear.
    let mut causes: Vec<((bool, &str), Vec<String>)> = Vec::new();
    for outcome in outcomes {
        let Some(error) = outcome.error.as_deref() else {
            continue;
        };
        let cause = (outcome.unknown, outcome.cause.as_deref().unwrap_or(error));
        // With one kind, the kind need not be repeated: `Kind(name)` becomes `name`.
        let name = match (single_kind, outcome.name.as_str()) {
            (_, "") => outcome.kind.to_string(),
            (Some(kind), name) => name
                .strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix('('))
                .and_then(|rest| rest.strip_suffix(')'))
                .unwrap_or(name)
                .to_string(),
            (None, name) => name.to_string(),
        };
        match causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, names)) => names.push(name),
            None => causes.push((cause, vec![name])),
        }
    }
    let mut message = String::new();
    for ((unknown, cause), names) in &causes {
        let count = names.len();
        let noun = if count == 1 { "resource" } else { "resources" };
        let status = if *unknown {
            ", not known whether stored"
        } else {
            ""
        };
        let mut listed = names
            .iter()
            .take(NAMES_PER_CAUSE)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if count > NAMES_PER_CAUSE {
            listed.push_str(&format!(" and {} more", thousands(count - NAMES_PER_CAUSE)));
        }
        message.push_str(&format!(
            "\n  {} {noun}{status}: {cause} ({listed})",
            thousands(count)
        ));
    }
    message
}

/// A count with thousands separators: `1,116`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
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
        Outcome {
            kind,
            ..Outcome::default()
        }
    }

    fn bad(kind: &'static str, e: &str) -> Outcome {
        Outcome {
            kind,
            error: Some(e.to_string()),
            ..Outcome::default()
        }
    }

    fn failed(name: &str, cause: &str, unknown: bool) -> Outcome {
        Outcome {
            kind: "GlobalNetworkSet",
            error: Some(format!("{cause}: {name}")),
            name: format!("GlobalNetworkSet({name})"),
            cause: Some(cause.to_string()),
            unknown,
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1116), "1,116");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn ten_failures_are_reported_as_calicoctl_reports_them() {
        let mut outcomes: Vec<Outcome> = (0..11).map(|_| ok("GlobalNetworkSet")).collect();
        outcomes.extend((0..GROUP_ABOVE).map(|i| bad("GlobalNetworkSet", &format!("e{i}"))));
        let report = summarise("apply", "applied", &outcomes).unwrap_err();
        assert_eq!(
            report.stdout,
            "Partial success: applied the first 11 out of 21 'GlobalNetworkSet' resources:\n"
        );
        assert_eq!(report.message, "hit error: [e0 e1 e2 e3 e4 e5 e6 e7 e8 e9]");
    }

    #[test]
    fn many_failures_are_grouped_by_cause_with_a_true_prefix() {
        let mut outcomes = vec![ok("GlobalNetworkSet"), ok("GlobalNetworkSet")];
        outcomes.push(failed("s2", "etcd down", false));
        outcomes.push(ok("GlobalNetworkSet"));
        outcomes.extend((3..1119).map(|i| failed(&format!("s{i}"), "etcd down", false)));
        outcomes.push(failed("u1", "connection reset", true));
        outcomes.push(failed("u2", "connection reset", true));
        let report = summarise("apply", "applied", &outcomes).unwrap_err();
        // Only the first two are a run from the start: the fourth was applied, the third not.
        assert_eq!(
            report.stdout,
            "Partial success: applied the first 2 out of 1122 'GlobalNetworkSet' resources:\n"
        );
        assert_eq!(
            report.message,
            "hit error: 3 of 1,122 'GlobalNetworkSet' resources applied, 1,117 failed, 2 not known \
             whether applied (replies lost):\n  \
             1,117 resources: etcd down (s2, s3, s4 and 1,114 more)\n  \
             2 resources, not known whether stored: connection reset (u1, u2)"
        );
        let none: Vec<Outcome> = (0..20)
            .map(|i| failed(&format!("s{i}"), "down", false))
            .collect();
        let report = summarise("create", "created", &none).unwrap_err();
        assert_eq!(report.stdout, "");
        assert_eq!(
            report.message,
            "failed to create any 'GlobalNetworkSet' resources: 0 of 20 'GlobalNetworkSet' \
             resources created, 20 failed:\n  20 resources: down (s0, s1, s2 and 17 more)"
        );
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
