//! HostEndpoint: a host's interface (or all of its interfaces, `*`) that policy applies to.

use serde::{Deserialize, Serialize};

use crate::numorstring::Protocol;
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::{checks, Validator};

/// `spec` of a HostEndpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostEndpointSpec {
    /// The Calico node this endpoint belongs to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// `*` (every interface of the host) or one interface; may be empty when `expectedIPs` is set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_name: String,
    /// The endpoint's addresses (bare IPs of either family).
    #[serde(rename = "expectedIPs", default, skip_serializing_if = "Vec::is_empty")]
    pub expected_ips: Vec<String>,
    /// Profiles applied after policy, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Named ports that policy rules may refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
}

/// A named port of a HostEndpoint. All three fields are always written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPort {
    #[serde(default)]
    pub name: String,
    #[serde(default = "zero_protocol")]
    pub protocol: Protocol,
    #[serde(default)]
    pub port: u16,
}

impl Default for EndpointPort {
    fn default() -> Self {
        EndpointPort {
            name: String::new(),
            protocol: zero_protocol(),
            port: 0,
        }
    }
}

/// Go's zero `numorstring.Protocol` (written as `0`), what a missing `protocol` decodes to.
pub(crate) fn zero_protocol() -> Protocol {
    Protocol::Num(0)
}

pub type HostEndpoint = Resource<HostEndpointSpec>;

/// The CEL rules of the HostEndpoint CRD.
pub const MSG_INTERFACE_OR_IPS: &str =
    "at least one of interfaceName or expectedIPs must be specified";
pub const MSG_NODE_REQUIRED: &str = "node must be specified";

/// The checks shared by HostEndpoint and WorkloadEndpoint ports: a port-capable protocol (the
/// reason names the port type, as Calico's messages do) and a non-zero port number.
/// `EndpointPort`: the port name tag, the protocol, the port's `gt=0` tag, then Calico's check
/// that the protocol has ports.
pub(crate) fn validate_endpoint_port_go(v: &mut Validator, port_type: &str, port: &EndpointPort) {
    checks::port_name(v, "Name", &port.name);
    checks::protocol(v, &port.protocol);
    if port.port == 0 {
        v.go_tag("Port", port.port, "gt");
    }
    if !port.protocol.supports_ports() {
        v.go(
            format!("{port_type}.Protocol"),
            &port.protocol,
            format!("{port_type} protocol does not support ports."),
        );
    }
}

/// The `name` tag on each profile (`Profiles[i]`).
pub(crate) fn validate_profiles(v: &mut Validator, profiles: &[String]) {
    for (i, profile) in profiles.iter().enumerate() {
        checks::name_tag(v, &format!("Profiles[{i}]"), profile);
    }
}

/// Calico's checks in its order: the Go tags of the fields, the CRD schema, then its CEL rules.
fn validate_spec(v: &mut Validator, spec: &HostEndpointSpec) {
    if !spec.node.is_empty() {
        checks::name_tag(v, "Node", &spec.node);
    }
    if !spec.interface_name.is_empty() {
        checks::interface_name(v, "InterfaceName", &spec.interface_name);
    }
    for (i, ip) in spec.expected_ips.iter().enumerate() {
        checks::ip(v, &format!("ExpectedIPs[{i}]"), ip);
    }
    validate_profiles(v, &spec.profiles);
    for port in &spec.ports {
        validate_endpoint_port_go(v, "EndpointPort", port);
    }
    v.field("interfaceName", |v| {
        checks::schema_max_length(v, &spec.interface_name, 15)
    });
    v.field("node", |v| checks::schema_max_length(v, &spec.node, 253));
    v.each("ports", &spec.ports, |v, port| {
        v.field("port", |v| {
            checks::schema_range(v, i64::from(port.port), Some(1), Some(65535))
        });
    });
    if spec.interface_name.is_empty() && spec.expected_ips.is_empty() {
        v.cel(MSG_INTERFACE_OR_IPS);
    }
    if spec.node.is_empty() {
        v.cel(MSG_NODE_REQUIRED);
    }
}

