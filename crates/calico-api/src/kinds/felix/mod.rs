//! FelixConfiguration: Felix's settings, global (`default`), per node (`node.<name>`) or for the
//! nodes a `nodeSelector` picks.

#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::numorstring::{Dscp, Port};
use crate::resource::{Kind, NoStatus, Resource, Scope};
use crate::validation::Validator;

/// `spec` of a FelixConfiguration: every field of Calico's `FelixConfigurationSpec`, in its
/// declaration order (which is the order Go writes them). Go pointers are `Option`s; plain Go
/// strings with `omitempty` are `String`s left out when empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FelixConfigurationSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_internal_dataplane_driver: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dataplane_driver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane_watchdog_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_support: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_post_write_check_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_lock_probe_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub feature_detect_override: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub feature_gates: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipsets_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ipset_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xdp_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netlink_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata_addr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_port: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub openstack_region: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_prefix: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface_exclude: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chain_insert_mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_endpoint_to_host_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iptables_filter_allow_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iptables_mangle_allow_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iptables_filter_deny_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_action_rate_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_action_rate_limit_burst: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_file_path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_severity_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_severity_screen: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_severity_sys: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_debug_filename_regex: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipip_enabled: Option<bool>,
    #[serde(rename = "ipipMTU", default, skip_serializing_if = "Option::is_none")]
    pub ipip_mtu: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_enabled: Option<bool>,
    #[serde(rename = "vxlanMTU", default, skip_serializing_if = "Option::is_none")]
    pub vxlan_mtu: Option<i64>,
    #[serde(
        rename = "vxlanMTUV6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vxlan_mtu_v6: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan_port: Option<i64>,
    #[serde(rename = "vxlanVNI", default, skip_serializing_if = "Option::is_none")]
    pub vxlan_vni: Option<i64>,
    #[serde(
        rename = "allowVXLANPacketsFromWorkloads",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_vxlan_packets_from_workloads: Option<bool>,
    #[serde(
        rename = "allowIPIPPacketsFromWorkloads",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_ipip_packets_from_workloads: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_interval: Option<Duration>,
    #[serde(
        rename = "reportingTTL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reporting_ttl: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_reporting_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_reporting_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint_status_path_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iptables_mark_mask: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_conntrack_invalid_check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_timeout_overrides: Vec<HealthTimeoutOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prometheus_metrics_host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_go_metrics_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_process_metrics_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_wire_guard_metrics_enabled: Option<bool>,
    #[serde(
        rename = "prometheusMetricsCAFile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub prometheus_metrics_ca_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prometheus_metrics_cert_file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prometheus_metrics_key_file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_metrics_client_auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failsafe_inbound_host_ports: Option<Vec<ProtoPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failsafe_outbound_host_ports: Option<Vec<ProtoPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_node_port_ranges: Option<Vec<Port>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_sync_path_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_reporting_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_reporting_initial_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_reporting_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_port_range: Option<Port>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nat_outgoing_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_outgoing_exclusions: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device_route_source_address: String,
    #[serde(
        rename = "deviceRouteSourceAddressIPv6",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub device_route_source_address_ipv6: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_route_protocol: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_external_routes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_cluster_routes: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip_forwarding: String,
    /// Go's `ExternalNodesCIDRList`.
    #[serde(
        rename = "externalNodesList",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_nodes_cidr_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub debug_memory_profile_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_disable_log_dropping: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_simulate_calc_graph_hang_after: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_simulate_dataplane_hang_after: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_simulate_dataplane_apply_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_port: Option<i64>,
    #[serde(
        rename = "iptablesNATOutgoingInterfaceFilter",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub iptables_nat_outgoing_interface_filter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sidecar_acceleration_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xdp_enabled: Option<bool>,
    #[serde(
        rename = "genericXDPEnabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub generic_xdp_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables_flow_table_offload: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nftables_flow_table_data_iface_pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nftables_filter_allow_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nftables_mangle_allow_action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nftables_filter_deny_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables_mark_mask: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_enabled: Option<bool>,
    #[serde(
        rename = "bpfOverlayHostSourceIP",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_overlay_host_source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_disable_unprivileged: Option<bool>,
    #[serde(
        rename = "bpfJITHardening",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_jit_hardening: Option<String>,
    /// Written even when empty: Go declares it without `omitempty`.
    #[serde(default)]
    pub bpf_log_level: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_conntrack_log_level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_conntrack_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_conntrack_timeouts: Option<BpfConntrackTimeouts>,
    #[serde(
        rename = "bpfIPFragTimeout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_ip_frag_timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_log_filters: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "bpfCTLBLogFilter",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bpf_ctlb_log_filter: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_data_iface_pattern: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_l3_iface_pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_connect_time_load_balancing_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_connect_time_load_balancing: Option<String>,
    #[serde(
        rename = "bpfHostNetworkedNATWithoutCTLB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_host_networked_nat_without_ctlb: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_external_service_mode: String,
    #[serde(
        rename = "bpfDSROptoutCIDRs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_dsr_optout_cidrs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_ext_to_service_connmark: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_kube_proxy_iptables_cleanup_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_kube_proxy_min_sync_period: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_kube_proxy_healthz_port: Option<i64>,
    #[serde(
        rename = "bpfPSNATPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_psnat_ports: Option<Port>,
    #[serde(
        rename = "bpfMapSizeNATFrontend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_map_size_nat_frontend: Option<i64>,
    #[serde(
        rename = "bpfMapSizeNATBackend",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_map_size_nat_backend: Option<i64>,
    #[serde(
        rename = "bpfMapSizeNATAffinity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_map_size_nat_affinity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_map_size_route: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_map_size_conntrack: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_map_size_per_cpu_conntrack: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_map_size_conntrack_scaling: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_map_size_conntrack_cleanup_queue: Option<i64>,
    #[serde(
        rename = "bpfMapSizeIPSets",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_map_size_ip_sets: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_map_size_if_state: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_host_conntrack_bypass: Option<bool>,
    #[serde(
        rename = "bpfIPFragmentReassemblyEnabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_ip_fragment_reassembly_enabled: Option<bool>,
    #[serde(
        rename = "bpfEnforceRPF",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bpf_enforce_rpf: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_policy_debug_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_force_track_packets_from_ifaces: Option<Vec<String>>,
    #[serde(
        rename = "bpfDisableGROForIfaces",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bpf_disable_gro_for_ifaces: String,
    #[serde(
        rename = "bpfExcludeCIDRsFromNAT",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_exclude_cidrs_from_nat: Option<Vec<String>>,
    #[serde(
        rename = "bpfExportBufferSizeMB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bpf_export_buffer_size_mb: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio_ambient_mode: Option<String>,
    #[serde(
        rename = "istioDSCPMark",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub istio_dscp_mark: Option<Dscp>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cgroup_v2_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs_policy_evaluation_mode: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_redirect_to_peer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_attach_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs_flush_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs_collector_debug_trace: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs_goldmane_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_logs_local_reporter: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bpf_profiling: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub route_source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_table_ranges: Option<Vec<RouteTableIdRange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_table_range: Option<RouteTableRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_sync_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_normal_route_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4_elevated_route_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_normal_route_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_elevated_route_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_migration_route_convergence_time: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_enabled_v6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_threading_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_listening_port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_listening_port_v6: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_routing_rule_priority: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wireguard_interface_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wireguard_interface_name_v6: String,
    #[serde(
        rename = "wireguardMTU",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub wireguard_mtu: Option<i64>,
    #[serde(
        rename = "wireguardMTUV6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub wireguard_mtu_v6: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_host_encryption_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wireguard_keep_alive: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_src_dst_check: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_loop_prevention: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload_source_spoofing: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mtu_iface_pattern: String,
    #[serde(
        rename = "floatingIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub floating_ips: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_subnet_l2_reachability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_subnet_l2_reachability_refresh_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows_manage_firewall_rules: Option<String>,
    #[serde(
        rename = "goGCThreshold",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub go_gc_threshold: Option<i64>,
    #[serde(
        rename = "goMemoryLimitMB",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub go_memory_limit_mb: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_max_procs: Option<i64>,
    #[serde(
        rename = "requireMTUFile",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_mtu_file: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_maglev_max_endpoints_per_service: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bpf_maglev_max_services: Option<i64>,
}

