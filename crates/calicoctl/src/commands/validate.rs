//! `calicoctl validate -f FILE`: offline validation, no datastore and no configuration needed.

use crate::cli::FileArgs;
use crate::input::read_resources;
use crate::report::{summarise, Failure, Outcome};

pub fn run(args: &FileArgs) -> Result<String, Failure> {
    let Some(filename) = args.filename.as_deref() else {
        return Err(Failure::message(
            "failed to execute command: a file must be given with -f (use '-' for stdin)",
        ));
    };
    let entries = read_resources(filename, args.recursive, args.skip_empty)
        .map_err(|e| Failure::message(e.command_message()))?;
    let outcomes: Vec<Outcome> = entries
        .into_iter()
        .map(|mut entry| {
            entry.resource.apply_defaults();
            Outcome {
                kind: entry.resource.kind(),
                error: entry
                    .resource
                    .validate()
                    .err()
                    .map(|e| format!("{}: {e}", entry.origin)),
            }
        })
        .collect();
    summarise("validate", "validated", &outcomes)
}
