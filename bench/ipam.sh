#!/usr/bin/env bash
# `calicoctl ipam show`, `ipam show --show-blocks` and `ipam check` over a large cluster's IPAM data on one
# throw-away etcd (issue 13's scale: NODES nodes, BLOCKS blocks, ALLOCS allocations, loaded
# by bench/gen_ipam.py as Calico's CNI plugin stores them), side by side with Calico's own
# calicoctl when CALICO_CALICOCTL names it. Best of RUNS (default 3) wall times, peak RSS
# (/usr/bin/time -f %M), the ratio ours / Calico's, and peak RSS over the stored block bytes.
#   CALICO_CALICOCTL=/path/to/calicoctl bench/ipam.sh [NODES] [BLOCKS] [ALLOCS]
# OURS_CALICOCTL=/path/to/our/calicoctl uses that binary instead of building the release one.
# `ipam check` lists Kubernetes Services even on etcd: it gets an empty kube-emulator
# (KUBE_EMULATOR=/path/to/kube-emulator, else built here). No workload endpoints exist, so every
# allocation counts as leaked: the check does all its work and prints only the counts.
# Needs etcd, etcdctl, python3. Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-1000}
BLOCKS=${2:-5000}
ALLOCS=${3:-100000}
RUNS=${RUNS:-3}
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${OURS_CALICOCTL:-}" ]; then cargo build --release -q -p calicoctl; fi
if [ -z "${KUBE_EMULATOR:-}" ]; then cargo build -q -p kube-emulator; fi
OURS=${OURS_CALICOCTL:-$TARGET/release/calicoctl}
EMULATOR=${KUBE_EMULATOR:-$TARGET/debug/kube-emulator}
THEIRS=${CALICO_CALICOCTL:-}
if [ -n "$THEIRS" ] && [ ! -x "$THEIRS" ]; then
  echo "CALICO_CALICOCTL=$THEIRS is not an executable" >&2
  exit 1
fi
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_scratch
start_etcd
export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$EP
"$EMULATOR" --listen 127.0.0.1:0 --kubeconfig "$WORK/kubeconfig" >"$WORK/emulator.log" 2>&1 &
EMULATOR_PID=$!
for _ in $(seq 100); do [ -s "$WORK/kubeconfig" ] && break; sleep 0.1; done

read -r KEYS BYTES < <(python3 bench/gen_ipam.py "$EP" "$NODES" "$BLOCKS" "$ALLOCS")
BLOCK_BYTES=$(ETCDCTL_API=3 etcdctl --endpoints="$EP" get --prefix /calico/ipam/v2/assignment/ --print-value-only | wc -c)
cat >"$WORK/pool.yaml" <<'POOL'
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-bench
spec:
  cidr: 10.0.0.0/8
  blockSize: 26
  natOutgoing: true
POOL
"$OURS" create -f "$WORK/pool.yaml" >/dev/null
# ipam check reads the kube-controllers' configuration (the leak grace period).
cat >"$WORK/kcc.yaml" <<'KCC'
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata:
  name: default
spec:
  controllers:
    node:
      leakGracePeriod: 15m0s
KCC
"$OURS" create -f "$WORK/kcc.yaml" >/dev/null

# timed OUT CMD...: runs CMD, stdout to OUT; prints "seconds peak-KiB".
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$out"; cat "$WORK/time"; }
# best "t m" lines on stdin: the fastest run's time and the largest RSS seen.
best() { sort -n | awk 'NR==1{t=$1} {if ($2>m) m=$2} END{printf "%s %d\n", t, m}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "IPAM data: $NODES nodes, $BLOCKS blocks, $ALLOCS allocations; $KEYS keys, $BYTES value bytes ($BLOCK_BYTES in blocks)"
printf '%-24s %10s %10s %10s %10s %8s %12s\n' command ours_s ours_MB calico_s calico_MB ratio rss/blocks
for args in "ipam show" "ipam show --show-blocks" "ipam check --kubeconfig $WORK/kubeconfig"; do
  # shellcheck disable=SC2086
  read -r OT OM < <(for _ in $(seq "$RUNS"); do timed "$WORK/ours.out" "$OURS" $args; done | best)
  CT=- CM=- R=-
  if [ -n "$THEIRS" ]; then
    # shellcheck disable=SC2086
    read -r CT CM < <(for _ in $(seq "$RUNS"); do timed "$WORK/theirs.out" "$THEIRS" $args; done | best)
    R=$(ratio "$OT" "$CT")
    CM=$((CM / 1024))
    # ipam check lists nodes with equal counts in Go's map order (random); ours by name.
    if ! cmp -s <(sort "$WORK/ours.out") <(sort "$WORK/theirs.out"); then
      echo "outputs of '$args' differ:" >&2
      diff "$WORK/theirs.out" "$WORK/ours.out" | head -20 >&2 || true
    fi
  fi
  printf '%-24s %10s %10s %10s %10s %8s %12s\n' "${args%% --kubeconfig*}" "$OT" "$((OM / 1024))" "$CT" "$CM" "$R" \
    "$(python3 -c "print(f'{$OM*1024/$BLOCK_BYTES:.2f}')")"
done
