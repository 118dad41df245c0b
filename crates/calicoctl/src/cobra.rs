//! The command line as Calico's calicoctl reads and describes it: spf13/cobra commands with
//! spf13/pflag flags.
//!
//! Calico's users read its help, usage errors and flag parsing through cobra and pflag, and
//! scripts depend on them, so this module reproduces their behaviour and wording byte for byte
//! (command lookup and suggestions, pflag's flag syntax and messages, cobra's help and usage
//! templates). A general-purpose parser such as clap words and lays all of these out
//! differently, hence the hand-written code. The command tree itself ([`COMMANDS`]) is data
//! taken from the help Calico's calicoctl prints (tests/golden/help).

use std::collections::HashMap;

pub use crate::cobra_spec::COMMANDS;

/// The type of a flag's value, as pflag names it in help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    Bool,
    String,
    Int,
    StringArray,
}

/// One flag of one command.
#[derive(Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub shorthand: Option<char>,
    pub kind: FlagKind,
    /// The default as pflag prints it (`false` for booleans).
    pub default: &'static str,
    pub usage: &'static str,
    pub hidden: bool,
}

/// cobra's positional-argument rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Args {
    /// No rule (cobra's legacy rule: anything goes, except unknown commands under the root).
    Arbitrary,
    /// `cobra.NoArgs`.
    None,
    /// `cobra.ExactArgs(n)`.
    Exact(usize),
    /// `cobra.MinimumNArgs(n)`.
    Min(usize),
}

/// One command: its path below the root (`""` for the root, `"ipam show"`), and its texts.
#[derive(Debug)]
pub struct CommandSpec {
    pub path: &'static str,
    pub use_: &'static str,
    pub short: &'static str,
    pub long: &'static str,
    pub example: &'static str,
    pub runnable: bool,
    pub args: Args,
    pub flags: &'static [FlagSpec],
}

/// `-c/--config`, as Calico's commands that reach a datastore declare it.
const CONFIG_FLAG: FlagSpec = FlagSpec {
    name: "config",
    shorthand: Some('c'),
    kind: FlagKind::String,
    default: "/etc/calico/calicoctl.cfg",
    usage: "Path to the file containing connection configuration in YAML or JSON format.",
    hidden: false,
};

/// A boolean flag (`-R/--recursive` unless its fields are replaced).
const BOOL_FLAG: FlagSpec = FlagSpec {
    name: "recursive",
    shorthand: Some('R'),
    kind: FlagKind::Bool,
    default: "false",
    usage: "",
    hidden: false,
};

/// `-f/--filename`, as the commands that read resources declare it.
const FILENAME_FLAG: FlagSpec = FlagSpec {
    name: "filename",
    shorthand: Some('f'),
    kind: FlagKind::String,
    default: "",
    usage: "Filename to use to create/apply/replace/delete the resource. Use '-' for stdin.",
    hidden: false,
};

/// `-n/--namespace`.
const NAMESPACE_FLAG: FlagSpec = FlagSpec {
    name: "namespace",
    shorthand: Some('n'),
    kind: FlagKind::String,
    default: "",
    usage: "Namespace of the resource.",
    hidden: false,
};

/// `--dry-run` (ours, hidden) of create, apply, replace and delete.
pub const DRY_RUN_FLAG: FlagSpec = FlagSpec {
    name: "dry-run",
    shorthand: None,
    kind: FlagKind::Bool,
    default: "false",
    usage: "Check everything, write nothing (an extension of ours).",
    hidden: true,
};

