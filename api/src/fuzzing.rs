//! The harnesses of the `form_body` and `json_body` fuzz targets in `fuzz/` (cargo-fuzz), which
//! the property tests here run on stable too: a request body goes through the very decoders the
//! portal, management and device handlers use — field parsing (`body.rs`), then every wire type
//! with its field type checks — and the harness **panics** when the outcome is anything but
//! fields or the documented `400` (`1003` on the portal API, `invalid_request` on the others),
//! which is how a fuzzer or a property test sees a failure. Not a stable API (docs/testing.md).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::DeserializeOwned;

use crate::MAX_BODY_BYTES;
use crate::body::{self, BodyError, Fields};
use crate::error::{ApiError, Codes};
use crate::wire::{
    AuthenticatorProof, DeleteDevicesParams, EnrollmentParams, EventsQuery, OtpParams,
    PushEnrollmentParams, ResultQuery, SmsVerifyParams, StartParams, TransactionRef,
};

/// `form_body`: `data` as an `application/x-www-form-urlencoded` portal or management body, and
/// as a query string. Form values are strings, so the portal's text fields always decode.
pub fn form_body(data: &[u8]) {
    let Some(fields) = fields("application/x-www-form-urlencoded", data) else {
        return;
    };
    // Every field of these is text: a form can hold nothing they refuse.
    decode::<StartParams>(&fields, Codes::Numeric).expect("form fields are text");
    decode::<SmsVerifyParams>(&fields, Codes::Numeric).expect("form fields are text");
    decode::<TransactionRef>(&fields, Codes::Numeric).expect("form fields are text");
    let _ = decode::<DeleteDevicesParams>(&fields, Codes::Named);
    if let Ok(query) = std::str::from_utf8(data) {
        match body::query(Some(query)) {
            Ok(fields) => {
                let _ = decode::<ResultQuery>(&fields, Codes::Numeric);
                let _ = decode::<EventsQuery>(&fields, Codes::Numeric);
            }
            Err(e) => assert_refusal(&e, Codes::Numeric),
        }
    }
}

/// `json_body`: `data` as an `application/json` body of the portal, management and device APIs,
/// decoded as each of their request types.
pub fn json_body(data: &[u8]) {
    let Some(fields) = fields("application/json", data) else {
        return;
    };
    if let Ok(p) = decode::<StartParams>(&fields, Codes::Numeric) {
        // A decoded text field is the string that was sent, never a coerced value.
        if let Some(user_id) = &p.user_id {
            assert_eq!(
                fields.get("user_id").and_then(|v| v.as_str()),
                Some(user_id.as_str())
            );
        }
    }
    let _ = decode::<SmsVerifyParams>(&fields, Codes::Numeric);
    let _ = decode::<TransactionRef>(&fields, Codes::Numeric);
    let _ = decode::<DeleteDevicesParams>(&fields, Codes::Named);
    let _ = decode::<EnrollmentParams>(&fields, Codes::Named);
    let _ = decode::<PushEnrollmentParams>(&fields, Codes::Named);
    let _ = decode::<AuthenticatorProof>(&fields, Codes::Named);
    let _ = decode::<OtpParams>(&fields, Codes::Named);
}

/// The body's fields, or `None` after checking the refusal is the documented one. Bodies over
/// the API's limit never get here (`413` before parsing), so they are skipped.
fn fields(content_type: &'static str, data: &[u8]) -> Option<Fields> {
    if data.len() > MAX_BODY_BYTES {
        return None;
    }
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    match body::parse(&headers, data) {
        Ok(fields) => Some(fields),
        Err(e) => {
            assert!(matches!(e, BodyError::Malformed(_)), "refused with {e:?}");
            assert_refusal(&e.answer(Codes::Numeric), Codes::Numeric);
            None
        }
    }
}

/// `T` from `fields`, in the surface's dialect; a refusal must be the documented `400`.
fn decode<T: DeserializeOwned>(fields: &Fields, codes: Codes) -> Result<T, ApiError> {
    let decoded = body::decode_in::<T>(fields, codes);
    if let Err(e) = &decoded {
        assert_refusal(e, codes);
    }
    decoded
}

fn assert_refusal(e: &ApiError, codes: Codes) {
    let expected = match codes {
        Codes::Numeric => "1003",
        Codes::Named => "invalid_request",
    };
    assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{e:?}");
    assert_eq!(e.error_code(), expected, "{e:?}");
}

#[cfg(test)]
mod tests;
