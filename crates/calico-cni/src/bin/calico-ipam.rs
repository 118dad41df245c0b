//! `calico-ipam`: Calico's CNI IPAM plugin. Reads the CNI variables and the network
//! configuration, prints the result or the CNI error on stdout, logs on stderr.

use std::io::Write;
use std::process::ExitCode;

use calico_cni::plugin::LogLevel;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates whose events are logged.
const TARGETS: [&str; 5] = [
    "calico_cni",
    "calico_ipam",
    "calico_datastore",
    "calico_etcd",
    "calico_kube",
];

fn targets(level: LevelFilter) -> Targets {
    Targets::new().with_targets(TARGETS.map(|target| (target, level)))
}

fn main() -> ExitCode {
    // `CALICO_CNI_LOG_LEVEL` (debug, info, warn, error, off) wins over the configuration's
    // `log_level`; Calico's default is info.
    let forced = match std::env::var("CALICO_CNI_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "error" => Some(LevelFilter::ERROR),
        "none" | "off" => Some(LevelFilter::OFF),
        _ => None,
    };
    let (filter, handle) = reload::Layer::new(targets(forced.unwrap_or(LevelFilter::INFO)));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .try_init();
    let on_log_level = Box::new(move |level: LogLevel| {
        if forced.is_none() {
            let level = match level {
                LogLevel::Debug => LevelFilter::DEBUG,
                LogLevel::Info => LevelFilter::INFO,
                LogLevel::Error => LevelFilter::ERROR,
            };
            let _ = handle.reload(targets(level));
        }
    });

    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let env: calico_cni::Env = std::rc::Rc::new(|name: &str| {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    });
    let output = calico_cni::main(&arguments, env, &mut std::io::stdin().lock(), on_log_level);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&output.stdout);
    let _ = stdout.flush();
    let _ = std::io::stderr().lock().write_all(&output.stderr);
    ExitCode::from(output.code)
}