/// Commands of ours that Calico's calicoctl does not have: they run, but help does not list
/// them.
static HIDDEN: &[CommandSpec] = &[
    CommandSpec {
        path: "edit",
        use_: "edit KIND NAME",
        short: "Edit a resource in $VISUAL, $EDITOR or vi",
        long: "Open a resource, as get -o yaml prints it, in $VISUAL, $EDITOR or vi and write it back\nwhen saved, guarded by its resourceVersion. An invalid edit is reopened with the error\nas a comment; an unchanged or empty file cancels.",
        example: "  calicoctl edit ippool default-ipv4-ippool",
        runnable: true,
        args: Args::Exact(2),
        flags: &[CONFIG_FLAG, NAMESPACE_FLAG],
    },
    CommandSpec {
        path: "diff",
        use_: "diff -f FILENAME",
        short: "Diff the stored resources against what apply would store",
        long: "Show a unified diff of each resource as stored (as get -o yaml --export shows it)\nagainst what apply would store: defaults applied, validated, checked against the\ndatastore, nothing written. Exit status: 0 no differences, 1 differences, >1 an error.\nCALICOCTL_EXTERNAL_DIFF names a program (with arguments) to run on two directories\ninstead, as kubectl's KUBECTL_EXTERNAL_DIFF does.",
        example: "  calicoctl diff -f ./policy.yaml",
        runnable: true,
        args: Args::Arbitrary,
        flags: &[
            CONFIG_FLAG,
            FILENAME_FLAG,
            NAMESPACE_FLAG,
            FlagSpec {
                name: "recursive",
                usage: "Process the filename specified in -f recursively.",
                ..BOOL_FLAG
            },
            FlagSpec {
                name: "skip-empty",
                shorthand: None,
                usage: "Do not error if files contain no data.",
                ..BOOL_FLAG
            },
        ],
    },
    CommandSpec {
        path: "datastore migrate v1-to-v3",
        use_: "v1-to-v3 [--dry-run]",
        short: "Move a Kubernetes datastore from crd.projectcalico.org/v1 to projectcalico.org/v3 custom resources",
        long: "Copy every Calico resource and IPAM object of a Kubernetes datastore from the\ncrd.projectcalico.org/v1 custom resources to the projectcalico.org/v3 ones, as Calico's\nDatastoreMigration controller does: lock the datastore, copy in Calico's order, leave\nv3 objects that already exist alone (reporting those that differ as conflicts), remap\nowner references, and unlock v3 when there is no conflict (v1 stays locked). Running it\nagain is safe: it finishes a run that stopped part-way, or one whose conflicts were\nresolved. Then restart Calico's components with CALICO_API_GROUP=projectcalico.org/v3.",
        example: "  calicoctl datastore migrate v1-to-v3 --dry-run\n  calicoctl datastore migrate v1-to-v3",
        runnable: true,
        args: Args::None,
        flags: &[
            CONFIG_FLAG,
            FlagSpec {
                name: "dry-run",
                shorthand: None,
                kind: FlagKind::Bool,
                default: "false",
                usage: "Compare only: say what would be copied and what conflicts, lock and write nothing.",
                hidden: false,
            },
            FlagSpec {
                name: "drain-seconds",
                shorthand: None,
                kind: FlagKind::Int,
                default: "10",
                usage: "Seconds to wait after locking the v1 datastore for IPAM writes in flight to land.",
                hidden: false,
            },
        ],
    },
    CommandSpec {
        path: "manifests",
        use_: "manifests [crds | v3-crds | rbac-kdd]",
        short: "Print the CRDs or the KDD RBAC manifest generated from this binary's types",
        long: "Print the CRDs (crds: crd.projectcalico.org/v1, v3-crds: projectcalico.org/v3) or the\nKubernetes datastore driver's ClusterRole (rbac-kdd) generated from this binary's types.",
        example: "",
        runnable: true,
        args: Args::Exact(1),
        flags: &[],
    },
    CommandSpec {
        path: "datastore sync",
        use_: "sync [--syncer felix|bgp|tunnel-ip-allocation|node-status] [--node NAME]",
        short: "Print what one of Calico's syncers delivers, one JSON object a line",
        long: "Follow the datastore as one of Calico's syncers does (felix, bgp, tunnel-ip-allocation\nor node-status) and print its status changes and updates, one JSON object a line,\nuntil interrupted: what Felix, confd or the tunnel IP allocator would see.",
        example: "  calicoctl datastore sync --syncer felix",
        runnable: true,
        args: Args::None,
        flags: &[
            CONFIG_FLAG,
            FlagSpec {
                name: "syncer",
                shorthand: None,
                kind: FlagKind::String,
                default: "felix",
                usage: "The syncer: felix, bgp, tunnel-ip-allocation or node-status.",
                hidden: false,
            },
            FlagSpec {
                name: "node",
                shorthand: None,
                kind: FlagKind::String,
                default: "",
                usage: "With the tunnel-ip-allocation syncer: follow this node only.",
                hidden: false,
            },
            FlagSpec {
                name: "output",
                shorthand: Some('o'),
                kind: FlagKind::String,
                default: "json",
                usage: "Output format: json (one object a line).",
                hidden: false,
            },
        ],
    },
];

