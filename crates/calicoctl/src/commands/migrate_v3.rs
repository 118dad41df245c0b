//! `datastore migrate v1-to-v3` (ours): a Kubernetes datastore moved from
//! `crd.projectcalico.org/v1` to `projectcalico.org/v3` custom resources by
//! `calico_migrate::v1_to_v3`; this module parses, calls, draws progress on a terminal and
//! prints the summary.

use std::io::IsTerminal;
use std::time::Duration;

use calico_datastore::apiconfig::DatastoreType;
use calico_migrate::v1_to_v3::{self, KindSummary, Options, Outcome, Phase, Progress, Report};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::MigrateV1ToV3Args;
use crate::clientmgr::{self, ConnectError};
use crate::report::Failure;
use crate::tabwriter;

/// Runs the migration with the settings of `-c` (or the environment).
pub fn run(args: &MigrateV1ToV3Args, context: &str) -> Result<String, Failure> {
    if !context.is_empty() {
        // calicoctl passes --context on to the Kubernetes settings this way.
        std::env::set_var("K8S_CURRENT_CONTEXT", context);
    }
    let config = clientmgr::load_config(&args.conn.config)
        .map_err(|e| ConnectError::Config(e).into_failure())?;
    if config.datastore_type != DatastoreType::Kubernetes {
        return Err(Failure::message(
            "datastore migrate v1-to-v3 moves a Kubernetes datastore: set datastoreType: \
             kubernetes (or DATASTORE_TYPE=kubernetes)",
        ));
    }
    let options = Options {
        dry_run: args.dry_run,
        drain: Duration::from_secs(args.drain_seconds),
        ..Options::default()
    };
    super::runtime()?.block_on(async {
        let (v1, v3) = v1_to_v3::connect(&config.spec)
            .await
            .map_err(|e| ConnectError::Driver(e.to_string()).into_failure())?;
        let progress = Spinner::new();
        let result = v1_to_v3::migrate(&v1, &v3, &options, &progress).await;
        drop(progress);
        match result {
            Ok(report) if report.conflicts.is_empty() => Ok(summary(&report)),
            Ok(report) => {
                let count = report.conflicts.len();
                let plural = if count == 1 { "" } else { "s" };
                let message = if report.dry_run {
                    format!(
                        "{count} conflict{plural}: delete or correct the projectcalico.org/v3 \
                         objects named above before migrating"
                    )
                } else {
                    format!(
                        "{count} conflict{plural}: the datastore stays locked. Delete or correct \
                         the projectcalico.org/v3 objects named above and run the command again"
                    )
                };
                Err(Failure {
                    stdout: summary(&report),
                    message,
                })
            }
            Err(failed) => Err(Failure {
                stdout: summary(&failed.report),
                message: format!(
                    "the migration stopped: {}. What is counted above landed; run the command \
                     again to finish",
                    failed.error
                ),
            }),
        }
    })
}

/// The counts per kind, the conflicts, and where the datastore stands.
fn summary(report: &Report) -> String {
    let mut table = String::from("KIND\tCOPIED\tIDENTICAL\tCONFLICTS\t\n");
    for kind in report
        .kinds
        .iter()
        .filter(|k| k.copied + k.identical + k.conflicts > 0)
    {
        table.push_str(&format!(
            "{}\t{}\t{}\t{}\t\n",
            kind.kind, kind.copied, kind.identical, kind.conflicts
        ));
    }
    let mut out = tabwriter::CALICOCTL.format(&table);
    for conflict in &report.conflicts {
        out.push_str(&format!("Conflict: {conflict}\n"));
    }
    let verb = if report.dry_run { "To copy" } else { "Copied" };
    out.push_str(&format!(
        "{verb}: {}, identical: {}, conflicts: {}\n",
        report.copied(),
        report.identical(),
        report.conflicts.len()
    ));
    if report.dry_run {
        out.push_str("Dry run: nothing was locked or written.\n");
    } else {
        if report.owners_remapped > 0 {
            out.push_str(&format!(
                "Owner references remapped on {} objects.\n",
                report.owners_remapped
            ));
        }
        if report.unlocked_v3 {
            out.push_str(
                "The projectcalico.org/v3 datastore is unlocked; crd.projectcalico.org/v1 stays \
                 locked. Restart Calico's components with CALICO_API_GROUP=projectcalico.org/v3.\n",
            );
        }
    }
    out
}

/// A spinner on stderr with the current step and counts, only when stderr is a terminal.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn new() -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({pos} objects)") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner(Some(bar))
    }

    fn say(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Progress for Spinner {
    fn phase(&self, phase: Phase) {
        let text = match phase {
            Phase::LockingV1 => "locking the crd.projectcalico.org/v1 datastore",
            Phase::Draining => "waiting for IPAM writes in flight",
            Phase::LockingV3 => "locking the projectcalico.org/v3 datastore",
            Phase::Copying => "copying",
            Phase::RemappingOwners => "remapping owner references",
            Phase::UnlockingV3 => "unlocking the projectcalico.org/v3 datastore",
        };
        self.say(text.to_string());
    }

    fn kind_started(&self, kind: &str, index: usize, total: usize) {
        self.say(format!("copying {kind} ({}/{total})", index + 1));
    }

    fn object(&self, _kind: &str, _outcome: Outcome) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn kind_finished(&self, summary: &KindSummary) {
        if let Some(bar) = &self.0 {
            if summary.copied + summary.identical + summary.conflicts > 0 {
                bar.println(format!(
                    "{}: {} copied, {} identical, {} conflicts",
                    summary.kind, summary.copied, summary.identical, summary.conflicts
                ));
            }
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
