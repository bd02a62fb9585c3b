//! Request bodies and query strings: reading with the size limit, then form or JSON into one field
//! map, then into a wire type. Parsing is strict: bad percent-encoding and invalid UTF-8 are
//! refused rather than patched over, so a portal learns about its bug instead of a mangled value.

use std::pin::{Pin, pin};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::BodyExt;
use hyper::body::Body;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::MAX_BODY_BYTES;
use crate::error::{ApiError, Codes};

/// Request fields by name: strings from forms and queries, any JSON value from JSON bodies.
pub(crate) type Fields = Map<String, Value>;

/// Why a body could not become [`Fields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    TooLarge,
    Unsupported,
    Malformed(&'static str),
    /// Not read: the request's header credentials failed, so the handler refuses it before
    /// looking at the body.
    Unread,
}

impl BodyError {
    /// The answer, in the dialect of the surface that read the body.
    pub(crate) fn answer(self, codes: Codes) -> ApiError {
        match self {
            BodyError::TooLarge => ApiError::too_large(codes),
            BodyError::Unsupported => ApiError::unsupported_media_type(
                codes,
                "unsupported content type: use application/x-www-form-urlencoded or application/json",
            ),
            BodyError::Malformed(what) => ApiError::invalid(codes, what),
            // Handlers authenticate before they use the body; should one not, it gets no fields.
            BodyError::Unread => ApiError::invalid(codes, "the request body was not read"),
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        e.answer(Codes::Numeric)
    }
}

/// How much of an oversized body is read and dropped before answering `413`: a client still
/// writing when the connection closes may see a reset instead of our answer (lingering close).
const DRAIN_MAX: usize = 1024 * 1024;
/// How long a body may take to arrive, so a trickling client cannot hold a connection forever.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long draining an oversized body may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads at most [`MAX_BODY_BYTES`]; a declared or actual larger body is [`BodyError::TooLarge`].
pub(crate) async fn read<B>(headers: &HeaderMap, body: B) -> Result<Bytes, BodyError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = pin!(body);
    if let Some(n) = declared.filter(|n| *n > MAX_BODY_BYTES as u64) {
        if n <= DRAIN_MAX as u64 {
            drain(body.as_mut(), 0).await;
        }
        return Err(BodyError::TooLarge);
    }
    let collect = async {
        let mut buf = BytesMut::new();
        while let Some(frame) = body.as_mut().frame().await {
            let frame =
                frame.map_err(|_| BodyError::Malformed("the request body could not be read"))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len() + data.len() > MAX_BODY_BYTES {
                drain(body.as_mut(), buf.len() + data.len()).await;
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(READ_TIMEOUT, collect)
        .await
        .unwrap_or(Err(BodyError::Malformed(
            "the request body did not arrive in time",
        )))
}

/// Reads and drops the rest of a body, up to [`DRAIN_MAX`] bytes in all and [`DRAIN_TIMEOUT`].
async fn drain<B: Body>(mut body: Pin<&mut B>, mut seen: usize) {
    let discard = async {
        while seen <= DRAIN_MAX {
            match body.as_mut().frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.remaining()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, discard).await;
}

/// Form or JSON, by `Content-Type`. An empty body has no fields whatever its type.
pub(crate) fn parse(headers: &HeaderMap, bytes: &[u8]) -> Result<Fields, BodyError> {
    if bytes.is_empty() {
        return Ok(Fields::new());
    }
    match content_type(headers).as_deref() {
        Some("application/x-www-form-urlencoded") => parse_form(bytes),
        Some(t) if is_json(t) => match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(BodyError::Malformed("the JSON body must be an object")),
            Err(_) => Err(BodyError::Malformed("malformed JSON body")),
        },
        _ => Err(BodyError::Unsupported),
    }
}

/// The `Content-Type` without parameters, lower-case.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// `application/json` or a `+json` structured syntax.
pub(crate) fn is_json(essence: &str) -> bool {
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `application/x-www-form-urlencoded` (also query strings). The first of repeated names wins.
pub(crate) fn parse_form(bytes: &[u8]) -> Result<Fields, BodyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BodyError::Malformed("the body is not valid UTF-8"))?;
    let mut fields = Fields::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name, true).ok_or(BodyError::Malformed("malformed form encoding"))?;
        let value = decode(value, true).ok_or(BodyError::Malformed("malformed form encoding"))?;
        fields.entry(name).or_insert(Value::String(value));
    }
    Ok(fields)
}

/// The query string's fields; a malformed query is a `400 1003`.
pub(crate) fn query(query: Option<&str>) -> Result<Fields, ApiError> {
    parse_form(query.unwrap_or("").as_bytes())
        .map_err(|_| ApiError::bad_request("malformed query string"))
}

