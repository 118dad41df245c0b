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
        .map_err(super::crud::input_failure)?;
    let outcomes: Vec<Outcome> = entries
        .into_iter()
        .map(|mut entry| {
            // Calico validates the resource as written, with only its CRD schema defaults
            // applied, after calicoctl's namespace check.
            calico_api::validation::schema_defaults::apply_schema_defaults(&mut entry.resource);
            let resource = &entry.resource;
            let namespace_error = (!resource.info().is_namespaced()
                && !resource.metadata().namespace.is_empty())
            .then(|| {
                format!(
                    "namespace should not be specified for a non-namespaced resource. {} is not \
                     a namespaced resource",
                    resource.kind()
                )
            });
            Outcome {
                kind: resource.kind(),
                // Calico's words only, as its calicoctl prints them.
                error: namespace_error.or_else(|| resource.validate().err().map(|e| e.to_string())),
                ..Outcome::default()
            }
        })
        .collect();
    summarise("validate", "validated", &outcomes)
}
