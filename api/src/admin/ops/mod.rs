//! The admin API's operations (API.md §5): `/stats`, `/stream`, `/transactions`, `/events`,
//! `/dead-letters`. Each endpoint checks scope `admin` first (`401`/`403` as everywhere), then
//! its parameters (`400 invalid_request`).

pub(crate) mod dead_letters;
pub(crate) mod events;
pub(crate) mod stats;
pub(crate) mod stream;
pub(crate) mod transactions;

use http::StatusCode;
use serde_json::Value;
use tessera_config::admin::codes;
use tessera_engine::Error as EngineError;

use crate::body::{self, Fields};
use crate::context::Cx;
use crate::error::ApiError;

/// Lists answer this many items unless `limit` says otherwise ...
const DEFAULT_LIMIT: usize = 100;
/// ... and never more than this.
const MAX_LIMIT: usize = 1000;

/// `400 invalid_request`.
pub(crate) fn invalid(description: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::admin(StatusCode::BAD_REQUEST, codes::INVALID_REQUEST, description)
}

/// `404 not_found`.
pub(crate) fn not_found(what: &'static str) -> ApiError {
    ApiError::admin(StatusCode::NOT_FOUND, codes::NOT_FOUND, what)
}

/// An engine refusal in the admin dialect.
pub(crate) fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::UnknownTransaction => not_found("no such transaction"),
        EngineError::AlreadyFinal => ApiError::admin(
            StatusCode::CONFLICT,
            codes::ALREADY_FINAL,
            "the transaction is already final",
        ),
        EngineError::Store(_) => ApiError::store_unavailable(crate::error::Codes::Named),
        other => ApiError::from(other),
    }
}

/// The query string's parameters; only the `known` ones are allowed, each at most once (a
/// misspelt filter must not silently list everything).
pub(crate) struct Params(Fields);

impl Params {
    pub(crate) fn parse(cx: &Cx<'_>, known: &[&str]) -> Result<Self, ApiError> {
        let fields = body::parse_form(cx.query.as_deref().unwrap_or("").as_bytes())
            .map_err(|_| invalid("malformed query string"))?;
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(format!("unknown parameter: {unknown}")));
        }
        Ok(Self(fields))
    }

    /// A text parameter; empty counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.text(name)
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| invalid(format!("invalid parameter: {name}")))
            })
            .transpose()
    }

    /// `limit`: 1 ..= 1000, default 100.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.number("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT as u64).contains(&n) => Ok(n as usize),
            Some(_) => Err(invalid("limit must be between 1 and 1000")),
        }
    }
}
