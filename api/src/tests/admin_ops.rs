//! The admin API's operations (API.md §5) in memory: an `ops` client with scope `admin`, SMS
//! through the loopback REST hook, push through the log provider, callbacks to a loopback
//! portal. Helpers here; the tests in `admin_ops/`.

mod dead_letters;
mod scope;
mod stats;
mod stream;
mod transactions;

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tessera_engine::{Engine, EngineOptions};
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::conf::{Scope, api_client, array};
use tessera_testkit::sms::SmsHookFake;

use crate::routes::Api;
use crate::test_util::*;

pub(super) const ADMIN: &str = "/admin/v1";

/// The API with an `ops` client (scope `admin`), the [`devices`] world, SMS through `hook`
/// and, when given, `portal`'s callback config with one try per delivery.
pub(super) fn admin_api(hook: &SmsHookFake, portal: Option<&CallbackFake>) -> (Api, Engine) {
    let mut extra = devices();
    extra += &array(
        "api_clients",
        &[api_client(
            "ops",
            "ops-secret-0123456789abcdef",
            &[Scope::Admin],
        )],
    );
    extra += &array("sms_gateways", &[hook.gateway("hook")]);
    extra += "[sms]\ngateways = [\"hook\"]\n";
    if let Some(portal) = portal {
        extra += &array("callback_configs", &[portal.config()]);
        // One try: a failing portal dead-letters at once.
        extra += "[callbacks]\ntimeout = \"2s\"\nmax_tries = 1\ninitial_backoff = \"10ms\"\n";
    }
    let engine = Engine::launch(
        config("", &extra),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
    )
    .expect("engine launches");
    (crate::service(engine.clone(), None), engine)
}

impl Call {
    /// Authenticated as the `ops` client (scope `admin`).
    pub(super) fn ops(self) -> Self {
        self.basic("ops", "ops-secret-0123456789abcdef")
    }
}

/// Starts an SMS transaction as `portal` (with `extra` fields); returns its id.
pub(super) async fn start_sms_with(api: &Api, user: &str, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![("type", "sms"), ("user_id", user), ("phone_number", PHONE)];
    fields.extend_from_slice(extra);
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&fields)
        .send(api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.json()["transaction_id"].as_str().unwrap().to_owned()
}

/// The portal verifies the code the hook received for the newest SMS.
pub(super) async fn verify_last(api: &Api, hook: &SmsHookFake, user: &str, id: &str, n: usize) {
    let msgs = hook.wait_for_messages(n).await;
    let code = msgs[n - 1].verification_code.clone();
    let a = Call::post(format!("{V4}/user/{user}/sms"))
        .portal()
        .form(&[("transaction_id", id), ("sms_code", &code)])
        .send(api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

/// `GET` as `ops`, expecting `200`; the JSON.
pub(super) async fn admin_get(api: &Api, path: &str) -> Value {
    let a = Call::get(format!("{ADMIN}{path}")).ops().send(api).await;
    assert_eq!(a.status, 200, "{path}: {:?}", a.body);
    a.json()
}

/// Polls `GET path` until `ok` holds (events and callbacks land just after the answer).
pub(super) async fn admin_until(api: &Api, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let v = admin_get(api, path).await;
        if ok(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never matched: {}", admin_get(api, path).await);
}

/// An open `/stream`, read record by record (comments skipped).
pub(super) struct Sse {
    body: crate::ApiBody,
    buf: String,
}

impl Sse {
    pub(super) async fn open(api: &Api) -> Self {
        let req = Request::get(format!("{ADMIN}/stream"))
            .header(
                "authorization",
                format!("Basic {}", base64_of("ops:ops-secret-0123456789abcdef")),
            )
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = api.handle(req, "127.0.0.1:40000".parse().unwrap()).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Self {
            body: resp.into_body(),
            buf: String::new(),
        }
    }

    /// The next record `(event, data)`, or `None` when the stream ended; panics after `within`.
    pub(super) async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(v).expect("data is JSON"));
                    }
                }
                match (event, data) {
                    (Some(e), Some(d)) => return Some((e, d)),
                    _ => continue, // a comment
                }
            }
            let frame = tokio::time::timeout(within, self.body.frame())
                .await
                .expect("a stream record in time");
            match frame {
                None => return None,
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.push_str(std::str::from_utf8(&data).unwrap());
                    }
                }
                Some(Err(e)) => match e {},
            }
        }
    }

    /// Reads until a record satisfies `want`; the records read on the way are returned too.
    pub(super) async fn until(
        &mut self,
        want: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        loop {
            let Some((e, d)) = self.next(Duration::from_secs(5)).await else {
                panic!("stream ended before the record: {seen:?}");
            };
            let done = want(&e, &d);
            seen.push((e, d));
            if done {
                return seen;
            }
        }
    }
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
