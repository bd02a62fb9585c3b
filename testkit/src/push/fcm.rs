//! Firebase Cloud Messaging HTTP v1 and Google's OAuth token endpoint, on one loopback server:
//!
//! - `POST /token`: the JWT-bearer grant. The RS256 assertion is verified with the public half of
//!   the service account's key (`fcm_key.pub.pem`), its `iss`, `aud`, `scope` and lifetime
//!   checked; the answer is `{"access_token", "expires_in": 3600, "token_type": "Bearer"}`.
//! - `POST /v1/projects/{project_id}/messages:send`: checks `Authorization: Bearer <issued
//!   token>` and the message shape `{"message": {"token", "data": {"content"}, "android"}}`,
//!   then answers what the test scripted (Google's error bodies) or `200 {"name"}` and hands the
//!   accepted message to the test.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_config::{Platform, PushConfig, PushKind};

use super::{Inbox, Problems, serve, unix_now};
use crate::http::{LoopbackServer, Recorded, Reply};
use crate::testdata;

pub const PROJECT_ID: &str = "acme-push";
pub const CLIENT_EMAIL: &str = "tessera@acme-push.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_PATH: &str = "/token";

/// One message FCM accepted, as the phone's FCM SDK would hand it to the app.
#[derive(Debug, Clone)]
pub struct FcmPush {
    /// The registration token it was addressed to.
    pub token: String,
    pub transaction_id: String,
    pub profile_id: String,
    pub message: String,
    /// `message.android`.
    pub android: Value,
}

/// How the fake answers a send instead of accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FcmFailure {
    /// `404 NOT_FOUND` with `errorCode: UNREGISTERED`: the token is gone.
    Unregistered,
    /// `503 UNAVAILABLE`, with `Retry-After: n` seconds when given.
    Unavailable { retry_after: Option<u64> },
}

#[derive(Default)]
struct State {
    /// The URL the service-account file names as `token_uri` (the assertion's `aud`).
    token_uri: Mutex<String>,
    issued: Mutex<Vec<String>>,
    /// Issued tokens FCM no longer takes (`401 UNAUTHENTICATED`, as for a revoked key).
    revoked: Mutex<HashSet<String>>,
    /// Answers for the next sends, whatever their token.
    queued: Mutex<VecDeque<FcmFailure>>,
    /// Tokens answered `UNREGISTERED`, every time.
    dead: Mutex<HashSet<String>>,
    problems: Problems,
    inbox: Inbox<FcmPush>,
}

pub struct FcmFake {
    server: LoopbackServer,
    state: Arc<State>,
}

impl FcmFake {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let server = serve(&state, State::answer).await;
        *state.token_uri.lock().unwrap() = format!("{}{TOKEN_PATH}", server.base_url());
        Self { server, state }
    }

    /// The push config's `endpoint`.
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// A `kind = "fcm_v1"` push config at this fake, with the service-account file at `account`.
    pub fn push_config(&self, id: &str, account: &Path) -> PushConfig {
        PushConfig {
            id: id.into(),
            platform: Platform::Android,
            kind: PushKind::FcmV1,
            endpoint: self.endpoint(),
            service_account_file: account.display().to_string(),
            ..Default::default()
        }
    }

    pub fn send_path() -> String {
        format!("/v1/projects/{PROJECT_ID}/messages:send")
    }

    /// A Google service-account key file with the test RSA key and `token_uri` pointing here.
    pub fn service_account_json(&self) -> String {
        let private_key =
            std::fs::read_to_string(testdata("fcm_key.pem")).expect("read the test RSA key");
        json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": private_key,
            "client_email": CLIENT_EMAIL,
            "client_id": "123456789012345678901",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": *self.state.token_uri.lock().unwrap(),
        })
        .to_string()
    }

    /// Writes [`Self::service_account_json`] into `dir` as `service-account.json`.
    pub fn write_service_account(&self, dir: &Path) -> PathBuf {
        let path = dir.join("service-account.json");
        std::fs::write(&path, self.service_account_json()).expect("write the service account");
        path
    }

    /// The next send (any token) gets `failure` instead of being accepted.
    pub fn queue(&self, failure: FcmFailure) {
        self.state.queued.lock().unwrap().push_back(failure);
    }

    /// Every token issued so far is refused from now on (`401`), as when the key was revoked.
    pub fn revoke_tokens(&self) {
        let issued = self.state.issued.lock().unwrap().clone();
        self.state.revoked.lock().unwrap().extend(issued);
    }

    /// Every send to `token` from now on gets `UNREGISTERED`.
    pub fn unregister(&self, token: &str) {
        self.state.dead.lock().unwrap().insert(token.to_owned());
    }

    /// The next accepted push, waiting up to the suite's deadline.
    pub async fn next_push(&self) -> FcmPush {
        self.state.inbox.expect("FCM", || self.report()).await
    }

    /// A push accepted but not taken yet, if any.
    pub async fn unread_push(&self) -> Option<FcmPush> {
        self.state.inbox.try_next().await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.with_path(TOKEN_PATH)
    }

    pub fn sends(&self) -> Vec<Recorded> {
        self.with_path(&Self::send_path())
    }

    fn with_path(&self, path: &str) -> Vec<Recorded> {
        let requests = self.requests();
        requests.into_iter().filter(|r| r.path == path).collect()
    }

    /// Contract violations seen so far.
    pub fn problems(&self) -> Vec<String> {
        self.state.problems.list()
    }

    /// Panics with every violation, if there was any.
    #[track_caller]
    pub fn assert_clean(&self) {
        self.state.problems.assert_none("FCM");
    }

    fn report(&self) -> String {
        self.state.problems.report(&self.requests())
    }
}

