//! The CNI protocol as the CNI library's `skel` speaks it for Calico's `calico-ipam`: the
//! `CNI_*` variables and their checks, the network configuration's name and version checks,
//! the supported spec versions and `VERSION`, and the dispatch to ADD and DEL (CHECK passes
//! once its version checks do: Calico's IPAM plugin has no CHECK of its own), in the library's
//! order and with its error codes and texts.

use std::io::Read;
use std::path::Path;

use crate::error::{code, CniError};
use crate::gojson;
use crate::goquote::{quote, quote_list};
use crate::netconf::{NAME_ONLY, VERSION_ONLY};

/// The spec versions Calico's IPAM plugin accepts.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/// The spec version the CNI library implements (what `VERSION` reports as `cniVersion`).
pub const LIBRARY_VERSION: &str = "1.1.0";

/// What the plugin was invoked with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmdArgs {
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    pub args: String,
    pub path: String,
    pub netns_override: String,
    pub stdin: Vec<u8>,
}

/// The commands a plugin implements.
pub trait Plugin {
    /// ADD: returns what to print on stdout.
    fn add(&self, args: &CmdArgs) -> Result<Vec<u8>, CniError>;
    /// DEL.
    fn del(&self, args: &CmdArgs) -> Result<(), CniError>;
}

/// What a run prints and its exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: u8,
}

/// The containerID/network-name pattern of the CNI library.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn validate_container_id(id: &str) -> Result<(), CniError> {
    if !valid_name(id) {
        return Err(CniError::new(
            code::INVALID_ENVIRONMENT_VARIABLES,
            "invalid characters in containerID",
            id,
        ));
    }
    Ok(())
}

fn validate_interface_name(name: &str) -> Result<(), CniError> {
    let invalid = |msg: &str, details: &str| {
        Err(CniError::new(
            code::INVALID_ENVIRONMENT_VARIABLES,
            msg,
            details,
        ))
    };
    if name.len() > 15 {
        return invalid(
            "interface name is too long",
            "interface name should be less than 16 characters",
        );
    }
    if name == "." || name == ".." {
        return invalid("interface name is . or ..", "");
    }
    if name.chars().any(|c| c == '/' || c == ':' || go_is_space(c)) {
        return invalid(
            "interface name contains / or : or whitespace characters",
            "",
        );
    }
    Ok(())
}

/// Go's `unicode.IsSpace`.
fn go_is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Required by ADD, CHECK and DEL (and validated when given for them).
    AddCheckDel,
    /// Required by ADD and CHECK.
    AddCheck,
    /// Required by every command with a configuration (ADD, CHECK, DEL, GC, STATUS).
    All,
    Never,
}

impl Need {
    fn required_for(self, command: &str) -> bool {
        match self {
            Need::AddCheckDel => matches!(command, "ADD" | "CHECK" | "DEL"),
            Need::AddCheck => matches!(command, "ADD" | "CHECK"),
            Need::All => matches!(command, "ADD" | "CHECK" | "DEL" | "GC" | "STATUS"),
            Need::Never => false,
        }
    }
}

/// Go's `strconv.Atoi` error text for `text`, or its value.
fn atoi(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            quote(text)
        ));
    }
    text.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", quote(text)))
}

/// The CNI library's `ParseVersion` ("" is 0.1.0).
fn parse_version(version: &str) -> Result<(i64, i64, i64), String> {
    if version.is_empty() {
        return Ok((0, 1, 0));
    }
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() >= 4 {
        return Err(format!(
            "invalid version {}: too many parts",
            quote(version)
        ));
    }
    let part = |index: usize, name: &str| -> Result<i64, String> {
        match parts.get(index) {
            None => Ok(0),
            Some(text) => atoi(text).map_err(|cause| {
                format!(
                    "failed to convert {name} version part {}: {cause}",
                    quote(text)
                )
            }),
        }
    };
    Ok((part(0, "major")?, part(1, "minor")?, part(2, "micro")?))
}

