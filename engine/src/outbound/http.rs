//! The one outbound HTTP client: timeouts, the configured outgoing proxy, no surprises.
//!
//! Every gateway and callback shares one [`reqwest::Client`] so they share its connection pool;
//! each push provider builds its own from the same [`builder`] (its endpoint may have its own CA
//! roots, and APNs speaks HTTP/2 only). Either way the proxy settings (API.md §7: "all outbound
//! HTTP honours the proxy settings") are applied in exactly one place.

use std::time::Duration;

use tessera_config::{Proxy, ProxySchema};

use crate::error::StartupError;

/// Connecting is bounded separately from the whole request: an unreachable host should fail
/// fast so SMS failover moves on to the next gateway instead of waiting out the full timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the shared client. `timeout` bounds each request from connect to the last body byte;
/// callers with a tighter budget (callbacks, a gateway's own `timeout`) set it per request.
///
/// - The system proxy (`HTTP_PROXY` and friends) is ignored: the `[proxy]` section is the only
///   source of truth, so a stray environment variable cannot reroute traffic.
/// - With `proxy.enabled`, every `http` and `https` request goes through
///   `schema://host:port`. reqwest sends `Proxy-Authorization: Basic ...` with the first request
///   (and on the `CONNECT` for https targets) rather than waiting for a `407` challenge, so
///   credentials are always preemptive — which satisfies `preemptive_auth = true`, and is
///   harmless when it is `false` (the proxy simply receives them earlier).
/// - Redirects are not followed: callback URIs are matched exactly against the allow-list, and a
///   redirect would let a portal send Tessera (with its credentials) somewhere else.
pub fn client(proxy: &Proxy, timeout: Duration) -> Result<reqwest::Client, StartupError> {
    builder(proxy, timeout)?
        .build()
        .map_err(|e| cannot_build("proxy", &e))
}

/// A client that reqwest would not build, blamed on the settings at `key` that went into it.
pub fn cannot_build(key: &str, e: &reqwest::Error) -> StartupError {
    StartupError::invalid(key, format!("cannot build the HTTP client: {e}"))
}

/// The settings of [`client`] as a builder, for callers that need a client of their own on top
/// of them — push providers add their endpoint's CA roots ([`with_roots`]) and HTTP/2 — so the
/// proxy, timeouts and redirect policy stay the same everywhere.
pub fn builder(proxy: &Proxy, timeout: Duration) -> Result<reqwest::ClientBuilder, StartupError> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
    if proxy.enabled {
        builder = builder.proxy(proxy_for(proxy)?);
    }
    Ok(builder)
}

/// Adds the certificates of the PEM file at `ca_file` (a config's `ca_file`) to the trusted
/// roots, beside the system's. An empty path adds nothing. Errors name the key `ca_file`.
pub fn with_roots(
    builder: reqwest::ClientBuilder,
    ca_file: &str,
) -> Result<reqwest::ClientBuilder, StartupError> {
    const KEY: &str = "ca_file";
    if ca_file.is_empty() {
        return Ok(builder);
    }
    let pem = std::fs::read(ca_file).map_err(|source| StartupError::Unreadable {
        key: KEY.into(),
        path: ca_file.into(),
        source,
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        StartupError::invalid(KEY, format!("{ca_file} is not PEM certificates: {e}"))
    })?;
    if certs.is_empty() {
        return Err(StartupError::invalid(
            KEY,
            format!("{ca_file} holds no certificate"),
        ));
    }
    Ok(builder.tls_certs_merge(certs))
}

/// The reqwest proxy for an enabled `[proxy]` section. The URL is built without credentials so an
/// error message can never echo the password.
fn proxy_for(proxy: &Proxy) -> Result<reqwest::Proxy, StartupError> {
    if proxy.host.trim().is_empty() {
        return Err(StartupError::invalid(
            "proxy.host",
            "empty while proxy.enabled is true",
        ));
    }
    let scheme = match proxy.schema {
        ProxySchema::Http => "http",
        ProxySchema::Https => "https",
    };
    // An IPv6 literal needs brackets in a URL.
    let host = if proxy.host.contains(':') && !proxy.host.starts_with('[') {
        format!("[{}]", proxy.host)
    } else {
        proxy.host.clone()
    };
    let url = format!("{scheme}://{host}:{}", proxy.port);
    let mut p = reqwest::Proxy::all(&url)
        .map_err(|e| StartupError::invalid("proxy.host", format!("invalid proxy {url}: {e}")))?;
    if !proxy.username.is_empty() {
        p = p.basic_auth(&proxy.username, &proxy.password);
    }
    Ok(p)
}

