//! Calico's CNI IPAM plugin, `calico-ipam`, as a library: the CNI protocol exactly as Calico's
//! plugin speaks it ([`skel`]: the `CNI_*` variables, the configuration's name and version
//! checks, `VERSION`, the CNI error JSON), Calico's network configuration ([`netconf`]) and
//! `CNI_ARGS` ([`args`]), the workload's identity, handle and allocation attributes
//! ([`identity`]), the result in each spec version ([`result`]), and ADD and DEL over the IPAM
//! library ([`plugin`]). The binary only wires the process to [`main`].

pub mod args;
pub mod error;
pub mod gojson;
mod goquote;
pub mod identity;
pub mod namespace;
pub mod netconf;
pub mod plugin;
pub mod result;
pub mod skel;

use std::io::Read;

pub use error::CniError;
pub use skel::Output;

/// The environment lookup the plugin reads (`None` for an unset variable).
pub type Env = std::rc::Rc<dyn Fn(&str) -> Option<String>>;

/// The Calico release this plugin stands in for (what `-v` prints).
pub const VERSION: &str = match option_env!("CALICO_CNI_VERSION") {
    Some(version) => version,
    None => "v3.32.0",
};

/// Go's `flag` usage text for the plugin's flags.
fn usage() -> String {
    "Usage of calico-ipam:\n  -upgrade\n    \tUpgrade from host-local\n  -v\tDisplay version\n"
        .to_string()
}

/// Runs the plugin as the process `calico-ipam` with `arguments` (without the program name),
/// `env` (`None` for an unset variable) and `stdin`; `on_log_level` is told the network
/// configuration's `log_level` when it is read.
pub fn main(
    arguments: &[String],
    env: Env,
    stdin: &mut dyn Read,
    on_log_level: Box<dyn Fn(plugin::LogLevel)>,
) -> Output {
    for argument in arguments {
        let Some(flag) = argument.strip_prefix('-') else {
            // Go's flag parsing stops at the first argument that is not a flag.
            break;
        };
        let flag = flag.strip_prefix('-').unwrap_or(flag);
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        match (name, value) {
            ("v", None | Some("true" | "1" | "t" | "T" | "TRUE" | "True")) => {
                return Output {
                    stdout: format!("{VERSION}\n").into_bytes(),
                    ..Output::default()
                }
            }
            ("v", Some("false" | "0" | "f" | "F" | "FALSE" | "False")) => {}
            ("h" | "help", None) => {
                return Output {
                    stderr: usage().into_bytes(),
                    ..Output::default()
                }
            }
            ("upgrade", _) => {
                return Output {
                    stderr:
                        b"calico-ipam: -upgrade (migrating from host-local IPAM) is not supported\n"
                            .to_vec(),
                    code: 1,
                    ..Output::default()
                }
            }
            ("", None) => break,
            _ => {
                let problem = match (name, value) {
                    ("v", Some(value)) => {
                        format!("invalid boolean value \"{value}\" for -v: parse error")
                    }
                    _ => format!("flag provided but not defined: -{name}"),
                };
                return Output {
                    stderr: format!("{problem}\n{}", usage()).into_bytes(),
                    code: 2,
                    ..Output::default()
                };
            }
        }
    }
    let plugin = plugin::CalicoIpam::new(env.clone(), on_log_level);
    let about = format!("Calico CNI IPAM {VERSION}");
    skel::run(&*env, stdin, &plugin, &about)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoke(arguments: &[&str], vars: &[(&str, &str)], stdin: &str) -> Output {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env: Env = std::rc::Rc::new(move |name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        });
        let arguments: Vec<String> = arguments.iter().map(|a| a.to_string()).collect();
        main(&arguments, env, &mut stdin.as_bytes(), Box::new(|_| {}))
    }

    #[test]
    fn flags_as_go_parses_them() {
        let version = invoke(&["-v"], &[], "");
        assert_eq!(
            (version.stdout, version.code),
            (format!("{VERSION}\n").into_bytes(), 0)
        );
        assert_eq!(invoke(&["--v"], &[], "").code, 0);
        let help = invoke(&["-h"], &[], "");
        assert_eq!((help.stderr, help.code), (usage().into_bytes(), 0));
        let unknown = invoke(&["-x"], &[], "");
        assert_eq!(
            (
                String::from_utf8_lossy(&unknown.stderr).into_owned(),
                unknown.code
            ),
            (format!("flag provided but not defined: -x\n{}", usage()), 2)
        );
        let bad = invoke(&["-v=x"], &[], "");
        assert_eq!(
            String::from_utf8_lossy(&bad.stderr),
            format!(
                "invalid boolean value \"x\" for -v: parse error\n{}",
                usage()
            )
        );
        // -v=false, and flags after a plain argument, leave the CNI protocol to run: with no
        // command it prints the about text.
        for arguments in [&["-v=false"][..], &["foo", "-v"][..]] {
            let about = invoke(arguments, &[], "");
            assert!(String::from_utf8_lossy(&about.stderr).starts_with("Calico CNI IPAM "));
            assert_eq!((about.stdout.len(), about.code), (0, 0));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Whatever the arguments and configuration, the plugin answers with a result or a CNI
        /// error and never panics (the datastore named is refused before anything is stored).
        #[test]
        fn never_panics(
            cni_args in "[A-Za-z_=;0-9.:]{0,40}",
            name in "[a-z.\\- ]{0,8}",
            extra in "(\"[a-z_]{1,12}\":(1|\"x\"|true|null|\\[\\]|\\{\\}),){0,3}",
        ) {
            let stdin = format!(
                r#"{{{extra}"cniVersion":"0.3.1","name":"{name}","nodename":"n","datastore_type":"etcdv3","etcd_endpoints":"http://127.0.0.1:9"}}"#
            );
            let output = invoke(
                &[],
                &[
                    ("CNI_COMMAND", "ADD"),
                    ("CNI_CONTAINERID", "abc"),
                    ("CNI_NETNS", "/x"),
                    ("CNI_IFNAME", "eth0"),
                    ("CNI_PATH", "/opt"),
                    ("CNI_ARGS", &cni_args),
                ],
                &stdin,
            );
            proptest::prop_assert_eq!(output.code, 1);
            proptest::prop_assert!(String::from_utf8_lossy(&output.stdout).contains("\"code\""));
        }
    }
}
