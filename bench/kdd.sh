#!/usr/bin/env bash
# The Kubernetes datastore on a real kube-apiserver (built by calico-test-support), in one run:
#   (a) apply -f of N mixed resources (bench/gen_mixed.py) into a fresh server;
#   (b) get workloadendpoints -A -o json of P pods;
# each as a ratio to a raw kube-rs client doing the same kind of requests without Calico's
# conversion (crates/calico-kube/examples/kube_floor.rs: N GlobalNetworkSets created 64 at a
# time; all pods listed 500 a page), and to Calico's calicoctl when CALICO_CALICOCTL names it.
#   CALICO_CALICOCTL=/path/to/calicoctl bench/kdd.sh [N] [P]
# (CALICOCTL=… and FLOOR=… measure binaries built beforehand instead of building them.)
# Best of RUNS (default 3) wall times, with peak RSS. Needs kubectl, etcd, go, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
P=${2:-20000}
RUNS=${RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
# CALICOCTL / FLOOR name binaries already built (the release build takes 10-16 min on 2 cores).
if [ -z "${CALICOCTL:-}" ]; then
  cargo build --release -q -p calicoctl
  CALICOCTL=$TARGET/release/calicoctl
fi
if [ -z "${FLOOR:-}" ]; then
  cargo build --release -q -p calico-kube --example kube_floor
  FLOOR=$TARGET/release/examples/kube_floor
fi
cargo build -q -p calico-test-support --bin kube-apiserver-run
OURS=$CALICOCTL
RUNNER=$TARGET/debug/kube-apiserver-run
THEIRS=${CALICO_CALICOCTL:-}
if [ -n "$THEIRS" ] && [ ! -x "$THEIRS" ]; then
  echo "CALICO_CALICOCTL=$THEIRS is not an executable" >&2
  exit 1
fi
WORK=$(mktemp -d)
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill -- -"$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

# start_server: a fresh server with our CRDs and the namespaces gen_mixed.py uses.
start_server() {
  stop_server
  rm -f "$WORK/kubeconfig"
  setsid "$RUNNER" "$WORK/kubeconfig" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do [ -f "$WORK/kubeconfig" ] && break; sleep 0.2; done
  [ -f "$WORK/kubeconfig" ] || { cat "$WORK/server.log" >&2; exit 1; }
  export KUBECONFIG=$WORK/kubeconfig DATASTORE_TYPE=kubernetes
  kubectl apply -f manifests/crds.yaml >/dev/null
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
  for i in $(seq 0 19); do kubectl create namespace "ns-$i" >/dev/null; done
}
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$out"; cat "$WORK/time"; }
best() { sort -n | awk 'NR==1{t=$1} {if ($2>m) m=$2} END{printf "%s %d\n", t, m}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

python3 bench/gen_mixed.py --kdd "$N" > "$WORK/mixed.yaml"
apply_with() { # BIN: best of RUNS applies, each into a fresh server
  # Each run in its own server, stopped here: this runs in a subshell, where the EXIT trap
  # that stops the last server does not run.
  for _ in $(seq "$RUNS"); do start_server; timed /dev/null "$1" apply -f "$WORK/mixed.yaml"; stop_server; done | best
}
floor_apply() {
  for _ in $(seq "$RUNS"); do start_server; timed /dev/null "$FLOOR" "$KUBECONFIG" create-sets "$N" 64; stop_server; done | best
}
read -r A_FLOOR_T A_FLOOR_M < <(floor_apply)
read -r A_OURS_T A_OURS_M < <(apply_with "$OURS")
if [ -n "$THEIRS" ]; then read -r A_THEIRS_T A_THEIRS_M < <(apply_with "$THEIRS"); fi

start_server
"$FLOOR" "$KUBECONFIG" create-pods "$P" 64
read -r G_FLOOR_T G_FLOOR_M < <(for _ in $(seq "$RUNS"); do timed /dev/null "$FLOOR" "$KUBECONFIG" list-pods; done | best)
read -r G_OURS_T G_OURS_M < <(for _ in $(seq "$RUNS"); do timed "$WORK/ours.json" "$OURS" get workloadendpoints -A -o json; done | best)
if [ -n "$THEIRS" ]; then
  read -r G_THEIRS_T G_THEIRS_M < <(for _ in $(seq "$RUNS"); do timed "$WORK/theirs.json" "$THEIRS" get workloadendpoints -A -o json; done | best)
fi

echo "best of $RUNS runs; time in seconds, peak RSS in KiB"
echo "(a) apply -f of $N mixed resources: ours ${A_OURS_T}s ${A_OURS_M}KiB; floor ($N GlobalNetworkSets, 64 at a time) ${A_FLOOR_T}s; ours/floor $(ratio "$A_OURS_T" "$A_FLOOR_T")"
if [ -n "$THEIRS" ]; then
  echo "    Calico's ${A_THEIRS_T}s ${A_THEIRS_M}KiB; ours/Calico's: time $(ratio "$A_OURS_T" "$A_THEIRS_T")"
fi
echo "(b) get workloadendpoints -A -o json of $P pods: ours ${G_OURS_T}s ${G_OURS_M}KiB; floor (list pods) ${G_FLOOR_T}s; ours/floor $(ratio "$G_OURS_T" "$G_FLOOR_T")"
if [ -n "$THEIRS" ]; then
  same=differs; cmp -s "$WORK/ours.json" "$WORK/theirs.json" && same=identical
  echo "    Calico's ${G_THEIRS_T}s ${G_THEIRS_M}KiB; ours/Calico's: time $(ratio "$G_OURS_T" "$G_THEIRS_T"); output $same"
fi
