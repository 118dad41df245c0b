//! `calico-ipam`: Calico's CNI IPAM plugin. Reads the CNI variables and the network
//! configuration, prints the result or the CNI error on stdout, logs on stderr.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    init_logging();
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let env: calico_cni::Env = std::rc::Rc::new(|name: &str| {
        std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
    });
    let output = calico_cni::main(&arguments, env, &mut std::io::stdin().lock());
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&output.stdout);
    let _ = stdout.flush();
    let _ = std::io::stderr().lock().write_all(&output.stderr);
    ExitCode::from(output.code)
}

/// Logs of this workspace's crates on stderr, at `CALICO_CNI_LOG_LEVEL` (default `info`).
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match std::env::var("CALICO_CNI_LOG_LEVEL")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "debug" => LevelFilter::DEBUG,
        "warn" | "warning" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        "none" | "off" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    };
    let targets = Targets::new().with_targets(
        [
            "calico_cni",
            "calico_ipam",
            "calico_datastore",
            "calico_etcd",
            "calico_kube",
        ]
        .map(|target| (target, level)),
    );
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(targets)
        .try_init();
}