/// A short, secret-free description of a failed request: what went wrong, without the URL (which
/// may carry a token or user-info) and without any request body.
pub fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "bad response body"
    } else {
        "request failed"
    };
    // The innermost cause says *why* (refused, DNS, TLS) and, unlike reqwest's own Display,
    // carries no URL.
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(next) = cause.and_then(std::error::Error::source) {
        cause = Some(next);
    }
    match cause {
        Some(c) => format!("{kind}: {c}"),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_testkit::http::{LoopbackServer, Reply};

    fn proxy_at(server: &LoopbackServer, user: &str, pass: &str) -> Proxy {
        Proxy {
            enabled: true,
            host: "127.0.0.1".into(),
            port: server.addr().port(),
            username: user.into(),
            password: pass.into(),
            preemptive_auth: true,
            ..Proxy::default()
        }
    }

    #[tokio::test]
    async fn direct_without_proxy() {
        let target = LoopbackServer::start(|_, _| Reply::text(200, "direct")).await;
        let http = client(&Proxy::default(), Duration::from_secs(5)).unwrap();
        let resp = http.get(target.url("/ping")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "direct");
        assert_eq!(target.requests()[0].uri, "/ping");
    }

    #[tokio::test]
    async fn goes_through_proxy_with_preemptive_basic_auth() {
        // A forward proxy answers for the target itself: reaching it at all proves the routing.
        let proxy = LoopbackServer::start(|_, _| Reply::text(200, "via proxy")).await;
        let http = client(&proxy_at(&proxy, "squid", "s3cret"), Duration::from_secs(5)).unwrap();
        // Nothing listens on the target port: only the proxy can answer.
        let resp = http
            .get("http://127.0.0.1:9/hook?x=1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "via proxy");

        let seen = proxy.requests();
        assert_eq!(
            seen.len(),
            1,
            "first request already authenticated, no 407 round trip"
        );
        assert_eq!(
            seen[0].uri, "http://127.0.0.1:9/hook?x=1",
            "absolute-form request line"
        );
        let expected = format!("Basic {}", b64("squid:s3cret"));
        assert_eq!(
            seen[0].header("proxy-authorization"),
            Some(expected.as_str())
        );
    }

    #[tokio::test]
    async fn proxy_without_username_sends_no_credentials() {
        let proxy = LoopbackServer::start(|_, _| Reply::text(200, "ok")).await;
        let http = client(&proxy_at(&proxy, "", ""), Duration::from_secs(5)).unwrap();
        http.get("http://127.0.0.1:9/").send().await.unwrap();
        assert_eq!(proxy.requests()[0].header("proxy-authorization"), None);
    }

    #[test]
    fn enabled_proxy_needs_a_host() {
        let p = Proxy {
            enabled: true,
            ..Proxy::default()
        };
        assert!(client(&p, Duration::from_secs(1)).is_err());
    }

    #[tokio::test]
    async fn request_timeout_applies() {
        let slow =
            LoopbackServer::start(|_, _| Reply::text(200, "late").after(Duration::from_secs(2)))
                .await;
        let http = client(&Proxy::default(), Duration::from_millis(100)).unwrap();
        let err = http.get(slow.url("/")).send().await.unwrap_err();
        assert_eq!(describe(&err), "timed out");
    }

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// The loopback fake also speaks h2c, for the push providers' HTTP/2 fakes.
    #[tokio::test]
    async fn test_server_speaks_h2c() {
        let server = LoopbackServer::start(|req, _| Reply::text(200, &req.method)).await;
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let resp = http
            .post(server.url("/3/device/abc"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.version(), reqwest::Version::HTTP_2);
        assert_eq!(resp.text().await.unwrap(), "POST");
        assert_eq!(server.wait_for(1).await[0].body, "x");
    }
}
