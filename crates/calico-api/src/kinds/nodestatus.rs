//! CalicoNodeStatus: asks calico-node on one node to report agent, BGP and route status, which
//! it writes into `status`.

use serde::{Deserialize, Serialize};

use crate::meta::Time;
use crate::resource::{Always, Kind, Resource, Scope};
use crate::validation::{checks, Validator};

/// `spec` of a CalicoNodeStatus.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeStatusSpec {
    /// The node whose calico-node reports.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// What to report: `Agent`, `BGP` and/or `Routes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Seconds between updates (0 disables them, at most a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_period_seconds: Option<u32>,
}

/// `status` of a CalicoNodeStatus (a Go struct value: always written, with its nested structs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeStatusStatus {
    /// Written as `null` until the first report (Go's zero `metav1.Time`).
    #[serde(default)]
    pub last_updated: Option<Time>,
    #[serde(default)]
    pub agent: CalicoNodeAgentStatus,
    #[serde(default)]
    pub bgp: CalicoNodeBgpStatus,
    #[serde(default)]
    pub routes: CalicoNodeBgpRouteStatus,
}

/// The BIRD daemons' status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeAgentStatus {
    #[serde(rename = "birdV4", default)]
    pub bird_v4: BgpDaemonStatus,
    #[serde(rename = "birdV6", default)]
    pub bird_v6: BgpDaemonStatus,
}

/// One BGP daemon's status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BgpDaemonStatus {
    /// `Ready` or `NotReady`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
    pub router_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_boot_time: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_reconfiguration_time: String,
}

/// BGP session counts and peers; the counts are always written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeBgpStatus {
    #[serde(rename = "numberEstablishedV4", default)]
    pub number_established_v4: i64,
    #[serde(rename = "numberNotEstablishedV4", default)]
    pub number_not_established_v4: i64,
    #[serde(rename = "numberEstablishedV6", default)]
    pub number_established_v6: i64,
    #[serde(rename = "numberNotEstablishedV6", default)]
    pub number_not_established_v6: i64,
    #[serde(rename = "peersV4", default, skip_serializing_if = "Vec::is_empty")]
    pub peers_v4: Vec<CalicoNodePeer>,
    #[serde(rename = "peersV6", default, skip_serializing_if = "Vec::is_empty")]
    pub peers_v6: Vec<CalicoNodePeer>,
}

/// One BGP peer's session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodePeer {
    #[serde(rename = "peerIP", default, skip_serializing_if = "String::is_empty")]
    pub peer_ip: String,
    /// `NodeMesh`, `NodePeer` or `GlobalPeer`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    /// The BGP session state (`Idle` … `Established`, `Close`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub since: String,
}

/// The routes BIRD knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeBgpRouteStatus {
    #[serde(rename = "routesV4", default, skip_serializing_if = "Vec::is_empty")]
    pub routes_v4: Vec<CalicoNodeRoute>,
    #[serde(rename = "routesV6", default, skip_serializing_if = "Vec::is_empty")]
    pub routes_v6: Vec<CalicoNodeRoute>,
}

/// One route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeRoute {
    /// `FIB` or `RIB`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub r#type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    /// Always written (a Go struct value).
    #[serde(default)]
    pub learned_from: CalicoNodeRouteLearnedFrom,
}

/// Where a route came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalicoNodeRouteLearnedFrom {
    /// `Kernel`, `Static`, `Direct`, `NodeMesh` or `BGPPeer`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_type: String,
    #[serde(rename = "peerIP", default, skip_serializing_if = "String::is_empty")]
    pub peer_ip: String,
}

pub type CalicoNodeStatus = Resource<CalicoNodeStatusSpec>;

const CLASSES: &[&str] = &["Agent", "BGP", "Routes"];
const MAX_UPDATE_PERIOD_SECONDS: i64 = 86400;

