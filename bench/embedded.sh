#!/usr/bin/env bash
# Whole-command benchmarks on the embedded datastore: apply N mixed resources from one file,
# then get them back as JSON. Prints wall-clock seconds, best of RUNS.
#   bench/embedded.sh [N] [RUNS]        (builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
RUNS=${2:-3}
cargo build --release -q -p calicoctl
BIN=target/release/calicoctl
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 bench/gen_mixed.py "$N" > "$WORK/mixed.yaml"
export DATASTORE_TYPE=embedded

now() { python3 -c 'import time; print(time.perf_counter())'; }
best() { sort -g | head -1; }

apply_times=() get_times=() validate_times=()
for run in $(seq "$RUNS"); do
  export DATASTORE_PATH="$WORK/store-$run.db"
  t0=$(now); "$BIN" validate -f "$WORK/mixed.yaml" >/dev/null; t1=$(now)
  validate_times+=("$(python3 -c "print($t1-$t0)")")
  t0=$(now); "$BIN" apply -f "$WORK/mixed.yaml" >/dev/null; t1=$(now)
  apply_times+=("$(python3 -c "print($t1-$t0)")")
  t0=$(now)
  for kind in globalnetworksets hostendpoints globalnetworkpolicies; do "$BIN" get "$kind" -o json >/dev/null; done
  "$BIN" get networkpolicies -A -o json >/dev/null
  "$BIN" get workloadendpoints -A -o json >/dev/null
  t1=$(now)
  get_times+=("$(python3 -c "print($t1-$t0)")")
done
echo "resources:                $N (mixed: GlobalNetworkSet, NetworkPolicy, HostEndpoint, GlobalNetworkPolicy, WorkloadEndpoint)"
echo "validate -f (offline):    $(printf '%s\n' "${validate_times[@]}" | best) s"
echo "apply -f into empty store: $(printf '%s\n' "${apply_times[@]}" | best) s"
echo "get -o json, all 5 kinds: $(printf '%s\n' "${get_times[@]}" | best) s"
echo "store size:               $(du -h "$WORK/store-1.db" | cut -f1)"
