//! `-l/--log-level`: the libraries' `tracing` events at that level and above, on stderr.
//!
//! calicoctl's levels are logrus's; `panic` (the default) and `fatal` print nothing, as no
//! event is logged at those levels. Only this workspace's crates are shown: the HTTP, gRPC and
//! TLS stacks under them log at their own levels, which would drown a user's `-l debug`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The tracing level for a logrus level name (case-insensitive, as logrus parses it).
pub fn level_filter(level: &str) -> LevelFilter {
    match level.to_ascii_lowercase().as_str() {
        "error" => LevelFilter::ERROR,
        "warn" | "warning" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => LevelFilter::OFF,
    }
}

/// The crates whose events `-l` shows.
const TARGETS: &[&str] = &[
    "calicoctl",
    "calico_api",
    "calico_datastore",
    "calico_etcd",
    "calico_ipam",
    "calico_kube",
    "calico_manifest",
];

/// Installs the stderr subscriber for `level`; nothing at all for `panic`/`fatal`.
pub fn init(level: &str) {
    let level = level_filter(level);
    if level == LevelFilter::OFF {
        return;
    }
    let targets = Targets::new().with_targets(TARGETS.iter().map(|target| (*target, level)));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    // A subscriber already set (never, in the binary) is no reason to fail a command.
    let _ = tracing_subscriber::registry()
        .with(targets)
        .with(format)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logrus_levels_map_to_tracing_levels() {
        assert_eq!(level_filter("panic"), LevelFilter::OFF);
        assert_eq!(level_filter("fatal"), LevelFilter::OFF);
        assert_eq!(level_filter("Warning"), LevelFilter::WARN);
        assert_eq!(level_filter("DEBUG"), LevelFilter::DEBUG);
        assert_eq!(level_filter("info"), LevelFilter::INFO);
    }
}
