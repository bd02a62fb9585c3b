//! The optional HTTP verifier of a custom authenticator's `custom_data` (an application's
//! `custom_verifier_url`): Tessera checks the custom token itself, then asks the verifier whether
//! the data the authenticator produced is acceptable. Any 2xx is yes; anything else, including
//! a timeout, is no.
//!
//! With the application's `custom_verifier_signing_secret` set, each request carries the same
//! `Tessera-Signature` header as portal callbacks, so the verifier can tell Tessera's requests
//! (and fresh ones) from anyone else's.

use std::time::Duration;

use serde::Serialize;

use super::callback::signature_header;

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

/// How to sign a verifier request: the secret and the time it is sent at.
#[derive(Clone, Copy)]
pub struct Signing<'a> {
    pub secret: &'a [u8],
    pub unix_seconds: u64,
}

impl std::fmt::Debug for Signing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Signing")
            .field("unix_seconds", &self.unix_seconds)
            .finish_non_exhaustive()
    }
}

pub async fn accepts(
    http: &reqwest::Client,
    url: &str,
    signing: Option<Signing<'_>>,
    req: &VerifierRequest<'_>,
) -> bool {
    // Signed bytes and sent bytes must be the same, so the body is serialized once, here.
    let Ok(body) = serde_json::to_vec(req) else {
        return false;
    };
    let mut request = http
        .post(url)
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some(s) = signing {
        match signature_header(s.secret, s.unix_seconds, &body) {
            Ok(header) => request = request.header("Tessera-Signature", header),
            Err(e) => {
                tracing::warn!(error = %e, "custom authenticator verifier request not signed");
                return false;
            }
        }
    }
    match request.body(body).send().await {
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
    use tessera_testkit::http::{LoopbackServer, Reply};

    #[tokio::test]
    async fn two_hundred_is_yes_anything_else_no() {
        let server = LoopbackServer::start(|req, _| {
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
        assert!(accepts(&http, &server.url("/verify"), None, &req).await);
        req.custom_data = Some("frown");
        assert!(!accepts(&http, &server.url("/verify"), None, &req).await);
        assert!(!accepts(&http, "http://127.0.0.1:9/verify", None, &req).await);
        let seen = server.requests();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].uri, "/verify");
        assert_eq!(seen[0].json()["authenticator_id"], "face");
        assert_eq!(seen[0].header("tessera-signature"), None);
    }

    #[tokio::test]
    async fn signed_like_callbacks_over_the_exact_body() {
        let server = LoopbackServer::start(|_, _| Reply::status(204)).await;
        let http = reqwest::Client::new();
        let req = VerifierRequest {
            user_id: "alice",
            device_id: "D",
            authenticator_id: "face",
            transaction_id: "t".into(),
            custom_data: Some("smile"),
        };
        let signing = Signing {
            secret: b"verifier-secret",
            unix_seconds: 1_700_000_000,
        };
        assert!(accepts(&http, &server.url("/verify"), Some(signing), &req).await);
        let seen = server.requests();
        let expected = signature_header(b"verifier-secret", 1_700_000_000, &seen[0].body).unwrap();
        assert_eq!(seen[0].header("tessera-signature"), Some(expected.as_str()));
        assert!(expected.starts_with("t=1700000000,v1="));
    }
}