/// An override of one Felix subcomponent's health watchdog timeout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthTimeoutOverride {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub timeout: Duration,
}

/// A protocol, port and optional CIDR that failsafe rules always allow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtoPort {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(default)]
    pub port: u16,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub net: String,
}

/// An inclusive range of Linux routing table indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouteTableRange {
    #[serde(default)]
    pub min: i64,
    #[serde(default)]
    pub max: i64,
}

/// One entry of `routeTableRanges` (Go's `RouteTableIDRange`, encoded like [`RouteTableRange`]).
pub type RouteTableIdRange = RouteTableRange;

/// Overrides of the BPF conntrack timers: each a duration or `Auto`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BpfConntrackTimeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_grace_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_syn_sent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_established: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_fins_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_reset_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_timeout: Option<String>,
}

impl BpfConntrackTimeouts {
    /// The timers with their JSON names, in declaration order.
    pub fn entries(&self) -> [(&'static str, &Option<String>); 8] {
        [
            ("creationGracePeriod", &self.creation_grace_period),
            ("tcpSynSent", &self.tcp_syn_sent),
            ("tcpEstablished", &self.tcp_established),
            ("tcpFinsSeen", &self.tcp_fins_seen),
            ("tcpResetSeen", &self.tcp_reset_seen),
            ("udpTimeout", &self.udp_timeout),
            ("genericTimeout", &self.generic_timeout),
            ("icmpTimeout", &self.icmp_timeout),
        ]
    }
}

pub type FelixConfiguration = Resource<FelixConfigurationSpec>;

impl Kind for FelixConfigurationSpec {
    const KIND: &'static str = "FelixConfiguration";
    const PLURAL: &'static str = "felixconfigurations";
    const SCOPE: Scope = Scope::Cluster;
    type Status = NoStatus;

