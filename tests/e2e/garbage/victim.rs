//! The harness of the garbage tests: a [`Victim`] (Tessera with one live SMS transaction), the
//! endpoints to aim at, and the check every answer must pass.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::Value;
use tessera_testkit::sms::SmsHookFake;

use crate::support::Tessera;
use crate::support::conf::{self, gateways, hook_gateway};
use crate::support::portal::Resp;
use crate::support::raw::{self, portal_basic};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// A random UUID no transaction has.
pub const NOBODY: &str = "0b7f3c2a-5d1e-4f6a-9b8c-7d6e5f4a3b2c";

/// Tessera with a live SMS transaction that the garbage must not disturb.
pub struct Victim {
    pub t: Tessera,
    hook: SmsHookFake,
    pub live: String,
    code: String,
}

impl Victim {
    pub async fn start() -> Self {
        let hook = SmsHookFake::start().await;
        let config = conf::with(&format!(
            "{}{}{}",
            gateways(&["hook"]),
            hook_gateway("hook", &hook),
            conf::types(&[conf::MobileAuthType {
                max_attempts: 3,
                max_resends: 2,
                ..conf::sms("sms")
            }])
        ));
        let t = Tessera::start(&config).await;
        let live = t.start_sms("sms", "victim", &[]).await["transaction_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let code = hook.wait_for_messages(1).await[0].verification_code.clone();
        Self {
            t,
            hook,
            live,
            code,
        }
    }

    /// The server is up, healthy, and the live transaction still verifies.
    pub async fn survived(mut self) {
        assert!(self.t.is_running(), "tessera died\n{}", self.t.logs());
        let health = self
            .t
            .send(self.t.http.get(self.t.url("/health/live")))
            .await;
        assert_eq!(health.status, 200, "health after garbage");
        let pending = self.t.result(&self.live).await;
        assert_eq!(pending["status"], "pending", "{pending}");
        assert_eq!(
            pending["used_authentication_attempts"], 0,
            "garbage touched the live transaction: {pending}"
        );
        self.t
            .verify("victim", &self.live, &self.code)
            .await
            .expect(200);
        assert_eq!(self.t.result(&self.live).await["status"], "accepted");
        assert_eq!(
            self.hook.requests().len(),
            1,
            "garbage made Tessera send an SMS"
        );
    }

    /// POST `body` to `path` as the portal, with this content type (none when `None`).
    pub async fn post(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut req = self.t.portal(reqwest::Method::POST, path).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        self.t.send(req).await
    }

    /// Sends a raw request (portal credentials added) and checks the answer is a clean 4xx.
    pub async fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> u16 {
        let auth = portal_basic();
        let mut all = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        let request = raw::request(method, target, &all, body);
        let resp = raw::send(self.t.addr, &request)
            .await
            .unwrap_or_else(|e| panic!("{method} {target}: {e}\n{}", self.t.logs()));
        let label = format!("{method} {}", shorten(target));
        assert_clean_4xx(
            &label,
            resp.status,
            resp.header("content-type"),
            resp.header("cache-control"),
            &resp.body,
        );
        resp.status
    }
}

/// Portal base paths of every version (API.md §2.6).
pub const VERSIONS: [&str; 3] = [
    "/oauth/api/v4/authenticate",
    "/oauth/api/v3/authenticate",
    "/oauth/api/v2/authenticate",
];

/// The POST endpoints that read fields from a body, in every version. None of them may touch the
/// live transaction: they name another user or a transaction that does not exist.
pub fn body_endpoints() -> Vec<String> {
    VERSIONS
        .iter()
        .flat_map(|base| {
            [
                format!("{base}/user"),
                format!("{base}/user/mallory/sms"),
                format!("{base}/user/mallory/sms/resend"),
            ]
        })
        .collect()
}

/// The POST endpoints whose input is the path only, in every version.
pub fn path_endpoints() -> Vec<String> {
    VERSIONS
        .iter()
        .flat_map(|base| {
            [
                format!("{base}/transaction/{NOBODY}/cancel"),
                format!("{base}/transaction/{NOBODY}/resend"),
            ]
        })
        .collect()
}

pub fn shorten(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…({} bytes)", &s[..cut], s.len()),
        None => s.to_owned(),
    }
}

/// A 4xx whose body is a JSON object with a non-empty `error_code`, or `error` for 401/403.
#[track_caller]
pub fn assert_clean_4xx(
    label: &str,
    status: u16,
    content_type: Option<&str>,
    cache_control: Option<&str>,
    body: &[u8],
) {
    let text = String::from_utf8_lossy(body);
    assert!(
        (400..500).contains(&status),
        "{label}: expected a 4xx, got {status} `{}`",
        shorten(&text)
    );
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{label}: {status} without a JSON body ({e}): `{}`",
            shorten(&text)
        )
    });
    let ct = content_type.unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "{label}: {status} with content type `{ct}`"
    );
    let cache = cache_control.unwrap_or_default();
    assert!(
        cache.contains("no-store"),
        "{label}: {status} with Cache-Control `{cache}`"
    );
    let has = |k: &str| json[k].as_str().is_some_and(|s| !s.is_empty());
    let ok = has("error_code") || ((status == 401 || status == 403) && has("error"));
    assert!(ok, "{label}: {status} body without error_code: {json}");
}

#[track_caller]
pub fn check(label: &str, resp: &Resp) {
    assert_clean_4xx(
        label,
        resp.status,
        resp.header("content-type").as_deref(),
        resp.header("cache-control").as_deref(),
        &resp.body,
    );
}

pub fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.random_range(0..max);
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes[..]);
    bytes
}

/// Random bytes, every one percent-encoded (so the URL stays valid).
pub fn random_escaped(rng: &mut StdRng, max: usize) -> String {
    random_bytes(rng, max)
        .iter()
        .map(|b| format!("%{b:02X}"))
        .collect()
}
