//! The command-line surface, matching calicoctl's commands and flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Manage Calico resources.
#[derive(Debug, Parser)]
#[command(name = "calicoctl", version, about, long_about = None)]
pub struct Cli {
    /// Set the log level (one of panic, fatal, error, warn, info, debug).
    #[arg(
        short = 'l',
        long = "log-level",
        global = true,
        default_value = "panic"
    )]
    pub log_level: String,

    /// The name of the kubeconfig context to use.
    #[arg(long, global = true, default_value = "")]
    pub context: String,

    /// Allow client and cluster versions mismatch.
    #[arg(long = "allow-version-mismatch", global = true)]
    pub allow_version_mismatch: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create resources from a file.
    Create(CreateArgs),
    /// Create or replace resources from a file.
    Apply(FileArgs),
    /// Replace existing resources from a file.
    Replace(FileArgs),
    /// Delete resources named on the command line or in a file.
    Delete(DeleteArgs),
    /// Display resources.
    Get(GetArgs),
    /// Patch a resource in place (JSON merge patch).
    Patch(PatchArgs),
    /// Set or remove a label on a resource.
    Label(LabelArgs),
    /// Validate a file of resources without contacting a datastore.
    Validate(FileArgs),
    /// Generate a shell completion script.
    Completion(CompletionArgs),
    /// Display the version of this binary and of the cluster.
    Version(VersionArgs),
    /// Print the CRDs or the KDD RBAC manifest generated from this binary's types.
    Manifests(ManifestsArgs),
}

#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// Which manifest: crds (crd.projectcalico.org/v1), v3-crds (projectcalico.org/v3) or
    /// rbac-kdd (the Kubernetes datastore driver's ClusterRole).
    #[arg(value_parser = ["crds", "v3-crds", "rbac-kdd"])]
    pub manifest: String,
}

/// `-c/--config` and `-n/--namespace`, shared by the commands that reach a datastore.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Path to the file containing connection configuration.
    #[arg(
        short = 'c',
        long = "config",
        default_value = "/etc/calico/calicoctl.cfg"
    )]
    pub config: PathBuf,

    /// Namespace of the resource.
    #[arg(short = 'n', long = "namespace", default_value = "")]
    pub namespace: String,
}

/// Flags shared by the commands that read resources from files. Their `-c` and `-n` keep the
/// longer help texts these commands have always shown.
#[derive(Debug, Args)]
#[command(
    mut_arg("config", |arg| arg.help(
        "Path to the file containing connection configuration in YAML or JSON format"
    )),
    mut_arg("namespace", |arg| arg.help(
        "Namespace of the resource; only applicable to namespaced kinds"
    ))
)]
pub struct FileArgs {
    /// Filename to use; '-' for stdin. A directory is read for .yaml, .yml and .json files.
    #[arg(short = 'f', long = "filename")]
    pub filename: Option<String>,

    /// Process the directory given by -f recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// Do not error if a file or directory holds no resources.
    #[arg(long = "skip-empty")]
    pub skip_empty: bool,

    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub file: FileArgs,

    /// Skip over and treat as successful any attempts to create a resource that already exists.
    #[arg(long = "skip-exists")]
    pub skip_exists: bool,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kind of resource to delete (then NAME... or -f).
    pub kind: Option<String>,
    /// Names of the resources to delete.
    pub names: Vec<String>,

    #[command(flatten)]
    pub file: FileArgs,

    /// Skip over and treat as successful any attempts to delete a resource that does not exist.
    #[arg(short = 's', long = "skip-not-exists")]
    pub skip_not_exists: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind of resource to display.
    pub kind: Option<String>,
    /// Names of the resources to display (all when none).
    pub names: Vec<String>,

    #[command(flatten)]
    pub file: FileArgs,

    /// Output format: ps, wide, yaml, json, go-template=..., go-template-file=..., custom-columns=...
    #[arg(short = 'o', long = "output", default_value = "ps")]
    pub output: String,

    /// List resources across all namespaces.
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,

    /// Same as --all-namespaces (kept for old scripts).
    #[arg(short = 'a', hide = true)]
    pub all_namespaces_short: bool,

