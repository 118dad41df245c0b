#!/usr/bin/env bash
# calicoctl apply -f of N mixed resources (bench/gen_mixed.py) on a 3-member etcd cluster on
# loopback, all three members in ETCD_ENDPOINTS: healthy, with one member killed (the first
# listed one, then the second, restarted in between), and healthy again, wiping the resources
# before each run; prints each dead run as a ratio to the mean healthy run of the same
# invocation (issue 11's target: <= 1.3x).
# One run each: this is a shared machine.
#   bench/etcd-failover.sh [N]        (needs etcd, etcdctl; builds the release binary first,
#                                      unless CALICOCTL names a binary to measure)
# Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
TARGET=${CARGO_TARGET_DIR:-target}
WORK=$(mktemp -d)
BIN=$WORK/calicoctl
if [ -z "${CALICOCTL:-}" ]; then
  cargo build --release -q -p calicoctl
  CALICOCTL=$TARGET/release/calicoctl
fi
cp "$CALICOCTL" "$BIN"
DATA=$WORK
[ -d /dev/shm ] && DATA=$(mktemp -d /dev/shm/etcd-failover-bench-XXXXXX)
PIDS=(0 0 0)
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do
    if [ "$pid" != 0 ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  done
  rm -rf "$WORK" "$DATA"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CLIENT=() PEER=() CLUSTER=
for i in 0 1 2; do
  CLIENT[$i]=http://127.0.0.1:$(free_port)
  PEER[$i]=http://127.0.0.1:$(free_port)
  CLUSTER="${CLUSTER:+$CLUSTER,}m$i=${PEER[$i]}"
done
start_member() {
  local i=$1
  etcd --name "m$i" --data-dir "$DATA/m$i" --listen-client-urls "${CLIENT[$i]}" \
    --advertise-client-urls "${CLIENT[$i]}" --listen-peer-urls "${PEER[$i]}" \
    --initial-advertise-peer-urls "${PEER[$i]}" --initial-cluster "$CLUSTER" \
    --initial-cluster-state new --quota-backend-bytes 4294967296 >>"$WORK/m$i.log" 2>&1 &
  PIDS[$i]=$!
}
healthy() { ETCDCTL_API=3 etcdctl --endpoints="$1" endpoint health --command-timeout=2s >/dev/null 2>&1; }
wait_healthy() { for _ in $(seq 300); do healthy "$1" && return 0; sleep 0.1; done; echo "etcd at $1 did not start" >&2; exit 1; }
for i in 0 1 2; do start_member "$i"; done
for i in 0 1 2; do wait_healthy "${CLIENT[$i]}"; done

ENDPOINTS=$(IFS=,; echo "${CLIENT[*]}")
export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$ENDPOINTS
etcdctl3() { ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" "$@"; }
python3 bench/gen_mixed.py "$N" > "$WORK/mixed.yaml"
# apply_run: wipes the resources (keeping the cluster's own keys), then times the apply.
apply_run() {
  etcdctl3 del --prefix /calico/resources/v3/projectcalico.org/ >/dev/null 2>&1 || true
  "$BIN" get ippools >/dev/null
  /usr/bin/time -f '%e' -o "$WORK/time" "$BIN" apply -f "$WORK/mixed.yaml" >"$WORK/out" 2>"$WORK/err" || {
    echo "apply failed:"; tail -5 "$WORK/err"; exit 1; }
  local stored
  stored=$(etcdctl3 get --prefix /calico/resources/v3/projectcalico.org/ --keys-only | grep -c -v -e '^$' -e /clusterinformations/ -e /tiers/)
  [ "$stored" = "$N" ] || { echo "stored $stored resources, expected $N"; exit 1; }
  cat "$WORK/time"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

HEALTHY=$(apply_run)
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS[0]=0
DEAD_FIRST=$(apply_run)
start_member 0; wait_healthy "${CLIENT[0]}"
kill "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null || true; PIDS[1]=0
DEAD_SECOND=$(apply_run)
# Healthy again at the end, so neither case gains from running first or last.
start_member 1; wait_healthy "${CLIENT[1]}"
HEALTHY2=$(apply_run)
BASE=$(python3 -c "print(f'{($HEALTHY+$HEALTHY2)/2:.2f}')")

echo "apply -f $N mixed resources on 3 members: healthy ${HEALTHY}s and ${HEALTHY2}s (mean ${BASE}s)"
echo "  first listed member dead:  ${DEAD_FIRST}s, ratio $(ratio "$DEAD_FIRST" "$BASE")"
echo "  second listed member dead: ${DEAD_SECOND}s, ratio $(ratio "$DEAD_SECOND" "$BASE")"