// === the provider's side ===

/// Google's error body: `{"error": {"code", "message", "status", "details"}}`.
fn google_error(code: u16, status: &str, message: &str, fcm_code: Option<&str>) -> Reply {
    let details: Vec<Value> = fcm_code
        .map(|c| {
            json!({
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": c,
            })
        })
        .into_iter()
        .collect();
    Reply::json(
        code,
        json!({"error": {"code": code, "message": message, "status": status, "details": details}}),
    )
}

impl State {
    fn answer(&self, r: &Recorded) -> Reply {
        if r.method == "POST" && r.path == TOKEN_PATH {
            return self.token(r);
        }
        if r.method == "POST" && r.path == FcmFake::send_path() {
            return self.send(r);
        }
        self.problems
            .add(format!("unexpected request {} {}", r.method, r.uri));
        google_error(404, "NOT_FOUND", "Requested entity was not found.", None)
    }

    fn token(&self, r: &Recorded) -> Reply {
        let refuse = |why: String| {
            self.problems.add(format!("token request: {why}"));
            Reply::json(
                400,
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            )
        };
        let form = r.header("content-type").unwrap_or_default();
        if !form.starts_with("application/x-www-form-urlencoded") {
            return refuse(format!("content type `{form}`"));
        }
        if r.form_field("grant_type").as_deref() != Some(GRANT_TYPE) {
            return refuse(format!("grant_type {:?}", r.form_field("grant_type")));
        }
        let Some(assertion) = r.form_field("assertion") else {
            return refuse("no assertion".into());
        };
        let token_uri = self.token_uri.lock().unwrap().clone();
        if let Err(why) = check_assertion(&assertion, &token_uri) {
            return refuse(why);
        }
        let mut issued = self.issued.lock().unwrap();
        let token = format!("ya29.fake-access-token-{}", issued.len() + 1);
        issued.push(token.clone());
        Reply::json(
            200,
            json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}),
        )
    }

    fn send(&self, r: &Recorded) -> Reply {
        let bearer = r.header("authorization").unwrap_or_default();
        let unauthenticated = || {
            google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                None,
            )
        };
        let revoked = self
            .revoked
            .lock()
            .unwrap()
            .iter()
            .any(|t| bearer == format!("Bearer {t}"));
        if revoked {
            return unauthenticated();
        }
        let known = self
            .issued
            .lock()
            .unwrap()
            .iter()
            .any(|t| bearer == format!("Bearer {t}"));
        if !known {
            self.problems
                .add(format!("send with Authorization `{bearer}`"));
            return unauthenticated();
        }
        let push = match parse_message(r) {
            Ok(push) => push,
            Err(why) => {
                self.problems.add(format!("send: {why}"));
                return google_error(400, "INVALID_ARGUMENT", &why, Some("INVALID_ARGUMENT"));
            }
        };
        let unregistered = || {
            google_error(
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                Some("UNREGISTERED"),
            )
        };
        if self.dead.lock().unwrap().contains(&push.token) {
            return unregistered();
        }
        match self.queued.lock().unwrap().pop_front() {
            Some(FcmFailure::Unregistered) => return unregistered(),
            Some(FcmFailure::Unavailable { retry_after }) => {
                let answer = google_error(
                    503,
                    "UNAVAILABLE",
                    "The service is currently unavailable.",
                    Some("UNAVAILABLE"),
                );
                return match retry_after {
                    Some(s) => answer.header("retry-after", &s.to_string()),
                    None => answer,
                };
            }
            None => {}
        }
        let name = format!("projects/{PROJECT_ID}/messages/0:{}", rand::random::<u64>());
        self.inbox.put(push);
        Reply::json(200, json!({ "name": name }))
    }
}

