//! The HTTP provider: IPQualityScore's JSON API, or any service answering in its shape.
//!
//! `GET {url}{private_key}/{ip}` (API.md §6) → `{"success": true, "country_code": "NL",
//! "region": "Provincie Utrecht", "city": "Utrecht", ...}`. The key is a path segment, so it
//! is percent-encoded; an empty key (a compatible service that takes none) gives
//! `GET {url}{ip}` rather than an empty segment. The key is in the URL, and reqwest's errors
//! quote the URL: nothing here ever formats a reqwest error, and any text taken from the
//! answer has the key blotted out.

use std::net::IpAddr;

use serde_json::Value;
use tessera_config::Proxy;

use super::{GeoError, LOOKUP_TIMEOUT, Location, clean};
use crate::error::StartupError;
use crate::outbound::http::{builder, cannot_build, describe};

/// The most of an answer read (a real one is under 1 KiB): a provider cannot make us buffer
/// more than this.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// The most of a provider's failure message kept for the event text.
const MAX_MESSAGE: usize = 200;

/// An IPQualityScore-compatible service.
pub(super) struct HttpProvider {
    client: reqwest::Client,
    /// `{url}{encoded key}/`, or `{url}` without a key; the address is appended.
    prefix: String,
    /// The key as configured, to blot out of any text the provider sends back.
    key: String,
}

impl HttpProvider {
    /// Errors name `geolocation.url` (a URL that does not parse) or `proxy` (a client reqwest
    /// would not build). No error quotes the key.
    pub(super) fn new(url: &str, key: &str, proxy: &Proxy) -> Result<Self, StartupError> {
        let prefix = if key.is_empty() {
            url.to_owned()
        } else {
            format!("{url}{}/", encode_segment(key))
        };
        if reqwest::Url::parse(&format!("{prefix}192.0.2.1")).is_err() {
            return Err(StartupError::invalid(
                "geolocation.url",
                format!("{url:?} followed by the key and an address is not a valid URL"),
            ));
        }
        let client = builder(proxy, LOOKUP_TIMEOUT)?
            .build()
            .map_err(|e| cannot_build("proxy", &e.without_url()))?;
        Ok(Self {
            client,
            prefix,
            key: key.to_owned(),
        })
    }

    pub(super) async fn lookup(&self, ip: IpAddr) -> Result<Location, GeoError> {
        let response = self
            .client
            .get(format!("{}{ip}", self.prefix))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(GeoError::Status(status.as_u16()));
        }
        let body = read_capped(response)
            .await
            .map_err(|e| self.transport(&e))?
            .ok_or(GeoError::NotJson)?;
        self.interpret(&body)
    }

    /// What the answer says. A body that is not a JSON object is `NotJson`.
    fn interpret(&self, body: &[u8]) -> Result<Location, GeoError> {
        let answer: Value = serde_json::from_slice(body).map_err(|_| GeoError::NotJson)?;
        let Value::Object(answer) = answer else {
            return Err(GeoError::NotJson);
        };
        if answer.get("success") != Some(&Value::Bool(true)) {
            let message = answer
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(GeoError::Unsuccessful(self.redact(message)));
        }
        let field = |name: &str| answer.get(name).and_then(Value::as_str);
        let location = Location {
            country_code: field("country_code").and_then(country_code),
            region: field("region").and_then(place_name),
            city: field("city").and_then(place_name),
        };
        if location.is_empty() {
            return Err(GeoError::NoLocation);
        }
        Ok(location)
    }

    /// A transport failure as a `GeoError`: reqwest's timeout is ours, anything else is
    /// "unreachable", described without the URL.
    fn transport(&self, e: &reqwest::Error) -> GeoError {
        if e.is_timeout() {
            return GeoError::Timeout(super::timeout_ms());
        }
        GeoError::Unreachable(self.redact(&describe(e)))
    }

    /// `text` cleaned for an event line, clipped, and with the key blotted out (a provider may
    /// echo the URL it was called with).
    fn redact(&self, text: &str) -> String {
        let text = if self.key.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.key, "***")
                .replace(&encode_segment(&self.key), "***")
        };
        clean(&text, MAX_MESSAGE)
    }
}

/// The body, or `None` when it is longer than [`MAX_BODY`] (read no further).
async fn read_capped(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A country code: two ASCII letters, upper-cased; anything else (`"N/A"`, `""`) is unknown.
pub(super) fn country_code(code: &str) -> Option<String> {
    let code = code.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// A region or city name; IPQualityScore's `"N/A"` and an empty string are unknown.
fn place_name(name: &str) -> Option<String> {
    let name = clean(name, MAX_MESSAGE);
    (!name.is_empty() && !name.eq_ignore_ascii_case("N/A")).then_some(name)
}

/// `segment` percent-encoded as one URL path segment: everything but RFC 3986's unreserved
/// characters is escaped, so a key holding `/`, `?` or `#` stays one segment.
pub(super) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
