//! `CNI_ARGS` as the CNI library's `LoadArgs` reads it into Calico's argument structs:
//! `KEY=VALUE` pairs separated by `;`, keys matched to Go field names exactly, unknown keys an
//! error unless `IgnoreUnknown` is true, and the library's error texts.

use std::net::IpAddr;

use crate::goquote::{quote, quote_list};

/// Which of Calico's argument structs the pairs are read into (each has its own fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `types.K8sArgs`: `IP`, `K8S_POD_NAME`, `K8S_POD_NAMESPACE`, `K8S_POD_INFRA_CONTAINER_ID`.
    Kubernetes,
    /// The IPAM plugin's own `ipamArgs`: `IP`.
    Ipam,
    /// `types.CNITestArgs`: `CNI_TEST_NAMESPACE`.
    CniTest,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The embedded `CommonArgs` struct itself, which no text can fill.
    CommonArgs,
    IgnoreUnknown,
    Ip,
    Text,
}

impl Target {
    fn field(self, key: &str) -> Option<Field> {
        match key {
            "CommonArgs" => Some(Field::CommonArgs),
            "IgnoreUnknown" => Some(Field::IgnoreUnknown),
            "IP" if self != Target::CniTest => Some(Field::Ip),
            "K8S_POD_NAME" | "K8S_POD_NAMESPACE" | "K8S_POD_INFRA_CONTAINER_ID"
                if self == Target::Kubernetes =>
            {
                Some(Field::Text)
            }
            "CNI_TEST_NAMESPACE" if self == Target::CniTest => Some(Field::Text),
            _ => None,
        }
    }
}

/// The arguments read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub ignore_unknown: bool,
    /// `IP=` (empty leaves none).
    pub ip: Option<IpAddr>,
    /// The text fields by key (last pair wins).
    pub text: Vec<(String, String)>,
}

impl Args {
    /// A text field's value ("" when not given).
    pub fn get(&self, key: &str) -> &str {
        self.text
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Why `CNI_ARGS` could not be read (the library's texts).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgsError(pub String);

/// Go's `net.ParseIP` followed by `To4` where it applies (an IPv4-mapped IPv6 address is IPv4).
pub fn parse_go_ip(text: &str) -> Option<IpAddr> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        }),
        v4 => Some(v4),
    }
}

/// Reads `args` into `target`'s fields.
pub fn load(args: &str, target: Target) -> Result<Args, ArgsError> {
    let mut out = Args::default();
    if args.is_empty() {
        return Ok(out);
    }
    let mut unknown: Vec<&str> = Vec::new();
    for pair in args.split(';') {
        let parts: Vec<&str> = pair.split('=').collect();
        let [key, value] = parts[..] else {
            return Err(ArgsError(format!("ARGS: invalid pair {}", quote(pair))));
        };
        let Some(field) = target.field(key) else {
            unknown.push(pair);
            continue;
        };
        let parse_error = |cause: String| {
            ArgsError(format!(
                "ARGS: error parsing value of pair {}: {cause}",
                quote(pair)
            ))
        };
        match field {
            Field::CommonArgs => {
                return Err(ArgsError(format!(
                    "ARGS: cannot unmarshal into field '{key}' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler"
                )))
            }
            Field::IgnoreUnknown => {
                out.ignore_unknown = match value.to_lowercase().as_str() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    other => {
                        return Err(parse_error(format!(
                            "boolean unmarshal error: invalid input {other}"
                        )))
                    }
                }
            }
            Field::Ip => {
                out.ip = if value.is_empty() {
                    None
                } else {
                    Some(
                        parse_go_ip(value)
                            .ok_or_else(|| parse_error(format!("invalid IP address: {value}")))?,
                    )
                };
            }
            Field::Text => out.text.push((key.to_string(), value.to_string())),
        }
    }
    if !unknown.is_empty() && !out.ignore_unknown {
        return Err(ArgsError(format!(
            "ARGS: unknown args {}",
            quote_list(unknown.iter().copied())
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_arguments_are_read() -> Result<(), ArgsError> {
        let args = load(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc;Other=x",
            Target::Kubernetes,
        )?;
        assert_eq!(args.get("K8S_POD_NAME"), "web-0");
        assert_eq!(args.get("K8S_POD_NAMESPACE"), "default");
        assert!(args.ignore_unknown);
        Ok(())
    }

    #[test]
    fn errors_read_as_the_cni_library_writes_them() {
        let cases = [
            ("foo", Target::Ipam, "ARGS: invalid pair \"foo\""),
            ("a=b=c", Target::Ipam, "ARGS: invalid pair \"a=b=c\""),
            (
                "K8S_POD_NAME=x",
                Target::Ipam,
                "ARGS: unknown args [\"K8S_POD_NAME=x\"]",
            ),
            (
                "A=1;B=2",
                Target::Kubernetes,
                "ARGS: unknown args [\"A=1\" \"B=2\"]",
            ),
            (
                "IgnoreUnknown=yes",
                Target::Ipam,
                "ARGS: error parsing value of pair \"IgnoreUnknown=yes\": boolean unmarshal error: invalid input yes",
            ),
            (
                "IP=10.0.0.300",
                Target::Ipam,
                "ARGS: error parsing value of pair \"IP=10.0.0.300\": invalid IP address: 10.0.0.300",
            ),
            (
                "CommonArgs=x",
                Target::Ipam,
                "ARGS: cannot unmarshal into field 'CommonArgs' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler",
            ),
        ];
        for (input, target, expected) in cases {
            assert_eq!(
                load(input, target).map_err(|e| e.0),
                Err(expected.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn an_ipv4_mapped_address_is_ipv4() -> Result<(), ArgsError> {
        let args = load("IP=::ffff:10.0.0.1", Target::Ipam)?;
        assert_eq!(args.ip, Some(IpAddr::from([10, 0, 0, 1])));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn never_panics(args in ".*") {
            for target in [Target::Kubernetes, Target::Ipam, Target::CniTest] {
                let _ = load(&args, target);
            }
        }
    }
}
