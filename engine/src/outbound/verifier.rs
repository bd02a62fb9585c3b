//! The optional HTTP verifier of a custom authenticator's `custom_data` (an application's
//! `custom_verifier_url`): Tessera checks the custom token itself, then asks the verifier whether
//! the data the authenticator produced is acceptable. Any 2xx is yes; anything else, including
//! a timeout, is no.

use std::time::Duration;

use serde::Serialize;

/// How long a verifier may take before the answer counts as a no.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize)]
pub struct VerifierRequest<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub authenticator_id: &'a str,
    pub transaction_id: String,
    pub custom_data: Option<&'a str>,
}

pub async fn accepts(http: &reqwest::Client, url: &str, req: &VerifierRequest<'_>) -> bool {
    match http.post(url).timeout(TIMEOUT).json(req).send().await {
        Ok(resp) => resp.status().is_success(),
        Err(e) => {
            tracing::warn!(error = %super::http::describe(&e), "custom authenticator verifier unreachable");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::test_server::{Reply, TestServer};

    #[tokio::test]
    async fn two_hundred_is_yes_anything_else_no() {
        let server = TestServer::start(|req, _| {
            let ok = req.json()["custom_data"] == "smile";
            Reply::status(if ok { 204 } else { 403 })
        })
        .await;
        let http = reqwest::Client::new();
        let mut req = VerifierRequest {
            user_id: "alice",
            device_id: "D",
            authenticator_id: "face",
            transaction_id: "t".into(),
            custom_data: Some("smile"),
        };
        assert!(accepts(&http, &server.url("/verify"), &req).await);
        req.custom_data = Some("frown");
        assert!(!accepts(&http, &server.url("/verify"), &req).await);
        assert!(!accepts(&http, "http://127.0.0.1:9/verify", &req).await);
        let seen = server.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].uri, "/verify");
        assert_eq!(seen[0].json()["authenticator_id"], "face");
    }
}
