#!/usr/bin/env python3
"""Runs N calico-ipam ADD processes for one node, all at once or one after another, the way a
container runtime runs them (environment and network configuration on stdin), and prints one
line: wall seconds, p50 and p99 seconds per ADD, failures, and etcd requests per ADD (from
etcd's own gRPC request counters on its /metrics page, before and after).

    cni_burst.py BINARY ETCD_ENDPOINT N concurrent|sequential TAG [ADD|DEL]

DEL releases what an ADD run with the same TAG allocated.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request


def etcd_requests(endpoint):
    """Unary gRPC requests etcd has handled (KV, lease, ...), all methods."""
    text = urllib.request.urlopen(endpoint + "/metrics", timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("grpc_server_handled_total{") and 'grpc_type="unary"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    binary, endpoint, n, mode, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    command = sys.argv[6] if len(sys.argv) > 6 else "ADD"
    conf = json.dumps({
        "cniVersion": "0.3.1", "name": "k8s-pod-network", "type": "calico",
        "datastore_type": "etcdv3", "etcd_endpoints": endpoint, "nodename": "node-a",
        "ipam": {"type": "calico-ipam"},
    }).encode()

    def succeeded(code, out):
        if code != 0:
            return False
        return command == "DEL" or b'"ips"' in out or b'"ip4"' in out

    def env(i):
        e = {k: v for k, v in os.environ.items() if k in ("PATH", "CALICO_IPAM_QUEUE_DIR")}
        e.update({
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": f"{tag}{i:06d}" + "ab" * 26,
            "CNI_NETNS": "/var/run/netns/bench",
            "CNI_IFNAME": "eth0",
            "CNI_PATH": "/opt/cni/bin",
            "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={tag}-{i}",
        })
        return e

    before = etcd_requests(endpoint)
    times, failures = [], 0
    start = time.monotonic()
    if mode == "concurrent":
        procs = []
        for i in range(n):
            t0 = time.monotonic()
            p = subprocess.Popen([binary], env=env(i), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdin.write(conf)
            p.stdin.close()
            procs.append((t0, p))
        # Reap in completion order so each ADD's time is its own.
        pending = dict((p.pid, (t0, p)) for t0, p in procs)
        while pending:
            pid, status = os.wait()
            if pid in pending:
                t0, p = pending.pop(pid)
                times.append(time.monotonic() - t0)
                p.returncode = os.waitstatus_to_exitcode(status)
                out = p.stdout.read()
                if not succeeded(p.returncode, out):
                    failures += 1
    else:
        for i in range(n):
            t0 = time.monotonic()
            r = subprocess.run([binary], env=env(i), input=conf, capture_output=True)
            times.append(time.monotonic() - t0)
            if not succeeded(r.returncode, r.stdout):
                failures += 1
    wall = time.monotonic() - start
    after = etcd_requests(endpoint)
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{wall:.3f} {p50:.3f} {p99:.3f} {failures} {(after - before) / n:.1f}")


if __name__ == "__main__":
    main()
