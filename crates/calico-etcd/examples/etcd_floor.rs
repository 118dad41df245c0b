//! The floor for the etcd benchmarks (bench/etcd.sh): the same keys and bytes as calicoctl,
//! moved with plain etcd-client calls.
//!
//! ```text
//! etcd_floor ENDPOINT dump PREFIX            key<TAB>value lines on stdout
//! etcd_floor ENDPOINT delete PREFIX          deletes every key under PREFIX
//! etcd_floor ENDPOINT put FILE CONCURRENCY   puts the dumped lines, CONCURRENCY at a time
//! etcd_floor ENDPOINT clone-weps N           N copies of the first workload endpoint
//! etcd_floor ENDPOINT range PREFIX           paged range (500 keys a page), prints the count
//! ```

use std::io::{BufRead, Write};

use calico_datastore::kv::KvStore;
use calico_etcd::{EtcdSettings, EtcdStore};
use futures::StreamExt;

const WEPS: &str = "/calico/resources/v3/projectcalico.org/workloadendpoints/";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn put_all(store: &EtcdStore, items: Vec<(String, Vec<u8>)>, window: usize) -> Result<()> {
    let mut results = futures::stream::iter(items)
        .map(|(key, value)| async move { store.put(&key, value).await })
        .buffer_unordered(window.max(1));
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

async fn run(args: &[String]) -> Result<()> {
    let [endpoint, command, rest @ ..] = args else {
        return Err("usage: etcd_floor ENDPOINT COMMAND ARGS".into());
    };
    let store = EtcdStore::connect(&EtcdSettings::new([endpoint.as_str()])).await?;
    match (command.as_str(), rest) {
        ("dump", [prefix]) => {
            let range = store.range(prefix, None).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for kv in range.kvs {
                out.write_all(kv.key.as_bytes())?;
                out.write_all(b"\t")?;
                out.write_all(&kv.value)?;
                out.write_all(b"\n")?;
            }
        }
        ("delete", [prefix]) => {
            let options = etcd_client::DeleteOptions::new().with_prefix();
            store
                .client()
                .await?
                .kv_client()
                .delete(prefix.as_str(), Some(options))
                .await?;
        }
        ("create", [file, window]) => {
            let mut items = Vec::new();
            for line in std::io::BufReader::new(std::fs::File::open(file)?).lines() {
                let line = line?;
                if let Some((key, value)) = line.split_once('\t') {
                    items.push((key.to_string(), value.as_bytes().to_vec()));
                }
            }
            let mut results = futures::stream::iter(items)
                .map(|(key, value)| {
                    let store = &store;
                    async move { store.create(&key, value).await }
                })
                .buffer_unordered(window.parse::<usize>()?.max(1));
            while let Some(result) = results.next().await {
                result?;
            }
        }
        ("put", [file, window]) => {
            let mut items = Vec::new();
            for line in std::io::BufReader::new(std::fs::File::open(file)?).lines() {
                let line = line?;
                if let Some((key, value)) = line.split_once('\t') {
                    items.push((key.to_string(), value.as_bytes().to_vec()));
                }
            }
            put_all(&store, items, window.parse()?).await?;
        }
        ("clone-weps", [count]) => {
            let count: usize = count.parse()?;
            let range = store.range(WEPS, None).await?;
            let template = range.kvs.first().ok_or("no workload endpoint to clone")?;
            let name = template
                .key
                .rsplit('/')
                .next()
                .ok_or("bad key")?
                .to_string();
            let value = String::from_utf8(template.value.clone())?;
            let quoted = format!("\"{name}\"");
            let items = (0..count)
                .map(|i| {
                    let new_name = name.replace("-eth0", &format!("-c{i}-eth0"));
                    (
                        template.key.replace(&name, &new_name),
                        value
                            .replace(&quoted, &format!("\"{new_name}\""))
                            .into_bytes(),
                    )
                })
                .collect();
            put_all(&store, items, 64).await?;
        }
        ("range", [prefix]) => {
            let range = store.range(prefix, None).await?;
            let bytes: usize = range.kvs.iter().map(|kv| kv.value.len()).sum();
            println!("{} keys, {bytes} bytes", range.kvs.len());
        }
        _ => return Err(format!("unknown command {command} {rest:?}").into()),
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(&args).await {
        eprintln!("etcd_floor: {err}");
        std::process::exit(1);
    }
}
