//! The network configuration's `log_level` sets what the plugin logs on stderr (Calico's:
//! `debug`, `info`, `error`; info by default), unless `CALICO_CNI_LOG_LEVEL` says otherwise.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

fn stderr_of(log_level: &str, forced: Option<&str>) -> String {
    let mut env: Vec<(String, String)> = [
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "abc"),
        ("CNI_NETNS", "/x"),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/opt"),
        ("CNI_ARGS", "K8S_POD_NAME=x"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(level) = forced {
        env.push(("CALICO_CNI_LOG_LEVEL".into(), level.into()));
    }
    let conf = format!(
        r#"{{"cniVersion":"0.3.1","name":"n","nodename":"node-a","datastore_type":"etcdv3","etcd_endpoints":"http://127.0.0.1:9","log_level":"{log_level}"}}"#
    );
    let ran = common::spawn(&common::ours(), &env, &conf);
    // The CNI_ARGS are refused before the datastore is reached.
    assert!(ran.stdout.contains("ARGS: unknown args"));
    ran.stderr
}

#[test]
fn the_configured_level_applies() {
    assert!(stderr_of("info", None).contains("INFO"));
    assert!(stderr_of("", None).contains("INFO"));
    assert!(!stderr_of("error", None).contains("INFO"));
    assert!(!stderr_of("ERROR", None).contains("INFO"));
    assert!(stderr_of("error", Some("info")).contains("INFO"));
    assert_eq!(stderr_of("debug", Some("off")), "");
}
