//! Pod QoS annotations → `spec.qosControls` (`handleQoSControlsAnnotations` in Calico's
//! `workload_endpoint_default.go`), with Kubernetes quantity parsing.

use std::collections::BTreeMap;

use calico_api::kinds::workloadendpoint::QosControls;
use calico_api::Dscp;

pub const K8S_INGRESS_BANDWIDTH: &str = "kubernetes.io/ingress-bandwidth";
pub const K8S_EGRESS_BANDWIDTH: &str = "kubernetes.io/egress-bandwidth";
pub const INGRESS_BANDWIDTH: &str = "qos.projectcalico.org/ingressBandwidth";
pub const EGRESS_BANDWIDTH: &str = "qos.projectcalico.org/egressBandwidth";
pub const INGRESS_BURST: &str = "qos.projectcalico.org/ingressBurst";
pub const EGRESS_BURST: &str = "qos.projectcalico.org/egressBurst";
pub const INGRESS_PEAKRATE: &str = "qos.projectcalico.org/ingressPeakrate";
pub const EGRESS_PEAKRATE: &str = "qos.projectcalico.org/egressPeakrate";
pub const INGRESS_MINBURST: &str = "qos.projectcalico.org/ingressMinburst";
pub const EGRESS_MINBURST: &str = "qos.projectcalico.org/egressMinburst";
pub const INGRESS_PACKET_RATE: &str = "qos.projectcalico.org/ingressPacketRate";
pub const EGRESS_PACKET_RATE: &str = "qos.projectcalico.org/egressPacketRate";
pub const INGRESS_PACKET_BURST: &str = "qos.projectcalico.org/ingressPacketBurst";
pub const EGRESS_PACKET_BURST: &str = "qos.projectcalico.org/egressPacketBurst";
pub const INGRESS_MAX_CONNECTIONS: &str = "qos.projectcalico.org/ingressMaxConnections";
pub const EGRESS_MAX_CONNECTIONS: &str = "qos.projectcalico.org/egressMaxConnections";
pub const DSCP: &str = "qos.projectcalico.org/dscp";

const KILO: i64 = 1000;
const PETA: i64 = 1_000_000_000_000_000;

/// Inclusive bounds of each control, as Calico's quantities (`1.01k` rounds up to 1010).
const BANDWIDTH: (i64, i64) = (KILO, PETA);
const BURST: (i64, i64) = (KILO, u32::MAX as i64 * 8);
const PEAKRATE: (i64, i64) = (1010, 1_010_000_000_000_000);
const MINBURST: (i64, i64) = (KILO, 100_000_000);
const PACKET_RATE: (i64, i64) = (1, 10_000);
const PACKET_BURST: (i64, i64) = (1, 10_000);
const CONNECTIONS: (i64, i64) = (1, u32::MAX as i64);
/// 4Gi bits (512 MiB).
const DEFAULT_BURST: i64 = 4 * 1024 * 1024 * 1024;
const DEFAULT_PACKET_BURST: i64 = 5;

