//! The network configuration Calico's CNI plugins read from stdin (`types.NetConf`): its Go
//! shape, for Go's type errors on any field, and the settings the IPAM plugin uses.

use crate::gojson::{self, GoStruct, GoType, Value};

const STRING: GoType = GoType::String;
const STRINGS: GoType = GoType::Slice(&STRING, "[]string");

const IPAM: GoStruct = GoStruct {
    name: "",
    type_string: "struct { Name string; Type string \"json:\\\"type\\\"\"; Subnet string \"json:\\\"subnet\\\"\"; AssignIpv4 *string \"json:\\\"assign_ipv4\\\"\"; AssignIpv6 *string \"json:\\\"assign_ipv6\\\"\"; IPv4Pools []string \"json:\\\"ipv4_pools,omitempty\\\"\"; IPv6Pools []string \"json:\\\"ipv6_pools,omitempty\\\"\" }",
    fields: &[
        ("Name", STRING),
        ("type", STRING),
        ("subnet", STRING),
        ("assign_ipv4", GoType::Ptr(&STRING)),
        ("assign_ipv6", GoType::Ptr(&STRING)),
        ("ipv4_pools", STRINGS),
        ("ipv6_pools", STRINGS),
    ],
};

const LABEL: GoStruct = GoStruct {
    name: "",
    type_string: "struct { Key string \"json:\\\"key\\\"\"; Value string \"json:\\\"value\\\"\" }",
    fields: &[("key", STRING), ("value", STRING)],
};

const LABELS: GoStruct = GoStruct {
    name: "",
    type_string: "struct { Labels []struct { Key string \"json:\\\"key\\\"\"; Value string \"json:\\\"value\\\"\" } \"json:\\\"labels,omitempty\\\"\" }",
    fields: &[(
        "labels",
        GoType::Slice(
            &GoType::Struct(&LABEL),
            "[]struct { Key string \"json:\\\"key\\\"\"; Value string \"json:\\\"value\\\"\" }",
        ),
    )],
};

const NETWORK_INFO: GoStruct = GoStruct {
    name: "NetworkInfo",
    type_string: "types.NetworkInfo",
    fields: &[("name", STRING), ("labels", GoType::Struct(&LABELS))],
};

const MESOS: GoStruct = GoStruct {
    name: "Mesos",
    type_string: "types.Mesos",
    fields: &[("network_info", GoType::Struct(&NETWORK_INFO))],
};

const ARGS: GoStruct = GoStruct {
    name: "Args",
    type_string: "types.Args",
    fields: &[("org.apache.mesos", GoType::Struct(&MESOS))],
};

const POLICY_FIELDS: &[(&str, GoType)] = &[
    ("type", STRING),
    ("k8s_api_root", STRING),
    ("k8s_auth_token", STRING),
    ("k8s_client_certificate", STRING),
    ("k8s_client_key", STRING),
    ("k8s_certificate_authority", STRING),
];

const POLICY: GoStruct = GoStruct {
    name: "Policy",
    type_string: "types.Policy",
    fields: POLICY_FIELDS,
};

const KUBERNETES_FIELDS: &[(&str, GoType)] = &[
    ("k8s_api_root", STRING),
    ("kubeconfig", STRING),
    ("node_name", STRING),
];

const KUBERNETES: GoStruct = GoStruct {
    name: "Kubernetes",
    type_string: "types.Kubernetes",
    fields: KUBERNETES_FIELDS,
};

const FEATURE_CONTROL: GoStruct = GoStruct {
    name: "FeatureControl",
    type_string: "types.FeatureControl",
    fields: &[
        ("ip_addrs_no_ipam", GoType::Bool),
        ("floating_ips", GoType::Bool),
    ],
};

const CONTAINER_SETTINGS: GoStruct = GoStruct {
    name: "ContainerSettings",
    type_string: "types.ContainerSettings",
    fields: &[("allow_ip_forwarding", GoType::Bool)],
};

const RUNTIME_CONFIG_DNS: GoStruct = GoStruct {
    name: "RuntimeConfigDNS",
    type_string: "types.RuntimeConfigDNS",
    fields: &[
        ("servers", STRINGS),
        ("domain", STRING),
        ("searches", STRINGS),
        ("options", STRINGS),
    ],
};

