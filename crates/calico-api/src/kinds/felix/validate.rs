//! FelixConfiguration validation: the CRD schema (enums, patterns, ranges, CEL rules) and the
//! Go validator (`validateFelixConfigSpec`, `validateHealthTimeoutOverride`, field tags).

use std::sync::LazyLock;

use regex::Regex;

use super::{FelixConfigurationSpec, HealthTimeoutOverride, RouteTableIdRange};
use crate::numorstring::Port;
use crate::resource::Resource;
use crate::validation::checks::{self, Family};
use crate::validation::Validator;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|_| unreachable!())
}

// Go's `\d`, `\s` and `\w` are ASCII-only, so the classes are spelled out here.
static LOG_ACTION_RATE_LIMIT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[1-9][0-9]{0,3}/(?:second|minute|hour|day)$"));
static LOG_PREFIX: LazyLock<Regex> = LazyLock::new(|| regex(r"^([a-zA-Z0-9%: /_-])*$"));
static FEATURE_DETECT_OVERRIDE: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^([a-zA-Z0-9\-_]+=(true|false|),)*([a-zA-Z0-9\-_]+=(true|false|))?$"));
static FEATURE_GATES: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^([a-zA-Z0-9\-_]+=([^=]+),)*([a-zA-Z0-9\-_]+=([^=]+))?$"));
static KEY_VALUE_ITEM: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[\t\n\x0c\r ]*[0-9A-Za-z_]+=.*$"));
static CONNTRACK_TIMEOUT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$"));
static PROMETHEUS_HOST: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-zA-Z0-9:._+-]{1,64}$"));
static IFACE_FILTER: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-zA-Z0-9:._+-]{1,15}$"));
static HEALTH_TIMEOUT_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-zA-Z0-9_ -]+$"));

const LOG_ACTION_RATE_LIMIT_PATTERN: &str = r"^[1-9]\d{0,3}/(?:second|minute|hour|day)$";
const LOG_PREFIX_PATTERN: &str = r"^([a-zA-Z0-9%: /_-])*$";
const FEATURE_DETECT_OVERRIDE_PATTERN: &str =
    r"^([a-zA-Z0-9-_]+=(true|false|),)*([a-zA-Z0-9-_]+=(true|false|))?$";
const FEATURE_GATES_PATTERN: &str = r"^([a-zA-Z0-9-_]+=([^=]+),)*([a-zA-Z0-9-_]+=([^=]+))?$";
const CONNTRACK_TIMEOUT_PATTERN: &str = r"^(([0-9]*(\.[0-9]*)?(ms|s|h|m|us)+)+|Auto)$";

/// The CEL rule on the whole object.
pub const NODE_SELECTOR_FORBIDDEN: &str =
    "nodeSelector must not be set on the 'default' or per-node ('node.*') FelixConfiguration";
/// CEL rules on `spec`.
pub const ROUTE_TABLE_RANGE_AND_RANGES: &str =
    "routeTableRange and routeTableRanges cannot both be set";
pub const NAT_OUTGOING_ADDRESS_CEL: &str = "natOutgoingAddress must be a valid IPv4 address";
pub const DEVICE_ROUTE_SOURCE_ADDRESS_CEL: &str =
    "deviceRouteSourceAddress must be a valid IPv4 address";
pub const DEVICE_ROUTE_SOURCE_ADDRESS_IPV6_CEL: &str =
    "deviceRouteSourceAddressIPv6 must be a valid IPv6 address";
/// CEL rule on `spec.routeTableRange`.
pub const ROUTE_TABLE_RANGE_CEL: &str = "must be a range of route table indices within 1..250";
/// CEL rules on `spec.routeTableRanges[]`.
pub const ROUTE_TABLE_RANGES_MIN_CEL: &str = "min must be >= 1";
pub const ROUTE_TABLE_RANGES_ORDER_CEL: &str = "min must not be greater than max";

/// Felix caps the number of tables `routeTableRanges` may designate.
const ROUTE_TABLE_RANGES_MAX_TABLES: i128 = 0xffff;
/// The highest Linux routing table index.
const ROUTE_TABLE_MAX_INDEX: i64 = 0xffff_ffff;
/// `openstack-region-<region>` must fit in a DNS label.
const OPENSTACK_REGION_MAX_LENGTH: usize = 63 - "openstack-region-".len();

