//! `edit KIND NAME` (ours, kubectl's): the resource as `get -o yaml` prints it, opened in
//! `$VISUAL`, `$EDITOR` or `vi`; saved, it is written as `replace` writes it, guarded by the
//! resourceVersion it was read at (a change meanwhile is reported as a conflict). A file that
//! does not parse or is refused is opened again with the error in a comment header, as kubectl
//! does; an unchanged or emptied file cancels.

use calico_api::AnyResource;
use calico_datastore::{DatastoreError, ResourceKey};

use crate::cli::EditArgs;
use crate::clientmgr::Connection;
use crate::output::{self, GetResult};
use crate::registry;
use crate::report::Failure;
use crate::resources;

const HEADER: &str = "\
# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
";

const CANCELLED: &str = "Edit cancelled, no changes made.\n";

/// The editor command: `$VISUAL`, then `$EDITOR`, then `vi`.
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// Writes `text` under the header (and the error, when there is one), runs the editor on it
/// and returns what was saved, comment lines left out.
fn edit_once(text: &str, error: Option<&str>) -> Result<String, Failure> {
    let io = |what: &str, e: std::io::Error| Failure::message(format!("failed to {what}: {e}"));
    let file = tempfile::Builder::new()
        .prefix("calicoctl-edit-")
        .suffix(".yaml")
        .tempfile()
        .map_err(|e| io("create a temporary file", e))?;
    let mut contents = HEADER.to_string();
    if let Some(error) = error {
        for line in error.lines() {
            contents.push_str(&format!("# {line}\n"));
        }
        contents.push_str("#\n");
    }
    contents.push_str(text);
    std::fs::write(file.path(), contents).map_err(|e| io("write the temporary file", e))?;
    // The editor is a shell command (it may carry arguments), run on the file as `$1`.
    let editor = editor();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .map_err(|e| io(&format!("run the editor {editor:?}"), e))?;
    if !status.success() {
        return Err(Failure::message(format!(
            "the editor {editor:?} failed: {status}"
        )));
    }
    let saved = std::fs::read_to_string(file.path()).map_err(|e| io("read the edited file", e))?;
    Ok(saved
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect())
}

/// The one resource in the edited text, which must still be the one edited.
fn parse(text: &str, key: &ResourceKey) -> Result<AnyResource, String> {
    let entries =
        calico_manifest::read_manifest("edited file", text).map_err(|e| e.command_message())?;
    let [entry] = entries.as_slice() else {
        return Err("the edited file must hold exactly one resource".to_string());
    };
    let mut resource = entry.resource.clone();
    if resource.info().is_namespaced() && resource.metadata().namespace.is_empty() {
        resource.metadata_mut().namespace = key.namespace.clone();
    }
    if ResourceKey::of(&resource) != *key {
        return Err(format!(
            "the kind, name and namespace cannot be changed: {key} became {}",
            ResourceKey::of(&resource)
        ));
    }
    Ok(resource)
}

pub async fn run(args: &EditArgs, connection: &Connection) -> Result<String, Failure> {
    let kind = registry::resolve_kind(&args.kind).ok_or_else(|| {
        Failure::message(format!("resource type '{}' is not supported", args.kind))
    })?;
    let namespace = crate::commands::namespace_for(kind, &args.conn.namespace, false)
        .map_err(Failure::message)?
        .unwrap_or_default();
    let key = ResourceKey::new(kind, namespace, args.name.clone());
    let stored = connection
        .client
        .get(&key)
        .await
        .map_err(|e| Failure::message(e.to_string()))?;
    let original =
        output::yaml(&[GetResult::Object(stored)]).map_err(|e| Failure::message(e.to_string()))?;
    let mut text = original.clone();
    let mut error: Option<String> = None;
    loop {
        let edited = edit_once(&text, error.as_deref())?;
        if edited.trim().is_empty() || (error.is_none() && edited == original) {
            return Ok(CANCELLED.to_string());
        }
        if error.is_some() && edited == text {
            return Err(Failure::message(format!(
                "Edit cancelled, no valid changes were saved.\nerror: {}",
                error.unwrap_or_default()
            )));
        }
        text = edited;
        let outcome = match parse(&text, &key) {
            Ok(resource) => resources::replace(&connection.client, resource)
                .await
                .map_err(|e| match e {
                    // Someone else changed it meanwhile: reported, not reopened.
                    conflict @ DatastoreError::UpdateConflict { .. } => Err(conflict),
                    other => Ok(other.to_string()),
                }),
            Err(message) => Err(Ok(message)),
        };
        match outcome {
            Ok(_) => {
                return Ok(format!(
                    "{}.projectcalico.org/{} edited\n",
                    kind.kind().to_lowercase(),
                    key.name
                ))
            }
            Err(Err(conflict)) => {
                return Err(Failure::message(format!(
                    "failed to edit {key}: {conflict}"
                )))
            }
            Err(Ok(message)) => error = Some(message),
        }
    }
}
