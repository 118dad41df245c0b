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