/// The RS256 assertion of the JWT-bearer grant, as Google checks it.
fn check_assertion(assertion: &str, token_uri: &str) -> Result<(), String> {
    let pem = std::fs::read(testdata("fcm_key.pub.pem")).expect("read the test RSA public key");
    let key = DecodingKey::from_rsa_pem(&pem).expect("the test RSA public key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_uri]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "iat"]);
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map_err(|e| format!("assertion does not verify: {e}"))?
        .claims;
    if claims["scope"] != SCOPE {
        return Err(format!("assertion scope {}", claims["scope"]));
    }
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap_or(0),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if iat.abs_diff(unix_now()) > 60 {
        return Err(format!("assertion iat {iat}, now {}", unix_now()));
    }
    // Google refuses assertions valid for longer than an hour.
    if exp <= iat || exp - iat > 3600 {
        return Err(format!("assertion lifetime {iat}..{exp}"));
    }
    Ok(())
}

/// `{"message": {"token", "data": {"content": "<og_* JSON>"}, "android": {"priority", "ttl"}}}`.
fn parse_message(r: &Recorded) -> Result<FcmPush, String> {
    let ct = r.header("content-type").unwrap_or_default();
    if !ct.starts_with("application/json") {
        return Err(format!("content type `{ct}`"));
    }
    let body = r.try_json().ok_or("body is not JSON")?;
    let message = body["message"].as_object().ok_or("no `message` object")?;
    let mut keys: Vec<&str> = message.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["android", "data", "token"] {
        return Err(format!("message keys {keys:?}"));
    }
    let token = message["token"].as_str().ok_or("`token` is not a string")?;
    let data = message["data"]
        .as_object()
        .ok_or("`data` is not an object")?;
    if data.len() != 1 || !data.contains_key("content") {
        return Err(format!("data keys {:?}", data.keys().collect::<Vec<_>>()));
    }
    // FCM data values are strings; the app parses `content` itself.
    let content = data["content"]
        .as_str()
        .ok_or("`content` is not a string")?;
    let og: Value =
        serde_json::from_str(content).map_err(|e| format!("content is not JSON ({e})"))?;
    let og = og.as_object().ok_or("content is not an object")?;
    let mut og_keys: Vec<&str> = og.keys().map(String::as_str).collect();
    og_keys.sort_unstable();
    if og_keys != ["og_message", "og_profile_id", "og_transaction_id"] {
        return Err(format!("content keys {og_keys:?}"));
    }
    let text = |k: &str| {
        og[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("`{k}` is not a string"))
    };
    let android = &message["android"];
    if android["priority"] != "high" {
        return Err(format!("android.priority {}", android["priority"]));
    }
    let ttl = android["ttl"].as_str().unwrap_or_default();
    let secs = ttl.strip_suffix('s').and_then(|s| s.parse::<u64>().ok());
    if secs.is_none() {
        return Err(format!("android.ttl `{ttl}` is not a duration in seconds"));
    }
    Ok(FcmPush {
        token: token.to_owned(),
        transaction_id: text("og_transaction_id")?,
        profile_id: text("og_profile_id")?,
        message: text("og_message")?,
        android: android.clone(),
    })
}
