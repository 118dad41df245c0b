//! IP pools, network sets and tiers, and the conflict-resolving cache Calico puts in front of
//! processors whose v1 key is not derived from the v3 name alone.

use std::collections::{BTreeMap, BTreeSet};

use calico_api::AnyResource;

use super::json::GoJson;
use super::keys::{go_net, ip_pool, network_set, parse_cidr_or_ip, tier};
use super::{error, resource_of, Emitted, V1Processor};
use crate::resource_type::ProcessError;
use crate::types::SourceKv;

/// Calico's `conflictResolvingCache`: remembers each v3 name's v1 key and value; deletes
/// follow the name, a changed key deletes the old one first, and when several v3 resources
/// map to one v1 key the alphabetically first one wins.
#[derive(Debug, Default)]
pub(crate) struct ConflictCache {
    by_name: BTreeMap<String, (String, GoJson)>,
    names_by_key: BTreeMap<String, BTreeSet<String>>,
}

impl ConflictCache {
    /// `converted`: the v1 key and value, or `None` for a delete (or a failed conversion).
    pub(crate) fn process(
        &mut self,
        name: &str,
        converted: Option<(String, GoJson)>,
    ) -> Vec<Emitted> {
        let Some((key, value)) = converted else {
            return self.delete(name);
        };
        let mut out = Vec::new();
        if let Some((old_key, _)) = self.by_name.get(name) {
            if *old_key != key {
                out = self.delete(name);
            }
        }
        let names = self.names_by_key.entry(key.clone()).or_default();
        names.insert(name.to_string());
        let primary = names.iter().next().is_some_and(|first| first == name);
        self.by_name
            .insert(name.to_string(), (key.clone(), value.clone()));
        if primary {
            out.push(Emitted::v1(key, Some(value)));
        }
        out
    }

    fn delete(&mut self, name: &str) -> Vec<Emitted> {
        let Some((key, _)) = self.by_name.remove(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(names) = self.names_by_key.get_mut(&key) {
            let was_primary = names.iter().next().is_some_and(|first| first == name);
            names.remove(name);
            if was_primary {
                match names.iter().next().and_then(|next| self.by_name.get(next)) {
                    Some((_, value)) => out.push(Emitted::v1(key.clone(), Some(value.clone()))),
                    None => out.push(Emitted::v1(key.clone(), None)),
                }
            }
            if names.is_empty() {
                self.names_by_key.remove(&key);
            }
        }
        out
    }
}

pub(crate) fn nets(items: &[String]) -> Vec<GoJson> {
    items
        .iter()
        .filter_map(|text| parse_cidr_or_ip(text))
        .map(|(_, net)| GoJson::str(go_net(&net)))
        .collect()
}

fn labels_or_null(labels: &BTreeMap<String, String>) -> GoJson {
    if labels.is_empty() {
        GoJson::Null
    } else {
        GoJson::map(labels)
    }
}

/// `NewIPPoolUpdateProcessor`: `/calico/v1/ipam/v<4|6>/pool/<cidr>` (`model.IPPool`).
#[derive(Debug, Default)]
pub struct IpPoolProcessor {
    cache: ConflictCache,
}

fn encap(mode: &str) -> &'static str {
    match mode {
        "Always" => "always",
        "CrossSubnet" => "cross-subnet",
        _ => "",
    }
}