impl Kind for CalicoNodeStatusSpec {
    const KIND: &'static str = "CalicoNodeStatus";
    const PLURAL: &'static str = "caliconodestatuses";
    const SCOPE: Scope = Scope::Cluster;
    type Status = Always<CalicoNodeStatusStatus>;

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        v.field("spec", |v| validate_spec(v, &resource.spec));
        v.field("status", |v| validate_status(v, &resource.status.0));
    }
}

/// Go tags: `node` required and a resource name, `classes` required and unique (CRD: each one
/// of the three classes), `updatePeriodSeconds` required and at most a day.
fn validate_spec(v: &mut Validator, spec: &CalicoNodeStatusSpec) {
    if spec.node.is_empty() {
        v.field("node", |v| v.error_no_value("must be specified"));
    } else if !checks::matches_name_pattern(&spec.node) {
        v.error_at(
            "node",
            &spec.node,
            "name must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character",
        );
    }
    if spec.classes.is_empty() {
        v.field("classes", |v| v.error_no_value("must be specified"));
    }
    v.field("classes", |v| {
        for (i, class) in spec.classes.iter().enumerate() {
            v.index(i, |v| {
                checks::one_of(v, class, CLASSES);
                if spec.classes[..i].contains(class) {
                    v.error(class, "duplicate value");
                }
            });
        }
    });
    match spec.update_period_seconds {
        None => v.field("updatePeriodSeconds", |v| {
            v.error_no_value("must be specified")
        }),
        Some(period) => v.field("updatePeriodSeconds", |v| {
            checks::in_range(v, i64::from(period), 0, MAX_UPDATE_PERIOD_SECONDS)
        }),
    }
}

/// The CRD enums of the status (calico-node writes it; the schema still applies).
fn validate_status(v: &mut Validator, status: &CalicoNodeStatusStatus) {
    v.field("agent", |v| {
        for (name, daemon) in [
            ("birdV4", &status.agent.bird_v4),
            ("birdV6", &status.agent.bird_v6),
        ] {
            if !daemon.state.is_empty() {
                v.field(name, |v| {
                    v.field("state", |v| {
                        checks::one_of(v, &daemon.state, &["Ready", "NotReady"])
                    })
                });
            }
        }
    });
    v.field("bgp", |v| {
        for (name, peers) in [
            ("peersV4", &status.bgp.peers_v4),
            ("peersV6", &status.bgp.peers_v6),
        ] {
            v.each(name, peers, validate_peer);
        }
    });
    v.field("routes", |v| {
        for (name, routes) in [
            ("routesV4", &status.routes.routes_v4),
            ("routesV6", &status.routes.routes_v6),
        ] {
            v.each(name, routes, validate_route);
        }
    });
}

fn validate_peer(v: &mut Validator, peer: &CalicoNodePeer) {
    optional_one_of(
        v,
        "type",
        &peer.r#type,
        &["NodeMesh", "NodePeer", "GlobalPeer"],
    );
    optional_one_of(
        v,
        "state",
        &peer.state,
        &[
            "Idle",
            "Connect",
            "Active",
            "OpenSent",
            "OpenConfirm",
            "Established",
            "Close",
        ],
    );
}

