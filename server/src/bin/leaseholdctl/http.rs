//! The HTTP client: hyper-util's pooled client over plain TCP, each request given
//! [`REQUEST_TIMEOUT`] to be answered in full.

use crate::cli::{Endpoint, Token};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::error::Error;
use std::time::Duration;

/// How long a request may take, from connecting to the last byte of its answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The service's answer: its status and its body.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, whole.
    pub body: Bytes,
}

impl Reply {
    /// The body as text (invalid UTF-8 replaced), trimmed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_string()
    }
}

/// Why a request got no answer: a message naming the endpoint.
#[derive(Debug)]
pub struct NoAnswer(pub String);

/// A client of one endpoint.
pub struct Http {
    /// The pooled client.
    client: Client<HttpConnector, Full<Bytes>>,
    /// Where the service is.
    endpoint: Endpoint,
    /// The bearer token, if any.
    token: Option<Token>,
}

impl Http {
    /// A client of `endpoint`, sending `token` with every request.
    pub fn new(endpoint: Endpoint, token: Option<Token>) -> Http {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Http {
            client,
            endpoint,
            token,
        }
    }

    /// `GET path` (with its query).
    pub async fn get(&self, path: &str) -> Result<Reply, NoAnswer> {
        self.send(Method::GET, path, Bytes::new()).await
    }

    /// `POST path` with `body` as JSON.
    pub async fn post<T: Serialize>(&self, path: &str, body: &T) -> Result<Reply, NoAnswer> {
        let json = serde_json::to_vec(body)
            .map_err(|e| NoAnswer(format!("could not encode the request: {e}")))?;
        self.send(Method::POST, path, Bytes::from(json)).await
    }

    /// Sends one request and reads its answer, within [`REQUEST_TIMEOUT`].
    async fn send(&self, method: Method, path: &str, body: Bytes) -> Result<Reply, NoAnswer> {
        let request = self.request(method, path, body)?;
        let exchange = async {
            let response = self.client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn Error + Send + Sync>>(Reply { status, body })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(self.unreachable(&*e)),
            Err(_) => Err(NoAnswer(format!(
                "no answer from {} within {}s",
                self.endpoint,
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The request, with its headers.
    fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, NoAnswer> {
        let mut builder = Request::builder()
            .method(method)
            .uri(self.endpoint.http(path))
            .header(ACCEPT, "application/json");
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        if let Some(token) = &self.token {
            builder = builder.header(AUTHORIZATION, token.header());
        }
        builder.body(Full::new(body)).map_err(|e| {
            NoAnswer(format!(
                "could not make a request to {}{path}: {e}",
                self.endpoint
            ))
        })
    }

    /// The message for a failed exchange: the endpoint and the error's whole chain.
    fn unreachable(&self, error: &(dyn Error + 'static)) -> NoAnswer {
        NoAnswer(format!(
            "could not reach {}: {}",
            self.endpoint,
            chain(error)
        ))
    }
}

/// An error and its sources, `: `-separated (hyper's own message is terse), leaving out
/// a source its error already quoted.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// A query string (`?a=1&b=2`) of the pairs that have a value, percent-encoded; empty
/// when none has.
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(query(&[("namespace", None), ("model", None)]), "");
        assert_eq!(
            query(&[("namespace", Some("a b/c")), ("model", Some("ü&"))]),
            "?namespace=a%20b%2Fc&model=%C3%BC%26"
        );
        assert_eq!(
            query(&[("namespace", None), ("model", Some("m"))]),
            "?model=m"
        );
    }
}