fn at_least(version: &str, other: &str) -> Result<bool, CniError> {
    let decoding = |e: String| CniError::new(code::DECODING_FAILURE, e, "");
    let a = parse_version(version).map_err(decoding)?;
    let b = parse_version(other).map_err(decoding)?;
    Ok(a >= b)
}

/// The configuration's `cniVersion` as the library decodes it ("" is 0.1.0).
fn config_version(stdin: &[u8]) -> Result<String, CniError> {
    let decoding = |e: String| {
        CniError::new(
            code::DECODING_FAILURE,
            format!("decoding version from network config: {e}"),
            "",
        )
    };
    let value = gojson::parse(stdin).map_err(|e| decoding(e.to_string()))?;
    gojson::check_struct(&value, &VERSION_ONLY).map_err(|e| decoding(e.to_string()))?;
    let version = gojson::string_field(&[&value], VERSION_ONLY.fields, "cniVersion");
    Ok(if version.is_empty() {
        "0.1.0".to_string()
    } else {
        version
    })
}

fn check_version(stdin: &[u8]) -> Result<(), CniError> {
    let version = config_version(stdin)?;
    if SUPPORTED_VERSIONS.contains(&version.as_str()) {
        return Ok(());
    }
    Err(CniError::new(
        code::INCOMPATIBLE_CNI_VERSION,
        "incompatible CNI versions",
        format!(
            "config is {}, plugin supports {}",
            quote(&version),
            quote_list(SUPPORTED_VERSIONS.iter().copied())
        ),
    ))
}

/// CHECK, GC and STATUS: allowed from `minimum` on, and only for a version the plugin has.
fn versioned_command(stdin: &[u8], minimum: &str, name: &str) -> Result<(), CniError> {
    let version = config_version(stdin)?;
    if !at_least(&version, minimum)? {
        return Err(CniError::new(
            code::INCOMPATIBLE_CNI_VERSION,
            format!("config version does not allow {name}"),
            "",
        ));
    }
    for supported in SUPPORTED_VERSIONS {
        if at_least(supported, &version)? {
            // Calico's IPAM plugin has nothing more to do for these commands.
            return check_version(stdin);
        }
    }
    Err(CniError::new(
        code::INCOMPATIBLE_CNI_VERSION,
        format!("plugin version does not allow {name}"),
        "",
    ))
}

fn validate_config(stdin: &[u8]) -> Result<(), CniError> {
    let decoding = |e: String| {
        CniError::new(
            code::DECODING_FAILURE,
            format!("error unmarshall network config: {e}"),
            "",
        )
    };
    let value = gojson::parse(stdin).map_err(|e| decoding(e.to_string()))?;
    gojson::check_struct(&value, &NAME_ONLY).map_err(|e| decoding(e.to_string()))?;
    let name = gojson::string_field(&[&value], NAME_ONLY.fields, "name");
    if name.is_empty() {
        return Err(CniError::new(
            code::INVALID_NETWORK_CONFIG,
            "missing network name",
            "",
        ));
    }
    if !valid_name(&name) {
        return Err(CniError::new(
            code::INVALID_NETWORK_CONFIG,
            "invalid characters found in network name",
            name,
        ));
    }
    Ok(())
}

/// Whether `path` names the network namespace this process runs in (the library refuses to
/// have been run inside the container's namespace). A path that cannot be read is not.
fn is_own_netns(path: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    if path.is_empty() {
        return false;
    }
    let (Ok(theirs), Ok(ours)) = (
        std::fs::metadata(path),
        std::fs::metadata(Path::new("/proc/thread-self/ns/net")),
    ) else {
        return false;
    };
    theirs.dev() == ours.dev() && theirs.ino() == ours.ino()
}

fn netns_check(args: &CmdArgs) -> Result<(), CniError> {
    let skip = args.netns_override.eq_ignore_ascii_case("TRUE") || args.netns_override == "1";
    if !skip && is_own_netns(&args.netns) {
        return Err(CniError::new(
            code::INVALID_NET_NS,
            "plugin's netns and netns from CNI_NETNS should not be the same",
            "",
        ));
    }
    Ok(())
}

