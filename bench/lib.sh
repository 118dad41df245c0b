# Sourced by the bench scripts: a scratch directory removed on exit, and a throw-away etcd on
# loopback killed on exit.
#   bench_scratch          sets WORK (scratch) and DATA (etcd's data: /dev/shm when there is one)
#   start_etcd [PORT]      starts etcd (client port PORT, else a free one; peer port PORT+1);
#                          sets EP and ETCD_PID and waits until it answers
# A script that starts more processes sets EMULATOR_PID; they are killed on exit too.

ETCD_PID=
EMULATOR_PID=

bench_cleanup() {
  set +e
  local pid
  for pid in "$ETCD_PID" "$EMULATOR_PID"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  done
  rm -rf "$WORK" "$DATA"
}

bench_scratch() {
  WORK=$(mktemp -d)
  DATA=$WORK
  [ -d /dev/shm ] && DATA=$(mktemp -d /dev/shm/etcd-bench-XXXXXX)
  trap bench_cleanup EXIT
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_etcd() {
  local cp=${1:-$(free_port)} pp
  if [ -n "${1:-}" ]; then pp=$((cp + 1)); else pp=$(free_port); fi
  EP=http://127.0.0.1:$cp
  etcd --name bench --data-dir "$DATA/data" --listen-client-urls "$EP" --advertise-client-urls "$EP" \
    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
    --initial-cluster "bench=http://127.0.0.1:$pp" --quota-backend-bytes 4294967296 >"$WORK/etcd.log" 2>&1 &
  ETCD_PID=$!
  for _ in $(seq 100); do ETCDCTL_API=3 etcdctl --endpoints="$EP" endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
}
