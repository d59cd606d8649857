//! What the service's tests share: a small HTTP client and waiting.

#![allow(dead_code)]

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long any wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// An HTTP response: its status, `Retry-After` header and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// An HTTP client of one node.
#[derive(Clone)]
pub struct Http {
    pub addr: String,
    pub token: Option<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Http {
    pub fn new(addr: impl Into<String>, token: Option<&str>) -> Http {
        Http {
            addr: addr.into(),
            token: token.map(str::to_owned),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: impl Into<Bytes>) -> Reply {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("content-type", "application/json");
        if let Some(t) = &self.token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let request = request.body(Full::new(body.into())).unwrap();
        let response = tokio::time::timeout(PATIENCE, self.client.request(request))
            .await
            .expect("the request timed out")
            .expect("the request failed");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, Bytes::new()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, body.to_string()).await
    }

    /// The node's status.
    pub async fn status(&self) -> Value {
        let r = self.get("/v1/status").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }
}

/// Waits until `f` gives `Some`, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < give_up, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A claim's JSON body.
pub fn claim_body(lease: &str, holder: &str, ms: u64) -> Value {
    serde_json::json!({
        "namespace": "app", "model": "m", "lease": lease, "holder": holder, "durationMs": ms
    })
}

/// A one-node service with bearer token `token` and quick batches and elections (then
/// whatever `f` sets), started on a free loopback port with its data in `data`, once it
/// serves: a harmless revoke is answered from the log.
pub async fn serving_node(
    data: &std::path::Path,
    token: &str,
    f: impl FnOnce(&mut leasehold_server::daemon::NodeOptions),
) -> leasehold_server::daemon::Running {
    use leasehold_server::daemon::{self, NodeOptions};
    let mut options = NodeOptions::new(1, "127.0.0.1:0".parse().unwrap(), data);
    options.token = Some(token.into());
    options.engine.batch_interval = Duration::from_millis(20);
    options.heartbeat_ms = 50;
    options.election_timeout_ms = 200;
    f(&mut options);
    let running = daemon::start(options).await.unwrap();
    let http = Http::new(running.addr.to_string(), Some(token));
    let probe =
        serde_json::json!({"namespace": "app", "model": "m", "lease": "probe", "holder": "nobody"});
    eventually("the node to serve", || {
        let http = http.clone();
        let probe = probe.clone();
        async move {
            http.post("/v1/revoke", &probe).await.json()["reachedLog"]
                .as_bool()
                .filter(|r| *r)
        }
    })
    .await;
    running
}
