//! HTTP-level tests of the emulator's semantics.

mod common;

use common::*;
use kube_emulator::{Config, Emulator, RunningEmulator};
use serde_json::{json, Value};

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn start(config: Config) -> (RunningEmulator, Client) {
    let emu = Emulator::start(config).await.unwrap();
    let client = Client::plain(emu.url());
    (emu, client)
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
async fn with_pools() -> (RunningEmulator, Client) {
    let (emu, c) = start(Config::default()).await;
    assert_eq!(c.post(CRDS, ippool_crd()).await.status, 201);
    assert_eq!(c.post(CRDS, networkset_crd()).await.status, 201);
    (emu, c)
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn not_found_and_already_exists_bodies() {
    let (_emu, c) = with_pools().await;
    let r = c.get(&format!("{POOLS}/pool-a")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "ippools.crd.projectcalico.org \"pool-a\" not found", "reason": "NotFound",
               "details": {"name": "pool-a", "group": "crd.projectcalico.org", "kind": "ippools"}, "code": 404})
    );
    assert_eq!(
        c.post(POOLS, pool("pool-a", "10.0.0.0/16")).await.status,
        201
    );
    let r = c.post(POOLS, pool("pool-a", "10.0.0.0/16")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["reason"], "AlreadyExists");
    assert_eq!(
        r.body["message"],
        "ippools.crd.projectcalico.org \"pool-a\" already exists"
    );
    let r = c.get("/api/v1/nodes/n1").await;
    assert_eq!(r.body["message"], "nodes \"n1\" not found");
    assert_eq!(r.body["details"], json!({"name": "n1", "kind": "nodes"}));
    let r = c.get("/apis/crd.projectcalico.org/v1/nosuch").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body["message"],
        "the server could not find the requested resource"
    );
}

