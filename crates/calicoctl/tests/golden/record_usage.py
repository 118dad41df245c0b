"""Records what a calicoctl prints for each usage-error command line below.

    python3 record_usage.py CALICOCTL OUT.json

Run with Calico's own calicoctl to re-record usage.json (compared with ours by tests/help.rs).
"""
import json, subprocess, sys, os
bin = sys.argv[1]
cases = [
 [], ["gte"], ["foo"], ["--foo"], ["-x"], ["get","--foo"], ["get","-x"], ["get","-o"], ["get","ippools","-o"],
 ["ipam","foo"], ["ipam"], ["patch"], ["patch","a","b","c"], ["label"], ["label","a","b"], ["version","--poll"],
 ["-l","bogus","get","ippool"], ["help","get"], ["help","foo"], ["help","foo","bar"], ["help"], ["-h"], ["--help"],
 ["completion"], ["completion","foo"], ["completion","bash","foo"], ["ipam","split"], ["ipam","split","x","y"],
 ["get","ippool","--export=maybe"], ["get","-Rx"], ["get","-A=maybe"], ["ipam","check","--show-all-ips=1","--max"],
 ["node","diags","--max-logs","x"], ["cluster","diags","--max-logs=99999999999999999999"], ["get","ippool","-h","--foo"], ["help","ipam","check"],
 ["ipa"], ["ge"], ["datastore","migrate","foo"], ["node","run","--as"], ["ipam","release","--from-report"],
 ["--context"], ["-l"], ["version","-c"], ["convert"], ["get","---x"], ["get","--=x"],
 ["create","-f"], ["delete","-s=maybe"], ["cluster"], ["node"], ["datastore"], ["datastore","migrate"],
 ["-l","DEBUG","--help"], ["get","-hA"], ["node","status","x","--help"],
]
out = []
env = {k: v for k, v in os.environ.items() if not k.startswith(("DATASTORE", "ETCD", "KUBECONFIG"))}
for a in cases:
    p = subprocess.run([bin] + a, capture_output=True, env=env, stdin=subprocess.DEVNULL)
    out.append(dict(args=a, code=p.returncode, stdout=p.stdout.decode(), stderr=p.stderr.decode()))
json.dump(out, open(sys.argv[2], 'w'), indent=1, ensure_ascii=False)
