//! What a portal does with Tessera (API.md §2), as small helpers on [`Tessera`]. Requests carry
//! the portal client's HTTP Basic credentials unless a test builds its own.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::binary::Tessera;
use super::conf::{CLIENT_ID, CLIENT_SECRET};
use super::{DEADLINE, eventually};

/// Base path of the portal API v4.
pub const V4: &str = "/oauth/api/v4/authenticate";
pub const EVENTS: &str = "/oauth/api/v1/events";

/// A phone number in E.164.
pub const PHONE: &str = "+31612345678";

/// The `transaction_id` of a start answer.
pub fn txn_id(start: &Value) -> String {
    start["transaction_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no transaction_id in {start}"))
        .to_owned()
}

/// The events path with a query string.
pub fn events_query(params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).expect("encode a query");
    format!("{EVENTS}?{query}")
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub async fn read(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.expect("read response body").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}), got {} `{}`",
                self.status,
                self.text()
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts the status, with the body in the message.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status, body `{}`",
            self.text()
        );
        self
    }

    /// Asserts a portal error: this status and `{"error_code": code, "description": ...}`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        self.expect(status);
        let body = self.json();
        assert_eq!(body["error_code"], code, "error body {body}");
        assert!(
            body["description"].is_string(),
            "error without description: {body}"
        );
        assert_json_content_type(self);
        let cache = self.header("cache-control").unwrap_or_default();
        assert!(
            cache.contains("no-store"),
            "error with Cache-Control `{cache}`"
        );
    }

    /// Asserts a client-authentication failure: 401 `invalid_client` with `WWW-Authenticate`.
    #[track_caller]
    pub fn expect_invalid_client(&self) {
        self.expect(401);
        let body = self.json();
        assert_eq!(body["error"], "invalid_client", "body {body}");
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Basic"),
            "401 without a Basic WWW-Authenticate challenge: {:?}",
            self.headers
        );
    }
}

#[track_caller]
pub fn assert_json_content_type(resp: &Resp) {
    let ct = resp.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "content type `{ct}` for body `{}`",
        resp.text()
    );
}

impl Tessera {
    /// A request with the portal's Basic credentials.
    pub fn portal(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}\n{}", self.logs()));
        Resp::read(resp).await
    }

    /// `GET path` as the portal.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.portal(reqwest::Method::GET, path)).await
    }

    /// `POST path` with a form, as the portal.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(self.portal(reqwest::Method::POST, path).form(form))
            .await
    }

    /// `POST /user` (start) with these fields.
    pub async fn start_raw(&self, form: &[(&str, &str)]) -> Resp {
        self.post_form(&format!("{V4}/user"), form).await
    }

    /// Starts an SMS transaction of `type_name` for `user`, asserts 200 and returns the body.
    pub async fn start_sms(&self, type_name: &str, user: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![
            ("type", type_name),
            ("user_id", user),
            ("phone_number", PHONE),
        ];
        form.extend_from_slice(extra);
        let resp = self.start_raw(&form).await;
        assert_eq!(
            resp.status,
            200,
            "start failed: {}\n{}",
            resp.text(),
            self.logs()
        );
        let body = resp.json();
        assert!(
            body["transaction_id"].is_string(),
            "no transaction_id: {body}"
        );
        body
    }

    /// `POST /user/{user}/sms` with a code.
    pub async fn verify(&self, user: &str, txn: &str, code: &str) -> Resp {
        self.post_form(
            &format!("{V4}/user/{user}/sms"),
            &[("transaction_id", txn), ("sms_code", code)],
        )
        .await
    }

    /// `POST /user/{user}/sms/resend`.
    pub async fn resend(&self, user: &str, txn: &str) -> Resp {
        self.post_form(
            &format!("{V4}/user/{user}/sms/resend"),
            &[("transaction_id", txn)],
        )
        .await
    }

    /// `POST /transaction/{id}/cancel`.
    pub async fn cancel(&self, txn: &str) -> Resp {
        self.send(self.portal(
            reqwest::Method::POST,
            &format!("{V4}/transaction/{txn}/cancel"),
        ))
        .await
    }

    /// `GET /transaction/{id}`, asserted 200.
    pub async fn result(&self, txn: &str) -> Value {
        let resp = self.get(&format!("{V4}/transaction/{txn}")).await;
        assert_eq!(resp.status, 200, "result: {}", resp.text());
        resp.json()
    }

    /// Polls the result until its `status` is not `pending`.
    pub async fn final_result(&self, txn: &str) -> Value {
        eventually(DEADLINE, "a final result", || async {
            let r = self.result(txn).await;
            (r["status"] != "pending").then_some(r)
        })
        .await
    }

    /// The events of one transaction (`GET /oauth/api/v1/events?transaction_id=`).
    pub async fn events(&self, txn: &str) -> Vec<Value> {
        let resp = self.get(&events_query(&[("transaction_id", txn)])).await;
        assert_eq!(resp.status, 200, "events: {}", resp.text());
        let body = resp.json();
        body["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events array: {body}"))
            .clone()
    }

    /// The names of one transaction's events.
    pub async fn event_names(&self, txn: &str) -> Vec<String> {
        self.events(txn)
            .await
            .iter()
            .map(|e| e["event_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until the transaction's events include `name` at least `n` times; returns all names.
    pub async fn wait_for_event(&self, txn: &str, name: &str, n: usize) -> Vec<String> {
        eventually(
            DEADLINE,
            &format!("{n}× event `{name}` for {txn}"),
            || async {
                let names = self.event_names(txn).await;
                (names.iter().filter(|e| *e == name).count() >= n).then_some(names)
            },
        )
        .await
    }

    /// Long-polls the result for at most `wait`.
    pub async fn wait_result(&self, txn: &str, wait: Duration) -> Resp {
        let path = format!("{V4}/transaction/{txn}?wait={}", wait.as_millis());
        self.get(&path).await
    }
}
