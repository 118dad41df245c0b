#!/usr/bin/env bash
# Side by side with Calico's own calicoctl, in one run on one throw-away etcd:
#   (a) apply -f of N mixed resources (bench/gen_mixed.py) into an empty datastore
#   (b) get workloadendpoints -A -o json of W endpoints
# Best of RUNS (default 3) wall times, with peak RSS (/usr/bin/time -f %M), and the ratio
# ours / Calico's. Calico's binary is taken from CALICO_CALICOCTL; without it only ours runs.
#   CALICO_CALICOCTL=/path/to/calicoctl bench/vs-calico.sh [N] [W]
# ONLY=get runs only (b) (the datastore is filled by our apply, untimed); ONLY=apply only (a).
# OURS_CALICOCTL=/path/to/our/calicoctl uses that binary instead of building the release one;
# ETCD_FLOOR=/path/to/etcd_floor likewise for the example that fills and counts the datastore.
# ETCD_PORT picks the etcd client port (the peer port is the next one); default: a free port.
# Needs etcd, etcdctl, python3; builds the release binaries first. Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
W=${2:-50000}
RUNS=${RUNS:-3}
ONLY=${ONLY:-all}
case $ONLY in all | get | apply) ;; *) echo "ONLY must be all, get or apply" >&2; exit 1 ;; esac
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${OURS_CALICOCTL:-}" ]; then cargo build --release -q -p calicoctl; fi
if [ "$ONLY" != apply ] && [ -z "${ETCD_FLOOR:-}" ]; then
  cargo build --release -q -p calico-etcd --example etcd_floor
fi
OURS=${OURS_CALICOCTL:-$TARGET/release/calicoctl}
FLOOR=${ETCD_FLOOR:-$TARGET/release/examples/etcd_floor}
THEIRS=${CALICO_CALICOCTL:-}
if [ -n "$THEIRS" ] && [ ! -x "$THEIRS" ]; then
  echo "CALICO_CALICOCTL=$THEIRS is not an executable" >&2
  exit 1
fi
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_scratch
start_etcd "${ETCD_PORT:-}"

export DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$EP
PREFIX=/calico/resources/v3/projectcalico.org/
# timed OUT CMD...: runs CMD, stdout to OUT; prints "seconds peak-KiB".
timed() { local out=$1; shift; /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$out"; cat "$WORK/time"; }
# best "t m" lines on stdin: the fastest run's time and the largest RSS seen.
best() { sort -n | awk 'NR==1{t=$1} {if ($2>m) m=$2} END{printf "%s %d\n", t, m}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
wipe() { ETCDCTL_API=3 etcdctl --endpoints="$EP" del --prefix /calico >/dev/null; }

python3 bench/gen_mixed.py "$N" > "$WORK/mixed.yaml"
apply_with() { # BIN: best of RUNS applies into an empty datastore (cluster keys made first)
  for _ in $(seq "$RUNS"); do
    wipe
    "$1" get ippools >/dev/null
    timed /dev/null "$1" apply -f "$WORK/mixed.yaml"
  done | best
}

if [ "$ONLY" = get ]; then
  "$OURS" apply -f "$WORK/mixed.yaml" >/dev/null
else
  read -r A_OURS_T A_OURS_M < <(apply_with "$OURS")
  if [ -n "$THEIRS" ]; then read -r A_THEIRS_T A_THEIRS_M < <(apply_with "$THEIRS"); fi
  if [ "$ONLY" = apply ]; then
    echo "best of $RUNS runs; time in seconds, peak RSS in KiB"
    echo "(a) apply -f of $N mixed resources: ours ${A_OURS_T}s ${A_OURS_M}KiB"
    if [ -n "$THEIRS" ]; then
      echo "    Calico's ${A_THEIRS_T}s ${A_THEIRS_M}KiB; ours/Calico's: time $(ratio "$A_OURS_T" "$A_THEIRS_T"), RSS $(ratio "$A_OURS_M" "$A_THEIRS_M")"
    fi
    exit 0
  fi
fi

# W endpoints: those the mixed file made, plus copies of the first.
HAVE=$("$FLOOR" "$EP" range "${PREFIX}workloadendpoints/" | cut -d' ' -f1)
[ "$W" -gt "$HAVE" ] && "$FLOOR" "$EP" clone-weps "$((W - HAVE))" >/dev/null
# Ours and Calico's take turns, so both see the same load on the machine.
: >"$WORK/get-ours"
: >"$WORK/get-theirs"
for _ in $(seq "$RUNS"); do
  timed "$WORK/ours.json" "$OURS" get workloadendpoints -A -o json >>"$WORK/get-ours"
  if [ -n "$THEIRS" ]; then
    timed "$WORK/theirs.json" "$THEIRS" get workloadendpoints -A -o json >>"$WORK/get-theirs"
  fi
done
read -r G_OURS_T G_OURS_M < <(best <"$WORK/get-ours")
if [ -n "$THEIRS" ]; then read -r G_THEIRS_T G_THEIRS_M < <(best <"$WORK/get-theirs"); fi
WEPS=$("$FLOOR" "$EP" range "${PREFIX}workloadendpoints/" | cut -d' ' -f1)
SIZE=$(du -h "$WORK/ours.json" | cut -f1)

echo "best of $RUNS runs; time in seconds, peak RSS in KiB"
if [ "$ONLY" = all ]; then
  echo "(a) apply -f of $N mixed resources: ours ${A_OURS_T}s ${A_OURS_M}KiB"
  if [ -n "$THEIRS" ]; then
    echo "    Calico's ${A_THEIRS_T}s ${A_THEIRS_M}KiB; ours/Calico's: time $(ratio "$A_OURS_T" "$A_THEIRS_T"), RSS $(ratio "$A_OURS_M" "$A_THEIRS_M")"
  fi
fi
echo "(b) get workloadendpoints -A -o json of $WEPS endpoints ($SIZE of JSON): ours ${G_OURS_T}s ${G_OURS_M}KiB"
echo "    all runs (s KiB), ours: $(tr '\n' ' ' <"$WORK/get-ours")"
[ -z "$THEIRS" ] || echo "    all runs (s KiB), Calico's: $(tr '\n' ' ' <"$WORK/get-theirs")"
if [ -n "$THEIRS" ]; then
  same=differs; cmp -s "$WORK/ours.json" "$WORK/theirs.json" && same=identical
  echo "    Calico's ${G_THEIRS_T}s ${G_THEIRS_M}KiB; ours/Calico's: time $(ratio "$G_OURS_T" "$G_THEIRS_T"), RSS $(ratio "$G_OURS_M" "$G_THEIRS_M"); output $same"
else
  echo "    (set CALICO_CALICOCTL to Calico's calicoctl to compare)"
fi
