//! The `Tessera-Signature` header: lets a portal check that a callback came from Tessera and is
//! fresh, Stripe-style (`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Seconds since the epoch by the host's wall clock, read now. Signatures use this rather than
/// the engine's [`crate::clock::Clock`], which is anchored at start and then follows the
/// monotonic clock: after weeks of uptime or an NTP step it drifts from the wall time the
/// receiver checks `t` against, and every signature would fall outside its tolerance.
pub fn wall_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The header value for `body` sent at `unix_seconds`. Signing the timestamp with the body lets
/// the portal reject replays older than its tolerance.
pub fn signature_header(secret: &[u8], unix_seconds: u64, body: &[u8]) -> Result<String, String> {
    // HMAC takes keys of any length, so this cannot fail in practice; it is still not unwrapped.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|_| "invalid callback signing secret".to_owned())?;
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_computation() {
        // HMAC-SHA256("key", "1700000000.{}"), computed with openssl:
        // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let header = signature_header(b"key", 1_700_000_000, b"{}").unwrap();
        assert_eq!(
            header,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
