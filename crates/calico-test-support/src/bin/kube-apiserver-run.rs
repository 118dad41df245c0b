//! Starts a throw-away kube-apiserver (with its etcd) for benchmarks and manual runs:
//!     kube-apiserver-run KUBECONFIG_PATH
//! writes an admin kubeconfig to KUBECONFIG_PATH once the server is ready, prints its URL, then
//! runs until killed. Start it in its own process group (`setsid`) and kill the group to stop
//! the server and its etcd with it.

use calico_test_support::kube_apiserver::{KubeApiServer, ADMIN_TOKEN};

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: kube-apiserver-run KUBECONFIG_PATH");
        std::process::exit(2);
    };
    let server = KubeApiServer::start();
    let partial = std::path::PathBuf::from(&path).with_extension("partial");
    server.write_kubeconfig(&partial, ADMIN_TOKEN);
    if let Err(err) = std::fs::rename(&partial, &path) {
        eprintln!("kube-apiserver-run: cannot write the kubeconfig: {err}");
        std::process::exit(1);
    }
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