/// Runs one invocation: `env` is the process environment (`None` for unset), `stdin` the
/// network configuration, `about` the line printed when no command is given.
pub fn run(
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    plugin: &dyn Plugin,
    about: &str,
) -> Output {
    let mut output = Output::default();
    match dispatch(env, stdin, plugin, about, &mut output) {
        Ok(()) => output,
        Err(error) => {
            output.stdout.extend_from_slice(&error.to_json());
            output.code = 1;
            output
        }
    }
}

fn dispatch(
    env: &dyn Fn(&str) -> Option<String>,
    stdin: &mut dyn Read,
    plugin: &dyn Plugin,
    about: &str,
    output: &mut Output,
) -> Result<(), CniError> {
    let get = |name: &str| env(name).unwrap_or_default();
    let command = get("CNI_COMMAND");
    let variables: [(&str, Need); 7] = [
        ("CNI_COMMAND", Need::All),
        ("CNI_CONTAINERID", Need::AddCheckDel),
        ("CNI_NETNS", Need::AddCheck),
        ("CNI_IFNAME", Need::AddCheckDel),
        ("CNI_ARGS", Need::Never),
        ("CNI_PATH", Need::All),
        ("CNI_NETNS_OVERRIDE", Need::Never),
    ];
    let mut missing: Vec<&str> = Vec::new();
    for (name, need) in variables {
        let value = get(name);
        let required = need.required_for(&command);
        if value.is_empty() {
            if required || name == "CNI_COMMAND" {
                missing.push(name);
            }
        } else if required {
            match name {
                "CNI_CONTAINERID" => validate_container_id(&value)?,
                "CNI_IFNAME" => validate_interface_name(&value)?,
                _ => {}
            }
        }
    }
    if !missing.is_empty() {
        if command.is_empty() && !about.is_empty() {
            output.stderr.extend_from_slice(
                format!(
                    "{about}\nCNI protocol versions supported: {}\n",
                    SUPPORTED_VERSIONS.join(", ")
                )
                .as_bytes(),
            );
            return Ok(());
        }
        return Err(CniError::new(
            code::INVALID_ENVIRONMENT_VARIABLES,
            format!("required env variables [{}] missing", missing.join(",")),
            "",
        ));
    }
    let mut data = Vec::new();
    if command != "VERSION" {
        stdin.read_to_end(&mut data).map_err(|e| {
            CniError::new(
                code::IO_FAILURE,
                format!("error reading from stdin: {e}"),
                "",
            )
        })?;
        validate_config(&data)?;
    }
    let args = CmdArgs {
        container_id: get("CNI_CONTAINERID"),
        netns: get("CNI_NETNS"),
        ifname: get("CNI_IFNAME"),
        args: get("CNI_ARGS"),
        path: get("CNI_PATH"),
        netns_override: get("CNI_NETNS_OVERRIDE"),
        stdin: data,
    };
    match command.as_str() {
        "ADD" => {
            check_version(&args.stdin)?;
            let printed = plugin.add(&args)?;
            output.stdout.extend_from_slice(&printed);
            netns_check(&args)
        }
        "DEL" => {
            check_version(&args.stdin)?;
            plugin.del(&args)?;
            netns_check(&args)
        }
        "CHECK" => versioned_command(&args.stdin, "0.4.0", "CHECK"),
        "GC" => versioned_command(&args.stdin, "1.1.0", "GC"),
        "STATUS" => versioned_command(&args.stdin, "1.1.0", "STATUS"),
        "VERSION" => {
            let versions = quote_list(SUPPORTED_VERSIONS.iter().copied()).replace("\" \"", "\",\"");
            output.stdout.extend_from_slice(
                format!(
                    "{{\"cniVersion\":\"{LIBRARY_VERSION}\",\"supportedVersions\":{versions}}}\n"
                )
                .as_bytes(),
            );
            Ok(())
        }
        other => Err(CniError::new(
            code::INVALID_ENVIRONMENT_VARIABLES,
            format!("unknown CNI_COMMAND: {other}"),
            "",
        )),
    }
}

#[cfg(test)]
mod tests;