impl Kind for HostEndpointSpec {
    const KIND: &'static str = "HostEndpoint";
    const PLURAL: &'static str = "hostendpoints";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_spec(v, &resource.spec));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{assert_unknown_field, decode_as, pair, problems, round_trip};
    use serde_json::json;

    fn calico_written() -> serde_json::Value {
        json!({
            "kind": "HostEndpoint",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {
                "name": "node1-eth0",
                "uid": "5e1c7f5a-8b9d-4c1e-a0f2-3b4c5d6e7f80",
                "resourceVersion": "1234",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"environment": "production", "role": "ingress"}
            },
            "spec": {
                "node": "node1",
                "interfaceName": "eth0",
                "expectedIPs": ["192.0.2.10", "2001:db8::10"],
                "profiles": ["projectcalico-default-allow", "edge"],
                "ports": [
                    {"name": "https", "protocol": "TCP", "port": 443},
                    {"name": "dns", "protocol": 17, "port": 53}
                ]
            }
        })
    }

    #[test]
    fn round_trips_calico_json() -> Result<(), Box<dyn std::error::Error>> {
        round_trip(&calico_written()).validate()?;
        Ok(())
    }

    #[test]
    fn minimal_document_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let original = json!({
            "kind": "HostEndpoint",
            "apiVersion": "projectcalico.org/v3",
            "metadata": {"name": "h"},
            "spec": {"node": "n", "interfaceName": "*"}
        });
        round_trip(&original).validate()?;
        Ok(())
    }

    #[test]
    fn writes_go_field_order() -> Result<(), Box<dyn std::error::Error>> {
        let mut hep = HostEndpoint::new(
            "h",
            HostEndpointSpec {
                node: "n".into(),
                interface_name: "eth0".into(),
                expected_ips: vec!["10.0.0.1".into()],
                profiles: vec!["p".into()],
                ports: vec![EndpointPort {
                    name: "http".into(),
                    protocol: Protocol::Str("TCP".into()),
                    port: 80,
                }],
            },
        );
        hep.metadata.labels.insert("a".into(), "b".into());
        assert_eq!(
            serde_json::to_string(&hep)?,
            r#"{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"h","labels":{"a":"b"}},"spec":{"node":"n","interfaceName":"eth0","expectedIPs":["10.0.0.1"],"profiles":["p"],"ports":[{"name":"http","protocol":"TCP","port":80}]}}"#
        );
        Ok(())
    }

    #[test]
    fn zero_port_fields_are_written() -> Result<(), Box<dyn std::error::Error>> {
        let mut doc = calico_written();
        doc["spec"]["ports"] = json!([{}]);
        let hep: HostEndpoint = decode_as(doc);
        let written = serde_json::to_value(&hep)?;
        assert_eq!(
            written["spec"]["ports"],
            json!([{"name": "", "protocol": 0, "port": 0}])
        );
        Ok(())
    }

    #[test]
    fn unknown_field_names_its_path() {
        let mut doc = calico_written();
        doc["spec"]["ports"][1]["hostPort"] = json!(53);
        assert_unknown_field(doc, "spec.ports[1].hostPort");
    }

    #[test]
    fn no_defaults() {
        let mut hep: HostEndpoint = decode_as(calico_written());
        let before = hep.clone();
        hep.apply_defaults();
        assert_eq!(hep, before);
    }

    #[test]
    fn cel_rules_report_at_spec() {
        let hep = HostEndpoint::new("h", HostEndpointSpec::default());
        assert_eq!(
            problems(&hep),
            [
                pair("spec", MSG_INTERFACE_OR_IPS),
                pair("spec", MSG_NODE_REQUIRED)
            ]
        );
        // Expected IPs alone are enough.
        let hep = HostEndpoint::new(
            "h",
            HostEndpointSpec {
                node: "n".into(),
                expected_ips: vec!["10.0.0.1".into()],
                ..Default::default()
            },
        );
        assert_eq!(problems(&hep), []);
    }
}