/// Strict percent-decoding to UTF-8; `None` on a bad escape or invalid UTF-8. In forms, `+` is a
/// space; in paths it is itself.
pub(crate) fn decode(s: &str, plus_is_space: bool) -> Option<String> {
    let src = s.as_bytes();
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'%' => {
                let hi = hex_digit(*src.get(i + 1)?)?;
                let lo = hex_digit(*src.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A path segment such as `{user_id}`, percent-decoded.
pub(crate) fn segment(raw: &str) -> Result<String, ApiError> {
    segment_in(raw, Codes::Numeric)
}

/// [`segment`], refused in the surface's dialect.
pub(crate) fn segment_in(raw: &str, codes: Codes) -> Result<String, ApiError> {
    decode(raw, false)
        .ok_or_else(|| ApiError::invalid(codes, "malformed percent-encoding in the path"))
}

/// The fields as the wire type `T`; a known field of the wrong type is a `400 1003` naming it.
pub(crate) fn decode_fields<T: DeserializeOwned>(fields: &Fields) -> Result<T, ApiError> {
    decode_in(fields, Codes::Numeric)
}

/// [`decode_fields`], refused in the surface's dialect.
pub(crate) fn decode_in<T: DeserializeOwned>(fields: &Fields, codes: Codes) -> Result<T, ApiError> {
    let value = Value::Object(fields.clone());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(codes, format!("invalid parameter: {path}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode("a%20b+c", true).as_deref(), Some("a b c"));
        assert_eq!(decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(decode("%E2%82%AC", false).as_deref(), Some("€"));
        assert_eq!(decode("%zz", true), None);
        assert_eq!(decode("%4", true), None);
        assert_eq!(decode("%FF", true), None);
    }

    #[test]
    fn form_first_value_wins_and_empty_pairs_are_skipped() {
        let f = parse_form(b"a=1&&a=2&b&c=%2B").unwrap();
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "");
        assert_eq!(f["c"], "+");
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(parse(&h, b"x=1"), Err(BodyError::Unsupported));
        h.insert(
            CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(parse(&h, br#"{"x":"1"}"#).unwrap()["x"], "1");
        assert_eq!(
            parse(&h, b"[1]"),
            Err(BodyError::Malformed("the JSON body must be an object"))
        );
        h.insert(CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(parse(&h, b"x"), Err(BodyError::Unsupported));
        assert_eq!(parse(&h, b""), Ok(Fields::new()));
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        fn start_field() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("type"),
                Just("user_id"),
                Just("device_id"),
                Just("callback_uri"),
                Just("message"),
                Just("phone_number"),
                Just("language_code"),
                Just("ip_address"),
            ]
            .prop_map(str::to_owned)
        }

        fn json_leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                ".{0,16}".prop_map(Value::String),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                any::<bool>().prop_map(Value::Bool),
                Just(Value::Null),
                Just(serde_json::json!([1, "a"])),
                Just(serde_json::json!({"nested": {"x": 1}})),
            ]
        }

        fn form_headers() -> HeaderMap {
            let mut h = HeaderMap::new();
            h.insert(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
            h
        }

        proptest! {
            /// Any field names and values a portal sends, encoded as a browser or HTTP client
            /// would, come back exactly (first value of a repeated name wins).
            #[test]
            fn form_bodies_round_trip(pairs in proptest::collection::vec((".{0,12}", ".{0,24}"), 0..8)) {
                let body = serde_urlencoded::to_string(&pairs).unwrap();
                let fields = parse(&form_headers(), body.as_bytes()).unwrap();
                let mut expected = Fields::new();
                for (name, value) in &pairs {
                    expected.entry(name.clone()).or_insert(Value::String(value.clone()));
                }
                prop_assert_eq!(fields, expected);
            }

            /// Arbitrary bytes as a form or JSON body give fields or a `Malformed` answer:
            /// never a panic, never another error.
            #[test]
            fn arbitrary_bodies_are_fields_or_malformed(bytes in proptest::collection::vec(any::<u8>(), 0..256), json in any::<bool>()) {
                let mut h = form_headers();
                if json {
                    h.insert(CONTENT_TYPE, "application/json".parse().unwrap());
                }
                match parse(&h, &bytes) {
                    Ok(_) | Err(BodyError::Malformed(_)) => {}
                    Err(other) => prop_assert!(false, "unexpected {:?}", other),
                }
            }

            /// Any JSON values under the start request's field names decode or are refused
            /// with the portal's `400 1003`: never a panic, never another answer; a string value
            /// decodes to itself, the empty string to absent (the decoders' rule in `wire`: an empty
            /// field counts as not sent, as vendor forms send blank fields).
            #[test]
            fn start_parameters_decode_or_are_refused_with_1003(
                fields in proptest::collection::vec((start_field(), json_leaf()), 0..6),
            ) {
                let map: Fields = fields.iter().cloned().collect();
                match decode_fields::<crate::wire::StartParams>(&map) {
                    Ok(p) => {
                        if let Some(Value::String(s)) = map.get("user_id") {
                            let expected = (!s.is_empty()).then_some(s.as_str());
                            prop_assert_eq!(p.user_id.as_deref(), expected);
                        }
                    }
                    Err(e) => {
                        let shown = format!("{e:?}");
                        prop_assert!(shown.contains("\"1003\""), "{}", shown);
                        prop_assert_eq!(e.into_response().status(), http::StatusCode::BAD_REQUEST);
                    }
                }
            }

            /// Percent-decoding inverts percent-encoding of any text.
            #[test]
            fn decoding_inverts_encoding(text in ".{0,40}") {
                let encoded: String = text
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect();
                prop_assert_eq!(decode(&encoded, true), Some(text));
            }
        }
    }
}
