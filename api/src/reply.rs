//! Building responses: every answer carries the same content type and no-cache headers (API.md §1).

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::api_body::ApiBody;

/// What every handler answers with.
pub(crate) type Reply = Response<ApiBody>;

pub(crate) const JSON: &str = "application/json;charset=UTF-8";
/// Prometheus 3 refuses scrapes without a text-format content type, so `/metrics` keeps its own.
pub(crate) const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
pub(crate) const YAML: &str = "application/yaml;charset=UTF-8";

/// `status` with `value` as the JSON body.
pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Reply {
    // Our wire types serialize infallibly (string keys, no maps with non-string keys).
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    build(status, JSON, Bytes::from(body))
}

/// `200` with `value` as the JSON body.
pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Reply {
    json(StatusCode::OK, value)
}

/// `204`, no body.
pub(crate) fn no_content() -> Reply {
    build(StatusCode::NO_CONTENT, JSON, Bytes::new())
}

/// A non-JSON body (metrics, the OpenAPI document).
pub(crate) fn text(content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    build(StatusCode::OK, content_type, body.into())
}

fn build(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut resp = Response::new(ApiBody::full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
