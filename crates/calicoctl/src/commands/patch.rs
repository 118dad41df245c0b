//! `calicoctl patch KIND NAME -p '<json>'`.
//!
//! calicoctl accepts `--type` but always applies a strategic merge patch against the Go type;
//! Calico's types carry no patch strategies, so that is an RFC 7386 JSON merge patch (objects
//! merged, lists replaced, `null` deletes), which is what we apply.

use calico_datastore::ResourceKey;

use crate::cli::PatchArgs;
use crate::clientmgr::Connection;
use crate::commands::namespace_for;
use crate::registry;
use crate::report::Failure;

fn hit(err: impl std::fmt::Display) -> Failure {
    Failure::message(format!("hit error: {err}"))
}

pub async fn run(args: &PatchArgs, connection: &Connection) -> Result<String, Failure> {
    let kind = registry::resolve_kind(&args.kind)
        .ok_or_else(|| hit(format!("resource type '{}' is not supported", args.kind)))?;
    if args.name.is_empty() {
        return Err(Failure::message("resource name may not be empty"));
    }
    let namespace = namespace_for(kind, &args.conn.namespace, false)
        .map_err(hit)?
        .unwrap_or_default();
    let key = ResourceKey::new(kind, namespace, args.name.clone());
    let patch: serde_json::Value = serde_json::from_str(&args.patch)
        .map_err(|e| hit(format!("performing strategic merge patch: {e}")))?;
    let stored = connection.client.get(&key).await.map_err(hit)?;
    let mut document = stored
        .to_json_value()
        .map_err(|e| hit(format!("performing strategic merge patch: {e}")))?;
    json_patch::merge(&mut document, &patch);
    let mut patched = calico_api::decode_value(document)
        .map_err(|e| hit(format!("creating resource from patched data: {e}")))?;
    // Fields a newer Calico stored that our types do not know are written back untouched.
    patched.set_unknown(stored.unknown().clone());
    // The write is conditional on the version that was patched.
    patched.metadata_mut().resource_version = stored.metadata().resource_version.clone();
    connection
        .client
        .update(patched)
        .await
        .map_err(|e| hit(format!("updating existing resource: {e}")))?;
    Ok(format!(
        "Successfully patched 1 '{}' resource\n",
        kind.kind()
    ))
}
