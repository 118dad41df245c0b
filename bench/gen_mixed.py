#!/usr/bin/env python3
"""Writes N mixed Calico resources (network sets, policies, host endpoints, pools, workload
endpoints) as one multi-document YAML file, for the apply/get benchmarks. With --kdd, namespaced
NetworkSets take the workload endpoints' place (on the Kubernetes datastore those are pods)."""
import sys

def main():
    args = [a for a in sys.argv[1:] if a != "--kdd"]
    kdd = "--kdd" in sys.argv[1:]
    n = int(args[0]) if args else 10000
    out = sys.stdout
    for i in range(n):
        kind = i % 5
        if kind == 0:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: set-{i}
  labels: {{role: bench, index: "{i}"}}
spec:
  nets: [10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/32, 192.0.2.0/24]
""")
        elif kind == 1:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: policy-{i}
  namespace: ns-{i % 20}
spec:
  order: {i}
  selector: app == 'app-{i}'
  ingress:
  - action: Allow
    protocol: TCP
    source: {{selector: role == 'frontend'}}
    destination: {{ports: [80, 443, "8000:8100"]}}
  egress:
  - action: Allow
""")
        elif kind == 2:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: host-{i}-eth0
  labels: {{role: bench}}
spec:
  node: node-{i}
  interfaceName: eth0
  expectedIPs: [172.16.{i // 256 % 256}.{i % 256}]
""")
        elif kind == 3:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: gpolicy-{i}
spec:
  order: {i}
  selector: has(bench-{i})
  types: [Ingress]
  ingress:
  - action: Deny
    source: {{nets: [203.0.113.0/24]}}
""")
        elif kdd:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: set-{i}
  namespace: ns-{i % 20}
  labels: {{app: app-{i}}}
spec:
  nets: [10.200.{i // 256 % 256}.{i % 256}/32]
""")
        else:
            out.write(f"""apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node--{i % 50}-k8s-pod--{i}-eth0
  namespace: ns-{i % 20}
  labels: {{app: app-{i}}}
spec:
  orchestrator: k8s
  node: node-{i % 50}
  pod: pod-{i}
  endpoint: eth0
  interfaceName: cali{i:011d}
  ipNetworks: [10.200.{i // 256 % 256}.{i % 256}/32]
  profiles: [kns.ns-{i % 20}]
""")
        out.write("---\n")

if __name__ == "__main__":
    main()