/// Parses a Kubernetes quantity (`100M`, `1.5Gi`, `2e3`, `500m`) to its integer value,
/// rounded up as `Quantity.Value()` does; values beyond i64 saturate.
pub fn parse_quantity(text: &str) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    // Numerator and denominator of the value, in i128 with saturation: quantities Calico
    // accepts are far below the limits, larger ones only need to compare as "too large".
    let digits: String = format!("{whole}{fraction}");
    let mut numerator: i128 = 0;
    for b in digits.bytes() {
        numerator = numerator
            .saturating_mul(10)
            .saturating_add(i128::from(b - b'0'));
    }
    let mut denominator: i128 = 10i128.saturating_pow(u32::try_from(fraction.len()).ok()?);
    let (base, exponent): (i128, i32) = match suffix {
        "" => (10, 0),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        exp if exp.starts_with(['e', 'E']) => (10, exp[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let scale = base.saturating_pow(exponent.unsigned_abs());
    if exponent >= 0 {
        numerator = numerator.saturating_mul(scale);
    } else {
        denominator = denominator.saturating_mul(scale);
    }
    let mut value = numerator / denominator;
    if numerator % denominator != 0 {
        value += 1;
    }
    if negative {
        value = -value;
    }
    Some(i64::try_from(value).unwrap_or(if negative { i64::MIN } else { i64::MAX }))
}

/// Calico's `parseAndValidateQty`: out-of-range values are clamped to the bound (and
/// reported), unreadable ones are 0.
fn quantity(text: &str, (min, max): (i64, i64), problems: &mut Vec<String>) -> i64 {
    match parse_quantity(text) {
        None => {
            problems.push(format!(
                "quantities must match the regular expression: {text}"
            ));
            0
        }
        Some(v) if v < min => {
            problems.push(format!("resource specified is too small: {text}"));
            min
        }
        Some(v) if v > max => {
            problems.push(format!("resource specified is too large: {text}"));
            max
        }
        Some(v) => v,
    }
}

const DSCP_NAMES: &[&str] = &[
    "DF", "EF", "AF11", "AF12", "AF13", "AF21", "AF22", "AF23", "AF31", "AF32", "AF33", "AF41",
    "AF42", "AF43", "CS0", "CS1", "CS2", "CS3", "CS4", "CS5", "CS6",
];

fn dscp(text: &str) -> Option<Dscp> {
    let value = Dscp::from_text(text);
    let ok = match &value {
        Dscp::Num(n) => *n <= 63,
        Dscp::Str(name) => DSCP_NAMES.contains(&name.as_str()),
    };
    ok.then_some(value)
}

/// The QoS controls a pod's annotations ask for (`None` when none), with what was wrong
/// with them: Calico logs those and keeps the pod.
pub fn qos_controls(annotations: &BTreeMap<String, String>) -> (Option<QosControls>, Vec<String>) {
    let mut q = QosControls::default();
    let mut problems = Vec::new();
    let mut read = |key: &str, bounds: (i64, i64), field: &mut i64| {
        if let Some(text) = annotations.get(key) {
            *field = quantity(text, bounds, &mut problems);
        }
    };
    // The Calico bandwidth annotations override the Kubernetes ones.
    read(K8S_INGRESS_BANDWIDTH, BANDWIDTH, &mut q.ingress_bandwidth);
    read(K8S_EGRESS_BANDWIDTH, BANDWIDTH, &mut q.egress_bandwidth);
    read(INGRESS_BANDWIDTH, BANDWIDTH, &mut q.ingress_bandwidth);
    read(EGRESS_BANDWIDTH, BANDWIDTH, &mut q.egress_bandwidth);
    read(INGRESS_BURST, BURST, &mut q.ingress_burst);
    read(EGRESS_BURST, BURST, &mut q.egress_burst);
    read(INGRESS_PEAKRATE, PEAKRATE, &mut q.ingress_peakrate);
    read(EGRESS_PEAKRATE, PEAKRATE, &mut q.egress_peakrate);
    read(INGRESS_MINBURST, MINBURST, &mut q.ingress_minburst);
    read(EGRESS_MINBURST, MINBURST, &mut q.egress_minburst);
    read(INGRESS_PACKET_RATE, PACKET_RATE, &mut q.ingress_packet_rate);
    read(EGRESS_PACKET_RATE, PACKET_RATE, &mut q.egress_packet_rate);
    read(
        INGRESS_PACKET_BURST,
        PACKET_BURST,
        &mut q.ingress_packet_burst,
    );
    read(
        EGRESS_PACKET_BURST,
        PACKET_BURST,
        &mut q.egress_packet_burst,
    );
    read(
        INGRESS_MAX_CONNECTIONS,
        CONNECTIONS,
        &mut q.ingress_max_connections,
    );
    read(
        EGRESS_MAX_CONNECTIONS,
        CONNECTIONS,
        &mut q.egress_max_connections,
    );

    let mut drop_unless = |value: &mut i64, needed: bool, problem: &str| {
        if *value != 0 && !needed {
            problems.push(problem.to_string());
            *value = 0;
        }
    };
    drop_unless(
        &mut q.ingress_burst,
        q.ingress_bandwidth != 0,
        "ingress bandwidth must be specified when ingress burst is specified",
    );
    drop_unless(
        &mut q.egress_burst,
        q.egress_bandwidth != 0,
        "egress bandwidth must be specified when egress burst is specified",
    );
    let ingress_peak_ok = q.ingress_bandwidth != 0 && q.ingress_bandwidth < q.ingress_peakrate;
    drop_unless(
        &mut q.ingress_peakrate,
        ingress_peak_ok,
        "ingress peakrate must be greater than ingress bandwidth when specified",
    );
    let egress_peak_ok = q.egress_bandwidth != 0 && q.egress_bandwidth < q.egress_peakrate;
    drop_unless(
        &mut q.egress_peakrate,
        egress_peak_ok,
        "egress peakrate must be greater than egress bandwidth when specified",
    );
    drop_unless(
        &mut q.ingress_minburst,
        q.ingress_peakrate != 0,
        "ingress peakrate must be specified when ingress minburst is specified",
    );
    drop_unless(
        &mut q.egress_minburst,
        q.egress_peakrate != 0,
        "egress peakrate must be specified when egress minburst is specified",
    );
    drop_unless(
        &mut q.ingress_packet_burst,
        q.ingress_packet_rate != 0,
        "ingress packet rate must be specified when ingress packet burst is specified",
    );
    drop_unless(
        &mut q.egress_packet_burst,
        q.egress_packet_rate != 0,
        "egress packet rate must be specified when egress packet burst is specified",
    );
    if q.ingress_bandwidth != 0 && q.ingress_burst == 0 {
        q.ingress_burst = DEFAULT_BURST;
    }
    if q.egress_bandwidth != 0 && q.egress_burst == 0 {
        q.egress_burst = DEFAULT_BURST;
    }
    if q.ingress_packet_rate != 0 && q.ingress_packet_burst == 0 {
        q.ingress_packet_burst = DEFAULT_PACKET_BURST;
    }
    if q.egress_packet_rate != 0 && q.egress_packet_burst == 0 {
        q.egress_packet_burst = DEFAULT_PACKET_BURST;
    }
    if let Some(text) = annotations.get(DSCP) {
        match dscp(text) {
            Some(value) => q.dscp = Some(value),
            None => problems.push(format!("error parsing DSCP annotation: {text}")),
        }
    }
    let controls = (q != QosControls::default()).then_some(q);
    (controls, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_round_up_like_kubernetes() {
        assert_eq!(parse_quantity("10M"), Some(10_000_000));
        assert_eq!(parse_quantity("1Gi"), Some(1 << 30));
        assert_eq!(parse_quantity("1.01k"), Some(1010));
        assert_eq!(parse_quantity("1.5"), Some(2));
        assert_eq!(parse_quantity("500m"), Some(1));
        assert_eq!(parse_quantity("2e3"), Some(2000));
        assert_eq!(parse_quantity("100"), Some(100));
        assert_eq!(parse_quantity("99999999E"), Some(i64::MAX));
        assert_eq!(parse_quantity("ten"), None);
        assert_eq!(parse_quantity("10X"), None);
        assert_eq!(parse_quantity(""), None);
    }

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_clamps_and_drops() {
        let (q, problems) = qos_controls(&annotations(&[
            (K8S_INGRESS_BANDWIDTH, "1M"),
            (INGRESS_BANDWIDTH, "10M"),
            (EGRESS_BANDWIDTH, "2P"),
            (EGRESS_PEAKRATE, "1M"),
            (INGRESS_PACKET_RATE, "100"),
            (EGRESS_PACKET_BURST, "7"),
            (DSCP, "AF11"),
        ]));
        let q = q.unwrap();
        assert_eq!(q.ingress_bandwidth, 10_000_000);
        assert_eq!(q.ingress_burst, DEFAULT_BURST);
        assert_eq!(q.egress_bandwidth, PETA);
        // A peakrate below the bandwidth is dropped, a packet burst without a rate too.
        assert_eq!(q.egress_peakrate, 0);
        assert_eq!(q.egress_packet_burst, 0);
        assert_eq!(q.ingress_packet_burst, DEFAULT_PACKET_BURST);
        assert_eq!(q.dscp, Some(Dscp::Str("AF11".into())));
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn nothing_asked_is_none() {
        assert_eq!(qos_controls(&BTreeMap::new()), (None, Vec::new()));
        let (q, problems) = qos_controls(&annotations(&[(DSCP, "64")]));
        assert_eq!(q, None);
        assert_eq!(problems.len(), 1);
        let (q, _) = qos_controls(&annotations(&[(DSCP, "46")]));
        assert_eq!(q.and_then(|q| q.dscp), Some(Dscp::Num(46)));
    }
}
