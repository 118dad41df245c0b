//! A tiny HTTP/1.1 client (hyper, optionally over rustls) for talking to the emulator in tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use kube_emulator::ClientIdentity;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Where and how to connect.
#[derive(Clone, Default)]
pub struct Client {
    pub addr: String,
    pub token: Option<String>,
    /// CA to trust (TLS) and, optionally, a client certificate.
    pub tls: Option<(String, Option<(String, String)>)>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Client {
    pub fn plain(url: &str) -> Self {
        Client {
            addr: url.trim_start_matches("http://").to_string(),
            ..Default::default()
        }
    }

    pub fn tls(url: &str, id: &ClientIdentity, with_cert: bool) -> Self {
        let cert = with_cert.then(|| (id.cert_pem.clone(), id.key_pem.clone()));
        Client {
            addr: url.trim_start_matches("https://").to_string(),
            tls: Some((id.ca_pem.clone(), cert)),
            ..Default::default()
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Value>,
    ) -> Result<hyper::Response<Incoming>, String> {
        let stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.addr)
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                builder =
                    builder.header("content-type", content_type.unwrap_or("application/json"));
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = builder.body(body).unwrap();
        match &self.tls {
            None => {
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                sender.send_request(req).await.map_err(|e| e.to_string())
            }
            Some((ca, cert)) => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
                    .unwrap();
                let builder = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(roots);
                let config = match cert {
                    Some((c, k)) => builder
                        .with_client_auth_cert(
                            vec![CertificateDer::from_pem_slice(c.as_bytes()).unwrap()],
                            PrivateKeyDer::from_pem_slice(k.as_bytes()).unwrap(),
                        )
                        .unwrap(),
                    None => builder.with_no_client_auth(),
                };
                let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
                let tls = connector
                    .connect(ServerName::try_from("127.0.0.1").unwrap(), stream)
                    .await
                    .map_err(|e| e.to_string())?;
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                sender.send_request(req).await.map_err(|e| e.to_string())
            }
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let resp = self.send(method, path, content_type, body).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
        Resp { status, body }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, None, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, None, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None, None).await
    }

    /// Starts a watch; events arrive on the returned channel (closed when the stream ends).
    pub async fn watch(&self, path: &str) -> mpsc::UnboundedReceiver<Value> {
        let resp = self.send("GET", path, None, None).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut body = resp.into_body();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    buf.extend_from_slice(data);
                    while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=i).collect();
                        if tx.send(serde_json::from_slice(&line).unwrap()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }
}

/// Next watch event, failing the test after 5 s.
pub async fn next_event(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("watch event timed out")
        .expect("watch stream ended")
}

/// A trimmed-down IPPool CRD (cluster-scoped) and NetworkSet CRD (namespaced).
pub fn ippool_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "ippools.crd.projectcalico.org"},
        "spec": {
            "group": "crd.projectcalico.org",
            "names": {"kind": "IPPool", "listKind": "IPPoolList", "plural": "ippools", "singular": "ippool", "shortNames": ["ipp"]},
            "scope": "Cluster",
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    })
}

pub fn networkset_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "networksets.crd.projectcalico.org"},
        "spec": {
            "group": "crd.projectcalico.org",
            "names": {"kind": "NetworkSet", "plural": "networksets", "singular": "networkset"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true}]
        }
    })
}

pub const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
pub const POOLS: &str = "/apis/crd.projectcalico.org/v1/ippools";

pub fn pool(name: &str, cidr: &str) -> Value {
    json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": {"name": name}, "spec": {"cidr": cidr}})
}
