//! The command-line surface: Calico's calicoctl commands and flags, read as cobra reads them
//! (see [`crate::cobra`]), turned into typed arguments for the commands.

use std::path::PathBuf;

use crate::cobra::{self, Invocation};

/// The global flags and the command to run.
#[derive(Debug)]
pub struct Cli {
    /// `-l/--log-level`, a logrus level name (checked by the parser).
    pub log_level: String,
    pub context: String,
    pub allow_version_mismatch: bool,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    Create(CreateArgs),
    Apply(FileArgs),
    Replace(FileArgs),
    Delete(DeleteArgs),
    Get(GetArgs),
    Patch(PatchArgs),
    Label(LabelArgs),
    Validate(FileArgs),
    /// `edit KIND NAME` (ours, kubectl's).
    Edit(EditArgs),
    /// `diff -f FILE` (ours, kubectl's): stored against what apply would store.
    Diff(FileArgs),
    Completion(CompletionArgs),
    Version(VersionArgs),
    Manifests(ManifestsArgs),
    IpamSplit(IpamSplitArgs),
    IpamShow(IpamShowArgs),
    IpamConfigure(IpamConfigureArgs),
    IpamRelease(IpamReleaseArgs),
    IpamCheck(IpamCheckArgs),
    DatastoreLock(ConnectionArgs),
    DatastoreUnlock(ConnectionArgs),
    DatastoreExport(DatastoreExportArgs),
    /// `datastore migrate-policy-names`.
    DatastoreMigratePolicyNames(ConnectionArgs),
    DatastoreImport(DatastoreImportArgs),
    /// `datastore sync` (ours): what one of Calico's syncers delivers.
    DatastoreSync(DatastoreSyncArgs),
    /// `datastore migrate v1-to-v3` (ours): crd.projectcalico.org/v1 → projectcalico.org/v3.
    DatastoreMigrateV1ToV3(MigrateV1ToV3Args),
    /// A command Calico's calicoctl has and this one does not implement (e.g. `node diags`).
    Unimplemented(&'static str),
}

/// `ipam split NUMBER --cidr CIDR | --name NAME`.
#[derive(Debug)]
pub struct IpamSplitArgs {
    pub number: String,
    pub cidr: String,
    pub name: String,
    pub conn: ConnectionArgs,
}

/// `ipam release [--ip IP | --from-report FILE… [--force]]`.
#[derive(Debug)]
pub struct IpamReleaseArgs {
    pub ip: String,
    pub from_report: Vec<String>,
    pub force: bool,
    pub conn: ConnectionArgs,
}

/// `ipam configure [--strictaffinity=BOOL] [--max-blocks-per-host=N]
/// [--kubevirt-ip-persistence=Enabled|Disabled] [--ip-cooldown-seconds=N]`: the values as
/// given (empty or -1 when not), parsed by the command as Calico parses them.
#[derive(Debug)]
pub struct IpamConfigureArgs {
    pub strict_affinity: String,
    pub max_blocks_per_host: String,
    pub kube_virt_ip_persistence: String,
    pub ip_cooldown_seconds: i64,
    pub conn: ConnectionArgs,
}

/// `ipam check [--show-all-ips] [--show-problem-ips] [-o FILE] [--kubeconfig FILE]`.
#[derive(Debug)]
pub struct IpamCheckArgs {
    pub show_all_ips: bool,
    pub show_problem_ips: bool,
    /// Where to write the report; empty for none.
    pub output: String,
    /// The Kubernetes API to list Services from on etcd; empty: `KUBECONFIG`.
    pub kubeconfig: String,
    pub conn: ConnectionArgs,
}

/// `ipam show [--ip IP | --show-blocks | --show-borrowed | --show-configuration]`.
#[derive(Debug)]
pub struct IpamShowArgs {
    pub ip: String,
    pub show_blocks: bool,
    pub show_borrowed: bool,
    pub show_configuration: bool,
    pub conn: ConnectionArgs,
}

#[derive(Debug)]
pub struct ManifestsArgs {
    pub manifest: String,
}

/// `datastore sync --syncer NAME [--node NAME] [-o json]`.
#[derive(Debug)]
pub struct DatastoreSyncArgs {
    pub syncer: String,
    pub node: Option<String>,
    pub output: String,
    pub conn: ConnectionArgs,
}

/// `datastore migrate import -f FILE`.
#[derive(Debug)]
pub struct DatastoreImportArgs {
    pub filename: String,
    /// Ours: compare the file with the datastore, write nothing.
    pub verify: bool,
    /// Ours: finish an import of the same file that stopped part-way.
    pub resume: bool,
    /// Ours: into any datastore, from a full export.
    pub any_datastore: bool,
    pub conn: ConnectionArgs,
}

/// `datastore migrate export [--any-datastore]`.
#[derive(Debug)]
pub struct DatastoreExportArgs {
    /// Ours: a full export of any datastore.
    pub any_datastore: bool,
    pub conn: ConnectionArgs,
}

/// `datastore migrate v1-to-v3 [--dry-run] [--drain-seconds N]`.
#[derive(Debug)]
pub struct MigrateV1ToV3Args {
    pub dry_run: bool,
    pub drain_seconds: u64,
    pub conn: ConnectionArgs,
}

/// `-c/--config` and `-n/--namespace`, shared by the commands that reach a datastore.
#[derive(Debug)]
pub struct ConnectionArgs {
    pub config: PathBuf,
    pub namespace: String,
}

/// Flags shared by the commands that read resources from files.
#[derive(Debug)]
pub struct FileArgs {
    pub filename: Option<String>,
    pub recursive: bool,
    pub skip_empty: bool,
    /// `--dry-run` (ours; create, apply, replace, delete): check everything, write nothing.
    pub dry_run: bool,
    pub conn: ConnectionArgs,
}

#[derive(Debug)]
pub struct CreateArgs {
    pub file: FileArgs,
    pub skip_exists: bool,
}

#[derive(Debug)]
pub struct DeleteArgs {
    pub kind: Option<String>,
    pub names: Vec<String>,
    pub file: FileArgs,
    pub skip_not_exists: bool,
    /// `--selector SEL` (ours, kubectl's): every resource of KIND whose labels match.
    pub selector: Option<String>,
    /// `--all` (ours, kubectl's): every resource of KIND.
    pub all: bool,
    /// `-A/--all-namespaces` with `--selector`/`--all`.
    pub all_namespaces: bool,
}

/// `edit KIND NAME [-n NS]`.
#[derive(Debug)]
pub struct EditArgs {
    pub kind: String,
    pub name: String,
    pub conn: ConnectionArgs,
}

#[derive(Debug)]
pub struct GetArgs {
    pub kind: Option<String>,
    pub names: Vec<String>,
    pub file: FileArgs,
    pub output: String,
    pub all_namespaces: bool,
    pub all_namespaces_short: bool,
    pub export: bool,
    pub selector: Option<String>,
    /// `-w/--watch` (ours, as kubectl's): the result, then every change.
    pub watch: bool,
    /// `--watch-only`: every change, without the result first.
    pub watch_only: bool,
    /// `--output-watch-events`: JSON/YAML documents wrapped as `{type, object}`.
    pub output_watch_events: bool,
}

#[derive(Debug)]
pub struct VersionArgs {
    pub client: bool,
    pub config: String,
    pub poll: Option<String>,
}

#[derive(Debug)]
pub struct PatchArgs {
    pub kind: String,
    pub name: String,
    pub patch: String,
    /// `-t/--type` (strategic, json or merge).
    #[allow(dead_code)]
    pub patch_type: String,
    pub conn: ConnectionArgs,
}

#[derive(Debug)]
pub struct LabelArgs {
    pub kind: String,
    pub name: String,
    pub label: String,
    pub conn: ConnectionArgs,
    pub overwrite: bool,
    pub remove: bool,
}

#[derive(Debug)]
pub struct CompletionArgs {
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
/// (help, or a usage error worded as calicoctl words it).
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
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    parse_args(binary_name(), &args)
}

fn conn(run: &Invocation) -> ConnectionArgs {
    ConnectionArgs {
        config: PathBuf::from(run.string("config")),
        namespace: run.string("namespace"),
    }
}

fn file(run: &Invocation) -> FileArgs {
    let filename = run.string("filename");
    FileArgs {
        filename: (!filename.is_empty()).then_some(filename),
        recursive: run.bool("recursive"),
        skip_empty: run.bool("skip-empty"),
        dry_run: run.bool("dry-run"),
        conn: conn(run),
    }
}

/// Parses `args` (without the program name) for the binary `name`.
pub fn parse_args(name: &str, args: &[String]) -> Parsed {
    let run = match cobra::parse(name, args) {
        cobra::Parsed::Run(run) => run,
        cobra::Parsed::Exit {
            stdout,
            stderr,
            code,
        } => {
            return Parsed::Exit {
                stdout,
                stderr,
                code,
            }
        }
    };
    let positional = |i: usize| run.args.get(i).cloned().unwrap_or_default();
    let command = match run.path {
        "create" => Command::Create(CreateArgs {
            file: file(&run),
            skip_exists: run.bool("skip-exists"),
        }),
        "apply" => Command::Apply(file(&run)),
        "replace" => Command::Replace(file(&run)),
        "validate" => Command::Validate(file(&run)),
        "diff" => Command::Diff(file(&run)),
        "edit" => Command::Edit(EditArgs {
            kind: positional(0),
            name: positional(1),
            conn: conn(&run),
        }),
        "delete" => Command::Delete(DeleteArgs {
            kind: run.args.first().cloned(),
            names: run.args.iter().skip(1).cloned().collect(),
            file: file(&run),
            skip_not_exists: run.bool("skip-not-exists"),
            selector: run.is_set("selector").then(|| run.string("selector")),
            all: run.bool("all"),
            all_namespaces: run.bool("all-namespaces"),
        }),
        "get" => Command::Get(GetArgs {
            kind: run.args.first().cloned(),
            names: run.args.iter().skip(1).cloned().collect(),
            file: file(&run),
            output: run.string("output"),
            all_namespaces: run.bool("all-namespaces"),
            all_namespaces_short: run.bool("all-namespaces-a"),
            export: run.bool("export"),
            selector: run.is_set("selector").then(|| run.string("selector")),
            watch: run.bool("watch"),
            watch_only: run.bool("watch-only"),
            output_watch_events: run.bool("output-watch-events"),
        }),
        "patch" => Command::Patch(PatchArgs {
            kind: positional(0),
            name: positional(1),
            patch: run.string("patch"),
            patch_type: run.string("type"),
            conn: conn(&run),
        }),
        "label" => Command::Label(LabelArgs {
            kind: positional(0),
            name: positional(1),
            label: positional(2),
            conn: conn(&run),
            overwrite: run.bool("overwrite"),
            remove: run.bool("remove"),
        }),
        "version" => Command::Version(VersionArgs {
            client: run.bool("client"),
            config: run.string("config"),
            poll: run.is_set("poll").then(|| run.string("poll")),
        }),
        "ipam split" => Command::IpamSplit(IpamSplitArgs {
            number: positional(0),
            cidr: run.string("cidr"),
            name: run.string("name"),
            conn: conn(&run),
        }),
        "ipam show" => Command::IpamShow(IpamShowArgs {
            ip: run.string("ip"),
            show_blocks: run.bool("show-blocks"),
            show_borrowed: run.bool("show-borrowed"),
            show_configuration: run.bool("show-configuration"),
            conn: conn(&run),
        }),
        "ipam release" => Command::IpamRelease(IpamReleaseArgs {
            ip: run.string("ip"),
            from_report: run.strings("from-report"),
            force: run.bool("force"),
            conn: conn(&run),
        }),
        "ipam configure" => Command::IpamConfigure(IpamConfigureArgs {
            strict_affinity: run.string("strictaffinity"),
            max_blocks_per_host: run.string("max-blocks-per-host"),
            kube_virt_ip_persistence: run.string("kubevirt-ip-persistence"),
            // The parser checked it is an integer.
            ip_cooldown_seconds: run.string("ip-cooldown-seconds").parse().unwrap_or(-1),
            conn: conn(&run),
        }),
        "ipam check" => Command::IpamCheck(IpamCheckArgs {
            show_all_ips: run.bool("show-all-ips"),
            show_problem_ips: run.bool("show-problem-ips"),
            output: run.string("output"),
            kubeconfig: run.string("kubeconfig"),
            conn: conn(&run),
        }),
        "datastore migrate lock" => Command::DatastoreLock(conn(&run)),
        "datastore migrate unlock" => Command::DatastoreUnlock(conn(&run)),
        "datastore migrate-policy-names" => Command::DatastoreMigratePolicyNames(conn(&run)),
        "datastore migrate export" => Command::DatastoreExport(DatastoreExportArgs {
            any_datastore: run.bool("any-datastore"),
            conn: conn(&run),
        }),
        "datastore migrate import" => Command::DatastoreImport(DatastoreImportArgs {
            filename: run.string("filename"),
            verify: run.bool("verify"),
            resume: run.bool("resume"),
            any_datastore: run.bool("any-datastore"),
            conn: conn(&run),
        }),
        "datastore migrate v1-to-v3" => Command::DatastoreMigrateV1ToV3(MigrateV1ToV3Args {
            dry_run: run.bool("dry-run"),
            // The parser checked it is an integer; a negative one means no pause.
            drain_seconds: run.string("drain-seconds").parse().unwrap_or(0),
            conn: conn(&run),
        }),
        "datastore sync" => Command::DatastoreSync(DatastoreSyncArgs {
            syncer: run.string("syncer"),
            node: run.is_set("node").then(|| run.string("node")),
            output: run.string("output"),
            conn: conn(&run),
        }),
        "manifests" => Command::Manifests(ManifestsArgs {
            manifest: positional(0),
        }),
        shell @ ("completion bash"
        | "completion zsh"
        | "completion fish"
        | "completion powershell") => Command::Completion(CompletionArgs {
            shell: match shell {
                "completion zsh" => clap_complete::Shell::Zsh,
                "completion fish" => clap_complete::Shell::Fish,
                "completion powershell" => clap_complete::Shell::PowerShell,
                _ => clap_complete::Shell::Bash,
            },
        }),
        other => Command::Unimplemented(other),
    };
    Parsed::Run(Cli {
        log_level: run.string("log-level"),
        context: run.string("context"),
        allow_version_mismatch: run.bool("allow-version-mismatch"),
        command,
    })
}
