//! `calicoctl label KIND NAME key=value | key [--overwrite] [--remove]`.

use calico_datastore::ResourceKey;

use crate::cli::LabelArgs;
use crate::clientmgr::Connection;
use crate::commands::namespace_for;
use crate::registry;
use crate::report::Failure;

pub async fn run(args: &LabelArgs, connection: &Connection) -> Result<String, Failure> {
    let (word, name) = (&args.kind, &args.name);
    // calicoctl reads the label argument first, then looks the resource up; a failed lookup
    // reads "failed to get ...", a missing resource or a refused namespace "... not found".
    let (key_name, value) = if args.remove {
        (args.label.clone(), None)
    } else {
        match args.label.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => return Err(Failure::message(format!("invalid label {}", args.label))),
        }
    };
    let kind = registry::resolve_kind(word).ok_or_else(|| {
        Failure::message(format!(
            "failed to get {word} {name}, error resource type '{word}' is not supported"
        ))
    })?;
    if name.is_empty() {
        return Err(Failure::message(format!(
            "failed to get {word} {name}, error resource name may not be empty"
        )));
    }
    let namespace = namespace_for(kind, &args.conn.namespace, false)
        .map_err(|_| Failure::message(format!("{word} {name} not found")))?
        .unwrap_or_default();
    let key = ResourceKey::new(kind, namespace, name.clone());
    let mut resource = match connection.client.get(&key).await {
        Ok(resource) => resource,
        Err(err) if err.is_not_found() => {
            return Err(Failure::message(format!("{word} {name} not found")))
        }
        Err(err) => {
            return Err(Failure::message(format!(
                "failed to get {word} {name}, error {err}"
            )))
        }
    };
    let labels = &mut resource.metadata_mut().labels;
    let message = match value {
        None => {
            if labels.remove(&key_name).is_none() {
                return Err(Failure::message(format!(
                    "cannot remove label of {word} {name}, key {key_name} does not exist"
                )));
            }
            format!("Successfully removed label {key_name} from {word} {name}\n")
        }
        Some(value) => match labels.get(&key_name) {
            Some(existing) if *existing != value && !args.overwrite => {
                return Err(Failure::message(format!(
                    "failed to update label of {word} {name}, key {key_name} is already present. please use '--overwrite' to set a new value"
                )));
            }
            Some(_) => {
                labels.insert(key_name.clone(), value);
                format!("Successfully updated label {key_name} on {word} {name}\n")
            }
            None => {
                labels.insert(key_name.clone(), value);
                format!("Successfully set label {key_name} on {word} {name}\n")
            }
        },
    };
    crate::resources::replace(&connection.client, resource)
        .await
        .map_err(|_| {
            Failure::message(format!("failed to update {word} {name}, label not changed"))
        })?;
    Ok(message)
}