const RUNTIME_CONFIG: GoStruct = GoStruct {
    name: "RuntimeConfig",
    type_string: "types.RuntimeConfig",
    fields: &[("DNS", GoType::Struct(&RUNTIME_CONFIG_DNS))],
};

const NET_CONF_FIELDS: &[(&str, GoType)] = &[
    ("cniVersion", STRING),
    ("name", STRING),
    ("type", STRING),
    ("mode", STRING),
    ("vxlan_mac_prefix", STRING),
    ("vxlan_vni", GoType::Uint64),
    ("ipam", GoType::Struct(&IPAM)),
    ("qps", GoType::Int),
    ("burst", GoType::Int),
    ("args", GoType::Struct(&ARGS)),
    ("mtu", GoType::Int),
    ("num_queues", GoType::Int),
    ("nodename", STRING),
    ("nodename_file", STRING),
    ("ipam_lock_file", STRING),
    ("nodename_file_optional", GoType::Bool),
    ("datastore_type", STRING),
    ("etcd_endpoints", STRING),
    ("etcd_discovery_srv", STRING),
    ("log_level", STRING),
    ("log_file_path", STRING),
    ("log_file_max_size", GoType::Int),
    ("log_file_max_age", GoType::Int),
    ("log_file_max_count", GoType::Int),
    ("policy", GoType::Struct(&POLICY)),
    ("kubernetes", GoType::Struct(&KUBERNETES)),
    ("feature_control", GoType::Struct(&FEATURE_CONTROL)),
    ("etcd_scheme", STRING),
    ("etcd_key_file", STRING),
    ("etcd_cert_file", STRING),
    ("etcd_ca_cert_file", STRING),
    ("container_settings", GoType::Struct(&CONTAINER_SETTINGS)),
    ("include_default_routes", GoType::Bool),
    ("dataplane_options", GoType::MapAny),
    ("device_type", STRING),
    ("windows_pod_deletion_timestamp_timeout", GoType::Int),
    ("windows_use_single_network", GoType::Bool),
    ("windows_disable_default_deny_all_policy", GoType::Bool),
    ("windows_loopback_DSR", GoType::Bool),
    ("RuntimeConfig", GoType::Struct(&RUNTIME_CONFIG)),
    ("readiness_gates", STRINGS),
    ("policy_setup_timeout_seconds", GoType::Int),
    ("endpoint_status_dir", STRING),
    ("etcd_authority", STRING),
    ("hostname", STRING),
    ("require_mtu_file", GoType::Bool),
    (
        "calico_api_group",
        GoType::NamedString("resources.BackingAPIGroup"),
    ),
];

/// Calico's `types.NetConf`.
pub const NET_CONF: GoStruct = GoStruct {
    name: "NetConf",
    type_string: "types.NetConf",
    fields: NET_CONF_FIELDS,
};

/// What the CNI library reads first: `struct { Name string `json:"name"` }`.
pub const NAME_ONLY: GoStruct = GoStruct {
    name: "",
    type_string: "struct { Name string \"json:\\\"name\\\"\" }",
    fields: &[("name", STRING)],
};

/// What the CNI library reads for the version: `struct { CNIVersion string `json:"cniVersion"` }`.
pub const VERSION_ONLY: GoStruct = GoStruct {
    name: "",
    type_string: "struct { CNIVersion string \"json:\\\"cniVersion\\\"\" }",
    fields: &[("cniVersion", STRING)],
};

/// The `ipam` section's settings the plugin uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpamConf {
    /// `"false"` turns IPv4 off (anything else, or nothing, leaves it on).
    pub assign_ipv4: Option<String>,
    /// `"true"` turns IPv6 on.
    pub assign_ipv6: Option<String>,
    /// Pool names or CIDRs.
    pub ipv4_pools: Vec<String>,
    pub ipv6_pools: Vec<String>,
}

impl IpamConf {
    /// How many IPv4 addresses an ADD asks for (Calico: one unless `assign_ipv4` is "false").
    pub fn num4(&self) -> usize {
        usize::from(self.assign_ipv4.as_deref() != Some("false"))
    }

