//! WorkloadEndpoint names: Calico derives them from the spec's identifiers, so a name can be
//! computed (when omitted) and must otherwise match.
//!
//! The name is four segments joined by `-`, each segment with its own `-` doubled so the
//! segments can be split apart again:
//! - `k8s`: `<node>-k8s-<pod>-<endpoint>`
//! - `cni`: `<node>-cni-<containerID>-<endpoint>`
//! - `libnetwork`: `<node>-libnetwork-libnetwork-<endpoint>`
//! - any other orchestrator: `<node>-<orchestrator>-<workload>-<endpoint>`

use super::WorkloadEndpointSpec;

/// The orchestrator of Kubernetes pods.
pub const ORCHESTRATOR_K8S: &str = "k8s";
/// Workloads created through the CNI plugin without Kubernetes.
pub const ORCHESTRATOR_CNI: &str = "cni";
/// Docker libnetwork workloads.
pub const ORCHESTRATOR_LIBNETWORK: &str = "libnetwork";
/// OpenStack workloads.
pub const ORCHESTRATOR_OPENSTACK: &str = "openstack";

/// Why a name could not be computed: the spec field at fault (its JSON name), its value and
/// Calico's reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("error with field {field} = '{value}' ({reason})")]
pub struct WorkloadEndpointNameError {
    pub field: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// The spec fields a WorkloadEndpoint name is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadEndpointIdentifiers<'a> {
    pub node: &'a str,
    pub orchestrator: &'a str,
    pub endpoint: &'a str,
    pub workload: &'a str,
    pub pod: &'a str,
    pub container_id: &'a str,
}

#[derive(Clone, Copy)]
struct Segment<'a> {
    field: &'static str,
    value: &'a str,
}

impl<'a> WorkloadEndpointIdentifiers<'a> {
    /// The identifiers held by a spec.
    pub fn from_spec(spec: &'a WorkloadEndpointSpec) -> Self {
        WorkloadEndpointIdentifiers {
            node: &spec.node,
            orchestrator: &spec.orchestrator,
            endpoint: &spec.endpoint,
            workload: &spec.workload,
            pod: &spec.pod,
            container_id: &spec.container_id,
        }
    }

    /// The full name; every segment the orchestrator needs must be set.
    pub fn name(&self) -> Result<String, WorkloadEndpointNameError> {
        self.build(false)
    }

    /// The name, or when a segment is missing the prefix up to it ending in `-` (used to list
    /// the endpoints of a node, or of a pod). The node is still required.
    pub fn name_prefix(&self) -> Result<String, WorkloadEndpointNameError> {
        self.build(true)
    }

    fn segments(&self) -> Result<[Segment<'a>; 4], WorkloadEndpointNameError> {
        let node = Segment {
            field: "node",
            value: self.node,
        };
        if node.value.is_empty() {
            return Err(unassigned(node));
        }
        let orchestrator = Segment {
            field: "orchestrator",
            value: self.orchestrator,
        };
        let third = match self.orchestrator {
            ORCHESTRATOR_K8S => Segment {
                field: "pod",
                value: self.pod,
            },
            ORCHESTRATOR_CNI => Segment {
                field: "containerID",
                value: self.container_id,
            },
            ORCHESTRATOR_LIBNETWORK => orchestrator,
            _ => Segment {
                field: "workload",
                value: self.workload,
            },
        };
        let endpoint = Segment {
            field: "endpoint",
            value: self.endpoint,
        };
        Ok([node, orchestrator, third, endpoint])
    }

    fn build(&self, allow_prefix: bool) -> Result<String, WorkloadEndpointNameError> {
        let mut parts = Vec::with_capacity(4);
        for segment in self.segments()? {
            if segment.value.is_empty() {
                if !allow_prefix {
                    return Err(unassigned(segment));
                }
                return Ok(parts.join("-") + "-");
            }
            parts.push(escape_dashes(segment)?);
        }
        Ok(parts.join("-"))
    }
}

fn unassigned(segment: Segment<'_>) -> WorkloadEndpointNameError {
    WorkloadEndpointNameError {
        field: segment.field,
        value: segment.value.to_string(),
        reason: "field should be assigned",
    }
}

fn escape_dashes(segment: Segment<'_>) -> Result<String, WorkloadEndpointNameError> {
    let reason = if segment.value.starts_with('-') {
        "field must not begin with a '-'"
    } else if segment.value.ends_with('-') {
        "field must not end with a '-'"
    } else {
        return Ok(segment.value.replace('-', "--"));
    };
    Err(WorkloadEndpointNameError {
        field: segment.field,
        value: segment.value.to_string(),
        reason,
    })
}

