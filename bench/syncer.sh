#!/usr/bin/env bash
# The syncer against a throw-away etcd: initial sync of ENDPOINTS (default 100,000) workload
# endpoints as a ratio to a raw paged range in the same run, and its peak heap as a ratio to
# the payload; change-to-delivery latency (p50/p99) at RATE (default 1,000) updates a second
# for SECONDS (default 5); one syncer feeding CONSUMERS (default 100) in-process consumers.
# Best of RUNS (default 3) for the initial sync. Needs etcd. Results: docs/benchmarks.md.
#   ENDPOINTS=100000 RUNS=3 bench/syncer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -q -p calico-syncer --bench sync