    /// Leave out cluster-specific metadata (only with names).
    #[arg(long)]
    pub export: bool,

    /// Only resources whose labels match this Calico selector (e.g. "app == 'web'").
    #[arg(long)]
    pub selector: Option<String>,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Display only the client version.
    #[arg(long)]
    pub client: bool,

    /// Path to the file containing connection configuration.
    #[arg(short = 'c', long = "config", default_value = "")]
    pub config: String,

    /// Keep polling for the cluster version at this interval (e.g. 5s).
    #[arg(long)]
    pub poll: Option<String>,
}

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The kind of resource to patch.
    pub kind: String,
    /// The name of the resource to patch.
    pub name: String,

    /// The patch, as JSON.
    #[arg(short = 'p', long = "patch")]
    pub patch: String,

    /// Patch type (accepted for compatibility; a merge patch is always applied, as calicoctl does).
    #[arg(short = 't', long = "type", default_value = "strategic")]
    pub patch_type: String,

    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct LabelArgs {
    /// The kind of resource to label.
    pub kind: String,
    /// The name of the resource.
    pub name: String,
    /// `key=value` to set, or `key` with --remove.
    pub label: String,

    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Replace the value of a label that is already set.
    #[arg(long)]
    pub overwrite: bool,

    /// Remove the label.
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh, fish or powershell.
    pub shell: clap_complete::Shell,
}

/// `kubectl-calico` when run as a kubectl plugin (the executable's name starts with
/// `kubectl-`), else `calicoctl`.
pub fn binary_name() -> &'static str {
    let invoked = std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if invoked.starts_with("kubectl-") {
        "kubectl-calico"
    } else {
        "calicoctl"
    }
}

/// What the command line asks for: a command to run, or text to print and an exit code
/// (help, version, or a usage error worded as calicoctl words it).
pub enum Parsed {
    Run(Cli),
    Exit {
        stdout: String,
        stderr: String,
        code: u8,
    },
}

/// Parses the process arguments under the name the binary was invoked as.
pub fn parse() -> Parsed {
    parse_from(std::env::args_os())
}

/// Parses `args` (the first being the program name).
pub fn parse_from<I, T>(args: I) -> Parsed
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::{CommandFactory, FromArgMatches};

    let name = binary_name();
    let mut command = Cli::command().name(name);
    let result = command
        .try_get_matches_from_mut(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let err = match result {
        Ok(cli) => return Parsed::Run(cli),
        Err(err) => err,
    };
    let context = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => text.clone(),
        _ => String::new(),
    };
    let usage_error = |message: String| Parsed::Exit {
        stdout: String::new(),
        stderr: message,
        code: 1,
    };
    match err.kind() {
        // calicoctl prints help on stdout and succeeds, also for a bare `calicoctl`.
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        | ErrorKind::MissingSubcommand => Parsed::Exit {
            stdout: if err.kind() == ErrorKind::MissingSubcommand {
                command.render_help().to_string()
            } else {
                err.to_string()
            },
            stderr: String::new(),
            code: 0,
        },
        ErrorKind::UnknownArgument => {
            let arg = context(ContextKind::InvalidArg);
            match arg.strip_prefix('-') {
                Some(short) if !short.starts_with('-') => usage_error(format!(
                    "unknown shorthand flag: '{}' in {arg}",
                    short.chars().next().unwrap_or('-')
                )),
                _ => usage_error(format!("unknown flag: {arg}")),
            }
        }
        ErrorKind::InvalidValue if context(ContextKind::InvalidValue).is_empty() => {
            let arg = context(ContextKind::InvalidArg);
            let flag = arg
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            usage_error(format!("flag needs an argument: {flag}"))
        }
        ErrorKind::InvalidSubcommand => usage_error(format!(
            "unknown command \"{}\" for \"{name}\"",
            context(ContextKind::InvalidSubcommand)
        )),
        _ => usage_error(
            err.to_string()
                .trim_end()
                .trim_start_matches("error: ")
                .to_string(),
        ),
    }
}
