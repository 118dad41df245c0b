#!/usr/bin/env bash
# Whole-command benchmarks on a throw-away etcd, each as a ratio to a floor measured in the same
# run with plain etcd-client calls on the same keys and bytes (crates/calico-etcd/examples/etcd_floor.rs):
#   (a) calicoctl apply -f of N mixed resources   vs  raw puts of the same keys/values, 64 at a time
#       (calicoctl sends independent resources 64 at a time)
#   (b) calicoctl get workloadendpoints -A -o json of W endpoints  vs  a raw paged range of them
# Peak RSS from /usr/bin/time -f %M. One run: this is a shared machine.
#   bench/etcd.sh [N] [W]        (needs etcd, etcdctl; builds the release binaries first)
# Results: docs/benchmarks.md. First run on the shared 2-core machine, before group commit:
#   (a) calicoctl 3.18 s / 32 MB vs raw puts 0.90 s / 12 MB: 3.5x time, 2.7x RSS
#   (b) 102000 endpoints, 79 MB of JSON: calicoctl 5.75 s / 363 MB vs raw range 3.96 s / 76 MB:
#       1.45x time, 4.8x RSS
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
W=${2:-100000}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p calicoctl
cargo build --release -q -p calico-etcd --example etcd_floor
BIN=$TARGET/release/calicoctl
FLOOR=$TARGET/release/examples/etcd_floor
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_scratch
start_etcd

export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$EP
PREFIX=/calico/resources/v3/projectcalico.org/
# timed OUT CMD...: runs CMD, stdout to OUT; prints "seconds peak-KiB".
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$out"; cat "$WORK/time"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

python3 bench/gen_mixed.py "$N" > "$WORK/mixed.yaml"
# Initialise the cluster's own keys first, so (a) compares resource writes only.
"$BIN" get ippools >/dev/null
read -r A_T A_M < <(timed /dev/null "$BIN" apply -f "$WORK/mixed.yaml")
"$FLOOR" "$EP" dump "$PREFIX" > "$WORK/dump.tsv"
grep -v -e /clusterinformations/ -e /tiers/ "$WORK/dump.tsv" > "$WORK/resources.tsv"
"$FLOOR" "$EP" delete "$PREFIX" >/dev/null
read -r F_T F_M < <(timed /dev/null "$FLOOR" "$EP" put "$WORK/resources.tsv" 64)

"$FLOOR" "$EP" clone-weps "$W" >/dev/null
read -r G_T G_M < <(timed "$WORK/weps.json" "$BIN" get workloadendpoints -A -o json)
read -r R_T R_M < <(timed "$WORK/range.txt" "$FLOOR" "$EP" range "${PREFIX}workloadendpoints/")
WEPS=$(cut -d' ' -f1 "$WORK/range.txt")

echo "(a) apply -f $N mixed resources: calicoctl ${A_T}s ${A_M}KiB; raw puts (64 at a time) ${F_T}s ${F_M}KiB; time ratio $(ratio "$A_T" "$F_T"), RSS ratio $(ratio "$A_M" "$F_M")"
echo "(b) get workloadendpoints -A -o json ($WEPS endpoints, $(du -h "$WORK/weps.json" | cut -f1) of JSON): calicoctl ${G_T}s ${G_M}KiB; raw paged range ${R_T}s ${R_M}KiB; time ratio $(ratio "$G_T" "$R_T"), RSS ratio $(ratio "$G_M" "$R_M")"
