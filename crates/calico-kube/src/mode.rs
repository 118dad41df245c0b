//! Which API group Calico's objects are stored under, decided as
//! `libcalico-go/lib/backend/k8s/discovery.go` decides it.

use calico_datastore::apiconfig::ApiConfigSpec;

/// The group of the classic CRDs.
pub const V1_GROUP: &str = "crd.projectcalico.org";
/// The group of the native v3 CRDs (and of the aggregated API server).
pub const V3_GROUP: &str = "projectcalico.org";

/// The storage mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `crd.projectcalico.org/v1` CRDs with the `projectcalico.org/metadata` annotation.
    V1,
    /// `projectcalico.org/v3` CRDs holding the objects as they are.
    V3,
}

impl Mode {
    /// The API group objects are stored under.
    pub fn group(self) -> &'static str {
        match self {
            Mode::V1 => V1_GROUP,
            Mode::V3 => V3_GROUP,
        }
    }

    /// The storage API version.
    pub fn version(self) -> &'static str {
        match self {
            Mode::V1 => "v1",
            Mode::V3 => "v3",
        }
    }

    /// `crd.projectcalico.org/v1` or `projectcalico.org/v3` (for `calicoctl version`).
    pub fn api_version(self) -> &'static str {
        match self {
            Mode::V1 => "crd.projectcalico.org/v1",
            Mode::V3 => "projectcalico.org/v3",
        }
    }

    /// The mode `calicoAPIGroup` / `CALICO_API_GROUP` forces, if set: v3 only for
    /// `projectcalico.org/v3` (any case), every other value means v1.
    pub fn from_setting(setting: &str) -> Option<Mode> {
        if setting.is_empty() {
            None
        } else if setting.eq_ignore_ascii_case("projectcalico.org/v3") {
            Some(Mode::V3)
        } else {
            Some(Mode::V1)
        }
    }

    /// The mode the served API groups imply: v3 only when `projectcalico.org` is served and
    /// `crd.projectcalico.org` is not (both means an aggregated API server in front of v1 CRDs).
    pub fn from_groups<'a>(groups: impl IntoIterator<Item = &'a str>) -> Mode {
        let (mut v1, mut v3) = (false, false);
        for group in groups {
            v1 |= group == V1_GROUP;
            v3 |= group == V3_GROUP;
        }
        if v3 && !v1 {
            Mode::V3
        } else {
            Mode::V1
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.api_version())
    }
}

/// Decides the mode: the setting when there is one, else discovery; a failed discovery means v1.
pub async fn detect(client: &kube::Client, spec: &ApiConfigSpec) -> Mode {
    if let Some(mode) = Mode::from_setting(&spec.calico_api_group) {
        return mode;
    }
    match client.list_api_groups().await {
        Ok(list) => Mode::from_groups(list.groups.iter().map(|g| g.name.as_str())),
        Err(_) => Mode::V1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_wins() {
        assert_eq!(Mode::from_setting(""), None);
        assert_eq!(Mode::from_setting("projectcalico.org/v3"), Some(Mode::V3));
        assert_eq!(Mode::from_setting("ProjectCalico.ORG/V3"), Some(Mode::V3));
        assert_eq!(
            Mode::from_setting("crd.projectcalico.org/v1"),
            Some(Mode::V1)
        );
        assert_eq!(Mode::from_setting("projectcalico.org"), Some(Mode::V1));
    }

    #[test]
    fn groups_decide_otherwise() {
        assert_eq!(Mode::from_groups(["apps", V3_GROUP]), Mode::V3);
        assert_eq!(Mode::from_groups([V3_GROUP, V1_GROUP]), Mode::V1);
        assert_eq!(Mode::from_groups([V1_GROUP]), Mode::V1);
        assert_eq!(Mode::from_groups(["apps"]), Mode::V1);
    }
}
