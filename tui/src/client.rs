//! `AdminClient`: a typed client of every admin endpoint (API.md §5), plus the `/stream` reader.
//! Configuration resources are in [`crate::resources`]; this file holds the plumbing and the
//! operations (stats, transactions, events, dead letters).
//!
//! Every call has a deadline and every answer a size bound, so a stuck or hostile server costs
//! the dashboard a visible error, never a hang or unbounded memory.

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use tessera_config::admin::{
    DeadLetterList, EventList, ReplayOutcome, Stats, TransactionDetail, TransactionList,
};

use crate::error::{Error, Result};
use crate::sse::{self, Record};

/// Connect deadline: a dead host should turn into "reconnecting" quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request deadline for everything but `/stream`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a 1000-transaction list is ~500 KiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// A client of `/admin/v1`, authenticated as one API client with the `admin` scope.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    client_id: String,
    client_secret: String,
}

// The secret must not reach logs or panic messages through `{:?}`.
impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &tessera_config::admin::MASKED)
            .finish()
    }
}

/// `GET /transactions` filters; `None` = not filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionQuery {
    pub state: Option<String>,
    pub type_name: Option<String>,
    pub user_id: Option<String>,
    pub limit: Option<u32>,
}

/// `GET /events` filters; `None` = not filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub transaction_id: Option<String>,
    pub user_id: Option<String>,
    pub event_name: Option<String>,
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub limit: Option<u32>,
}

impl AdminClient {
    /// `url` is the server's base (`http://127.0.0.1:8080`); the admin paths are added here.
    pub fn new(url: &str, client_id: &str, client_secret: &str) -> Result<Self> {
        let mut base = Url::parse(url).map_err(|e| Error::Url(format!("{url}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::Url(format!("{url}: not an http(s) URL")));
        }
        base.path_segments_mut()
            .map_err(|()| Error::Url(url.to_owned()))?
            .pop_if_empty()
            .extend(["admin", "v1"]);
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // A half-open stream connection is noticed by the OS rather than waited on forever.
            .tcp_keepalive(Duration::from_secs(15))
            .build()
            .map_err(|e| Error::Url(e.to_string()))?;
        Ok(Self {
            http,
            base,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        })
    }

    /// The admin base URL (`…/admin/v1`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `base/seg/seg`, each segment percent-encoded (names may hold `/` or spaces).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        url
    }

    pub(crate) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        self.http
            .request(method, url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
    }

    /// Sends with the request deadline; returns the status and the (bounded) body, or the
    /// typed error for a non-success status.
    pub(crate) async fn exchange(&self, req: RequestBuilder) -> Result<(StatusCode, Vec<u8>)> {
        let resp = req.timeout(REQUEST_TIMEOUT).send().await?;
        let status = resp.status();
        let body = read_bounded(resp).await?;
        if !status.is_success() {
            return Err(Error::from_answer(status.as_u16(), &body));
        }
        Ok((status, body))
    }

    pub(crate) async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let (_, body) = self.exchange(req).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        self.json(self.request(Method::GET, self.url(segments)))
            .await
    }

    /// `GET /stats`.
    pub async fn stats(&self) -> Result<Stats> {
        self.get(&["stats"]).await
    }

    /// `GET /transactions`: newest first.
    pub async fn transactions(&self, q: &TransactionQuery) -> Result<TransactionList> {
        let mut url = self.url(&["transactions"]);
        {
            let mut pairs = url.query_pairs_mut();
            add(&mut pairs, "state", q.state.as_deref());
            add(&mut pairs, "type", q.type_name.as_deref());
            add(&mut pairs, "user_id", q.user_id.as_deref());
            add(
                &mut pairs,
                "limit",
                q.limit.map(|l| l.to_string()).as_deref(),
            );
        }
        strip_empty_query(&mut url);
        self.json(self.request(Method::GET, url)).await
    }

    /// `GET /transactions/{id}`: with its timeline.
    pub async fn transaction(&self, id: &str) -> Result<TransactionDetail> {
        self.get(&["transactions", id]).await
    }

    /// `POST /transactions/{id}/cancel`: `204`; `409 already_final`, `404 not_found`.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        let url = self.url(&["transactions", id, "cancel"]);
        self.exchange(self.request(Method::POST, url))
            .await
            .map(drop)
    }

    /// `GET /events`: newest first.
    pub async fn events(&self, q: &EventQuery) -> Result<EventList> {
        let mut url = self.url(&["events"]);
        {
            let mut pairs = url.query_pairs_mut();
            add(&mut pairs, "transaction_id", q.transaction_id.as_deref());
            add(&mut pairs, "user_id", q.user_id.as_deref());
            add(&mut pairs, "event_name", q.event_name.as_deref());
            add(&mut pairs, "from", q.from.map(|v| v.to_string()).as_deref());
            add(&mut pairs, "to", q.to.map(|v| v.to_string()).as_deref());
            add(
                &mut pairs,
                "limit",
                q.limit.map(|l| l.to_string()).as_deref(),
            );
        }
        strip_empty_query(&mut url);
        self.json(self.request(Method::GET, url)).await
    }

    /// `GET /dead-letters`: oldest first.
    pub async fn dead_letters(&self) -> Result<DeadLetterList> {
        self.get(&["dead-letters"]).await
    }

    /// `POST /dead-letters/{id}/replay`: one more delivery try, made before the answer.
    pub async fn replay(&self, id: &str) -> Result<ReplayOutcome> {
        let url = self.url(&["dead-letters", id, "replay"]);
        self.json(self.request(Method::POST, url)).await
    }

    /// Opens `GET /stream`. The answer has no deadline (it is meant to stay open); the
    /// connection has one, and every line is bounded.
    pub async fn stream(&self) -> Result<StreamReader> {
        let resp = self
            .request(Method::GET, self.url(&["stream"]))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let body = read_bounded(resp).await?;
            return Err(Error::from_answer(status.as_u16(), &body));
        }
        Ok(StreamReader {
            body: Box::pin(resp.bytes_stream()),
            parser: sse::Parser::default(),
            ready: std::collections::VecDeque::new(),
        })
    }
}

type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// Records of an open `/stream`, in order.
pub struct StreamReader {
    body: ByteStream,
    parser: sse::Parser,
    ready: std::collections::VecDeque<sse::Message>,
}

impl StreamReader {
    /// The next record; `None` when the server closed the stream. Unknown event names are
    /// skipped; a malformed record or an over-long line is an error (reconnect).
    pub async fn next(&mut self) -> Option<Result<Record>> {
        loop {
            while let Some(m) = self.ready.pop_front() {
                match Record::decode(&m) {
                    Ok(Some(r)) => return Some(Ok(r)),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            match self.body.next().await? {
                Ok(chunk) => match self.parser.feed(&chunk) {
                    Ok(ms) => self.ready.extend(ms),
                    Err(e) => return Some(Err(e)),
                },
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

fn add(
    pairs: &mut url::form_urlencoded::Serializer<'_, url::UrlQuery<'_>>,
    k: &str,
    v: Option<&str>,
) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        pairs.append_pair(k, v);
    }
}

fn strip_empty_query(url: &mut Url) {
    if url.query() == Some("") {
        url.set_query(None);
    }
}

/// Reads an answer up to [`MAX_BODY`].
async fn read_bounded(resp: reqwest::Response) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Error::TooLarge(format!("an answer over {MAX_BODY} bytes")));
    }
    let mut body = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Error::TooLarge(format!("an answer over {MAX_BODY} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
