//! What Calico's own calicoctl printed and stored, replayed against ours on a real etcd.
//!
//! Each folder under `tests/goldens/oracle/` is one case: a `script` of commands (run in the
//! folder, so manifests next to it are found), and what Calico's calicoctl (built from the
//! reference snapshot) printed (`transcript`) and left in etcd (`stored`, the output of
//! `etcdctl get --prefix /calico`) when it ran the same script on a fresh etcd. uids, creation
//! times, the cluster GUID and printed resource versions are masked (ours commits concurrent
//! writes of a bulk create in one etcd transaction, so revisions are numbered differently);
//! everything else must be byte-identical.
//!
//! Script lines: `calicoctl ARGS…` (quoted like a shell), or `etcdctl put KEY VALUE` to write
//! raw data as another Calico component would. A command line ending in `# stored-only: WHY`
//! has its output left out of the transcript (ours differs there for the reason given, which
//! `docs/compatibility.md` lists); what it stores still counts.
//!
//! The cases under `tests/goldens/oracle-kdd/` run the same way on the Kubernetes datastore: a
//! fresh real kube-apiserver per case (see `calico-test-support`), `kubectl ARGS…` lines in
//! place of `etcdctl` ones (their output goes into the transcript, which so shows what is
//! stored), `{repo}` in a line standing for the repository root, and no `stored` file.
//! managedFields times are masked too.
//!
//! The cases under `tests/goldens/oracle-ipam/` (see its README) run on a fresh etcd as the
//! `oracle` ones do, with a real kube-apiserver beside it for `calicoctl ipam check` (which lists
//! Services even on etcd): `{kubeconfig}` in a line stands for its kubeconfig. They run in a
//! scratch copy of their folder; a `# writes: FILE` line names a file the script writes (a
//! check report), whose masked contents are a golden next to the script. Their IPAM data is
//! seeded with `etcdctl put` lines holding the bytes Calico's CNI plugin wrote (`cni-steps`
//! says how). `--show-configuration` prints a Go pointer: its value is masked and the table
//! holding it compared without its column widths.
//!
//! To record a case, run the test with `CALICOCTL_ORACLE=/path/to/calico/calicoctl`: the
//! script then runs with that binary and the goldens are rewritten.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const STORED_ONLY: &str = "# stored-only:";

/// Next to a case's `transcript` (Calico's), what ours prints where it differs on purpose (each
/// difference listed in docs/compatibility.md); ours is held to it instead.
const TRANSCRIPT_OURS: &str = "transcript.ours";

/// The transcript ours must print for `case`: `transcript.ours` when there is one, else Calico's.
fn wanted_transcript(case: &Path) -> String {
    let ours = case.join(TRANSCRIPT_OURS);
    let path = if ours.is_file() {
        ours
    } else {
        case.join("transcript")
    };
    std::fs::read_to_string(path).unwrap()
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle")
}

fn ipam_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle-ipam")
}

fn kdd_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goldens/oracle-kdd")
}

/// Masks the values that differ on every run (uid, creation time, cluster GUID) and the
/// resource versions.
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_line(line));
    }
    mask_pointer_tables(&out)
}