fn validate_route(v: &mut Validator, route: &CalicoNodeRoute) {
    optional_one_of(v, "type", &route.r#type, &["FIB", "RIB"]);
    v.field("learnedFrom", |v| {
        optional_one_of(
            v,
            "sourceType",
            &route.learned_from.source_type,
            &["Kernel", "Static", "Direct", "NodeMesh", "BGPPeer"],
        )
    });
}

fn optional_one_of(v: &mut Validator, name: &'static str, value: &str, allowed: &[&str]) {
    if !value.is_empty() {
        v.field(name, |v| checks::one_of(v, value, allowed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::test_support::{
        assert_unknown_field, decode_as, named_doc, round_trip_bytes,
    };
    use serde_json::{json, Value};

    const FULL: &str = concat!(
        r#"{"kind":"CalicoNodeStatus","apiVersion":"projectcalico.org/v3","#,
        r#""metadata":{"name":"worker-1-status","uid":"0c9e8d7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f","#,
        r#""resourceVersion":"99120","creationTimestamp":"2026-01-05T10:00:00Z"},"#,
        r#""spec":{"node":"worker-1","classes":["Agent","BGP","Routes"],"updatePeriodSeconds":10},"#,
        r#""status":{"lastUpdated":"2026-01-05T10:05:00Z","#,
        r#""agent":{"birdV4":{"state":"Ready","version":"v0.3.3+birdv1.6.8","routerID":"10.0.0.11","#,
        r#""lastBootTime":"2026-01-05 09:58:01","lastReconfigurationTime":"2026-01-05 10:01:12"},"#,
        r#""birdV6":{"state":"NotReady"}},"#,
        r#""bgp":{"numberEstablishedV4":1,"numberNotEstablishedV4":1,"numberEstablishedV6":0,"#,
        r#""numberNotEstablishedV6":0,"peersV4":[{"peerIP":"10.0.0.12","type":"NodeMesh","#,
        r#""state":"Established","since":"09:58:05"},{"peerIP":"192.0.2.1","type":"GlobalPeer","#,
        r#""state":"Active","since":"09:58:05"}],"peersV6":[{"peerIP":"fd00::1","type":"NodePeer","#,
        r#""state":"Idle","since":"09:58:05"}]},"#,
        r#""routes":{"routesV4":[{"type":"FIB","destination":"10.244.1.0/26","gateway":"10.0.0.12","#,
        r#""interface":"eth0","learnedFrom":{"sourceType":"NodeMesh","peerIP":"10.0.0.12"}},"#,
        r#"{"type":"RIB","destination":"10.244.0.0/26","gateway":"N/A","interface":"blackhole","#,
        r#""learnedFrom":{"sourceType":"Static"}}],"routesV6":[{"type":"FIB","#,
        r#""destination":"fd00:10::/122","gateway":"fd00::12","interface":"eth0","#,
        r#""learnedFrom":{"sourceType":"BGPPeer","peerIP":"fd00::12"}}]}}}"#
    );

    /// What Go writes for a fresh resource: the status structs are values, so all appear.
    const MINIMAL: &str = concat!(
        r#"{"kind":"CalicoNodeStatus","apiVersion":"projectcalico.org/v3","#,
        r#""metadata":{"name":"s"},"#,
        r#""spec":{"node":"n","classes":["BGP"],"updatePeriodSeconds":0},"#,
        r#""status":{"lastUpdated":null,"agent":{"birdV4":{},"birdV6":{}},"#,
        r#""bgp":{"numberEstablishedV4":0,"numberNotEstablishedV4":0,"numberEstablishedV6":0,"#,
        r#""numberNotEstablishedV6":0},"routes":{}}}"#
    );

    #[test]
    fn full_document_round_trips_byte_for_byte() {
        let cns: CalicoNodeStatus = round_trip_bytes(FULL);
        cns.validate().unwrap();
    }

    #[test]
    fn minimal_document_writes_every_status_struct() {
        round_trip_bytes::<CalicoNodeStatusSpec>(MINIMAL);
        let bare: CalicoNodeStatus = decode_as(named_doc(
            "CalicoNodeStatus",
            "s",
            json!({"node": "n", "classes": ["BGP"], "updatePeriodSeconds": 0}),
        ));
        assert_eq!(serde_json::to_string(&bare).unwrap(), MINIMAL);
        bare.validate().unwrap();
    }

    #[test]
    fn unknown_nested_field_names_its_path() {
        let mut doc: Value = serde_json::from_str(FULL).unwrap();
        doc["status"]["routes"]["routesV4"][1]["learnedFrom"]["asPath"] = json!("x");
        assert_unknown_field(doc, "status.routes.routesV4[1].learnedFrom.asPath");
    }

    #[test]
    fn no_defaults() {
        let mut cns: CalicoNodeStatus = decode_as(serde_json::from_str(MINIMAL).unwrap());
        let before = cns.clone();
        cns.apply_defaults();
        assert_eq!(cns, before);
    }
}