impl CommandSpec {
    fn name(&self) -> &'static str {
        self.path.rsplit(' ').next().unwrap_or(self.path)
    }

    fn hidden(&self) -> bool {
        HIDDEN.iter().any(|h| std::ptr::eq(h, self))
    }

    fn parent_path(&self) -> Option<&'static str> {
        if self.path.is_empty() {
            None
        } else {
            Some(self.path.rsplit_once(' ').map_or("", |(parent, _)| parent))
        }
    }
}

fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().chain(HIDDEN.iter())
}

fn command(path: &str) -> Option<&'static CommandSpec> {
    all_commands().find(|c| c.path == path)
}

fn root() -> &'static CommandSpec {
    command("").unwrap_or(&COMMANDS[0])
}

/// The subcommands of `parent`, sorted by name as cobra sorts them.
fn children(parent: &CommandSpec) -> Vec<&'static CommandSpec> {
    let mut list: Vec<_> = all_commands()
        .filter(|c| c.parent_path() == Some(parent.path))
        .collect();
    list.sort_by_key(|c| c.name());
    list
}

/// The `-h, --help` flag cobra adds to every command (its usage, `help for <name>`, is
/// written when help is rendered).
static HELP: FlagSpec = FlagSpec {
    name: "help",
    shorthand: Some('h'),
    kind: FlagKind::Bool,
    default: "false",
    usage: "",
    hidden: false,
};

/// A command's own flags (with `--help`) and the root's persistent ones it inherits.
struct FlagSet {
    local: Vec<&'static FlagSpec>,
    inherited: Vec<&'static FlagSpec>,
}

impl FlagSet {
    fn of(spec: &'static CommandSpec) -> Self {
        let mut local: Vec<&'static FlagSpec> = spec.flags.iter().collect();
        local.push(&HELP);
        let inherited = if spec.path.is_empty() {
            Vec::new()
        } else {
            root().flags.iter().collect()
        };
        local.sort_by_key(|f| f.name);
        FlagSet { local, inherited }
    }

    fn all(&self) -> impl Iterator<Item = &&'static FlagSpec> {
        self.local.iter().chain(self.inherited.iter())
    }

    fn long(&self, name: &str) -> Option<&'static FlagSpec> {
        self.all().find(|f| f.name == name).copied()
    }

    fn short(&self, c: char) -> Option<&'static FlagSpec> {
        self.all().find(|f| f.shorthand == Some(c)).copied()
    }
}

/// Flag values as given, by flag name.
type Values = HashMap<&'static str, Vec<String>>;

/// A parsed command line, ready to run.
#[derive(Debug)]
pub struct Invocation {
    /// The command's path below the root, e.g. `"get"` or `"ipam show"`.
    pub path: &'static str,
    /// Positional arguments.
    pub args: Vec<String>,
    values: HashMap<&'static str, Vec<String>>,
    flags: Vec<&'static FlagSpec>,
}

impl Invocation {
    fn spec(&self, name: &str) -> Option<&'static FlagSpec> {
        self.flags.iter().find(|f| f.name == name).copied()
    }

    /// A string flag's value (its default when not given).
    pub fn string(&self, name: &str) -> String {
        match self.values.get(name).and_then(|v| v.last()) {
            Some(value) => value.clone(),
            None => self
                .spec(name)
                .map(|f| f.default.to_string())
                .unwrap_or_default(),
        }
    }

    /// Every value a repeatable (string array) flag was given, in order.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// Whether a string flag was given on the command line.
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A boolean flag's value.
    pub fn bool(&self, name: &str) -> bool {
        self.string(name) == "true"
    }
}

/// What the command line asks for.
pub enum Parsed {
    Run(Invocation),
    /// Text to print and an exit code (help, or a usage error worded as cobra words it).
    Exit {
        stdout: String,
        stderr: String,
        code: u8,
    },
}

