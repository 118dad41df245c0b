#!/usr/bin/env python3
"""Loads a cluster's IPAM state into etcd the way Calico's CNI plugin stores it, for the `ipam`
benchmarks: NODES nodes with BLOCKS /26 blocks in all (of 10.0.0.0/8, affine to the nodes in
turn), ALLOCS pod addresses in all (spread evenly over the blocks but for a few nodes, see
below), each with its handle, and
each block's affinity. Written through etcd's JSON gateway in transactions of 128 puts.
    gen_ipam.py ENDPOINT [NODES] [BLOCKS] [ALLOCS]
Prints the number of keys and of stored value bytes."""
import base64
import ipaddress
import json
import sys
import urllib.request


def b64(text):
    return base64.b64encode(text.encode()).decode()


def main():
    endpoint = sys.argv[1].rstrip("/")
    nodes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    blocks = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    allocs = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    batch = []
    count = {"keys": 0, "bytes": 0}

    def put(key, value):
        batch.append({"requestPut": {"key": b64(key), "value": b64(value)}})
        count["keys"] += 1
        count["bytes"] += len(value)
        if len(batch) == 128:
            flush()

    def flush():
        if not batch:
            return
        body = json.dumps({"success": batch}).encode()
        req = urllib.request.Request(endpoint + "/v3/kv/txn", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            resp.read()
        batch.clear()

    pod = 0
    for b in range(blocks):
        node = f"node-{b % nodes}"
        net = ipaddress.IPv4Network((base + b * 64, 26))
        here = allocs // blocks + (1 if b < allocs % blocks else 0)
        # The first 21 nodes get 21, 20, ... 1 more addresses (taken one each from the next 231
        # nodes' first blocks), so `ipam check`'s top-20 list has no ties (Calico orders ties
        # at random).
        if b < nodes and nodes > 252:
            if b < 21:
                here += 21 - b
            elif b < 252:
                here -= 1
        here = max(0, min(here, 64))
        attributes = []
        handles = []
        seq = 1796500000000000000 + b * 1000
        for i in range(here):
            cid = f"{pod:064x}"
            handle = f"k8s-pod-network.{cid}"
            handles.append(handle)
            attributes.append({"handle_id": handle, "secondary": {
                "namespace": "default", "node": node, "pod": f"pod-{pod}",
                "timestamp": "2026-12-01 00:00:00.000000000 +0000 UTC"}})
            pod += 1
        block = {
            "cidr": str(net),
            "affinity": f"host:{node}",
            "affinity_claim_time": "2026-12-01T00:00:00Z",
            "allocations": [i if i < here else None for i in range(64)],
            "unallocated": list(range(here, 64)),
            "attributes": attributes or None,
            "sequenceNumber": seq + here,
            "sequenceNumberForAllocation": {str(i): seq + i for i in range(here)},
            "deleted": False,
        }
        segment = str(net).replace("/", "-")
        put(f"/calico/ipam/v2/assignment/ipv4/block/{segment}",
            json.dumps(block, separators=(",", ":")))
        put(f"/calico/ipam/v2/host/{node}/ipv4/block/{segment}",
            '{"state":"confirmed","deleted":false}')
        for handle in handles:
            put(f"/calico/ipam/v2/handle/{handle}",
                json.dumps({"block": {str(net): 1}, "deleted": False}, separators=(",", ":")))
    flush()
    print(count["keys"], count["bytes"])


if __name__ == "__main__":
    main()
