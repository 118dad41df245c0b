"""Records what a calicoctl prints for every line of cases.txt, on a fresh etcd.

    python3 record.py CALICOCTL PORT OUT.json

Run with Calico's own calicoctl to re-record expected.json (the goldens that tests/corpus.rs
compares ours with). It only runs the binary it is given; it starts etcd on PORT and PORT+1.
"""
import json, subprocess, sys, os, shlex, tempfile, time
bin, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..'))
d = tempfile.mkdtemp()
etcd = subprocess.Popen(['etcd','--data-dir',d,'--listen-client-urls',f'http://127.0.0.1:{port}','--advertise-client-urls',f'http://127.0.0.1:{port}','--listen-peer-urls',f'http://127.0.0.1:{port+1}','--initial-advertise-peer-urls',f'http://127.0.0.1:{port+1}','--initial-cluster',f'default=http://127.0.0.1:{port+1}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(1.5)
env = {k: v for k, v in os.environ.items() if not k.startswith(("DATASTORE", "ETCD", "KUBECONFIG", "CALICO"))}
env.update(DATASTORE_TYPE='etcdv3', ETCD_ENDPOINTS=f'http://127.0.0.1:{port}', HOME=d)
res = []
try:
    for line in open(f'{root}/crates/calicoctl/tests/golden/corpus/cases.txt'):
        line = line.rstrip('\n')
        if not line or line.startswith('#'): continue
        p = subprocess.run([bin] + shlex.split(line), capture_output=True, env=env, cwd=root, stdin=subprocess.DEVNULL, timeout=60)
        res.append(dict(command=line, code=p.returncode, stdout=p.stdout.decode(), stderr=p.stderr.decode()))
finally:
    etcd.kill()
json.dump(res, open(out, 'w'), indent=1, ensure_ascii=False)