fn error(message: String) -> Parsed {
    Parsed::Exit {
        stdout: String::new(),
        stderr: format!("{message}\n"),
        code: 1,
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `%q` of a string.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// pflag's name of a flag in `invalid argument` messages.
fn flag_display(flag: &FlagSpec) -> String {
    match flag.shorthand {
        Some(c) => format!("-{c}, --{}", flag.name),
        None => format!("--{}", flag.name),
    }
}

/// Checks and records one flag value as pflag's `Set` does.
fn set_value(
    values: &mut HashMap<&'static str, Vec<String>>,
    flag: &'static FlagSpec,
    value: &str,
) -> Result<(), String> {
    let stored = match flag.kind {
        FlagKind::Bool => match parse_bool(value) {
            Some(b) => b.to_string(),
            None => {
                return Err(format!(
                "invalid argument {} for {} flag: strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(value),
                go_quote(&flag_display(flag)),
                go_quote(value)
            ))
            }
        },
        FlagKind::Int => match value.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => {
                return Err(format!(
                    "invalid argument {} for {} flag: strconv.ParseInt: parsing {}: {}",
                    go_quote(value),
                    go_quote(&flag_display(flag)),
                    go_quote(value),
                    if value
                        .trim_start_matches(['+', '-'])
                        .chars()
                        .all(|c| c.is_ascii_digit())
                        && !value.trim_start_matches(['+', '-']).is_empty()
                    {
                        "value out of range"
                    } else {
                        "invalid syntax"
                    }
                ))
            }
        },
        FlagKind::String | FlagKind::StringArray => value.to_string(),
    };
    values.entry(flag.name).or_default().push(stored);
    Ok(())
}

/// pflag's `Parse` with interspersed arguments: flags anywhere, `--` ends them.
fn parse_flags(set: &FlagSet, args: &[String]) -> Result<(Vec<String>, Values), String> {
    let mut values = HashMap::new();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg.len() < 2 || !arg.starts_with('-') {
            positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            positional.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
                return Err(format!("bad flag syntax: {arg}"));
            }
            let Some(flag) = set.long(name) else {
                return Err(format!("unknown flag: --{name}"));
            };
            let value = match (inline, flag.kind) {
                (Some(v), _) => v.to_string(),
                (None, FlagKind::Bool) => "true".to_string(),
                (None, _) if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                (None, _) => return Err(format!("flag needs an argument: {arg}")),
            };
            set_value(&mut values, flag, &value)?;
            continue;
        }
        // Shorthands: -abc, -fvalue, -f value, -f=value.
        let mut shorthands: &str = &arg[1..];
        while let Some(c) = shorthands.chars().next() {
            let rest = &shorthands[c.len_utf8()..];
            let Some(flag) = set.short(c) else {
                return Err(format!("unknown shorthand flag: '{c}' in -{shorthands}"));
            };
            if let Some(value) = rest.strip_prefix('=') {
                set_value(&mut values, flag, value)?;
                shorthands = "";
            } else if flag.kind == FlagKind::Bool {
                set_value(&mut values, flag, "true")?;
                shorthands = rest;
            } else if !rest.is_empty() {
                set_value(&mut values, flag, rest)?;
                shorthands = "";
            } else if i < args.len() {
                set_value(&mut values, flag, &args[i])?;
                i += 1;
                shorthands = "";
            } else {
                return Err(format!("flag needs an argument: '{c}' in -{shorthands}"));
            }
        }
    }
    Ok((positional, values))
}

