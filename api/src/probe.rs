//! One GET against a health endpoint and a verdict: what `tessera health --url ...` runs as a
//! container health check (the runtime image carries no curl). Healthy means a 2xx answer within
//! the timeout; anything else says why not.

use std::error::Error as _;
use std::time::Duration;

/// Why a probe found the endpoint unhealthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No answer: refused, reset, timed out, a bad URL.
    #[error("{url}: no answer: {reason}")]
    NoAnswer { url: String, reason: String },
    /// An answer that is not 2xx.
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
}

/// GETs `url` once, giving up after `timeout`; returns the (2xx) status.
///
/// Never through a proxy: a health check asks the process next to it, and an image run with
/// `HTTPS_PROXY`/`HTTP_PROXY` set for its outbound calls must not send it elsewhere.
pub async fn probe(url: &str, timeout: Duration) -> Result<u16, ProbeError> {
    let no_answer = |e: reqwest::Error| ProbeError::NoAnswer {
        url: url.to_owned(),
        reason: chain(&e),
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(no_answer)?;
    let resp = client.get(url).send().await.map_err(no_answer)?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        Ok(status)
    } else {
        Err(ProbeError::Status {
            url: url.to_owned(),
            status,
        })
    }
}

/// reqwest's own message ("error sending request") names no cause; its sources do ("Connection
/// refused").
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use tessera_engine::{Engine, EngineOptions};
    use tessera_testkit::http::{LoopbackServer, Reply};

    use super::*;
    use crate::test_util::{config, outbox};

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn launch(ops: bool) -> crate::ServerInfo {
        let mut cfg = config("", "");
        if ops {
            cfg.server.ops_listen = Some("127.0.0.1:0".parse().unwrap());
        }
        let options = EngineOptions {
            shards: 1,
            in_place: true,
        };
        let engine = Engine::launch_with_sms(cfg, options, Vec::new(), outbox()).unwrap();
        crate::start(engine, None).unwrap().info
    }

    #[actix_rt::test]
    async fn a_serving_engine_is_healthy() {
        let info = launch(false);
        let url = format!("http://{}/health/live", info.addr);
        assert_eq!(probe(&url, TIMEOUT).await.unwrap(), 200);
    }

    #[actix_rt::test]
    async fn health_moved_to_the_ops_listener_is_not_found_on_the_main_one() {
        let info = launch(true);
        let main = format!("http://{}/health/live", info.addr);
        let err = probe(&main, TIMEOUT).await.unwrap_err();
        assert!(
            matches!(err, ProbeError::Status { status: 404, .. }),
            "{err}"
        );
        let ops = format!("http://{}/health/live", info.ops_addr.unwrap());
        assert_eq!(probe(&ops, TIMEOUT).await.unwrap(), 200);
    }

    #[tokio::test]
    async fn an_error_status_is_unhealthy() {
        let server = LoopbackServer::start(|_, _| Reply::status(503)).await;
        let url = server.url("/health/ready");
        let err = probe(&url, TIMEOUT).await.unwrap_err();
        assert_eq!(err.to_string(), format!("{url}: HTTP 503"));
        assert_eq!(server.requests()[0].path, "/health/ready");
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy_and_says_why() {
        // Bind, note the port, close: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/health/live");
        let err = probe(&url, TIMEOUT).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProbeError::NoAnswer { .. }), "{text}");
        assert!(text.to_lowercase().contains("refused"), "{text}");
    }

    #[tokio::test]
    async fn a_slow_answer_times_out() {
        let server =
            LoopbackServer::start(|_, _| Reply::status(200).after(Duration::from_secs(30))).await;
        let err = probe(&server.url("/health/live"), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::NoAnswer { .. }), "{err}");
    }
}