#[tokio::test]
async fn create_sets_metadata_and_update_conflicts() {
    let (_emu, c) = with_pools().await;
    let created = c.post(POOLS, pool("p", "10.0.0.0/16")).await.body;
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created["metadata"]["uid"].as_str().unwrap().len() == 36);
    assert!(created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let rv1 = rv(&created);

    let mut changed = created.clone();
    changed["spec"]["cidr"] = json!("10.1.0.0/16");
    let updated = c.put(&format!("{POOLS}/p"), changed).await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["metadata"]["generation"], 2);
    assert!(rv(&updated.body) > rv1);

    // Stale resourceVersion.
    let mut stale = created.clone();
    stale["spec"]["cidr"] = json!("10.2.0.0/16");
    let r = c.put(&format!("{POOLS}/p"), stale.clone()).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["reason"], "Conflict");
    assert_eq!(
        r.body["message"],
        "Operation cannot be fulfilled on ippools.crd.projectcalico.org \"p\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // Empty resourceVersion: custom resources refuse it (built-ins take it as unconditional).
    stale["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let r = c.put(&format!("{POOLS}/p"), stale).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["message"],
        "IPPool.crd.projectcalico.org \"p\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    assert_eq!(
        r.body["details"]["causes"][0]["field"],
        "metadata.resourceVersion"
    );
    // Name mismatch and missing object.
    let r = c
        .put(&format!("{POOLS}/other"), pool("p", "10.0.0.0/8"))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body["message"],
        "the name of the object (p) does not match the name on the URL (other)"
    );
    let r = c.put(&format!("{POOLS}/q"), pool("q", "10.0.0.0/8")).await;
    assert_eq!(r.status, 404);
    // Invalid name.
    let r = c.post(POOLS, pool("Bad_Name", "10.0.0.0/8")).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["reason"], "Invalid");
    assert!(r.body["message"].as_str().unwrap().starts_with("IPPool.crd.projectcalico.org \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
}

#[tokio::test]
async fn patches_and_deletes() {
    let (_emu, c) = with_pools().await;
    let created = c.post(POOLS, pool("p", "10.0.0.0/16")).await.body;
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/p"),
            Some("application/merge-patch+json"),
            Some(json!({"spec": {"disabled": true}, "metadata": {"labels": {"a": "b"}}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["spec"],
        json!({"cidr": "10.0.0.0/16", "disabled": true})
    );
    assert_eq!(r.body["metadata"]["labels"], json!({"a": "b"}));
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/p"),
            Some("application/json-patch+json"),
            Some(json!([{"op": "replace", "path": "/spec/cidr", "value": "10.9.0.0/16"}])),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["spec"]["cidr"], "10.9.0.0/16");
    assert_eq!(r.body["metadata"]["generation"], 3);
    // A patch carrying a stale resourceVersion conflicts.
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/p"),
            Some("application/merge-patch+json"),
            Some(json!({"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}})),
        )
        .await;
    assert_eq!(r.status, 409);
    // Failing JSON patch test op.
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/p"),
            Some("application/json-patch+json"),
            Some(json!([{"op": "test", "path": "/spec/cidr", "value": "x"}])),
        )
        .await;
    assert_eq!(r.status, 422);
    // CRDs take no strategic merge patch.
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/p"),
            Some("application/strategic-merge-patch+json"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = c
        .call(
            "PATCH",
            &format!("{POOLS}/zz"),
            Some("application/merge-patch+json"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 404);

    // Delete preconditions.
    let r = c
        .call(
            "DELETE",
            &format!("{POOLS}/p"),
            None,
            Some(json!({"preconditions": {"uid": "nope"}})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.body["message"],
        format!("Operation cannot be fulfilled on ippools.crd.projectcalico.org \"p\": Precondition failed: UID in precondition: nope, UID in object meta: {}", created["metadata"]["uid"].as_str().unwrap())
    );
    let r = c
        .call(
            "DELETE",
            &format!("{POOLS}/p"),
            None,
            Some(json!({"preconditions": {"resourceVersion": "1"}})),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = c
        .call(
            "DELETE",
            &format!("{POOLS}/p"),
            None,
            Some(json!({"preconditions": {"uid": created["metadata"]["uid"]}})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["metadata"]["name"], "p");
    assert_eq!(r.body["kind"], "IPPool");
    assert_eq!(c.get(&format!("{POOLS}/p")).await.status, 404);
    assert_eq!(c.delete(&format!("{POOLS}/p")).await.status, 404);
}

#[tokio::test]
async fn namespaces_generate_name_and_scope() {
    let (_emu, c) = with_pools().await;
    let sets = "/apis/crd.projectcalico.org/v1/namespaces/prod/networksets";
    let r = c.post(sets, json!({"metadata": {"name": "s"}})).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["message"], "namespaces \"prod\" not found");
    assert_eq!(
        c.post("/api/v1/namespaces", json!({"metadata": {"name": "prod"}}))
            .await
            .status,
        201
    );
    let r = c
        .post(sets, json!({"metadata": {"generateName": "set-"}}))
        .await;
    assert_eq!(r.status, 201);
    let name = r.body["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("set-") && name.len() == 9, "{name}");
    assert_eq!(r.body["metadata"]["namespace"], "prod");
    let r = c
        .post(
            sets,
            json!({"metadata": {"name": "x", "namespace": "other"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = c.post(sets, json!({"metadata": {}})).await;
    assert_eq!(r.status, 422);
    // Cluster-wide list of a namespaced resource; cluster-scoped objects lose a namespace.
    assert_eq!(
        c.get("/apis/crd.projectcalico.org/v1/networksets")
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = c
        .post(
            POOLS,
            json!({"metadata": {"name": "p", "namespace": "prod"}}),
        )
        .await;
    assert!(r.body["metadata"].get("namespace").is_none());
    // Deleting the namespace removes its contents.
    assert_eq!(c.delete("/api/v1/namespaces/prod").await.status, 200);
    assert_eq!(
        c.get("/apis/crd.projectcalico.org/v1/networksets")
            .await
            .body["items"],
        json!([])
    );
    // Initial namespaces exist.
    let names: Vec<Value> = c.get("/api/v1/namespaces").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!("default"),
            json!("kube-node-lease"),
            json!("kube-public"),
            json!("kube-system")
        ]
    );
}

#[tokio::test]
async fn label_and_field_selectors() {
    let (_emu, c) = start(Config::default()).await;
    for (name, labels) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "db"})),
        ("c", json!({})),
    ] {
        let r = c.post("/api/v1/namespaces/default/pods", json!({"metadata": {"name": name, "labels": labels}, "spec": {"nodeName": format!("node-{name}")}})).await;
        assert_eq!(r.status, 201);
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let cases = [
        ("app%3Dweb", vec!["a"]),
        ("app%3D%3Dweb", vec!["a"]),
        ("app!%3Dweb", vec!["b", "c"]),
        ("app%20in%20(web,db)", vec!["a", "b"]),
        ("app%20notin%20(web)", vec!["b", "c"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c"]),
        ("app,tier%3Dfront", vec!["a"]),
    ];
    for (sel, want) in cases {
        let r = c
            .get(&format!(
                "/api/v1/namespaces/default/pods?labelSelector={sel}"
            ))
            .await;
        assert_eq!(r.status, 200, "{sel}");
        assert_eq!(names(&r.body), want, "{sel}");
    }
    let r = c.get("/api/v1/pods?fieldSelector=metadata.name%3Db").await;
    assert_eq!(names(&r.body), vec!["b"]);
    let r = c
        .get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-c,metadata.namespace%3Ddefault")
        .await;
    assert_eq!(names(&r.body), vec!["c"]);
    let r = c.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["message"], "field label not supported: spec.bogus");
    assert_eq!(
        c.get("/api/v1/pods?labelSelector=app%20in%20web")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn pagination_with_limit_and_continue() {
    let (_emu, c) = with_pools().await;
    for i in 0..5 {
        c.post(POOLS, pool(&format!("p{i}"), "10.0.0.0/16")).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("{POOLS}?limit=2");
    let mut pages = 0;
    loop {
        let r = c.get(&path).await;
        assert_eq!(r.status, 200);
        pages += 1;
        for i in r.body["items"].as_array().unwrap() {
            seen.push(i["metadata"]["name"].as_str().unwrap().to_string());
        }
        match r.body["metadata"]["continue"].as_str() {
            Some(tok) => {
                if pages == 1 {
                    assert_eq!(r.body["metadata"]["remainingItemCount"], 3);
                }
                path = format!("{POOLS}?limit=2&continue={tok}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["p0", "p1", "p2", "p3", "p4"]);
    let list = c.get(POOLS).await.body;
    assert_eq!(list["kind"], "IPPoolList");
    assert_eq!(list["apiVersion"], "crd.projectcalico.org/v1");
    assert!(list["metadata"].get("continue").is_none());
    assert!(rv(&list) > 0);
    assert_eq!(c.get(&format!("{POOLS}?continue=%21%21")).await.status, 400);
}

#[tokio::test]
async fn watch_replays_then_streams_live_events() {
    let (_emu, c) = with_pools().await;
    let a = c.post(POOLS, pool("a", "10.0.0.0/16")).await.body;
    let start_rv = rv(&a);
    let mut b = c.post(POOLS, pool("b", "10.1.0.0/16")).await.body;
    let mut rx = c
        .watch(&format!("{POOLS}?watch=true&resourceVersion={start_rv}"))
        .await;
    let ev = next_event(&mut rx).await;
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["name"], "b");
    b["spec"]["cidr"] = json!("10.2.0.0/16");
    c.put(&format!("{POOLS}/b"), b).await;
    let ev = next_event(&mut rx).await;
    assert_eq!(
        (ev["type"].as_str(), ev["object"]["spec"]["cidr"].as_str()),
        (Some("MODIFIED"), Some("10.2.0.0/16"))
    );
    c.delete(&format!("{POOLS}/a")).await;
    let ev = next_event(&mut rx).await;
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("a"))
    );
    assert!(rv(&ev["object"]) > start_rv);
    // Other resources' events are not delivered.
    c.post("/api/v1/nodes", json!({"metadata": {"name": "n"}}))
        .await;
    c.post(POOLS, pool("c", "10.3.0.0/16")).await;
    let ev = next_event(&mut rx).await;
    assert_eq!(ev["object"]["metadata"]["name"], "c");

    // No resourceVersion: the current state as ADDED events.
    let mut rx = c.watch(&format!("{POOLS}?watch=1")).await;
    let mut names = [next_event(&mut rx).await, next_event(&mut rx).await];
    names.sort_by_key(|e| {
        e["object"]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    });
    assert_eq!(names[0]["object"]["metadata"]["name"], "b");
    assert_eq!(names[1]["type"], "ADDED");
}

#[tokio::test]
async fn watch_selectors_turn_transitions_into_added_and_deleted() {
    let (_emu, c) = with_pools().await;
    let p = c.post(POOLS, pool("p", "10.0.0.0/16")).await.body;
    let mut rx = c
        .watch(&format!(
            "{POOLS}?watch=true&resourceVersion={}&labelSelector=sel%3Dyes",
            rv(&p)
        ))
        .await;
    let patch = |v: &str| json!({"metadata": {"labels": {"sel": v}}});
    c.call(
        "PATCH",
        &format!("{POOLS}/p"),
        Some("application/merge-patch+json"),
        Some(patch("yes")),
    )
    .await;
    assert_eq!(next_event(&mut rx).await["type"], "ADDED");
    c.call(
        "PATCH",
        &format!("{POOLS}/p"),
        Some("application/merge-patch+json"),
        Some(patch("no")),
    )
    .await;
    assert_eq!(next_event(&mut rx).await["type"], "DELETED");
}

#[tokio::test]
async fn watch_timeout_ends_the_stream() {
    let (_emu, c) = with_pools().await;
    let mut rx = c
        .watch(&format!(
            "{POOLS}?watch=true&timeoutSeconds=1&resourceVersion=1"
        ))
        .await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while rx.recv().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok());
}

#[tokio::test]
async fn a_watch_asking_for_bookmarks_gets_one_at_its_end() {
    let (_emu, c) = with_pools().await;
    let mut rx = c
        .watch(&format!(
            "{POOLS}?watch=true&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion=1"
        ))
        .await;
    let mut last = None;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(event) = rx.recv().await {
            last = Some(event);
        }
    })
    .await;
    assert!(ended.is_ok());
    let last = last.expect("a bookmark");
    assert_eq!(last["type"], "BOOKMARK");
    let rv: u64 = last["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .expect("a resourceVersion");
    assert!(rv >= 1);
}

#[tokio::test]
async fn watch_from_an_expired_resource_version_gets_410() {
    let (emu, c) = start(Config {
        watch_history: 3,
        ..Config::default()
    })
    .await;
    c.post(CRDS, ippool_crd()).await;
    for i in 0..5 {
        c.post(POOLS, pool(&format!("p{i}"), "10.0.0.0/16")).await;
    }
    let mut rx = c
        .watch(&format!("{POOLS}?watch=true&resourceVersion=2"))
        .await;
    let ev = next_event(&mut rx).await;
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["kind"], "Status");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    assert!(ev["object"]["message"]
        .as_str()
        .unwrap()
        .starts_with("too old resource version: 2 ("));
    assert!(rx.recv().await.is_none());
    // Within the retained log it works; after compaction it does not.
    let current = emu.store().current_rv();
    let mut rx = c
        .watch(&format!(
            "{POOLS}?watch=true&resourceVersion={}",
            current - 1
        ))
        .await;
    assert_eq!(next_event(&mut rx).await["type"], "ADDED");
    emu.compact();
    let mut rx = c
        .watch(&format!(
            "{POOLS}?watch=true&resourceVersion={}",
            current - 1
        ))
        .await;
    assert_eq!(next_event(&mut rx).await["object"]["code"], 410);
}

#[tokio::test]
async fn discovery_follows_crds() {
    let (_emu, c) = start(Config::default()).await;
    assert_eq!(c.get("/version").await.body["major"], "1");
    assert_eq!(c.get("/api").await.body["versions"], json!(["v1"]));
    let core = c.get("/api/v1").await.body;
    let nodes = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "nodes")
        .unwrap()
        .clone();
    assert_eq!(
        nodes,
        json!({"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node", "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["no"]})
    );
    let groups = |v: Value| -> Vec<String> {
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!groups(c.get("/apis").await.body).contains(&"crd.projectcalico.org".to_string()));
    assert_eq!(c.get("/apis/crd.projectcalico.org/v1").await.status, 404);

    c.post(CRDS, ippool_crd()).await;
    assert!(groups(c.get("/apis").await.body).contains(&"crd.projectcalico.org".to_string()));
    let rl = c.get("/apis/crd.projectcalico.org/v1").await.body;
    assert_eq!(rl["groupVersion"], "crd.projectcalico.org/v1");
    assert_eq!(rl["resources"][0]["name"], "ippools");
    assert_eq!(rl["resources"][0]["singularName"], "ippool");
    assert_eq!(rl["resources"][0]["namespaced"], false);
    assert_eq!(rl["resources"][0]["kind"], "IPPool");
    assert_eq!(rl["resources"][0]["shortNames"], json!(["ipp"]));
    let crd = c
        .get(&format!("{CRDS}/ippools.crd.projectcalico.org"))
        .await
        .body;
    assert_eq!(crd["status"]["conditions"][1]["type"], "Established");
    assert_eq!(c.post(POOLS, pool("p", "10.0.0.0/16")).await.status, 201);

    // Deleting the CRD stops serving it (and drops its objects).
    assert_eq!(
        c.delete(&format!("{CRDS}/ippools.crd.projectcalico.org"))
            .await
            .status,
        200
    );
    assert_eq!(c.get(POOLS).await.status, 404);
    c.post(CRDS, ippool_crd()).await;
    assert_eq!(c.get(POOLS).await.body["items"], json!([]));
    // A CRD's name must be plural.group.
    let mut bad = ippool_crd();
    bad["metadata"]["name"] = json!("pools.example.org");
    assert_eq!(c.post(CRDS, bad).await.status, 422);
}

#[tokio::test]
async fn table_output_for_kubectl() {
    let (_emu, c) = start(Config::default()).await;
    c.post("/api/v1/nodes", json!({"metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/worker": ""}}, "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}}})).await;
    let client = c.clone();
    let r = {
        use http_body_util::BodyExt;
        let stream = tokio::net::TcpStream::connect(&client.addr).await.unwrap();
        let (mut s, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = hyper::Request::get("/api/v1/nodes")
            .header("host", &client.addr)
            .header(
                "accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            )
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let resp = s.send_request(req).await.unwrap();
        serde_json::from_slice::<Value>(&resp.into_body().collect().await.unwrap().to_bytes())
            .unwrap()
    };
    assert_eq!(r["kind"], "Table");
    let cols: Vec<&str> = r["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, vec!["Name", "Status", "Roles", "Age", "Version"]);
    assert_eq!(r["rows"][0]["cells"][0], "n1");
    assert_eq!(r["rows"][0]["cells"][1], "Ready");
    assert_eq!(r["rows"][0]["cells"][2], "worker");
    assert_eq!(r["rows"][0]["cells"][4], "v1.32.0");
    assert_eq!(r["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[tokio::test]
async fn token_auth() {
    let (emu, mut c) = start(Config {
        token: Some("s3cret".into()),
        ..Config::default()
    })
    .await;
    let r = c.get("/api/v1/nodes").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    c.token = Some("wrong".into());
    assert_eq!(c.get("/api/v1/nodes").await.status, 401);
    c.token = Some("s3cret".into());
    assert_eq!(c.get("/api/v1/nodes").await.status, 200);
    let kc = std::fs::read_to_string(emu.kubeconfig_path()).unwrap();
    assert!(kc.contains("    token: s3cret\n"), "{kc}");
    assert!(kc.contains(&format!("    server: {}\n", emu.url())));
}

#[tokio::test]
async fn tls_requires_a_client_certificate() {
    let (emu, _) = start(Config {
        tls: true,
        ..Config::default()
    })
    .await;
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let id = emu.client_identity().unwrap().clone();
    let with = Client::tls(emu.url(), &id, true);
    assert_eq!(with.get("/api/v1/namespaces").await.status, 200);
    let without = Client::tls(emu.url(), &id, false);
    assert!(without
        .send("GET", "/api/v1/namespaces", None, None)
        .await
        .is_err());
    let kc = std::fs::read_to_string(emu.kubeconfig_path()).unwrap();
    for key in [
        "certificate-authority-data:",
        "client-certificate-data:",
        "client-key-data:",
    ] {
        assert!(kc.contains(key), "{key}");
    }
}

#[tokio::test]
async fn tls_with_token_accepts_either() {
    let (emu, _) = start(Config {
        tls: true,
        token: Some("t".into()),
        ..Config::default()
    })
    .await;
    let id = emu.client_identity().unwrap().clone();
    assert_eq!(
        Client::tls(emu.url(), &id, true)
            .get("/api/v1/nodes")
            .await
            .status,
        200
    );
    let mut no_cert = Client::tls(emu.url(), &id, false);
    assert_eq!(no_cert.get("/api/v1/nodes").await.status, 401);
    no_cert.token = Some("t".into());
    assert_eq!(no_cert.get("/api/v1/nodes").await.status, 200);
}

#[tokio::test]
async fn refuses_non_loopback_and_shuts_down() {
    let err = Emulator::start(Config {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..Config::default()
    })
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("only loopback"), "{err}");
    assert!(kube_emulator::parse_listen("10.1.2.3:80").is_err());
    assert!(kube_emulator::parse_listen("localhost:0").is_ok());
    assert!(kube_emulator::parse_listen("[::1]:0").is_ok());
    let (emu, c) = start(Config::default()).await;
    let path = emu.kubeconfig_path().to_path_buf();
    let mut rx = c.watch("/api/v1/nodes?watch=true").await;
    emu.shutdown().await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .is_none()
    );
    assert!(c.send("GET", "/version", None, None).await.is_err());
    assert!(!path.exists());
}

#[tokio::test]
async fn forbid_rules_refuse_as_rbac_does() {
    let (_emu, c) = start(Config {
        forbid: vec![
            "list:ippools.crd.projectcalico.org".into(),
            "delete:pods".into(),
            "*:serviceaccounts".into(),
        ],
        ..Config::default()
    })
    .await;
    assert_eq!(c.post(CRDS, ippool_crd()).await.status, 201);
    let r = c.get(POOLS).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "ippools.crd.projectcalico.org is forbidden: User \"system:anonymous\" cannot list resource \"ippools\" in API group \"crd.projectcalico.org\" at the cluster scope",
               "reason": "Forbidden",
               "details": {"group": "crd.projectcalico.org", "kind": "ippools"}, "code": 403})
    );
    // Other verbs on the same resource are allowed.
    assert_eq!(
        c.post(POOLS, pool("pool-a", "10.0.0.0/16")).await.status,
        201
    );
    assert_eq!(c.get(&format!("{POOLS}/pool-a")).await.status, 200);
    let r = c.delete("/api/v1/namespaces/default/pods/p").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["message"],
        "pods is forbidden: User \"system:anonymous\" cannot delete resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    let r = c.get("/api/v1/serviceaccounts?watch=true").await;
    assert_eq!(r.status, 403);
    assert!(r.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("cannot watch resource \"serviceaccounts\""));
}