/// cobra's `stripFlags`: the arguments that are not flags or their values, used to find the
/// subcommand.
fn strip_flags(set: &FlagSet, args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        }
        if let Some(name) = arg.strip_prefix("--") {
            let takes_value =
                !name.contains('=') && set.long(name).is_some_and(|f| f.kind != FlagKind::Bool);
            if takes_value {
                i += 1;
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let takes_value = !short.contains('=')
                && short.chars().count() == 1
                && short
                    .chars()
                    .next()
                    .and_then(|c| set.short(c))
                    .is_some_and(|f| f.kind != FlagKind::Bool);
            if takes_value {
                i += 1;
            }
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Levenshtein distance, ignoring case (cobra's `ld`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// cobra's "Did you mean this?" block.
fn suggestions(parent: &'static CommandSpec, typed: &str) -> String {
    let found: Vec<&str> = children(parent)
        .into_iter()
        .filter(|c| !c.hidden() && (c.runnable || !children(c).is_empty()))
        .map(|c| c.name())
        .filter(|name| {
            distance(typed, name) <= 2 || name.to_lowercase().starts_with(&typed.to_lowercase())
        })
        .collect();
    if found.is_empty() {
        return String::new();
    }
    let mut text = "\n\nDid you mean this?\n".to_string();
    for name in found {
        text.push_str(&format!("\t{name}\n"));
    }
    text
}

/// cobra's `Find`: the command named by the leading non-flag arguments, and the arguments left.
fn find(args: &[String]) -> (&'static CommandSpec, Vec<String>) {
    let mut current = root();
    let mut rest: Vec<String> = args.to_vec();
    loop {
        let set = FlagSet::of(current);
        let stripped = strip_flags(&set, &rest);
        let Some(next) = stripped.first() else {
            break;
        };
        let Some(child) = children(current).into_iter().find(|c| c.name() == next) else {
            break;
        };
        if let Some(pos) = rest.iter().position(|a| a == next) {
            rest.remove(pos);
        }
        current = child;
    }
    (current, rest)
}

/// The legacy argument check cobra applies when a command has no rule: only the root refuses
/// words that are not its subcommands.
fn legacy_args(name: &str, spec: &'static CommandSpec, args: &[String]) -> Result<(), String> {
    if children(spec).is_empty() || !spec.path.is_empty() {
        return Ok(());
    }
    match args.first() {
        Some(first) => Err(format!(
            "unknown command {} for {}{}",
            go_quote(first),
            go_quote(name),
            suggestions(spec, first)
        )),
        None => Ok(()),
    }
}

fn command_path(name: &str, spec: &CommandSpec) -> String {
    if spec.path.is_empty() {
        name.to_string()
    } else {
        format!("{name} {}", spec.path)
    }
}

/// Parses the command line (without the program name) as cobra would for `name`.
pub fn parse(name: &str, args: &[String]) -> Parsed {
    let (spec, rest) = find(args);
    if spec.args == Args::Arbitrary {
        if let Err(message) = legacy_args(name, spec, &strip_flags_for(spec, &rest)) {
            return error(message);
        }
    }
    let set = FlagSet::of(spec);
    let flags: Vec<&'static FlagSpec> = set.all().copied().collect();
    let (positional, values) = match parse_flags(&set, &rest) {
        Ok(parsed) => parsed,
        Err(message) => return error(message),
    };
    let invocation = Invocation {
        path: spec.path,
        args: positional,
        values,
        flags,
    };
    if invocation.bool("help") || !spec.runnable {
        return Parsed::Exit {
            stdout: help_text(name, spec),
            stderr: String::new(),
            code: 0,
        };
    }
    let path = command_path(name, spec);
    let count = invocation.args.len();
    let check = match spec.args {
        Args::Arbitrary => Ok(()),
        Args::None => match invocation.args.first() {
            Some(first) => Err(format!(
                "unknown command {} for {}",
                go_quote(first),
                go_quote(&path)
            )),
            None => Ok(()),
        },
        Args::Exact(n) if count != n => Err(format!("accepts {n} arg(s), received {count}")),
        Args::Min(n) if count < n => Err(format!(
            "requires at least {n} arg(s), only received {count}"
        )),
        _ => Ok(()),
    };
    if let Err(message) = check {
        return error(message);
    }
    if spec.path == "help" {
        return help_command(name, &invocation.args);
    }
    // The root's PersistentPreRunE: logrus level names.
    let level = invocation.string("log-level");
    if !matches!(
        level.to_lowercase().as_str(),
        "panic" | "fatal" | "error" | "warn" | "warning" | "info" | "debug" | "trace"
    ) {
        return error(format!(
            "unknown log level: {level}, expected one of: panic, fatal, error, warn, info, debug"
        ));
    }
    Parsed::Run(invocation)
}

fn strip_flags_for(spec: &'static CommandSpec, args: &[String]) -> Vec<String> {
    strip_flags(&FlagSet::of(spec), args)
}

/// `help [command]`: that command's help, or cobra's "Unknown help topic" and the root's usage.
fn help_command(name: &str, topic: &[String]) -> Parsed {
    let (spec, rest) = find(topic);
    let failed = spec.args == Args::Arbitrary
        && legacy_args(name, spec, &strip_flags_for(spec, &rest)).is_err();
    if failed {
        let quoted: Vec<String> = topic.iter().map(|t| go_backquote(t)).collect();
        return Parsed::Exit {
            stdout: String::new(),
            stderr: format!(
                "Unknown help topic [{}]\n{}",
                quoted.join(" "),
                usage_text(name, root(), false)
            ),
            code: 0,
        };
    }
    Parsed::Exit {
        stdout: help_text(name, spec),
        stderr: String::new(),
        code: 0,
    }
}

/// Go's `%#q` of a string: backquoted when it can be.
fn go_backquote(s: &str) -> String {
    if s.contains('`') || s.chars().any(|c| c.is_control() && c != '\t') {
        go_quote(s)
    } else {
        format!("`{s}`")
    }
}

/// pflag's `FlagUsages` for the visible flags of a list.
fn flag_usages(flags: &[&FlagSpec], command_name: &str) -> String {
    let mut lines = Vec::new();
    let mut max = 0;
    let mut sorted: Vec<&&FlagSpec> = flags.iter().filter(|f| !f.hidden).collect();
    sorted.sort_by_key(|f| f.name);
    for flag in sorted {
        let mut line = match flag.shorthand {
            Some(c) => format!("  -{c}, --{}", flag.name),
            None => format!("      --{}", flag.name),
        };
        let varname = match flag.kind {
            FlagKind::Bool => "",
            FlagKind::String => "string",
            FlagKind::Int => "int",
            FlagKind::StringArray => "stringArray",
        };
        if !varname.is_empty() {
            line.push(' ');
            line.push_str(varname);
        }
        max = max.max(line.len() + 1);
        let mut usage = if std::ptr::eq(*flag, &HELP) {
            format!("help for {command_name}")
        } else {
            flag.usage.to_string()
        };
        let zero = match flag.kind {
            FlagKind::Bool => flag.default == "false",
            FlagKind::String => flag.default.is_empty(),
            FlagKind::Int => flag.default == "0",
            FlagKind::StringArray => flag.default.is_empty() || flag.default == "[]",
        };
        if !zero {
            if flag.kind == FlagKind::String {
                usage.push_str(&format!(" (default {})", go_quote(flag.default)));
            } else {
                usage.push_str(&format!(" (default {})", flag.default));
            }
        }
        lines.push((line, usage));
    }
    let mut out = String::new();
    for (line, usage) in lines {
        let pad = max - line.len();
        out.push_str(&line);
        out.push_str(&" ".repeat(pad + 2));
        out.push_str(&usage.replace('\n', &format!("\n{}", " ".repeat(max + 2))));
        out.push('\n');
    }
    out
}

/// cobra's usage template.
///
/// `help_flag`: whether `-h, --help` is listed; cobra adds it to a command only when that
/// command runs, so the root's usage printed by `help <unknown>` lacks it.
pub fn usage_text(name: &str, spec: &'static CommandSpec, help_flag: bool) -> String {
    let path = command_path(name, spec);
    let subcommands: Vec<_> = children(spec)
        .into_iter()
        .filter(|c| !c.hidden() && (c.runnable || !children(c).is_empty() || c.name() == "help"))
        .collect();
    let mut out = String::from("Usage:");
    if spec.runnable {
        let mut use_line = if spec.path.is_empty() {
            spec.use_.replacen("calicoctl", name, 1)
        } else {
            let parent = command_path(
                name,
                command(spec.parent_path().unwrap_or("")).unwrap_or(root()),
            );
            format!("{parent} {}", spec.use_)
        };
        // cobra sets DisableFlagsInUseLine on its bash completion command only.
        let disable_flags_in_use_line = spec.path == "completion bash";
        if !disable_flags_in_use_line && !use_line.contains("[flags]") {
            use_line.push_str(" [flags]");
        }
        out.push_str(&format!("\n  {use_line}"));
    }
    if !subcommands.is_empty() {
        out.push_str(&format!("\n  {path} [command]"));
    }
    if !spec.example.is_empty() {
        out.push_str(&format!("\n\nExamples:\n{}", spec.example));
    }
    if !subcommands.is_empty() {
        out.push_str("\n\nAvailable Commands:");
        let padding = subcommands
            .iter()
            .map(|c| c.name().len())
            .max()
            .unwrap_or(0)
            .max(11);
        for c in &subcommands {
            out.push_str(&format!("\n  {:<padding$} {}", c.name(), c.short));
        }
    }
    let mut set = FlagSet::of(spec);
    if !help_flag {
        set.local.retain(|f| !std::ptr::eq(*f, &HELP));
    }
    let command_name = if spec.path.is_empty() {
        name
    } else {
        spec.name()
    };
    out.push_str("\n\nFlags:\n");
    out.push_str(flag_usages(&set.local, command_name).trim_end());
    if !set.inherited.is_empty() {
        out.push_str("\n\nGlobal Flags:\n");
        out.push_str(flag_usages(&set.inherited, command_name).trim_end());
    }
    if !subcommands.is_empty() {
        out.push_str(&format!(
            "\n\nUse \"{path} [command] --help\" for more information about a command."
        ));
    }
    out.push('\n');
    out
}

/// cobra's help template: the long (or short) description, then the usage.
pub fn help_text(name: &str, spec: &'static CommandSpec) -> String {
    let about = if spec.long.is_empty() {
        spec.short
    } else {
        spec.long
    };
    // cobra writes the root's name into the texts of the commands it adds itself.
    let about = if spec.path == "help" || spec.path.starts_with("completion") {
        about.replace("calicoctl", name)
    } else {
        about.to_string()
    };
    let mut out = String::new();
    if !about.is_empty() {
        out.push_str(about.trim_end());
        out.push_str("\n\n");
    }
    out.push_str(&usage_text(name, spec, true));
    out
}

/// The command tree as a clap command, for clap_complete's completion scripts.
pub fn clap_command(name: &'static str) -> clap::Command {
    fn build(command: clap::Command, spec: &'static CommandSpec) -> clap::Command {
        let mut command = command.about(spec.short);
        for flag in spec.flags.iter().filter(|f| !f.hidden) {
            let mut arg = clap::Arg::new(flag.name).long(flag.name).help(flag.usage);
            if let Some(c) = flag.shorthand {
                arg = arg.short(c);
            }
            arg = match flag.kind {
                FlagKind::Bool => arg.action(clap::ArgAction::SetTrue),
                _ => arg.action(clap::ArgAction::Append),
            };
            command = command.arg(arg);
        }
        // clap adds its own `help` subcommand.
        for child in children(spec)
            .into_iter()
            .filter(|c| !c.hidden() && c.path != "help")
        {
            command = command.subcommand(build(clap::Command::new(child.name()), child));
        }
        command
    }
    build(clap::Command::new(name), root())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn stderr_of(text: &str) -> String {
        match parse("calicoctl", &args(text)) {
            Parsed::Exit { stderr, .. } => stderr,
            Parsed::Run(invocation) => panic!("ran {invocation:?}"),
        }
    }

    #[test]
    fn flags_parse_as_pflag_does() {
        let Parsed::Run(run) = parse("calicoctl", &args("get -Ao=yaml ippool -n ns -- -x")) else {
            panic!("did not run");
        };
        assert_eq!(run.path, "get");
        assert_eq!(run.args, vec!["ippool", "-x"]);
        assert!(run.bool("all-namespaces"));
        assert_eq!(run.string("output"), "yaml");
        assert_eq!(run.string("namespace"), "ns");
        assert_eq!(run.string("config"), "/etc/calico/calicoctl.cfg");
    }

    #[test]
    fn usage_errors_read_as_cobra_words_them() {
        assert_eq!(
            stderr_of("gte"),
            "unknown command \"gte\" for \"calicoctl\"\n\nDid you mean this?\n\tget\n\n"
        );
        assert_eq!(stderr_of("get -Rx"), "unknown shorthand flag: 'x' in -x\n");
        assert_eq!(stderr_of("get -o"), "flag needs an argument: 'o' in -o\n");
        assert_eq!(
            stderr_of("version --poll"),
            "flag needs an argument: --poll\n"
        );
        assert_eq!(stderr_of("patch a"), "accepts 2 arg(s), received 1\n");
        assert_eq!(
            stderr_of("label a b"),
            "requires at least 3 arg(s), only received 2\n"
        );
        assert_eq!(
            stderr_of("get -A=maybe"),
            "invalid argument \"maybe\" for \"-A, --all-namespaces\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax\n"
        );
    }

    #[test]
    fn suggestions_use_edit_distance_and_prefixes() {
        assert_eq!(distance("gte", "get"), 2);
        assert!(suggestions(root(), "ipa").contains("\tipam\n"));
        assert_eq!(suggestions(root(), "zzzzzz"), "");
    }
}