/// A Go pointer printed with `%#v` (`(*ipam.VMAddressPersistence)(0x3b65b7395b00)`, by
/// `calicoctl ipam show --show-configuration`) differs on every run, and so do the widths of
/// the table holding it: the pointer becomes `(0x*)` and that table's padding and borders are
/// cut to one space and one dash.
fn mask_pointer_tables(text: &str) -> String {
    const POINTER: &str = ")(0x";
    if !text.contains(POINTER) {
        return text.to_string();
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_table = |line: &str| line.starts_with('+') || line.starts_with('|');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        if !is_table(lines[i]) {
            out.push_str(lines[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && is_table(lines[i]) {
            i += 1;
        }
        let table = &lines[start..i];
        if !table.iter().any(|line| line.contains(POINTER)) {
            table.iter().for_each(|line| out.push_str(line));
            continue;
        }
        for line in table {
            let (body, rest) = match line.find('+').filter(|_| line.starts_with('+')) {
                // A border, maybe with the next output glued to it (no newline).
                Some(_) => {
                    let end = line.rfind('+').unwrap() + 1;
                    (&line[..end], &line[end..])
                }
                None => {
                    let end = line.rfind('|').map_or(line.len(), |end| end + 1);
                    (&line[..end], &line[end..])
                }
            };
            if body.starts_with('+') {
                let cells = body.matches('+').count() - 1;
                out.push_str(&format!("+{}", "-+".repeat(cells)));
            } else {
                let cells: Vec<String> = body
                    .trim_matches('|')
                    .split('|')
                    .map(|cell| {
                        let cell = cell.trim();
                        match cell.find(POINTER) {
                            Some(at) if cell.ends_with(')') => {
                                format!("{}(0x*)", &cell[..at + 1])
                            }
                            _ => cell.to_string(),
                        }
                    })
                    .collect();
                out.push_str(&format!("| {} |", cells.join(" | ")));
            }
            out.push_str(rest);
        }
    }
    out
}

/// Masks a file a script wrote (a check report): its cluster GUID, ClusterInformation
/// revision (ours numbers etcd revisions differently) and calicoctl version. The allocations'
/// `creationTimestamp`s come from the seeded data and stay.
fn mask_written(text: &str) -> String {
    let mut text = text.to_string();
    for field in ["clusterGUID", "clusterInformationRevision", "version"] {
        let marker = format!("\"{field}\": \"");
        let mut from = 0;
        while let Some(start) = text[from..].find(&marker) {
            let value_start = from + start + marker.len();
            let Some(len) = text[value_start..].find('"') else {
                break;
            };
            text.replace_range(value_start..value_start + len, "*");
            from = value_start + 1;
        }
    }
    text
}

fn mask_line(line: &str) -> String {
    let mut line = line.to_string();
    // JSON (stored values and -o json): "field":"value" and "field": "value".
    for field in [
        "uid",
        "creationTimestamp",
        "clusterGUID",
        "resourceVersion",
        "time",
    ] {
        for marker in [format!("\"{field}\":\""), format!("\"{field}\": \"")] {
            let mut from = 0;
            while let Some(start) = line[from..].find(&marker) {
                let value_start = from + start + marker.len();
                let Some(len) = line[value_start..].find('"') else {
                    break;
                };
                line.replace_range(value_start..value_start + len, "*");
                from = value_start + 1;
            }
        }
    }
    // YAML (-o yaml): `field: value` on its own line.
    let trimmed = line.trim_start();
    for field in [
        "uid: ",
        "creationTimestamp: ",
        "clusterGUID: ",
        "resourceVersion: ",
        "time: ",
    ] {
        if let Some(value) = trimmed.strip_prefix(field) {
            if value.trim() != "null" {
                let indent = &line[..line.len() - trimmed.len()];
                return format!("{indent}{field}*\n");
            }
        }
    }
    line
}

/// Where a case runs.
enum Datastore {
    Etcd(Box<common::Etcd>),
    Kube(Box<common::Kube>),
    /// An etcd, and a Kubernetes API beside it for `calicoctl ipam check --kubeconfig`.
    EtcdAndKube(Box<common::Etcd>, Box<common::Kube>),
}

impl Datastore {
    fn home(&self) -> &Path {
        match self {
            Datastore::Etcd(etcd) | Datastore::EtcdAndKube(etcd, _) => etcd.home.path(),
            Datastore::Kube(kube) => kube.home.path(),
        }
    }

    fn etcd(&self) -> Option<&common::Etcd> {
        match self {
            Datastore::Etcd(etcd) | Datastore::EtcdAndKube(etcd, _) => Some(etcd),
            Datastore::Kube(_) => None,
        }
    }

    fn point(&self, cmd: &mut Command) {
        match self {
            Datastore::Etcd(etcd) | Datastore::EtcdAndKube(etcd, _) => {
                cmd.env("DATASTORE_TYPE", "etcdv3")
                    .env("ETCD_ENDPOINTS", etcd.server.endpoint());
            }
            Datastore::Kube(kube) => {
                cmd.env("DATASTORE_TYPE", "kubernetes")
                    .env("KUBECONFIG", kube.kubeconfig());
            }
        }
    }
}

/// What one run of a case left: the transcript, the stored data (etcd only) and the files
/// its script wrote (`# writes:` lines), each masked.
struct Run {
    transcript: String,
    stored: String,
    written: Vec<(String, String)>,
}

const WRITES: &str = "# writes:";

/// The files a case's script writes (its `# writes: FILE` lines).
fn written_files(script: &str) -> Vec<String> {
    script
        .lines()
        .filter_map(|line| line.trim().strip_prefix(WRITES))
        .map(|name| name.trim().to_string())
        .collect()
}

/// Runs a case's script with `binary` (ours when `None`). With `scratch`, the script runs in
/// a scratch copy of the case folder holding its inputs only (not the goldens nor the files
/// it writes).
fn run_case(dir: &Path, binary: Option<&Path>, datastore: &Datastore, scratch: bool) -> Run {
    run_case_until(dir, binary, datastore, scratch, &|_| false)
}

/// [`run_case`], stopping before the first script line `stop` picks.
fn run_case_until(
    dir: &Path,
    binary: Option<&Path>,
    datastore: &Datastore,
    scratch: bool,
    stop: &dyn Fn(&str) -> bool,
) -> Run {
    let script = std::fs::read_to_string(dir.join("script")).expect("read script");
    let written = written_files(&script);
    let scratch_dir = scratch.then(|| {
        let scratch = tempfile::tempdir().expect("scratch dir");
        for entry in std::fs::read_dir(dir).expect("case folder") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let golden = ["transcript", TRANSCRIPT_OURS, "stored", "cni-steps"]
                .contains(&name.as_str())
                || written.contains(&name);
            if path.is_file() && !golden {
                std::fs::copy(&path, scratch.path().join(&name)).expect("copy an input");
            }
        }
        scratch
    });
    let run_dir = scratch_dir.as_ref().map_or(dir, |scratch| scratch.path());
    let kubeconfig = match datastore {
        Datastore::Kube(kube) | Datastore::EtcdAndKube(_, kube) => {
            kube.kubeconfig().to_string_lossy().into_owned()
        }
        Datastore::Etcd(_) => String::new(),
    };
    let repo = common::tour::repo_root();
    let repo = repo.to_string_lossy();
    let mut transcript = String::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if stop(line) {
            break;
        }
        let (command, stored_only) = match line.split_once(STORED_ONLY) {
            Some((command, _)) => (command.trim(), true),
            None => (line, false),
        };
        transcript.push_str(&format!("$ {line}\n"));
        let words = shell_words::split(
            &command
                .replace("{repo}", &repo)
                .replace("{kubeconfig}", &kubeconfig),
        )
        .expect("script line parses");
        let out = match (words.first().map(String::as_str), datastore.etcd()) {
            (Some("etcdctl"), Some(etcd)) => {
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                etcd.server.etcdctl(&args);
                continue;
            }
            (Some("kubectl"), None) => {
                let Datastore::Kube(kube) = datastore else {
                    unreachable!("only the Kubernetes datastore has no etcd")
                };
                std::process::Command::new("kubectl")
                    .arg("--kubeconfig")
                    .arg(kube.kubeconfig())
                    .arg("--cache-dir")
                    .arg(kube.home.path().join("kube-cache"))
                    .args(&words[1..])
                    .current_dir(run_dir)
                    .output()
                    .expect("kubectl runs")
            }
            (Some("calicoctl"), _) => {
                let mut cmd = match binary {
                    Some(path) => {
                        let mut cmd = Command::new(path);
                        cmd.env_clear()
                            .env("PATH", std::env::var("PATH").unwrap_or_default())
                            .env("HOME", datastore.home());
                        cmd
                    }
                    None => common::bare(datastore.home()),
                };
                datastore.point(&mut cmd);
                cmd.current_dir(run_dir)
                    .args(&words[1..])
                    .output()
                    .expect("calicoctl runs")
            }
            (other, _) => panic!("unknown script command {other:?} in {}", dir.display()),
        };
        if stored_only {
            continue;
        }
        transcript.push_str(&String::from_utf8_lossy(&out.stdout));
        for err in String::from_utf8_lossy(&out.stderr).lines() {
            transcript.push_str(&format!("ERR: {err}\n"));
        }
        transcript.push_str(&format!("rc={}\n", out.status.code().unwrap_or(-1)));
    }
    let stored = match datastore.etcd() {
        Some(etcd) => etcd.server.etcdctl(&["get", "--prefix", "/calico"]),
        None => String::new(),
    };
    let written = written
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(run_dir.join(&name)).unwrap_or_default();
            (name, mask_written(&text))
        })
        .collect();
    Run {
        transcript: mask(&transcript),
        stored: mask(&stored),
        written,
    }
}