    /// What libcalico-go's client sets on create and update:
    /// - `floatingIPs: Disabled`, `bpfConnectTimeLoadBalancing: TCP` and
    ///   `bpfHostNetworkedNATWithoutCTLB: Enabled` when unset;
    /// - when the deprecated `bpfConnectTimeLoadBalancingEnabled` is set (either value), it wins:
    ///   `bpfHostNetworkedNATWithoutCTLB` becomes `Disabled` and `bpfConnectTimeLoadBalancing`
    ///   becomes `Enabled` or `Disabled` to match it, overwriting what was there.
    fn apply_defaults(resource: &mut Resource<Self>) {
        let spec = &mut resource.spec;
        spec.floating_ips.get_or_insert_with(|| "Disabled".into());
        spec.bpf_connect_time_load_balancing
            .get_or_insert_with(|| "TCP".into());
        spec.bpf_host_networked_nat_without_ctlb
            .get_or_insert_with(|| "Enabled".into());
        if let Some(enabled) = spec.bpf_connect_time_load_balancing_enabled {
            spec.bpf_host_networked_nat_without_ctlb = Some("Disabled".into());
            let mode = if enabled { "Enabled" } else { "Disabled" };
            spec.bpf_connect_time_load_balancing = Some(mode.into());
        }
        // The defaults of Calico's CRD, which its client applies on etcd after its own.
        spec.nftables_mode.get_or_insert_with(|| "Auto".into());
        spec.nftables_flow_table_offload
            .get_or_insert_with(|| "Disabled".into());
    }

    fn validate(resource: &Resource<Self>, v: &mut Validator) {
        validate::validate(resource, v);
    }
}