impl V1Processor for IpPoolProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let converted = match value {
            None => None,
            Some(AnyResource::IPPool(pool)) => {
                let spec = &pool.spec;
                match spec.cidr.parse::<ipnet::IpNet>() {
                    Err(_) => None,
                    Ok(cidr) => {
                        let cidr = cidr.trunc();
                        let ipip = encap(&spec.ipip_mode);
                        let value = GoJson::object()
                            .field("cidr", GoJson::str(go_net(&cidr)))
                            .field(
                                "ipip",
                                GoJson::str(if ipip.is_empty() { "" } else { "tunl0" }),
                            )
                            .field("ipip_mode", GoJson::str(ipip))
                            .field("vxlan_mode", GoJson::str(encap(&spec.vxlan_mode)))
                            .field("masquerade", GoJson::Bool(spec.nat_outgoing))
                            .field("ipam", GoJson::Bool(!spec.disabled))
                            .field("disabled", GoJson::Bool(spec.disabled))
                            .field("disableBGPExport", GoJson::Bool(spec.disable_bgp_export))
                            .field(
                                "assignment_mode",
                                GoJson::str(spec.assignment_mode.as_deref().unwrap_or("Automatic")),
                            )
                            .field_unless(
                                spec.allowed_uses.is_empty(),
                                "allowed_uses",
                                GoJson::strings(&spec.allowed_uses),
                            );
                        Some((ip_pool(&cidr), value))
                    }
                }
            }
            Some(_) => return Err(error(kv, "Value is not a valid IPPool resource value")),
        };
        Ok(self.cache.process(&key.name, converted))
    }
}

/// `NewGlobalNetworkSetUpdateProcessor`: `/calico/v1/netset/<name>` (`model.NetworkSet`).
#[derive(Debug, Default)]
pub struct GlobalNetworkSetProcessor {
    cache: ConflictCache,
}

impl V1Processor for GlobalNetworkSetProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let converted = match value {
            None => None,
            Some(AnyResource::GlobalNetworkSet(set)) => {
                let nets = nets(&set.spec.nets);
                let value = GoJson::object()
                    .field_unless(nets.is_empty(), "nets", GoJson::Array(nets))
                    .field("labels", labels_or_null(&set.metadata.labels));
                Some((network_set(&key.name), value))
            }
            Some(_) => return Err(error(kv, "Value is not a valid GlobalNetworkSet resource")),
        };
        Ok(self.cache.process(&key.name, converted))
    }
}

/// `NewNetworkSetUpdateProcessor`: `/calico/v1/netset/<namespace>/<name>` with the namespace
/// label and the namespace's profile added.
#[derive(Debug, Default)]
pub struct NetworkSetProcessor;

impl V1Processor for NetworkSetProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        if key.name.is_empty() || key.namespace.is_empty() {
            return Err(error(
                kv,
                "Missing Name or Namespace field to create a v1 NetworkSet Key",
            ));
        }
        let path = network_set(&format!("{}/{}", key.namespace, key.name));
        let value = match value {
            Some(AnyResource::NetworkSet(set)) => {
                let nets = nets(&set.spec.nets);
                let mut labels = set.metadata.labels.clone();
                labels.insert("projectcalico.org/namespace".into(), key.namespace.clone());
                Some(
                    GoJson::object()
                        .field_unless(nets.is_empty(), "nets", GoJson::Array(nets))
                        .field("labels", GoJson::map(&labels))
                        .field(
                            "profile_ids",
                            GoJson::strings(&[format!("kns.{}", key.namespace)]),
                        ),
                )
            }
            _ => None,
        };
        Ok(vec![Emitted::v1(path, value)])
    }
}

/// `NewTierUpdateProcessor`: `/calico/v1/policy/tier/<name>/metadata` (`model.Tier`).
#[derive(Debug, Default)]
pub struct TierProcessor;

impl V1Processor for TierProcessor {
    fn process_v1(&mut self, kv: &SourceKv) -> Result<Vec<Emitted>, ProcessError> {
        let (key, value) = resource_of(kv)?;
        let value = match value {
            Some(AnyResource::Tier(t)) => {
                let mut value = GoJson::object();
                if let Some(order) = t.spec.order.and_then(serde_json::Number::from_f64) {
                    value = value.field("order", GoJson::Number(order));
                }
                if let Some(action) = t.spec.default_action.as_deref().filter(|a| !a.is_empty()) {
                    value = value.field("defaultAction", GoJson::str(action));
                }
                Some(value)
            }
            _ => None,
        };
        Ok(vec![Emitted::v1(tier(&key.name), value)])
    }
}
