//! What every provider does the same way: build its HTTP client from the shared settings, turn a
//! failed request into a [`PushError`], and read `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tessera_config::{Proxy, PushConfig};

use super::PushError;
use crate::error::StartupError;
use crate::outbound::http;

/// One request, connect to last byte. Generous next to a push's round trip, short next to a
/// transaction's time to live, so a hung provider still leaves room for the retries.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a provider speaks HTTP/2 only (APNs) or negotiates (FCM, OAuth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Http {
    /// ALPN `h2` for `https://`; h2c with prior knowledge for `http://` (test fakes).
    Http2Only,
    Negotiate,
}

/// The provider's own client: the shared proxy, timeout and redirect settings
/// ([`http::builder`]), plus the config's `ca_file` roots.
pub fn client(
    pc: &PushConfig,
    proxy: &Proxy,
    version: Http,
) -> Result<reqwest::Client, StartupError> {
    let mut builder = http::with_roots(http::builder(proxy, REQUEST_TIMEOUT)?, &pc.ca_file)?;
    if version == Http::Http2Only {
        // Apple asks providers to keep their connection open across pushes rather than open
        // one per push: keep the idle connection pooled, with pings to notice when it died.
        builder = builder
            .http2_prior_knowledge()
            .pool_idle_timeout(None)
            .http2_keep_alive_interval(Duration::from_secs(60))
            .http2_keep_alive_while_idle(true);
    }
    // What this client adds to the shared settings is its CA roots.
    builder
        .build()
        .map_err(|e| http::cannot_build("ca_file", &e))
}

/// A push config's `endpoint` (validated as an http(s) URL when the config was loaded).
pub fn endpoint(url: &str) -> Result<reqwest::Url, StartupError> {
    reqwest::Url::parse(url)
        .map_err(|e| StartupError::invalid("endpoint", format!("`{url}` is not a URL: {e}")))
}

/// A request that got no answer. Not reaching the provider, or losing the connection, is
/// worth another try; a request reqwest could not even build is not.
pub fn request_failed(what: &str, e: &reqwest::Error) -> PushError {
    let why = format!("{what}: {}", http::describe(e));
    if e.is_builder() {
        PushError::Failed(why)
    } else {
        PushError::Retryable(why)
    }
}

/// Whether an answer's status means "later" (429 and 5xx).
pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A transient answer, carrying the provider's `Retry-After` when it gave one.
pub fn transient(reason: String, headers: &HeaderMap) -> PushError {
    match retry_after(headers) {
        Some(after) => PushError::RetryAfter { reason, after },
        None => PushError::Retryable(reason),
    }
}

/// `Retry-After` in delta-seconds (what Google and Apple send). An HTTP-date is ignored: the
/// backoff then applies, which is the safe reading.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// `"{who} answered {status} {code}"` for errors and logs. `code` is the provider's error code
/// (`BadTopic`, `QUOTA_EXCEEDED`); anything that does not look like one is left out, so an
/// answer from something else on the way cannot put arbitrary text into the log.
pub fn answered(who: &str, status: StatusCode, code: &str) -> String {
    let is_code = !code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_code {
        format!("{who} answered {} {code}", status.as_u16())
    } else {
        format!("{who} answered {}", status.as_u16())
    }
}

/// Whole seconds of a time to live, for the providers' expiry fields.
pub fn ttl_secs(ttl_ms: u64) -> u64 {
    ttl_ms / 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 3 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn answers_quote_only_error_codes() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            answered("APNs", s, "BadTopic"),
            "APNs answered 400 BadTopic"
        );
        assert_eq!(answered("FCM", s, ""), "FCM answered 400");
        assert_eq!(answered("FCM", s, "<html>\nhi"), "FCM answered 400");
    }

    #[test]
    fn transient_statuses() {
        assert!(is_transient(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_transient(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_transient(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_transient(StatusCode::BAD_REQUEST));
        assert!(!is_transient(StatusCode::GONE));
    }
}
