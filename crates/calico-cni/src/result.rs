//! The ADD result in the version the configuration asks for, laid out byte for byte as the CNI
//! library prints it (four-space indentation, no newline at the end): `1.0.0` with sorted keys,
//! `0.3.x`/`0.4.0` with a `version` per address and an empty `dns`, and before `0.3.0` the
//! `ip4`/`ip6` form holding only the first address of each family.

use ipnet::IpNet;
use serde::Serialize;

use crate::error::CniError;

/// The addresses an ADD hands back; each also becomes a route to itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddResult {
    pub ips: Vec<IpNet>,
}

#[derive(Serialize)]
struct Dns {}

#[derive(Serialize)]
struct Route {
    dst: String,
}

#[derive(Serialize)]
struct IpConfig04 {
    version: &'static str,
    address: String,
}

#[derive(Serialize)]
struct Result04 {
    #[serde(rename = "cniVersion")]
    cni_version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ips: Vec<IpConfig04>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
    dns: Dns,
}

#[derive(Serialize)]
struct IpConfig02 {
    ip: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
}

#[derive(Serialize)]
struct Result02 {
    #[serde(rename = "cniVersion")]
    cni_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip4: Option<IpConfig02>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6: Option<IpConfig02>,
    dns: Dns,
}

#[derive(Serialize)]
struct IpConfig100 {
    address: String,
}

// Field order is the sorted key order the library's map-based encoding gives.
#[derive(Serialize)]
struct Result100 {
    #[serde(rename = "cniVersion")]
    cni_version: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ips: Vec<IpConfig100>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    routes: Vec<Route>,
}

fn indented<T: Serialize>(value: &T) -> Result<Vec<u8>, CniError> {
    calico_api::json::to_vec_indented(value, b"    ").map_err(|e| CniError::internal(e.to_string()))
}

impl AddResult {
    fn routes(&self) -> Vec<Route> {
        self.ips
            .iter()
            .map(|ip| Route {
                dst: ip.to_string(),
            })
            .collect()
    }

    /// The result as printed for a configuration of `version` (`""` is 0.1.0).
    pub fn render(&self, version: &str) -> Result<Vec<u8>, CniError> {
        let version = if version.is_empty() { "0.1.0" } else { version };
        match version {
            "1.0.0" | "1.1.0" => indented(&Result100 {
                cni_version: version.to_string(),
                ips: self
                    .ips
                    .iter()
                    .map(|ip| IpConfig100 {
                        address: ip.to_string(),
                    })
                    .collect(),
                routes: self.routes(),
            }),
            "0.3.0" | "0.3.1" | "0.4.0" => indented(&Result04 {
                cni_version: version.to_string(),
                ips: self
                    .ips
                    .iter()
                    .map(|ip| IpConfig04 {
                        version: if ip.addr().is_ipv4() { "4" } else { "6" },
                        address: ip.to_string(),
                    })
                    .collect(),
                routes: self.routes(),
                dns: Dns {},
            }),
            "0.1.0" | "0.2.0" => {
                let first = |v4: bool| {
                    self.ips
                        .iter()
                        .find(|ip| ip.addr().is_ipv4() == v4)
                        .map(|ip| IpConfig02 {
                            ip: ip.to_string(),
                            routes: self
                                .ips
                                .iter()
                                .filter(|route| route.addr().is_ipv4() == v4)
                                .map(|route| Route {
                                    dst: route.to_string(),
                                })
                                .collect(),
                        })
                };
                let result = Result02 {
                    cni_version: version.to_string(),
                    ip4: first(true),
                    ip6: first(false),
                    dns: Dns {},
                };
                if result.ip4.is_none() && result.ip6.is_none() {
                    return Err(CniError::internal("cannot convert: no valid IP addresses"));
                }
                indented(&result)
            }
            other => Err(CniError::internal(format!(
                "no converter for CNI result version 1.1.0 to {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(result: &AddResult, version: &str) -> String {
        match result.render(version) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn renders_each_version() -> Result<(), ipnet::AddrParseError> {
        let result = AddResult {
            ips: vec!["10.0.174.128/26".parse()?],
        };
        assert_eq!(
            text(&result, "0.3.1"),
            "{\n    \"cniVersion\": \"0.3.1\",\n    \"ips\": [\n        {\n            \"version\": \"4\",\n            \"address\": \"10.0.174.128/26\"\n        }\n    ],\n    \"routes\": [\n        {\n            \"dst\": \"10.0.174.128/26\"\n        }\n    ],\n    \"dns\": {}\n}"
        );
        assert_eq!(
            text(&result, "1.0.0"),
            "{\n    \"cniVersion\": \"1.0.0\",\n    \"ips\": [\n        {\n            \"address\": \"10.0.174.128/26\"\n        }\n    ],\n    \"routes\": [\n        {\n            \"dst\": \"10.0.174.128/26\"\n        }\n    ]\n}"
        );
        assert_eq!(
            text(&result, ""),
            "{\n    \"cniVersion\": \"0.1.0\",\n    \"ip4\": {\n        \"ip\": \"10.0.174.128/26\",\n        \"routes\": [\n            {\n                \"dst\": \"10.0.174.128/26\"\n            }\n        ]\n    },\n    \"dns\": {}\n}"
        );
        assert_eq!(
            text(&AddResult::default(), "0.2.0"),
            "error: cannot convert: no valid IP addresses"
        );
        Ok(())
    }
}
