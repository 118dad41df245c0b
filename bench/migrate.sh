#!/usr/bin/env bash
# `calicoctl datastore migrate` at issue 16's scale: a throw-away etcd holding N resources
# (bench/gen_mixed.py --kdd: sets, policies, host endpoints, global policies, namespaced
# network sets; every one in a kind Calico's export covers) and BLOCKS IPAM blocks with ALLOCS
# allocations and their handles and affinities (bench/gen_ipam.py, as Calico's CNI plugin
# stores them). Measures, one run each (a shared machine), wall time and peak RSS
# (/usr/bin/time -f %M) of:
#   - export (Calico's flow: locked etcd, the document on stdout),
#   - export --any-datastore (ours: the whole datastore),
#   - import --any-datastore of that into an empty embedded store (apply, ClusterInformation,
#     IPAM creates, then the verification of everything that landed),
#   - import --verify of the same file against it (the verification alone),
#   - with KDD=1 also Calico's import of the export into a kube-emulator (slow: one request
#     per object).
#   bench/migrate.sh [N] [BLOCKS] [ALLOCS]   (defaults 100000 5000 20000)
# OURS_CALICOCTL=/path/to/calicoctl uses that binary instead of building the release one.
# Needs etcd, etcdctl, python3 (and kubectl with KDD=1). Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
BLOCKS=${2:-5000}
ALLOCS=${3:-20000}
NODES=${NODES:-1000}
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${OURS_CALICOCTL:-}" ]; then cargo build --release -q -p calicoctl; fi
if [ "${KDD:-0}" = 1 ] && [ -z "${KUBE_EMULATOR:-}" ]; then cargo build --release -q -p kube-emulator; fi
OURS=${OURS_CALICOCTL:-$TARGET/release/calicoctl}
EMULATOR=${KUBE_EMULATOR:-$TARGET/release/kube-emulator}
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_scratch
start_etcd
ETCD=(env -u DATASTORE_PATH DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS="$EP" "$OURS")
EMBEDDED=(env -u ETCD_ENDPOINTS DATASTORE_TYPE=embedded DATASTORE_PATH="$WORK/target.db" "$OURS")

python3 bench/gen_mixed.py --kdd "$N" >"$WORK/resources.yaml"
"${ETCD[@]}" apply -f "$WORK/resources.yaml" >/dev/null
read -r KEYS BYTES < <(python3 bench/gen_ipam.py "$EP" "$NODES" "$BLOCKS" "$ALLOCS")
"${ETCD[@]}" ipam configure --strictaffinity=false >/dev/null
"${ETCD[@]}" datastore migrate lock >/dev/null

# timed OUT CMD...: runs CMD, stdout to OUT, stderr kept; prints "seconds peak-MB".
timed() {
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$out" 2>"$WORK/stderr" || {
    echo "failed: $*" >&2; head -c 2000 "$WORK/stderr" >&2; exit 1; }
  awk '{printf "%s %d\n", $1, $2 / 1024}' "$WORK/time"
}
size() { python3 -c "import os; print(f'{os.path.getsize(\"$1\")/1e6:.1f} MB')"; }

echo "etcd: $N resources; IPAM: $BLOCKS blocks, $ALLOCS allocations ($KEYS keys, $BYTES value bytes)"
printf '%-52s %8s %8s  %s\n' step wall_s peak_MB note
read -r T M < <(timed "$WORK/export.yaml" "${ETCD[@]}" datastore migrate export)
printf '%-52s %8s %8s  %s\n' "export (Calico's flow, etcd)" "$T" "$M" "$(size "$WORK/export.yaml")"
read -r T M < <(timed "$WORK/full.yaml" "${ETCD[@]}" datastore migrate export --any-datastore)
printf '%-52s %8s %8s  %s\n' "export --any-datastore (etcd)" "$T" "$M" "$(size "$WORK/full.yaml")"
read -r T M < <(timed "$WORK/import.out" "${EMBEDDED[@]}" datastore migrate import --any-datastore -f "$WORK/full.yaml")
printf '%-52s %8s %8s  %s\n' "import --any-datastore into embedded (+ verify)" "$T" "$M" "$(tail -n 1 "$WORK/import.out" | cut -c1-40)…"
read -r T M < <(timed "$WORK/verify.out" "${EMBEDDED[@]}" datastore migrate import --any-datastore -f "$WORK/full.yaml" --verify)
printf '%-52s %8s %8s  %s\n' "import --verify (embedded)" "$T" "$M" "$(cat "$WORK/verify.out")"

if [ "${KDD:-0}" = 1 ]; then
  "$EMULATOR" --listen 127.0.0.1:0 --kubeconfig "$WORK/kubeconfig" >"$WORK/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/kubeconfig" ] && break; sleep 0.1; done
  # The namespaces gen_mixed.py's namespaced resources live in.
  for i in $(seq 0 19); do printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%d}\n---\n' "$i"; done >"$WORK/ns.yaml"
  kubectl --kubeconfig "$WORK/kubeconfig" create -f "$WORK/ns.yaml" >/dev/null
  KUBE=(env -u ETCD_ENDPOINTS -u DATASTORE_PATH DATASTORE_TYPE=kubernetes KUBECONFIG="$WORK/kubeconfig" "$OURS")
  read -r T M < <(timed "$WORK/kdd.out" "${KUBE[@]}" datastore migrate import -f "$WORK/export.yaml")
  printf '%-52s %8s %8s  %s\n' "import into the kube-emulator (Calico's flow)" "$T" "$M" ""
fi
