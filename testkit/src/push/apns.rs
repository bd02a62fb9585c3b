//! Apple Push Notification service over h2c: `POST /3/device/{token}` with an ES256 provider
//! token (verified with the public half of the test `.p8`: `kid`, `iss`, `iat`), the `apns-*`
//! headers and the payload of API.md §4. Accepted pushes go to the test; scripted ones get
//! Apple's error answers (`410 Unregistered`, `503 ServiceUnavailable`).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use hyper::Version;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_config::{Platform, PushConfig, PushKind};

use super::{Inbox, Problems, serve, unix_now};
use crate::http::{LoopbackServer, Recorded, Reply};
use crate::testdata;

pub const TEAM_ID: &str = "TEAM123456";
pub const KEY_ID: &str = "KEY1234567";
/// The topic the test key may push to: the app versions' `bundle_id`.
pub const BUNDLE_ID: &str = "com.acme.app";

/// One notification Apple accepted, as the app receives it, with the request's headers.
#[derive(Debug, Clone)]
pub struct ApnsPush {
    pub device_token: String,
    pub transaction_id: String,
    pub profile_id: String,
    pub alert: String,
    pub badge: Option<u64>,
    /// The whole payload.
    pub payload: Value,
    /// `apns-expiration`, epoch seconds.
    pub expiration: u64,
    pub priority: String,
    /// The provider token.
    pub jwt: String,
    pub connection: usize,
    /// When the request arrived, epoch seconds.
    pub received_at: u64,
}

/// How the fake answers a push instead of accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsFailure {
    /// `503 {"reason": "ServiceUnavailable"}`.
    Unavailable,
}

#[derive(Default)]
struct State {
    queued: Mutex<VecDeque<ApnsFailure>>,
    /// Device tokens answered `410 Unregistered`.
    dead: Mutex<HashSet<String>>,
    problems: Problems,
    inbox: Inbox<ApnsPush>,
}

pub struct ApnsFake {
    server: LoopbackServer,
    state: Arc<State>,
}