/// The name Calico requires for a WorkloadEndpoint with this spec.
pub fn workload_endpoint_name(
    spec: &WorkloadEndpointSpec,
) -> Result<String, WorkloadEndpointNameError> {
    WorkloadEndpointIdentifiers::from_spec(spec).name()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        ids: WorkloadEndpointIdentifiers<'static>,
        expected: Result<&'static str, (&'static str, &'static str, &'static str)>,
    }

    fn ids(
        node: &'static str,
        orchestrator: &'static str,
        third: &'static str,
        endpoint: &'static str,
    ) -> WorkloadEndpointIdentifiers<'static> {
        // The third segment goes to every candidate field: only the orchestrator's one counts.
        WorkloadEndpointIdentifiers {
            node,
            orchestrator,
            endpoint,
            workload: third,
            pod: third,
            container_id: third,
        }
    }

    #[test]
    fn name_table() {
        let cases = [
            Case {
                ids: ids("node1", "k8s", "web-0", "eth0"),
                expected: Ok("node1-k8s-web--0-eth0"),
            },
            Case {
                ids: ids("node1", "cni", "8f3a9c0de1b2", "eth0"),
                expected: Ok("node1-cni-8f3a9c0de1b2-eth0"),
            },
            Case {
                ids: ids("node1", "libnetwork", "ignored", "ep-1"),
                expected: Ok("node1-libnetwork-libnetwork-ep--1"),
            },
            Case {
                ids: ids("compute-01", "openstack", "vm-7f2e", "tap-1a"),
                expected: Ok("compute--01-openstack-vm--7f2e-tap--1a"),
            },
            Case {
                ids: ids("a-b-c", "k8s", "d--e", "f"),
                expected: Ok("a--b--c-k8s-d----e-f"),
            },
            Case {
                ids: ids("", "k8s", "pod", "eth0"),
                expected: Err(("node", "", "field should be assigned")),
            },
            Case {
                ids: ids("node1", "", "w", "eth0"),
                expected: Err(("orchestrator", "", "field should be assigned")),
            },
            Case {
                ids: ids("node1", "k8s", "", "eth0"),
                expected: Err(("pod", "", "field should be assigned")),
            },
            Case {
                ids: ids("node1", "cni", "", "eth0"),
                expected: Err(("containerID", "", "field should be assigned")),
            },
            Case {
                ids: ids("node1", "openstack", "", "eth0"),
                expected: Err(("workload", "", "field should be assigned")),
            },
            Case {
                ids: ids("node1", "k8s", "pod", ""),
                expected: Err(("endpoint", "", "field should be assigned")),
            },
            Case {
                ids: ids("-node1", "k8s", "pod", "eth0"),
                expected: Err(("node", "-node1", "field must not begin with a '-'")),
            },
            Case {
                ids: ids("node1", "k8s", "pod-", "eth0"),
                expected: Err(("pod", "pod-", "field must not end with a '-'")),
            },
        ];
        for case in cases {
            let got = case.ids.name();
            match case.expected {
                Ok(name) => assert_eq!(got.as_deref(), Ok(name), "{:?}", case.ids),
                Err((field, value, reason)) => assert_eq!(
                    got,
                    Err(WorkloadEndpointNameError {
                        field,
                        value: value.into(),
                        reason
                    }),
                    "{:?}",
                    case.ids
                ),
            }
        }
    }

    #[test]
    fn prefixes_stop_at_the_first_missing_segment() {
        assert_eq!(
            ids("node1", "k8s", "", "").name_prefix().as_deref(),
            Ok("node1-k8s-")
        );
        assert_eq!(
            ids("node1", "", "", "").name_prefix().as_deref(),
            Ok("node1-")
        );
        assert_eq!(
            ids("node-1", "k8s", "web", "eth0").name_prefix().as_deref(),
            Ok("node--1-k8s-web-eth0")
        );
        assert_eq!(
            ids("", "k8s", "", "").name_prefix().map_err(|e| e.field),
            Err("node")
        );
    }

    #[test]
    fn error_renders_like_calico() {
        let err = ids("", "k8s", "p", "e").name().unwrap_err();
        assert_eq!(
            err.to_string(),
            "error with field node = '' (field should be assigned)"
        );
    }
}