    /// How many IPv6 addresses an ADD asks for (Calico: none unless `assign_ipv6` is "true").
    pub fn num6(&self) -> usize {
        usize::from(self.assign_ipv6.as_deref() == Some("true"))
    }
}

/// The settings of Calico's NetConf the IPAM plugin uses. Secrets are not printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NetConf {
    pub cni_version: String,
    pub name: String,
    pub ipam: IpamConf,
    pub nodename: String,
    pub nodename_file: String,
    /// Calico's host-wide lock file (`/var/run/calico/ipam.lock` when unset); ours keeps its
    /// allocation queue in the `ipam-queue` directory beside it.
    pub ipam_lock_file: String,
    /// Deprecated `hostname`, used for the node name after `nodename_file`.
    pub hostname: String,
    pub datastore_type: String,
    pub etcd_endpoints: String,
    pub etcd_discovery_srv: String,
    pub etcd_scheme: String,
    pub etcd_authority: String,
    pub etcd_key_file: String,
    pub etcd_cert_file: String,
    pub etcd_ca_cert_file: String,
    pub kubeconfig: String,
    pub k8s_api_root: String,
    pub k8s_auth_token: String,
    pub policy_type: String,
    /// `policy.k8s_api_root` (older configurations, with `/api/v1/` after the server).
    pub policy_k8s_api_root: String,
    pub k8s_client_certificate: String,
    pub k8s_client_key: String,
    pub k8s_certificate_authority: String,
    pub calico_api_group: String,
    pub qps: i64,
    pub burst: i64,
    pub log_level: String,
    pub log_file_path: String,
    pub windows_use_single_network: bool,
}

impl std::fmt::Debug for NetConf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetConf")
            .field("cni_version", &self.cni_version)
            .field("name", &self.name)
            .field("ipam", &self.ipam)
            .field("nodename", &self.nodename)
            .field("datastore_type", &self.datastore_type)
            .field(
                "etcd_endpoints",
                &calico_datastore::apiconfig::redact_urls(&self.etcd_endpoints),
            )
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

