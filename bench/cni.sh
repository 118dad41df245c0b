#!/usr/bin/env bash
# The calico-ipam CNI plugin under a burst of pods on one node, on a throw-away etcd: N (default
# 200) ADD processes started at once, then N one after another, each on a fresh node, ours and
# Calico's own plugin (CALICO_CNI=/path/to/calico, invoked as calico-ipam) in the same run.
# Each burst of ADDs is followed by the same pods' DELs, the same way. Prints wall time, p50/p99
# per call, failures and etcd requests per call (etcd's own counters).
#   CALICO_CNI=/path/to/calico bench/cni.sh [N]
# OURS_CNI=/path/to/our/calico-ipam uses that binary instead of building the release one.
# Needs etcd, etcdctl, python3. Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${OURS_CNI:-}" ] || [ -z "${OURS_CALICOCTL:-}" ]; then
  cargo build --release -q -p calico-cni -p calicoctl
fi
OURS=${OURS_CNI:-$TARGET/release/calico-ipam}
CALICOCTL=${OURS_CALICOCTL:-$TARGET/release/calicoctl}
WORK=$(mktemp -d)
cleanup() { [ -n "${ETCD_PID:-}" ] && kill "$ETCD_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CP=$(free_port); PP=$(free_port); EP=http://127.0.0.1:$CP
etcd --name bench --data-dir "$WORK/data" --listen-client-urls "$EP" --advertise-client-urls "$EP" \
  --listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
  --initial-cluster "bench=http://127.0.0.1:$PP" >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
for _ in $(seq 100); do ETCDCTL_API=3 etcdctl --endpoints="$EP" endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$EP
export CALICO_IPAM_QUEUE_DIR=$WORK/queue
mkdir -p "$WORK/bin"
ln -s "$(realpath "$OURS")" "$WORK/bin/ours-calico-ipam"
if [ -n "${CALICO_CNI:-}" ]; then ln -s "$(realpath "$CALICO_CNI")" "$WORK/bin/calico-ipam"; fi

# Each run starts from no IPAM data, as a new node's first pods do.
run=0
fresh_node() {
  run=$((run + 1))
  ETCDCTL_API=3 etcdctl --endpoints="$EP" del --prefix /calico/ipam/v2/ >/dev/null
}
"$CALICOCTL" apply -f - >/dev/null <<'YAML'
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-bench}
spec: {cidr: 10.0.0.0/16, blockSize: 26}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-a}
spec: {}
YAML

printf '%-10s %-15s %8s %8s %8s %6s %14s\n' plugin mode wall_s p50_s p99_s failed etcd_req/call
for mode in concurrent sequential; do
  for who in ours calico; do
    if [ "$who" = calico ]; then
      [ -n "${CALICO_CNI:-}" ] || continue
      bin=$WORK/bin/calico-ipam
    else
      bin=$WORK/bin/ours-calico-ipam
    fi
    fresh_node
    # A first ADD claims the node's block, so the burst measures the steady state.
    python3 bench/cni_burst.py "$bin" "$EP" 1 sequential "w$run" >/dev/null
    read -r wall p50 p99 failed req < <(python3 bench/cni_burst.py "$bin" "$EP" "$N" "$mode" "r$run")
    printf '%-10s %-15s %8s %8s %8s %6s %14s\n' "$who" "$mode" "$wall" "$p50" "$p99" "$failed" "$req"
    # Then the same pods deleted, the same way.
    read -r wall p50 p99 failed req < <(python3 bench/cni_burst.py "$bin" "$EP" "$N" "$mode" "r$run" DEL)
    printf '%-10s %-15s %8s %8s %8s %6s %14s\n' "$who" "$mode DEL" "$wall" "$p50" "$p99" "$failed" "$req"
  done
done
