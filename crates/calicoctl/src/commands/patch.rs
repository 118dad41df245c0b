//! `calicoctl patch KIND NAME -p '<json>'`.
//!
//! As calicoctl does: read the stored resource, apply the patch to it as a Kubernetes strategic
//! merge patch ([`smp`]), decode the result and update it. The update is conditional on the
//! `metadata.resourceVersion` of the patched object, which is the stored one unless the patch
//! sets another: a patch carrying a stale version is refused as an update conflict.

mod smp;

use calico_datastore::ResourceKey;

use crate::cli::PatchArgs;
use crate::clientmgr::Connection;
use crate::commands::namespace_for;
use crate::registry;
use crate::report::Failure;

fn hit(err: impl std::fmt::Display) -> Failure {
    Failure::message(format!("hit error: {err}"))
}

/// calicoctl rewrites any error naming an unknown field into this text (its `MassageError`).
fn decode_failure(err: &calico_api::DecodeError) -> Failure {
    match err {
        calico_api::DecodeError::UnknownField { field, .. } => Failure::message(format!(
            "field in document is not recognized or is in the wrong location: {field}"
        )),
        other => hit(format!("creating resource from patched data: {other}")),
    }
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
    let stored = connection.client.get(&key).await.map_err(hit)?;
    let patch: serde_json::Value = serde_json::from_str(&args.patch)
        .map_err(|_| hit("performing strategic merge patch: invalid JSON document"))?;
    let document = stored
        .to_json_value()
        .map_err(|e| hit(format!("performing strategic merge patch: {e}")))?;
    let document = smp::apply(document, patch)
        .map_err(|e| hit(format!("performing strategic merge patch: {e}")))?;
    let mut patched = calico_api::decode_value(document).map_err(|e| decode_failure(&e))?;
    if patched.kind() != kind.kind() {
        // Calico's calicoctl panics here; a clear error instead.
        return Err(hit(format!(
            "creating resource from patched data: the patch changes the kind from {} to {}",
            kind.kind(),
            patched.kind()
        )));
    }
    // Fields a newer Calico stored that our types do not know are written back untouched.
    patched.set_unknown(stored.unknown().clone());
    // The update is conditional on the patched object's resourceVersion, as calicoctl's is.
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
