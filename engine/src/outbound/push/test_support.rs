//! Shared pieces of the push providers' tests: the test kit's test-only keys, targets,
//! notices, and a service-account file.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_config::{ApnsEnvironment, Platform, Proxy};

use super::{PushNotice, PushTarget};
use crate::model::{Millis, TxnId};

pub const T0: Millis = 1_700_000_000_000;

/// A file of the test kit's test-only keys, as a config path.
pub fn testdata(name: &str) -> String {
    tessera_testkit::testdata(name).display().to_string()
}

pub fn target(platform: Platform, token: &str) -> PushTarget {
    PushTarget {
        device_id: "D1".into(),
        token: token.into(),
        platform,
        bundle_id: "com.acme.bank".into(),
        apns_environment: ApnsEnvironment::Production,
    }
}

pub fn notice(ttl_ms: u64, badge: Option<u32>) -> PushNotice {
    PushNotice {
        transaction_id: TxnId::random(),
        profile_id: "P1".into(),
        message: "Log in to ACME?".into(),
        badge,
        ttl_ms,
    }
}

/// Verifies `jwt`'s signature with the PEM public key in `testdata/{public}` and returns its
/// claims (expiry is checked by the test itself, against its own clock).
pub fn verified_claims(jwt: &str, public: &str, alg: Algorithm) -> Value {
    let pem = std::fs::read(testdata(public)).unwrap();
    let key = match alg {
        Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
        _ => DecodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("JWT signed by the test key")
        .claims
}

/// A service-account JSON file with the test RSA key, in the temp directory.
pub fn service_account_file(token_uri: &str) -> PathBuf {
    let private_key = std::fs::read_to_string(testdata("fcm_key.pem")).unwrap();
    let account = json!({
        "type": "service_account",
        "project_id": "acme-push",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key,
        "client_email": "tessera@acme-push.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    });
    let path = std::env::temp_dir().join(format!("tessera-sa-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, account.to_string()).unwrap();
    path
}

/// An enabled `[proxy]` at `port` with credentials.
pub fn proxy(port: u16) -> Proxy {
    Proxy {
        enabled: true,
        host: "127.0.0.1".into(),
        port,
        username: "squid".into(),
        password: "s3cret".into(),
        preemptive_auth: true,
        ..Proxy::default()
    }
}

/// The `Proxy-Authorization` value [`proxy`] leads to.
pub fn proxy_authorization() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("squid:s3cret")
    )
}