/// The cases (folders with a `script`) under `dir`, in order.
fn cases_in(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("goldens folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("script").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {}", dir.display());
    cases
}

/// Runs every case in `dir` on a fresh datastore from `fresh`: records with the oracle when
/// `CALICOCTL_ORACLE` is set, else compares ours with the goldens (and, `with_stored`, what
/// etcd holds; and the files the script writes). `scratch`: run each case in a scratch copy
/// of its folder.
fn check_cases(dir: &Path, with_stored: bool, scratch: bool, fresh: impl Fn() -> Datastore) {
    // Only the cases named in CALICOCTL_ORACLE_CASES (comma-separated folder names), when set.
    let only: Option<Vec<String>> = std::env::var("CALICOCTL_ORACLE_CASES")
        .ok()
        .map(|names| names.split(',').map(str::to_string).collect());
    let oracle = std::env::var_os("CALICOCTL_ORACLE").map(PathBuf::from);
    let mut failures = Vec::new();
    for case in &cases_in(dir) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|only| !only.contains(&name)) {
            continue;
        }
        if let Some(oracle) = &oracle {
            let run = run_case(case, Some(oracle), &fresh(), scratch);
            std::fs::write(case.join("transcript"), run.transcript).unwrap();
            if with_stored {
                std::fs::write(case.join("stored"), run.stored).unwrap();
            }
            for (file, text) in run.written {
                std::fs::write(case.join(file), text).unwrap();
            }
            continue;
        }
        let run = run_case(case, None, &fresh(), scratch);
        let want_transcript = wanted_transcript(case);
        if run.transcript != want_transcript {
            failures.push(format!(
                "{name}: transcript differs\n--- Calico's\n{want_transcript}\n--- ours\n{}",
                run.transcript
            ));
        }
        if with_stored {
            let want_stored = std::fs::read_to_string(case.join("stored")).unwrap();
            if run.stored != want_stored {
                failures.push(format!(
                    "{name}: stored data differs\n--- Calico's\n{want_stored}\n--- ours\n{}",
                    run.stored
                ));
            }
        }
        for (file, text) in run.written {
            let want = std::fs::read_to_string(case.join(&file)).unwrap();
            if text != want {
                failures.push(format!(
                    "{name}: {file} differs\n--- Calico's\n{want}\n--- ours\n{text}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ours_prints_and_stores_what_calicos_calicoctl_did() {
    check_cases(&cases_dir(), true, false, || {
        Datastore::Etcd(Box::new(common::Etcd::new()))
    });
}

#[test]
fn ours_prints_what_calicos_calicoctl_did_on_a_real_apiserver() {
    check_cases(&kdd_cases_dir(), false, false, || {
        Datastore::Kube(Box::new(common::Kube::real()))
    });
}

/// Calico's `calicoctl ipam` (show, check, release, configure) on data its CNI plugin wrote,
/// each case with a real kube-apiserver beside its etcd as Calico's run had. Runs only with
/// `IPAM_GOLDENS=1` (or when recording, which runs every script in full); replayed up to the
/// first command ours lacks (see [`not_yet_implemented`]), like
/// [`ours_prints_what_calicos_calicoctl_ipam_did_up_to_what_ours_lacks`], which runs always.
#[test]
fn ours_prints_and_stores_what_calicos_calicoctl_ipam_did() {
    let recording = std::env::var_os("CALICOCTL_ORACLE").is_some();
    if recording {
        check_cases(&ipam_cases_dir(), true, true, || {
            Datastore::EtcdAndKube(
                Box::new(common::Etcd::new()),
                Box::new(common::Kube::real()),
            )
        });
        return;
    }
    if std::env::var("IPAM_GOLDENS").as_deref() != Ok("1") {
        eprintln!("skipped: set IPAM_GOLDENS=1 to replay tests/goldens/oracle-ipam");
        return;
    }
    replay_ipam_cases(true);
}

/// The `calicoctl` commands ours does not have yet (none now): the IPAM cases are replayed up
/// to the first of these.
fn not_yet_implemented(line: &str) -> bool {
    let lacking: [&str; 0] = [];
    lacking.iter().any(|command| line.contains(command))
}

/// A script line that needs the Kubernetes API beside etcd (`ipam check --kubeconfig`).
fn needs_kube(line: &str) -> bool {
    line.contains("{kubeconfig}")
}

/// Every IPAM case up to its first command ours lacks (see [`not_yet_implemented`]): `ipam
/// show`, `configure`, `check`, `release --ip` and deleting a node, on the data Calico's CNI plugin wrote,
/// byte for byte, with the reports `check -o` wrote. A real kube-apiserver is started only for
/// the cases whose replayed part lists Services (`{kubeconfig}`).
#[test]
fn ours_prints_what_calicos_calicoctl_ipam_did_up_to_what_ours_lacks() {
    if std::env::var_os("CALICOCTL_ORACLE").is_some() {
        return;
    }
    replay_ipam_cases(false);
}

/// Replays every IPAM case up to its first command ours lacks and compares the transcript,
/// the report files written before that point and, for a case replayed in full, what etcd
/// holds. `always_kube`: start a kube-apiserver for every case, else only where needed.
fn replay_ipam_cases(always_kube: bool) {
    let mut failures = Vec::new();
    let (mut shows, mut checks) = (0, 0);
    for case in &cases_in(&ipam_cases_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let script = std::fs::read_to_string(case.join("script")).unwrap();
        let lines: Vec<&str> = script
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let stop = lines
            .iter()
            .position(|line| !line.starts_with('#') && not_yet_implemented(line));
        let replayed = &lines[..stop.unwrap_or(lines.len())];
        let datastore = if always_kube || replayed.iter().any(|line| needs_kube(line)) {
            Datastore::EtcdAndKube(
                Box::new(common::Etcd::new()),
                Box::new(common::Kube::real()),
            )
        } else {
            Datastore::Etcd(Box::new(common::Etcd::new()))
        };
        let run = run_case_until(case, None, &datastore, true, &not_yet_implemented);
        let want = wanted_transcript(case);
        // Calico's transcript up to the line the run stopped before.
        let want = match stop {
            Some(stop) => {
                let at = want
                    .find(&format!("$ {}\n", lines[stop]))
                    .expect("the stopping line is in the transcript");
                want[..at].to_string()
            }
            None => want,
        };
        shows += want.matches("$ calicoctl ipam show").count();
        checks += want.matches("$ calicoctl ipam check").count();
        if run.transcript != want {
            failures.push(format!(
                "{name}: transcript differs\n--- Calico's\n{want}\n--- ours\n{}",
                run.transcript
            ));
        }
        let written_before_stop = written_files(&replayed.join("\n"));
        for (file, text) in run
            .written
            .iter()
            .filter(|(file, _)| written_before_stop.contains(file))
        {
            let want = std::fs::read_to_string(case.join(file)).unwrap();
            if *text != want {
                failures.push(format!(
                    "{name}: {file} differs\n--- Calico's\n{want}\n--- ours\n{text}"
                ));
            }
        }
        if stop.is_none() {
            let want_stored = std::fs::read_to_string(case.join("stored")).unwrap();
            if run.stored != want_stored {
                failures.push(format!(
                    "{name}: stored data differs\n--- Calico's\n{want_stored}\n--- ours\n{}",
                    run.stored
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(shows >= 20, "only {shows} ipam show commands compared");
    assert!(checks >= 20, "only {checks} ipam check commands compared");
}

#[test]
fn masking_hides_only_the_per_run_values() {
    let stored = r#"{"metadata":{"name":"a","uid":"1-2","creationTimestamp":"2026-01-01T00:00:00Z"},"spec":{"clusterGUID":"abc","x":"uid"}}"#;
    assert_eq!(
        mask(stored),
        r#"{"metadata":{"name":"a","uid":"*","creationTimestamp":"*"},"spec":{"clusterGUID":"*","x":"uid"}}"#
    );
    assert_eq!(
        mask("  uid: 1-2\n  creationTimestamp: null\n  name: uid\n"),
        "  uid: *\n  creationTimestamp: null\n  name: uid\n"
    );
    let table = "$ calicoctl ipam show --show-configuration\n\
                 +------+----------------------------------+\n\
                 | A    | B                                |\n\
                 +------+----------------------------------+\n\
                 | Ptr  | (*ipam.VMAddressPersistence)(0xc0000a1b2) |\n\
                 +------+----------------------------------+rc=0\n";
    assert_eq!(
        mask(table),
        "$ calicoctl ipam show --show-configuration\n\
         +-+-+\n\
         | A | B |\n\
         +-+-+\n\
         | Ptr | (*ipam.VMAddressPersistence)(0x*) |\n\
         +-+-+rc=0\n"
    );
    assert_eq!(
        mask_written(
            r#"{"version": "v3.31.0", "clusterGUID": "ab", "clusterInformationRevision": "17", "creationTimestamp": "t"}"#
        ),
        r#"{"version": "*", "clusterGUID": "*", "clusterInformationRevision": "*", "creationTimestamp": "t"}"#
    );
}
