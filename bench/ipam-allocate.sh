#!/usr/bin/env bash
# The IPAM allocator against a throw-away etcd: round trips of a node's first allocation, a
# steady-state one and a release by handle; a burst of BURST (default 200) concurrent
# allocations for one node (combined and not), as a ratio to the same number of raw etcd
# transactions in the same run; and BURST allocations one after another. Best of RUNS
# (default 3). Needs etcd. Results: docs/benchmarks.md.
#   BURST=200 RUNS=3 bench/ipam-allocate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -q -p calico-ipam --bench allocate
