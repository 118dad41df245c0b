//! Writes the etcd gRPC client code that upstream etcd-client generates in its build script.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "etcd/api/authpb/auth.proto",
    "etcd/api/etcdserverpb/rpc.proto",
    "etcd/api/mvccpb/kv.proto",
    "etcd/server/etcdserver/api/v3election/v3electionpb/v3election.proto",
    "etcd/server/etcdserver/api/v3lock/v3lockpb/v3lock.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let fds = protox::compile(PROTOS, [root.join("proto")])?;
    let out = root.join("src/rpc/generated");
    std::fs::create_dir_all(&out)?;
    tonic_prost_build::configure()
        .build_server(false)
        .out_dir(&out)
        .compile_fds(fds)?;
    // prost also writes the google.api annotations the protos import; the client does not use them.
    for file in std::fs::read_dir(&out)? {
        let path = file?.path();
        let keep = PROTOS.iter().any(|proto| {
            let package = proto.rsplit('/').nth(1).unwrap_or_default();
            path.file_stem().and_then(|s| s.to_str()) == Some(package)
        });
        if !keep {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
