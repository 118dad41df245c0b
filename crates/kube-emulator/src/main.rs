//! `kube-emulator --listen ADDR:PORT --kubeconfig FILE [--tls] [--token TOKEN]`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kube_emulator::{parse_listen, Config, Emulator};

/// An in-memory Kubernetes API server emulator for tests and development.
#[derive(Parser, Debug)]
#[command(name = "kube-emulator", version)]
struct Args {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    listen: String,
    /// Write a kubeconfig for this server to FILE before serving.
    #[arg(long, value_name = "FILE")]
    kubeconfig: PathBuf,
    /// Serve HTTPS with freshly generated certificates; the kubeconfig gets the CA and a client certificate.
    #[arg(long)]
    tls: bool,
    /// Require this bearer token (with --tls, a valid client certificate is accepted instead).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Number of events kept for watch replay.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    watch_history: usize,
    /// Refuse requests with 403 Forbidden as RBAC would: VERB:RESOURCE (RESOURCE is `plural` or
    /// `plural.group`; either may be `*`). Repeatable.
    #[arg(long, value_name = "VERB:RESOURCE")]
    forbid: Vec<String>,
}

/// Listens for SIGTERM and ctrl-c. It must exist before the URL is printed: whoever reads the URL
/// may stop us at once, and a signal with no listener would kill the process uncleanly.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        {
            if let Some(mut term) = self.term {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run(args: Args) -> Result<(), kube_emulator::Error> {
    let signals = Signals::listen();
    let listen = parse_listen(&args.listen)?;
    let emulator = Emulator::start(Config {
        listen,
        kubeconfig: Some(args.kubeconfig),
        tls: args.tls,
        token: args.token,
        watch_history: args.watch_history,
        forbid: args.forbid,
        record_requests: false,
    })
    .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", emulator.url())?;
    out.flush()?;
    drop(out);
    signals.wait().await;
    emulator.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kube-emulator: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kube-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