impl ApnsFake {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let server = serve(&state, State::answer).await;
        Self { server, state }
    }

    /// The push config's `endpoint`.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// A `kind = "apns"` push config at this fake, signing with the test `.p8`.
    pub fn push_config(&self, id: &str) -> PushConfig {
        PushConfig {
            id: id.into(),
            platform: Platform::Ios,
            kind: PushKind::Apns,
            endpoint: self.endpoint(),
            team_id: TEAM_ID.into(),
            key_id: KEY_ID.into(),
            key_file: testdata("apns_key.p8").display().to_string(),
            ..Default::default()
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn queue(&self, failure: ApnsFailure) {
        self.state.queued.lock().unwrap().push_back(failure);
    }

    /// Every push to `device_token` from now on gets `410 Unregistered`.
    pub fn unregister(&self, device_token: &str) {
        self.state
            .dead
            .lock()
            .unwrap()
            .insert(device_token.to_owned());
    }

    pub async fn next_push(&self) -> ApnsPush {
        self.state.inbox.expect("APNs", || self.report()).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// TCP connections the provider opened.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    pub fn problems(&self) -> Vec<String> {
        self.state.problems.list()
    }

    #[track_caller]
    pub fn assert_clean(&self) {
        self.state.problems.assert_none("APNs");
    }

    fn report(&self) -> String {
        self.state.problems.report(&self.requests())
    }
}

// === the provider's side ===

fn reason(status: u16, reason: &str) -> Reply {
    let mut body = json!({ "reason": reason });
    if status == 410 {
        body["timestamp"] = json!(unix_now() * 1000);
    }
    Reply::json(status, body).header("apns-id", &uuid_like())
}

fn uuid_like() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032X}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl State {
    fn answer(&self, r: &Recorded) -> Reply {
        match self.check(r) {
            Ok(push) => {
                if self.dead.lock().unwrap().contains(&push.device_token) {
                    return reason(410, "Unregistered");
                }
                if let Some(ApnsFailure::Unavailable) = self.queued.lock().unwrap().pop_front() {
                    return reason(503, "ServiceUnavailable");
                }
                self.inbox.put(push);
                Reply::status(200).header("apns-id", &uuid_like())
            }
            Err((status, why, detail)) => {
                self.problems.add(detail);
                reason(status, why)
            }
        }
    }

    /// Apple's checks, in the order Apple documents its reasons.
    fn check(&self, r: &Recorded) -> Result<ApnsPush, (u16, &'static str, String)> {
        if r.version != Version::HTTP_2 {
            return Err((
                400,
                "BadMethod",
                format!("{:?} request: APNs is HTTP/2 only", r.version),
            ));
        }
        if r.method != "POST" {
            return Err((405, "MethodNotAllowed", format!("method {}", r.method)));
        }
        let device_token = match r.path.strip_prefix("/3/device/") {
            Some(t) if !t.is_empty() && !t.contains('/') => t.to_owned(),
            _ => return Err((404, "BadPath", format!("path {}", r.path))),
        };
        let jwt = self.provider_token(r)?;
        let header = |name: &str| r.header(name).unwrap_or_default();
        match header("apns-topic") {
            "" => return Err((400, "MissingTopic", "no apns-topic".into())),
            BUNDLE_ID => {}
            other => return Err((400, "TopicDisallowed", format!("apns-topic `{other}`"))),
        }
        if header("apns-push-type") != "alert" {
            let why = format!("apns-push-type `{}`", header("apns-push-type"));
            return Err((400, "InvalidPushType", why));
        }
        let priority = header("apns-priority");
        if priority != "10" && priority != "5" {
            return Err((400, "BadPriority", format!("apns-priority `{priority}`")));
        }
        let now = unix_now();
        let expiration = header("apns-expiration").parse::<u64>().map_err(|_| {
            let why = format!("apns-expiration `{}`", header("apns-expiration"));
            (400, "BadExpirationDate", why)
        })?;
        // 0 means "deliver once or drop"; otherwise a moment in the near future.
        if expiration != 0 && (expiration + 1 < now || expiration > now + 86_400) {
            let why = format!("apns-expiration {expiration}, now {now}");
            return Err((400, "BadExpirationDate", why));
        }
        if r.body.len() > 4096 {
            return Err((413, "PayloadTooLarge", format!("{} bytes", r.body.len())));
        }
        let payload = r
            .try_json()
            .ok_or((400, "BadPayload", "payload is not JSON".to_owned()))?;
        let parsed = parse_payload(&payload).map_err(|why| (400, "BadPayload", why))?;
        Ok(ApnsPush {
            device_token,
            transaction_id: parsed.0,
            profile_id: parsed.1,
            alert: parsed.2,
            badge: parsed.3,
            payload,
            expiration,
            priority: priority.to_owned(),
            jwt,
            connection: r.connection,
            received_at: now,
        })
    }

    /// `authorization: bearer <ES256 JWT>` with `kid` = key id, `iss` = team id, a recent `iat`.
    fn provider_token(&self, r: &Recorded) -> Result<String, (u16, &'static str, String)> {
        let refuse = |why: String| (403, "InvalidProviderToken", why);
        let value = r.header("authorization").unwrap_or_default();
        let (scheme, jwt) = value
            .split_once(' ')
            .ok_or_else(|| refuse(format!("authorization `{value}`")))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refuse(format!("authorization scheme `{scheme}`")));
        }
        let head = jsonwebtoken::decode_header(jwt).map_err(|e| refuse(format!("JWT: {e}")))?;
        if head.alg != Algorithm::ES256 || head.kid.as_deref() != Some(KEY_ID) {
            return Err(refuse(format!("JWT header {head:?}")));
        }
        let pem = std::fs::read(testdata("apns_key.pub.pem")).expect("read the test EC key");
        let key = DecodingKey::from_ec_pem(&pem).expect("the test EC public key");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_required_spec_claims(&["iss"]);
        validation.validate_exp = false;
        validation.set_issuer(&[TEAM_ID]);
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .map_err(|e| refuse(format!("JWT does not verify: {e}")))?
            .claims;
        // Apple refuses tokens issued more than an hour ago (ExpiredProviderToken).
        let iat = claims["iat"].as_u64().unwrap_or(0);
        if iat + 3600 < unix_now() || iat > unix_now() + 60 {
            return Err((403, "ExpiredProviderToken", format!("JWT iat {iat}")));
        }
        Ok(jwt.to_owned())
    }
}

type Parsed = (String, String, String, Option<u64>);

/// `{"aps": {"alert": <message>, "badge"?: n}, "og_transaction_id", "og_profile_id"}`.
fn parse_payload(v: &Value) -> Result<Parsed, String> {
    let obj = v.as_object().ok_or("payload is not an object")?;
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["aps", "og_profile_id", "og_transaction_id"] {
        return Err(format!("payload keys {keys:?}"));
    }
    let aps = obj["aps"].as_object().ok_or("`aps` is not an object")?;
    if let Some(k) = aps.keys().find(|k| *k != "alert" && *k != "badge") {
        return Err(format!("unexpected aps.{k}"));
    }
    let alert = aps
        .get("alert")
        .and_then(Value::as_str)
        .ok_or("aps.alert is not a string")?;
    let badge = match aps.get("badge") {
        None => None,
        Some(b) => Some(b.as_u64().ok_or(format!("aps.badge {b}"))?),
    };
    let text = |k: &str| {
        obj[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("`{k}` is not a string"))
    };
    Ok((
        text("og_transaction_id")?,
        text("og_profile_id")?,
        alert.to_owned(),
        badge,
    ))
}
