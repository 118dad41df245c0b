//! Kind-specific rules of Calico's client, applied around every write and read.

use calico_api::AnyResource;

use crate::client::Client;
use crate::codec::DEFAULT_ALLOW_PROFILE;
use crate::error::{DatastoreError, Result};
use crate::key::ResourceKey;

/// Checks and adjustments before a create (`creating`) or an update reaches the backend.
pub async fn before_write(_client: &Client, resource: &mut AnyResource, creating: bool) -> Result<()> {
    if resource.kind() == "Profile" && resource.metadata().name == DEFAULT_ALLOW_PROFILE {
        let operation = if creating { "create" } else { "update" };
        return Err(DatastoreError::OperationNotSupported {
            operation: operation.into(),
            identifier: ResourceKey::of(resource).to_string(),
            reason: Some(format!(
                "{DEFAULT_ALLOW_PROFILE} is a default provided by Calico and cannot be {operation}d"
            )),
        });
    }
    Ok(())
}

/// Checks before a delete.
pub async fn before_delete(_client: &Client, key: &ResourceKey) -> Result<()> {
    if key.kind.kind() == "Profile" && key.name == DEFAULT_ALLOW_PROFILE {
        return Err(DatastoreError::OperationNotSupported {
            operation: "delete".into(),
            identifier: key.to_string(),
            reason: Some(format!(
                "{DEFAULT_ALLOW_PROFILE} is a default provided by Calico and cannot be deleted"
            )),
        });
    }
    Ok(())
}

/// What the client does to every resource it returns.
pub fn after_read(resource: AnyResource) -> AnyResource {
    resource
}
