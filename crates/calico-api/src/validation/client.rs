//! The checks Calico's client makes on create and update before it validates a resource, in
//! its words: fields only the `default` BGPConfiguration may set, the singleton names, and the
//! IPPool CIDR (which the client parses, and normalises, itself).

use crate::kinds::{bgp_configuration_default_only_fields, AnyResource};
use crate::validation::checks::is_strictly_masked;
use crate::validation::{ValidationError, Validator};

/// Why Calico's client refuses a resource before validating it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientRefusal {
    /// Field errors, printed as Calico's validation errors.
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// A plain message.
    #[error("{0}")]
    Message(String),
}

/// Calico's pre-validation checks for `resource` (create and update).
pub fn client_prechecks(resource: &AnyResource) -> Result<(), ClientRefusal> {
    match resource {
        AnyResource::BGPConfiguration(r) => {
            bgp_configuration_default_only_fields(&r.metadata.name, &r.spec)?;
        }
        AnyResource::KubeControllersConfiguration(r) if r.metadata.name != "default" => {
            return Err(ClientRefusal::Message(
                "Cannot create a Kube Controllers Configuration resource with a name other than \"default\""
                    .to_string(),
            ));
        }
        AnyResource::IPAMConfiguration(r) if r.metadata.name != "default" => {
            return Err(ClientRefusal::Message(
                "Cannot create an IPAMConfiguration resource with a name other than \"default\""
                    .to_string(),
            ));
        }
        AnyResource::IPPool(r) => ippool_cidr(&r.spec.cidr)?,
        _ => {}
    }
    Ok(())
}

/// The client's IPPool CIDR checks: present, a CIDR with a prefix length (Go's
/// `net.ParseCIDR`), and strictly masked (reported with the masked value, as the client
/// normalises the CIDR first).
fn ippool_cidr(cidr: &str) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    if cidr.is_empty() {
        v.go_no_value("IPPool.Spec.CIDR", "IPPool CIDR must be specified");
        return v.finish();
    }
    match crate::validation::checks::go_parse_cidr(cidr) {
        None => v.go(
            "IPPool.Spec.CIDR",
            cidr,
            "IPPool CIDR must be a valid subnet",
        ),
        Some(net) if !is_strictly_masked(&net) => v.go(
            "IPPool.Spec.CIDR",
            net.trunc(),
            "IPPool CIDR is not strictly masked",
        ),
        Some(_) => {}
    }
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ippool_cidr_in_the_clients_words() {
        assert_eq!(
            ippool_cidr("10.0.0.0/33").unwrap_err().to_string(),
            "error with field IPPool.Spec.CIDR = '10.0.0.0/33' (IPPool CIDR must be a valid subnet)"
        );
        assert_eq!(
            ippool_cidr("10.0.0.1/8").unwrap_err().to_string(),
            "error with field IPPool.Spec.CIDR = '10.0.0.0/8' (IPPool CIDR is not strictly masked)"
        );
        assert_eq!(
            ippool_cidr("").unwrap_err().to_string(),
            "error with field IPPool.Spec.CIDR (IPPool CIDR must be specified)"
        );
        assert!(ippool_cidr("10.0.0.0/8").is_ok());
    }
}