const LOG_LEVELS: &[&str] = &["Trace", "Debug", "Info", "Warning", "Error", "Fatal"];
const ACCEPT_RETURN: &[&str] = &["Accept", "Return"];
const DROP_REJECT: &[&str] = &["Drop", "Reject"];
const ENABLED_DISABLED: &[&str] = &["Enabled", "Disabled"];

pub(super) fn validate(resource: &Resource<FelixConfigurationSpec>, v: &mut Validator) {
    let spec = &resource.spec;
    v.field("spec", |v| {
        case_insensitive_enums(v, spec);
        exact_enums(v, spec);
        optional_enums(v, spec);
        numeric_ranges(v, spec);
        patterns(v, spec);
        interfaces_and_regexps(v, spec);
        addresses(v, spec);
        ports(v, spec);
        route_tables(v, spec);
        health_timeout_overrides(v, &spec.health_timeout_overrides);
        conntrack_timeouts(v, spec);
        node_selector(v, &resource.metadata.name, &spec.node_selector);
    });
}

/// Fields whose CRD pattern is `^(?i)(A|B|…)?$`: empty or one of the words in any case.
fn case_insensitive_enums(v: &mut Validator, s: &FelixConfigurationSpec) {
    let fields: [(&'static str, &str, &[&str]); 17] = [
        (
            "chainInsertMode",
            &s.chain_insert_mode,
            &["Insert", "Append"],
        ),
        (
            "defaultEndpointToHostAction",
            &s.default_endpoint_to_host_action,
            &["Drop", "Accept", "Return"],
        ),
        (
            "iptablesFilterAllowAction",
            &s.iptables_filter_allow_action,
            ACCEPT_RETURN,
        ),
        (
            "iptablesMangleAllowAction",
            &s.iptables_mangle_allow_action,
            ACCEPT_RETURN,
        ),
        (
            "iptablesFilterDenyAction",
            &s.iptables_filter_deny_action,
            DROP_REJECT,
        ),
        ("logSeverityFile", &s.log_severity_file, LOG_LEVELS),
        ("logSeverityScreen", &s.log_severity_screen, LOG_LEVELS),
        ("logSeveritySys", &s.log_severity_sys, LOG_LEVELS),
        (
            "nftablesFilterAllowAction",
            &s.nftables_filter_allow_action,
            ACCEPT_RETURN,
        ),
        (
            "nftablesMangleAllowAction",
            &s.nftables_mangle_allow_action,
            ACCEPT_RETURN,
        ),
        (
            "nftablesFilterDenyAction",
            &s.nftables_filter_deny_action,
            DROP_REJECT,
        ),
        ("bpfLogLevel", &s.bpf_log_level, &["Off", "Info", "Debug"]),
        (
            "bpfExternalServiceMode",
            &s.bpf_external_service_mode,
            &["Tunnel", "DSR"],
        ),
        (
            "bpfMapSizeConntrackScaling",
            &s.bpf_map_size_conntrack_scaling,
            &["Disabled", "DoubleIfFull"],
        ),
        (
            "bpfEnforceRPF",
            &s.bpf_enforce_rpf,
            &["Disabled", "Strict", "Loose"],
        ),
        (
            "routeSource",
            &s.route_source,
            &["WorkloadIPs", "CalicoIPAM"],
        ),
        (
            "serviceLoopPrevention",
            &s.service_loop_prevention,
            &["Drop", "Reject", "Disabled"],
        ),
    ];
    for (name, value, allowed) in fields {
        if !value.is_empty() {
            v.field(name, |v| checks::one_of_ignore_case(v, value, allowed));
        }
    }
    if !s.workload_source_spoofing.is_empty() {
        v.field("workloadSourceSpoofing", |v| {
            checks::one_of_ignore_case(v, &s.workload_source_spoofing, &["Disabled", "Any"])
        });
    }
}

/// Plain string fields with a CRD enum (Go omits them when empty).
fn exact_enums(v: &mut Validator, s: &FelixConfigurationSpec) {
    let fields: [(&'static str, &str, &[&str]); 4] = [
        ("ipForwarding", &s.ip_forwarding, ENABLED_DISABLED),
        (
            "bpfConntrackLogLevel",
            &s.bpf_conntrack_log_level,
            &["Off", "Debug"],
        ),
        (
            "bpfRedirectToPeer",
            &s.bpf_redirect_to_peer,
            ENABLED_DISABLED,
        ),
        ("bpfProfiling", &s.bpf_profiling, ENABLED_DISABLED),
    ];
    for (name, value, allowed) in fields {
        if !value.is_empty() {
            v.field(name, |v| checks::one_of(v, value, allowed));
        }
    }
}

/// Pointer fields with a CRD enum: checked whenever set, even to `""`.
fn optional_enums(v: &mut Validator, s: &FelixConfigurationSpec) {
    let fields: [(&'static str, &Option<String>, &[&str]); 19] = [
        (
            "iptablesBackend",
            &s.iptables_backend,
            &["Legacy", "NFT", "Auto"],
        ),
        (
            "prometheusMetricsClientAuth",
            &s.prometheus_metrics_client_auth,
            &[
                "RequireAndVerifyClientCert",
                "RequireAnyClientCert",
                "VerifyClientCertIfGiven",
                "NoClientCert",
            ],
        ),
        (
            "natOutgoingExclusions",
            &s.nat_outgoing_exclusions,
            &["IPPoolsOnly", "IPPoolsAndHostIPs"],
        ),
        (
            "programClusterRoutes",
            &s.program_cluster_routes,
            &[
                "Enabled",
                "Disabled",
                "EnabledIPIPOnly",
                "EnabledNoEncapOnly",
            ],
        ),
        (
            "nftablesMode",
            &s.nftables_mode,
            &["Disabled", "Enabled", "Auto"],
        ),
        (
            "nftablesFlowTableOffload",
            &s.nftables_flow_table_offload,
            &["All", "Disabled"],
        ),
        (
            "bpfOverlayHostSourceIP",
            &s.bpf_overlay_host_source_ip,
            &["TunnelAddress", "HostAddress"],
        ),
        ("bpfJITHardening", &s.bpf_jit_hardening, &["Auto", "Strict"]),
        (
            "bpfConntrackMode",
            &s.bpf_conntrack_mode,
            &["Auto", "Userspace", "BPFProgram"],
        ),
        (
            "bpfConnectTimeLoadBalancing",
            &s.bpf_connect_time_load_balancing,
            &["TCP", "Enabled", "Disabled"],
        ),
        (
            "bpfHostNetworkedNATWithoutCTLB",
            &s.bpf_host_networked_nat_without_ctlb,
            ENABLED_DISABLED,
        ),
        ("istioAmbientMode", &s.istio_ambient_mode, ENABLED_DISABLED),
        (
            "flowLogsPolicyEvaluationMode",
            &s.flow_logs_policy_evaluation_mode,
            &["None", "Continuous"],
        ),
        (
            "bpfAttachType",
            &s.bpf_attach_type,
            &["TC", "TCX", "Netkit"],
        ),
        (
            "flowLogsLocalReporter",
            &s.flow_logs_local_reporter,
            &["Disabled", "Enabled"],
        ),
        (
            "awsSrcDstCheck",
            &s.aws_src_dst_check,
            &["DoNothing", "Enable", "Disable"],
        ),
        ("floatingIPs", &s.floating_ips, ENABLED_DISABLED),
        (
            "localSubnetL2Reachability",
            &s.local_subnet_l2_reachability,
            &["Disabled", "PodsAndLoadBalancers"],
        ),
        (
            "windowsManageFirewallRules",
            &s.windows_manage_firewall_rules,
            ENABLED_DISABLED,
        ),
    ];
    for (name, value, allowed) in fields {
        if let Some(value) = value {
            v.field(name, |v| checks::one_of(v, value, allowed));
        }
    }
}

/// Bounds from the CRD schema and from the Go struct tags (`gte`/`lte`).
/// A Go field with `gte`/`gt` and `lte`/`lt` tags: its name, value, and each tag with its bound.
type TaggedBound<'a> = (&'a str, Option<i64>, (&'a str, i64), (&'a str, i64));

fn numeric_ranges(v: &mut Validator, s: &FelixConfigurationSpec) {
    const ROUTE_PRIORITY_MAX: i64 = 2_147_483_646;
    // Go's `gte`/`gt` and `lte`/`lt` tags: (Go name, value, lower tag and bound, upper tag and
    // bound), in the struct's order.
    let tagged: [TaggedBound; 14] = [
        ("DebugPort", s.debug_port, ("gte", 0), ("lte", 65535)),
        (
            "BPFExtToServiceConnmark",
            s.bpf_ext_to_service_connmark,
            ("gte", 0),
            ("lte", 0xffff_ffff),
        ),
        (
            "BPFKubeProxyHealthzPort",
            s.bpf_kube_proxy_healthz_port,
            ("gte", 0),
            ("lte", 65535),
        ),
        (
            "BPFMapSizeConntrackCleanupQueue",
            s.bpf_map_size_conntrack_cleanup_queue,
            ("gte", 1),
            ("lte", i64::MAX),
        ),
        (
            "IPv4NormalRoutePriority",
            s.ipv4_normal_route_priority,
            ("gte", 1),
            ("lte", ROUTE_PRIORITY_MAX),
        ),
        (
            "IPv4ElevatedRoutePriority",
            s.ipv4_elevated_route_priority,
            ("gte", 1),
            ("lte", ROUTE_PRIORITY_MAX),
        ),
        (
            "IPv6NormalRoutePriority",
            s.ipv6_normal_route_priority,
            ("gte", 1),
            ("lte", ROUTE_PRIORITY_MAX),
        ),
        (
            "IPv6ElevatedRoutePriority",
            s.ipv6_elevated_route_priority,
            ("gte", 1),
            ("lte", ROUTE_PRIORITY_MAX),
        ),
        (
            "WireguardListeningPort",
            s.wireguard_listening_port,
            ("gt", 1),
            ("lte", 65535),
        ),
        (
            "WireguardListeningPortV6",
            s.wireguard_listening_port_v6,
            ("gt", 1),
            ("lte", 65535),
        ),
        (
            "WireguardRoutingRulePriority",
            s.wireguard_routing_rule_priority,
            ("gt", 1),
            ("lt", 32765),
        ),
        (
            "GoGCThreshold",
            s.go_gc_threshold,
            ("gte", -1),
            ("lte", i64::MAX),
        ),
        (
            "GoMemoryLimitMB",
            s.go_memory_limit_mb,
            ("gte", -1),
            ("lte", i64::MAX),
        ),
        ("GoMaxProcs", s.go_max_procs, ("gte", -1), ("lte", i64::MAX)),
    ];
    for (go_name, value, (low_tag, low), (high_tag, high)) in tagged {
        match value {
            Some(value) if value < low => v.go_tag(go_name, value, low_tag),
            Some(value) if value > high => v.go_tag(go_name, value, high_tag),
            _ => {}
        }
    }
    for (go_name, value) in [
        (
            "BPFMaglevMaxEndpointsPerService",
            s.bpf_maglev_max_endpoints_per_service,
        ),
        ("BPFMaglevMaxServices", s.bpf_maglev_max_services),
    ] {
        match value {
            Some(value) if value < 1 => v.go_tag(go_name, value, "gt"),
            Some(value) if value > 3000 => v.go_tag(go_name, value, "lte"),
            _ => {}
        }
    }
    // The schema's ranges.
    if let Some(queue) = s.bpf_map_size_conntrack_cleanup_queue {
        v.field("bpfMapSizeConntrackCleanupQueue", |v| {
            checks::schema_range(v, queue, Some(1), None)
        });
    }
    if let Some(burst) = s.log_action_rate_limit_burst {
        v.field("logActionRateLimitBurst", |v| {
            checks::schema_range(v, burst, Some(0), Some(9999))
        });
    }
}

/// CRD patterns and the Go `keyValueList` and `prometheusHost` tags.
fn patterns(v: &mut Validator, s: &FelixConfigurationSpec) {
    if let Some(limit) = &s.log_action_rate_limit {
        v.field("logActionRateLimit", |v| {
            checks::matches_pattern(
                v,
                limit,
                &LOG_ACTION_RATE_LIMIT,
                LOG_ACTION_RATE_LIMIT_PATTERN,
            )
        });
    }
    if !s.log_prefix.is_empty() {
        v.field("logPrefix", |v| {
            checks::matches_pattern(v, &s.log_prefix, &LOG_PREFIX, LOG_PREFIX_PATTERN)
        });
    }
    let key_value_lists: [(&'static str, &str, &Regex, &str); 2] = [
        (
            "featureDetectOverride",
            &s.feature_detect_override,
            &FEATURE_DETECT_OVERRIDE,
            FEATURE_DETECT_OVERRIDE_PATTERN,
        ),
        (
            "featureGates",
            &s.feature_gates,
            &FEATURE_GATES,
            FEATURE_GATES_PATTERN,
        ),
    ];
    for (name, value, re, shown) in key_value_lists {
        if !value.is_empty() {
            v.field(name, |v| {
                checks::matches_pattern(v, value, re, shown);
                key_value_list(v, value);
            });
        }
    }
    let host = &s.prometheus_metrics_host;
    if !host.is_empty() && !PROMETHEUS_HOST.is_match(host) {
        v.go_tag("PrometheusMetricsHost", host, "prometheusHost");
    }
}

/// Go's `keyValueList` tag: comma-separated `key=value` items (empty items allowed).
fn key_value_list(v: &mut Validator, value: &str) {
    let valid = value.trim().is_empty()
        || value
            .split(',')
            .all(|item| item.is_empty() || KEY_VALUE_ITEM.is_match(item));
    if !valid {
        v.error(value, "must be a comma-separated list of key=value pairs");
    }
}

/// Go's `interface`, `ifaceFilter`, `ifaceFilterSlice`, `regexp` and `bpfLogFilters` tags.
fn interfaces_and_regexps(v: &mut Validator, s: &FelixConfigurationSpec) {
    for (name, value) in [
        ("wireguardInterfaceName", &s.wireguard_interface_name),
        ("wireguardInterfaceNameV6", &s.wireguard_interface_name_v6),
    ] {
        if !value.is_empty() {
            v.field(name, |v| {
                let go_name = v.go_name();
                checks::interface_name(v, &go_name, value)
            });
        }
    }
    if !s.iptables_nat_outgoing_interface_filter.is_empty() {
        v.field("iptablesNATOutgoingInterfaceFilter", |v| {
            iface_filter(v, &s.iptables_nat_outgoing_interface_filter)
        });
    }
    if let Some(ifaces) = &s.bpf_force_track_packets_from_ifaces {
        v.each("bpfForceTrackPacketsFromIfaces", ifaces, |v, iface| {
            iface_filter(v, iface)
        });
    }
    if let Some(filters) = &s.bpf_log_filters {
        // Keys are interface names (no wildcard).
        if filters
            .keys()
            .any(|key| key == "*" || !checks::is_interface_name(key))
        {
            let map: std::collections::BTreeMap<String, String> = filters
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect();
            v.go_tag(
                "BPFLogFilters",
                crate::validation::gofmt::string_map(&map),
                "bpfLogFilters",
            );
        }
    }
    for (name, value) in [
        ("logDebugFilenameRegex", &s.log_debug_filename_regex),
        (
            "nftablesFlowTableDataIfacePattern",
            &s.nftables_flow_table_data_iface_pattern,
        ),
        ("bpfDataIfacePattern", &s.bpf_data_iface_pattern),
        ("bpfL3IfacePattern", &s.bpf_l3_iface_pattern),
        ("bpfDisableGROForIfaces", &s.bpf_disable_gro_for_ifaces),
        ("mtuIfacePattern", &s.mtu_iface_pattern),
    ] {
        if !value.is_empty() && Regex::new(value).is_err() {
            v.error_at(name, value, "invalid regular expression");
        }
    }
}

fn iface_filter(v: &mut Validator, value: &str) {
    if !IFACE_FILTER.is_match(value) {
        v.error(value, "invalid interface filter");
    }
}

/// Address fields: Go's checks, the CEL rules on `spec` (both run, as in Calico), lengths,
/// CIDR lists and the OpenStack region.
fn addresses(v: &mut Validator, s: &FelixConfigurationSpec) {
    let single: [(&'static str, &str, Family, &str); 3] = [
        (
            "natOutgoingAddress",
            &s.nat_outgoing_address,
            Family::V4,
            NAT_OUTGOING_ADDRESS_CEL,
        ),
        (
            "deviceRouteSourceAddress",
            &s.device_route_source_address,
            Family::V4,
            DEVICE_ROUTE_SOURCE_ADDRESS_CEL,
        ),
        (
            "deviceRouteSourceAddressIPv6",
            &s.device_route_source_address_ipv6,
            Family::V6,
            DEVICE_ROUTE_SOURCE_ADDRESS_IPV6_CEL,
        ),
    ];
    if let Some(cidrs) = &s.external_nodes_cidr_list {
        for cidr in cidrs {
            match checks::parse_cidr_or_ip(cidr) {
                None => v.go("ExternalNodesCIDRList", cidr, "has invalid CIDR(s)"),
                Some(net) if Family::of_net(&net) != Family::V4 => {
                    v.go("ExternalNodesCIDRList", cidr, "has invalid IPv6 CIDR")
                }
                Some(_) => {}
            }
        }
    }
    openstack_region(v, &s.openstack_region);
    for (name, value, family, cel_message) in single {
        if value.is_empty() {
            continue;
        }
        v.field(name, |v| checks::max_length(v, value, 45));
        let addr = value.parse::<std::net::IpAddr>();
        if addr.is_err() {
            let go_name = match name {
                "natOutgoingAddress" => "NATOutgoingAddress",
                "deviceRouteSourceAddress" => "DeviceRouteSourceAddress",
                _ => "DeviceRouteSourceAddressIPv6",
            };
            v.go(go_name, value, "is not a valid IP address");
        }
        if !addr.is_ok_and(|addr| Family::of_addr(&addr) == family) {
            v.cel(cel_message);
        }
    }
    for (name, cidrs) in [
        ("bpfDSROptoutCIDRs", &s.bpf_dsr_optout_cidrs),
        ("bpfExcludeCIDRsFromNAT", &s.bpf_exclude_cidrs_from_nat),
    ] {
        if let Some(cidrs) = cidrs {
            // The `cidrs` tag on the whole list.
            if cidrs.iter().any(|c| checks::parse_cidr_or_ip(c).is_none()) {
                let go_name = match name {
                    "bpfDSROptoutCIDRs" => "BPFDSROptoutCIDRs",
                    _ => "BPFExcludeCIDRsFromNAT",
                };
                v.go_tag(go_name, crate::validation::gofmt::slice(cidrs), "cidrs");
            }
        }
    }
}

fn openstack_region(v: &mut Validator, region: &str) {
    if region.len() > OPENSTACK_REGION_MAX_LENGTH {
        v.go("OpenstackRegion", region, "is too long");
    } else if !region.is_empty() && !checks::is_dns1123_label(region) {
        v.go("OpenstackRegion", region, "must be a valid DNS label");
    }
}

/// Go's `validatePort` on every port value, and the node port range rules.
fn ports(v: &mut Validator, s: &FelixConfigurationSpec) {
    if let Some(port) = &s.nat_port_range {
        v.field("natPortRange", |v| port_value(v, port));
    }
    if let Some(port) = &s.bpf_psnat_ports {
        v.field("bpfPSNATPorts", |v| port_value(v, port));
    }
    if let Some(ranges) = &s.kube_node_port_ranges {
        for port in ranges {
            port_value(v, port);
        }
        let value = crate::validation::gofmt::slice(ranges);
        if ranges.len() > 7 {
            v.go(
                "KubeNodePortRanges",
                &value,
                "node port ranges list is too long (max 7)",
            );
        }
        for port in ranges.iter().filter(|p| p.is_named()) {
            let _ = port;
            v.go(
                "KubeNodePortRanges",
                &value,
                "node port ranges should not contain named ports",
            );
        }
        checks::max_items(v, "kubeNodePortRanges", ranges, 7);
    }
}

/// Calico's `Port` check.
fn port_value(v: &mut Validator, port: &Port) {
    if let Port::Range { min, max } = port {
        if min > max {
            v.go("Port", max, "port range invalid");
        }
        if *min < 1 {
            v.go(
                "Port",
                min,
                "port range invalid, port number must be between 1 and 65535",
            );
        } else if *max < 1 {
            v.go(
                "Port",
                max,
                "port range invalid, port number must be between 1 and 65535",
            );
        }
    }
}

/// `routeTableRange` / `routeTableRanges`: Calico's Go checks on each range, then its Felix
/// check on the total; the CEL rules.
fn route_tables(v: &mut Validator, s: &FelixConfigurationSpec) {
    if let Some(range) = &s.route_table_range {
        if !(range.min >= 1 && range.max >= range.min && range.max <= 250) {
            v.go(
                "RouteTableRange",
                format!("{{{} {}}}", range.min, range.max),
                ROUTE_TABLE_RANGE_CEL,
            );
            v.field("routeTableRange", |v| v.cel(ROUTE_TABLE_RANGE_CEL));
        }
    }
    if s.route_table_range.is_some() && s.route_table_ranges.is_some() {
        v.cel(ROUTE_TABLE_RANGE_AND_RANGES);
    }
    let Some(ranges) = &s.route_table_ranges else {
        return;
    };
    for range in ranges {
        route_table_id_range_go(v, range);
    }
    let tables: i128 = ranges
        .iter()
        .map(|r| i128::from(r.max) - i128::from(r.min) + 1)
        .sum();
    if tables > ROUTE_TABLE_RANGES_MAX_TABLES {
        let value: Vec<String> = ranges
            .iter()
            .map(|r| format!("{{{} {}}}", r.min, r.max))
            .collect();
        v.go(
            "RouteTableRanges",
            crate::validation::gofmt::slice(&value),
            "targets too many tables",
        );
    }
    v.each("routeTableRanges", ranges, |v, range| {
        if range.min < 1 {
            v.cel(ROUTE_TABLE_RANGES_MIN_CEL);
        }
        if range.min > range.max {
            v.cel(ROUTE_TABLE_RANGES_ORDER_CEL);
        }
    });
}

/// Calico's `RouteTableIDRange` check.
fn route_table_id_range_go(v: &mut Validator, range: &RouteTableIdRange) {
    let value = format!("{{{} {}}}", range.min, range.max);
    if range.min > range.max {
        v.go(
            "RouteTableRange",
            &value,
            "min value cannot be greater than max value",
        );
    }
    if range.min <= 0 {
        v.go("RouteTableRange", &value, "cannot target indices < 1");
    }
    if range.max > ROUTE_TABLE_MAX_INDEX {
        v.go("RouteTableRange", &value, "max index too high");
    }
}

/// Go's `validateHealthTimeoutOverride` (the value is the whole override, as Go prints it).
fn health_timeout_overrides(v: &mut Validator, overrides: &[HealthTimeoutOverride]) {
    for o in overrides {
        let value = format!("{{{} {{{}}}}}", o.name, o.timeout);
        if !HEALTH_TIMEOUT_NAME.is_match(&o.name) {
            v.go(
                "HealthTimeoutOverride.Name",
                &value,
                format!("name should match regex {}", HEALTH_TIMEOUT_NAME.as_str()),
            );
        }
        if o.timeout.as_nanos() < 0 {
            v.go(
                "HealthTimeoutOverride.Timeout",
                &value,
                "Timeout should not be negative",
            );
        }
    }
}

fn conntrack_timeouts(v: &mut Validator, s: &FelixConfigurationSpec) {
    let Some(timeouts) = &s.bpf_conntrack_timeouts else {
        return;
    };
    v.field("bpfConntrackTimeouts", |v| {
        for (name, value) in timeouts.entries() {
            if let Some(value) = value {
                v.field(name, |v| {
                    checks::matches_pattern(v, value, &CONNTRACK_TIMEOUT, CONNTRACK_TIMEOUT_PATTERN)
                });
            }
        }
    });
}

/// `nodeSelector`: a selector of at most 1024 characters, only on selector-scoped configs (the
/// CEL rule on the object; reported at the field it forbids).
fn node_selector(v: &mut Validator, name: &str, selector: &str) {
    if selector.is_empty() {
        return;
    }
    v.field("nodeSelector", |v| {
        checks::max_length(v, selector, 1024);
        checks::selector(v, "NodeSelector", selector);
        if name == "default" || name.starts_with("node.") {
            v.error(selector, NODE_SELECTOR_FORBIDDEN);
        }
    });
}
