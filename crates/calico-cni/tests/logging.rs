//! The network configuration's `log_level` sets what the plugin logs on stderr (Calico's:
//! `debug`, `info`, `error`; info by default), unless `CALICO_CNI_LOG_LEVEL` says otherwise.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn stderr_of(log_level: &str, forced: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_calico-ipam"));
    command
        .env_clear()
        .envs([
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "abc"),
            ("CNI_NETNS", "/x"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/opt"),
            ("CNI_ARGS", "K8S_POD_NAME=x"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(level) = forced {
        command.env("CALICO_CNI_LOG_LEVEL", level);
    }
    let mut child = command.spawn().unwrap();
    let conf = format!(
        r#"{{"cniVersion":"0.3.1","name":"n","nodename":"node-a","datastore_type":"etcdv3","etcd_endpoints":"http://127.0.0.1:9","log_level":"{log_level}"}}"#
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(conf.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    // The CNI_ARGS are refused before the datastore is reached.
    assert!(String::from_utf8_lossy(&output.stdout).contains("ARGS: unknown args"));
    String::from_utf8_lossy(&output.stderr).into_owned()
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
