//! A forward proxy like the ones enterprises put in front of Tessera (squid and friends), for
//! plain-`http` targets: it takes absolute-form requests (`POST http://host:port/path`) over
//! HTTP/1.1 — or over h2c, where `:scheme` and `:authority` name the target — insists on
//! `Proxy-Authorization: Basic` (`407` otherwise), and forwards what it got to the target in the
//! same HTTP version, without the hop-by-hop headers and without the credentials. Every request
//! it received is recorded as it arrived.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Version;

use crate::http::{LoopbackServer, Recorded, Reply, basic};
use crate::push::Problems;

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), plus the ones
/// the forwarding client sets itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

struct Forwarder {
    expected: String,
    http1: reqwest::Client,
    h2c: reqwest::Client,
    problems: Problems,
}

pub struct ForwardProxy {
    server: LoopbackServer,
    forwarder: Arc<Forwarder>,
}

impl ForwardProxy {
    /// A proxy that lets through requests carrying `username:password`.
    pub async fn start(username: &str, password: &str) -> Self {
        let client = || {
            reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
        };
        let forwarder = Arc::new(Forwarder {
            expected: basic(username, password),
            http1: client().http1_only().build().expect("HTTP/1.1 client"),
            h2c: client()
                .http2_prior_knowledge()
                .build()
                .expect("h2c client"),
            problems: Problems::default(),
        });
        let server = LoopbackServer::start_async({
            let forwarder = Arc::clone(&forwarder);
            move |r, _| {
                let forwarder = Arc::clone(&forwarder);
                async move { forwarder.forward(r).await }
            }
        })
        .await;
        Self { server, forwarder }
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Every request the proxy received, as it arrived (with `Proxy-Authorization`).
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Requests it could not forward (origin form, `CONNECT`, unreachable target).
    pub fn problems(&self) -> Vec<String> {
        self.forwarder.problems.list()
    }
}

impl Forwarder {
    async fn forward(&self, r: Recorded) -> Reply {
        if r.header("proxy-authorization") != Some(self.expected.as_str()) {
            return Reply::status(407).header("proxy-authenticate", "Basic realm=\"proxy\"");
        }
        if r.method == "CONNECT" {
            self.problems
                .add(format!("CONNECT {} for a plain-http target", r.uri));
            return Reply::status(405);
        }
        if !r.uri.starts_with("http://") {
            self.problems
                .add(format!("origin-form request {} {}", r.method, r.uri));
            return Reply::status(400);
        }
        let client = if r.version == Version::HTTP_2 {
            &self.h2c
        } else {
            &self.http1
        };
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).expect("a method");
        let mut request = client.request(method, &r.uri).body(r.body.clone());
        for (name, value) in &r.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                request = request.header(name, value);
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.problems.add(format!("forwarding to {}: {e}", r.uri));
                return Reply::status(502);
            }
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().await.unwrap_or_else(|_| Bytes::new());
        Reply {
            status,
            headers,
            body,
            delay: None,
        }
    }
}