/// Why the configuration could not be read as Calico's NetConf.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetConfError {
    #[error("{0}")]
    Syntax(#[from] gojson::SyntaxError),
    #[error("{0}")]
    Type(#[from] gojson::TypeError),
}

impl NetConf {
    /// Reads the configuration as Calico's `json.Unmarshal` into `types.NetConf` does.
    pub fn parse(data: &[u8]) -> Result<NetConf, NetConfError> {
        let value = gojson::parse(data)?;
        gojson::check_struct(&value, &NET_CONF)?;
        Ok(NetConf::from_value(&value))
    }

    /// The settings from a value already checked against [`NET_CONF`].
    pub fn from_value(value: &Value) -> NetConf {
        let root = [value];
        let top = NET_CONF_FIELDS;
        let s = |name: &str| gojson::string_field(&root, top, name);
        let ipam = gojson::struct_field(&root, top, "ipam");
        let kubernetes = gojson::struct_field(&root, top, "kubernetes");
        let policy = gojson::struct_field(&root, top, "policy");
        NetConf {
            cni_version: s("cniVersion"),
            name: s("name"),
            ipam: IpamConf {
                assign_ipv4: gojson::optional_string_field(&ipam, IPAM.fields, "assign_ipv4"),
                assign_ipv6: gojson::optional_string_field(&ipam, IPAM.fields, "assign_ipv6"),
                ipv4_pools: gojson::strings_field(&ipam, IPAM.fields, "ipv4_pools"),
                ipv6_pools: gojson::strings_field(&ipam, IPAM.fields, "ipv6_pools"),
            },
            nodename: s("nodename"),
            nodename_file: s("nodename_file"),
            ipam_lock_file: s("ipam_lock_file"),
            hostname: s("hostname"),
            datastore_type: s("datastore_type"),
            etcd_endpoints: s("etcd_endpoints"),
            etcd_discovery_srv: s("etcd_discovery_srv"),
            etcd_scheme: s("etcd_scheme"),
            etcd_authority: s("etcd_authority"),
            etcd_key_file: s("etcd_key_file"),
            etcd_cert_file: s("etcd_cert_file"),
            etcd_ca_cert_file: s("etcd_ca_cert_file"),
            kubeconfig: gojson::string_field(&kubernetes, KUBERNETES_FIELDS, "kubeconfig"),
            k8s_api_root: gojson::string_field(&kubernetes, KUBERNETES_FIELDS, "k8s_api_root"),
            k8s_auth_token: gojson::string_field(&policy, POLICY_FIELDS, "k8s_auth_token"),
            policy_type: gojson::string_field(&policy, POLICY_FIELDS, "type"),
            policy_k8s_api_root: gojson::string_field(&policy, POLICY_FIELDS, "k8s_api_root"),
            k8s_client_certificate: gojson::string_field(
                &policy,
                POLICY_FIELDS,
                "k8s_client_certificate",
            ),
            k8s_client_key: gojson::string_field(&policy, POLICY_FIELDS, "k8s_client_key"),
            k8s_certificate_authority: gojson::string_field(
                &policy,
                POLICY_FIELDS,
                "k8s_certificate_authority",
            ),
            calico_api_group: s("calico_api_group"),
            qps: gojson::int_field(&root, top, "qps"),
            burst: gojson::int_field(&root, top, "burst"),
            log_level: s("log_level"),
            log_file_path: s("log_file_path"),
            windows_use_single_network: gojson::bool_field(
                &root,
                top,
                "windows_use_single_network",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_calico_reads() -> Result<(), NetConfError> {
        let conf = NetConf::parse(
            br#"{"cniVersion":"0.3.1","name":"k8s-pod-network","type":"calico","datastore_type":"etcdv3",
                "etcd_endpoints":"http://127.0.0.1:2379","nodename":"node-a",
                "ipam":{"type":"calico-ipam","assign_ipv6":"true","ipv4_pools":["pool-a","10.0.0.0/16"]},
                "kubernetes":{"kubeconfig":"/kc"},"policy":{"type":"k8s"}}"#,
        )?;
        assert_eq!(conf.name, "k8s-pod-network");
        assert_eq!(conf.nodename, "node-a");
        assert_eq!(conf.ipam.num4(), 1);
        assert_eq!(conf.ipam.num6(), 1);
        assert_eq!(conf.ipam.ipv4_pools, ["pool-a", "10.0.0.0/16"]);
        assert_eq!(conf.kubeconfig, "/kc");
        assert_eq!(conf.policy_type, "k8s");
        Ok(())
    }

    #[test]
    fn keys_match_as_go_matches_them() -> Result<(), NetConfError> {
        // Case-insensitive keys, the last one wins, null leaves a string alone, and a struct
        // given twice merges.
        let conf = NetConf::parse(
            br#"{"NAME":"a","name":"b","Name":null,"ipam":{"assign_ipv4":"false"},"IPAM":{"assign_ipv6":"true"}}"#,
        )?;
        assert_eq!(conf.name, "b");
        assert_eq!(conf.ipam.num4(), 0);
        assert_eq!(conf.ipam.num6(), 1);
        Ok(())
    }

    #[test]
    fn type_errors_read_as_go_writes_them() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"mtu":"x"}"#,
                "json: cannot unmarshal string into Go struct field NetConf.mtu of type int",
            ),
            (
                r#"{"mtu":1.5}"#,
                "json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int",
            ),
            (
                r#"{"vxlan_vni":-1}"#,
                "json: cannot unmarshal number -1 into Go struct field NetConf.vxlan_vni of type uint64",
            ),
            (
                r#"{"ipam":{"assign_ipv4":true}}"#,
                "json: cannot unmarshal bool into Go struct field .ipam.assign_ipv4 of type string",
            ),
            (
                r#"{"RuntimeConfig":{"DNS":{"servers":"x"}}}"#,
                "json: cannot unmarshal string into Go struct field RuntimeConfigDNS.RuntimeConfig.DNS.servers of type []string",
            ),
            (
                r#"{"policy":"x"}"#,
                "json: cannot unmarshal string into Go struct field NetConf.policy of type types.Policy",
            ),
            (
                r#"5"#,
                "json: cannot unmarshal number into Go value of type types.NetConf",
            ),
        ];
        for (input, expected) in cases {
            match NetConf::parse(input.as_bytes()) {
                Err(error) => assert_eq!(error.to_string(), *expected, "{input}"),
                Ok(conf) => panic!("{input} was read: {conf:?}"),
            }
        }
    }
}
