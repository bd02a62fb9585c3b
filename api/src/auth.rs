//! API-client authentication (API.md §1): HTTP Basic or `client_id` / `client_secret` fields,
//! SHA-256 of the secret compared in constant time, an optional IP allow list, then the scope.
//! Also the demo client `tessera serve` creates when the config declares none.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use http::header::AUTHORIZATION;
use rand::Rng as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_config::{ApiClient, Scope};

use crate::body::{Fields, decode};
use crate::error::ApiError;

/// The id of the client `tessera serve` creates when the config declares none.
pub const DEMO_CLIENT_ID: &str = "demo";

/// A demo API client with every scope and a fresh random secret (256 bits, base64url), for a
/// config that declares no client. Returns the client (holding only the secret's hash) and the
/// secret, which the caller shows once.
pub fn demo_client() -> (ApiClient, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    let secret = URL_SAFE_NO_PAD.encode(raw);
    let client = ApiClient {
        id: DEMO_CLIENT_ID.to_owned(),
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        scopes: vec![
            Scope::MobileAuthentication,
            Scope::EndUser,
            Scope::Admin,
            Scope::Events,
        ],
        ..ApiClient::default()
    };
    (client, secret)
}

/// A client's claimed identity, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub id: String,
    pub secret: String,
    /// Basic credentials may be form-encoded (RFC 6749 §2.3.1); plain ones must work too.
    pub from_basic: bool,
}

/// The credentials of a request: the `Authorization` header if there is one (a malformed header
/// counts as no credentials), else the body's `client_id` and `client_secret`.
pub(crate) fn credentials(headers: &HeaderMap, fields: Option<&Fields>) -> Option<Credentials> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let raw = STANDARD.decode(token.trim()).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (id, secret) = text.split_once(':')?;
        return Some(Credentials {
            id: id.to_owned(),
            secret: secret.to_owned(),
            from_basic: true,
        });
    }
    let fields = fields?;
    let field = |name: &str| match fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    Some(Credentials {
        id: field("client_id")?,
        secret: field("client_secret")?,
        from_basic: false,
    })
}

/// The client these credentials prove, if it may call from `peer` with `scope`.
pub(crate) fn authenticate<'c>(
    clients: &'c [ApiClient],
    creds: Option<&Credentials>,
    peer: IpAddr,
    scope: Scope,
) -> Result<&'c ApiClient, ApiError> {
    let creds = creds.ok_or_else(ApiError::invalid_client)?;
    let client = verify(clients, &creds.id, &creds.secret)
        .or_else(|| {
            // Form-encoded Basic credentials: `%3A` for a colon, `+` for a space.
            if !creds.from_basic {
                return None;
            }
            let id = decode(&creds.id, true)?;
            let secret = decode(&creds.secret, true)?;
            (id != creds.id || secret != creds.secret)
                .then(|| verify(clients, &id, &secret))
                .flatten()
        })
        .ok_or_else(ApiError::invalid_client)?;
    let peer = peer.to_canonical();
    if !client.allowed_ips.is_empty() && !client.allowed_ips.iter().any(|net| net.contains(&peer)) {
        return Err(ApiError::invalid_client());
    }
    if !client.scopes.contains(&scope) {
        return Err(ApiError::insufficient_scope());
    }
    Ok(client)
}

fn verify<'c>(clients: &'c [ApiClient], id: &str, secret: &str) -> Option<&'c ApiClient> {
    let digest = hex::encode(Sha256::digest(secret.as_bytes()));
    match clients.iter().find(|c| c.id == id) {
        Some(client) => {
            bool::from(digest.as_bytes().ct_eq(client.secret_sha256.as_bytes())).then_some(client)
        }
        None => {
            // Same work for unknown ids, so timing does not tell which ids exist.
            let _ = digest.as_bytes().ct_eq(&[0u8; 64]);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, secret: &str, scopes: Vec<Scope>, ips: &[&str]) -> ApiClient {
        ApiClient {
            id: id.into(),
            secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
            scopes,
            allowed_ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ..ApiClient::default()
        }
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = STANDARD.encode(format!("{id}:{secret}"));
        h.insert(AUTHORIZATION, format!("Basic {token}").parse().unwrap());
        h
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn basic_plain_and_form_encoded() {
        let clients = [client("a b", "s:+x", vec![Scope::Events], &[])];
        let plain = credentials(&basic("a b", "s:+x"), None);
        assert!(authenticate(&clients, plain.as_ref(), LOCAL, Scope::Events).is_ok());
        let encoded = credentials(&basic("a+b", "s%3A%2Bx"), None);
        assert!(authenticate(&clients, encoded.as_ref(), LOCAL, Scope::Events).is_ok());
        let wrong = credentials(&basic("a b", "nope"), None);
        let err = authenticate(&clients, wrong.as_ref(), LOCAL, Scope::Events).unwrap_err();
        assert_eq!(err.error_code(), "invalid_client");
    }

    #[test]
    fn demo_client_authenticates_with_its_secret_only() {
        let (client, secret) = demo_client();
        assert!(secret.len() >= 43);
        let clients = [client];
        let ok = credentials(&basic("demo", &secret), None);
        assert!(authenticate(&clients, ok.as_ref(), LOCAL, Scope::Admin).is_ok());
        let (_, other) = demo_client();
        assert_ne!(secret, other);
        let wrong = credentials(&basic("demo", &other), None);
        assert!(authenticate(&clients, wrong.as_ref(), LOCAL, Scope::Admin).is_err());
    }

    #[test]
    fn malformed_header_is_no_credentials() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(credentials(&h, None), None);
        h.insert(AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(credentials(&h, None), None);
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        let clients = [client("c", "s", vec![Scope::Events], &["10.0.0.0/8"])];
        let creds = credentials(&basic("c", "s"), None);
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(authenticate(&clients, creds.as_ref(), mapped, Scope::Events).is_ok());
        let err = authenticate(&clients, creds.as_ref(), LOCAL, Scope::Events).unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
        let err = authenticate(&clients, creds.as_ref(), mapped, Scope::Admin).unwrap_err();
        assert_eq!(err.error_code(), "insufficient_scope");
    }
}
