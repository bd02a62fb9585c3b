//! The APNs provider token: an ES256 JWT (`kid` = key id, `iss` = team id, `iat` = now) signed
//! with the team's `.p8` key, reused across pushes.
//!
//! Apple rejects a token older than one hour (`ExpiredProviderToken`) and one refreshed more
//! often than every 20 minutes (`TooManyProviderTokenUpdates`), so one token serves ~50 minutes.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use parking_lot::Mutex;
use serde::Serialize;

use crate::error::StartupError;
use crate::model::Millis;

/// How long one token is used: under Apple's one-hour limit with ten minutes to spare for
/// clock skew, over its 20-minute minimum.
pub const REUSE_MS: Millis = 50 * 60 * 1000;

pub struct ProviderToken {
    /// The push config's id: the `provider` label of the refresh counter.
    provider: String,
    team_id: String,
    key_id: String,
    key: EncodingKey,
    current: Mutex<Option<Issued>>,
}

#[derive(Clone)]
struct Issued {
    jwt: String,
    iat_ms: Millis,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ProviderToken {
    /// `pem` is the `.p8` file: a PKCS#8 EC (P-256) private key. Errors name the key `key_file`.
    /// `provider` is the push config's id.
    pub fn new(
        provider: &str,
        team_id: &str,
        key_id: &str,
        pem: &[u8],
    ) -> Result<Self, StartupError> {
        let not_a_key = |e: &dyn std::fmt::Display| {
            StartupError::invalid(
                "key_file",
                format!("not a PKCS#8 EC (P-256) private key: {e}"),
            )
        };
        let key = EncodingKey::from_ec_pem(pem).map_err(|e| not_a_key(&e))?;
        let token = Self {
            provider: provider.to_owned(),
            team_id: team_id.to_owned(),
            key_id: key_id.to_owned(),
            key,
            current: Mutex::new(None),
        };
        // Sign once now, so a key of the wrong curve fails at start rather than on a push.
        token.sign(0).map_err(|e| not_a_key(&e))?;
        Ok(token)
    }

    /// The token to send at `now`: the current one while younger than [`REUSE_MS`], else a
    /// fresh one. Signing under the lock makes concurrent pushes share one refresh.
    pub fn get(&self, now: Millis) -> Result<String, String> {
        let mut current = self.current.lock();
        if let Some(issued) = current.as_ref()
            && now >= issued.iat_ms
            && now - issued.iat_ms < REUSE_MS
        {
            return Ok(issued.jwt.clone());
        }
        let signed = self.sign(now);
        crate::telemetry::provider_token_refresh(&self.provider, signed.is_ok());
        let jwt = signed?;
        *current = Some(Issued {
            jwt: jwt.clone(),
            iat_ms: now,
        });
        Ok(jwt)
    }

    /// Apple called `jwt` expired (clock skew, or a long-idle process): forget it so the next
    /// push signs a new one. A newer token already in place is kept.
    pub fn expire(&self, jwt: &str) {
        let mut current = self.current.lock();
        if current.as_ref().is_some_and(|i| i.jwt == jwt) {
            *current = None;
        }
    }

    fn sign(&self, now: Millis) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = Claims {
            iss: &self.team_id,
            iat: now / 1000,
        };
        // The error names what failed, never the key.
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the APNs provider token: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::Value;

    const P8: &[u8] = include_bytes!("../../../../../testkit/testdata/apns_key.p8");
    const PUBLIC: &[u8] = include_bytes!("../../../../../testkit/testdata/apns_key.pub.pem");
    const T0: Millis = 1_700_000_000_000;

    fn claims(jwt: &str) -> Value {
        let key = DecodingKey::from_ec_pem(PUBLIC).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims
    }

    #[test]
    fn signs_es256_with_kid_iss_and_iat() {
        let t = ProviderToken::new("apns", "TEAM123456", "KEY1234567", P8).unwrap();
        let jwt = t.get(T0).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
        let c = claims(&jwt);
        assert_eq!(c["iss"], "TEAM123456");
        assert_eq!(c["iat"], T0 / 1000);
    }

    #[test]
    fn reused_for_fifty_minutes_then_refreshed() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _guard = metrics::set_default_local_recorder(&recorder);
        let t = ProviderToken::new("apns-main", "T", "K", P8).unwrap();
        let first = t.get(T0).unwrap();
        assert_eq!(t.get(T0 + REUSE_MS - 1).unwrap(), first);
        let second = t.get(T0 + REUSE_MS).unwrap();
        assert_ne!(second, first);
        assert_eq!(claims(&second)["iat"], (T0 + REUSE_MS) / 1000);
        // A clock that went backwards does not keep a token from the future.
        assert_ne!(t.get(T0).unwrap(), second);
        // Three tokens signed for use (the check at construction is not one); reuses are not.
        let text = handle.render();
        let line = r#"tessera_provider_token_refreshes_total{provider="apns-main",result="ok"} 3"#;
        assert!(text.contains(line), "{line} in\n{text}");
    }

    #[test]
    fn expire_forgets_only_that_token() {
        let t = ProviderToken::new("apns", "T", "K", P8).unwrap();
        let first = t.get(T0).unwrap();
        t.expire("someone else's");
        assert_eq!(t.get(T0 + 1000).unwrap(), first);
        t.expire(&first);
        assert_ne!(t.get(T0 + 1000).unwrap(), first);
    }

    #[test]
    fn rejects_what_is_not_an_ec_key() {
        let rsa = include_bytes!("../../../../../testkit/testdata/fcm_key.pem");
        assert!(ProviderToken::new("apns", "T", "K", rsa).is_err());
        assert!(ProviderToken::new("apns", "T", "K", b"not a key").is_err());
    }
}
