//! Test builders: a config with known API clients and types, an in-place engine, and a small
//! request builder that drives [`Api::handle`] in memory.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tessera_config::Config;
use tessera_engine::crypto::{DeviceKeyPair, PublicKey};
pub(crate) use tessera_engine::test_util::outbox;
use tessera_engine::test_util::sent_code;
use tessera_engine::{Engine, EngineOptions};
use tessera_testkit::conf::{
    AppVersion, Application, Method as ConfigMethod, MobileAuthType, Platform, RateLimits, Scope,
    VersionStatus, api_client, application, array, auth_type, from_network, log_push,
    no_rate_limits, table, version,
};

use crate::routes::{Api, service};

/// `portal` may start transactions and read events; `rival` is another portal (ownership
/// tests); `helpdesk` only manages users; `office` is limited to 10.0.0.0/8. Types: `sms`
/// (three attempts, two resends 30 s apart), `sms_free` (three resends, no cool-down), `push`
/// (falling back to `sms`) and `otp`.
fn base() -> String {
    use Scope::{EndUser, Events, MobileAuthentication};
    let clients = [
        api_client(
            "portal",
            "portal-secret-0123456789abcdef",
            &[MobileAuthentication, Events],
        ),
        api_client("helpdesk", "helpdesk-secret-0123456789abcdef", &[EndUser]),
        api_client(
            "rival",
            "rival-secret-0123456789abcdef",
            &[MobileAuthentication],
        ),
        from_network(
            api_client(
                "office",
                "office-secret-0123456789abcdef",
                &[MobileAuthentication],
            ),
            "10.0.0.0/8",
        ),
    ];
    let types = [
        MobileAuthType {
            max_attempts: 3,
            max_resends: 2,
            resend_cooldown: Duration::from_secs(30),
            ..auth_type("sms", ConfigMethod::Sms, "Your code is {code}")
        },
        MobileAuthType {
            max_resends: 3,
            ..auth_type("sms_free", ConfigMethod::Sms, "Code {code}")
        },
        MobileAuthType {
            fallback: "sms".into(),
            ..auth_type("push", ConfigMethod::Push, "Log in?")
        },
        auth_type("otp", ConfigMethod::Otp, "Scan the code"),
    ];
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{}{}",
        array("api_clients", &clients),
        array("mobile_auth_types", &types)
    )
}

pub(crate) const PHONE: &str = "+31612345678";

/// Extra sections for device tests: application `acme` (PIN, fingerprint, custom `face`; Android
/// and iOS 1.0 enabled, Android 0.9 disabled), `plain` (no authenticators at all), both pushing
/// through log providers; and push types without fallback: `push_pin` (PIN), `push_plain`,
/// `push_number` (number matching), `push_signed` (transaction signing).
pub(crate) fn devices() -> String {
    let acme = Application {
        fingerprint_enabled: true,
        custom_authenticators: vec!["face".into()],
        max_pin_attempts: 3,
        ..application(
            "acme",
            "ACME Bank",
            vec![
                version(Platform::Android, "1.0", "log-android"),
                version(Platform::Ios, "1.0", "log-ios"),
                AppVersion {
                    status: VersionStatus::Disabled,
                    ..version(Platform::Android, "0.9", "log-android")
                },
            ],
        )
    };
    let plain = Application {
        pin_enabled: false,
        ..application(
            "plain",
            "Plain",
            vec![version(Platform::Android, "1.0", "log-android")],
        )
    };
    let types = [
        auth_type(
            "push_pin",
            ConfigMethod::PushWithPin,
            "Log in with your PIN?",
        ),
        auth_type("push_plain", ConfigMethod::Push, "Log in?"),
        MobileAuthType {
            number_matching: true,
            ..auth_type("push_number", ConfigMethod::Push, "Pick the number")
        },
        MobileAuthType {
            transaction_signing: true,
            ..auth_type("push_signed", ConfigMethod::Push, "Sign this")
        },
    ];
    let push = [
        log_push("log-android", Platform::Android),
        log_push("log-ios", Platform::Ios),
    ];
    [
        array("applications", &[acme, plain]),
        array("push_configs", &push),
        array("mobile_auth_types", &types),
    ]
    .concat()
}

/// [`base`] followed by `extra` TOML (extra sections only; keys of `[general]` go in `general`),
/// every rate limit off: the tests' requests all come from one address, one client and one
/// phone number ([`limited`] for tests of the limits).
pub(crate) fn config(general: &str, extra: &str) -> Config {
    limited(general, extra, &no_rate_limits())
}

/// [`config`] with `limits` as its `[rate_limits]`.
pub(crate) fn limited(general: &str, extra: &str, limits: &RateLimits) -> Config {
    let toml = format!(
        "[general]\n{general}\n{}\n{extra}{}",
        base(),
        table("rate_limits", limits)
    );
    match tessera_config::load_str(&toml, &|_| None) {
        Ok(c) => c,
        Err(e) => panic!("test config does not load: {e}"),
    }
}

/// An in-place engine (inside the current actix system) and the API over it.
pub(crate) fn api_with(config: Config) -> (Api, Engine) {
    let engine = Engine::launch_with_sms(
        config,
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        Vec::new(),
        outbox(),
    )
    .expect("engine launches");
    (service(engine.clone(), None), engine)
}

pub(crate) fn api() -> (Api, Engine) {
    api_with(config("", ""))
}

/// The API with [`devices`]; `general` as in [`config`].
pub(crate) fn device_api(general: &str) -> (Api, Engine) {
    api_with(config(general, &devices()))
}

/// The SMS code last texted for transaction `id`.
pub(crate) async fn sms_code(_engine: &Engine, id: &str) -> String {
    sent_code(id.parse().expect("transaction id"))
}

/// A request to send through [`Api::handle`].
pub(crate) struct Call {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
    peer: SocketAddr,
}

/// An answer, body kept raw and as JSON when it is JSON.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    pub(crate) fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        }
    }

    pub(crate) fn get(uri: impl Into<String>) -> Self {
        Self::new(Method::GET, uri)
    }

    pub(crate) fn post(uri: impl Into<String>) -> Self {
        Self::new(Method::POST, uri)
    }

    pub(crate) fn basic(mut self, id: &str, secret: &str) -> Self {
        let token = STANDARD.encode(format!("{id}:{secret}"));
        self.headers
            .insert(AUTHORIZATION, format!("Basic {token}").parse().unwrap());
        self
    }

    pub(crate) fn put(uri: impl Into<String>) -> Self {
        Self::new(Method::PUT, uri)
    }

    pub(crate) fn delete(uri: impl Into<String>) -> Self {
        Self::new(Method::DELETE, uri)
    }

    /// Authenticated as the `portal` client.
    pub(crate) fn portal(self) -> Self {
        self.basic("portal", "portal-secret-0123456789abcdef")
    }

    /// Authenticated as the `rival` client: a second portal.
    pub(crate) fn rival(self) -> Self {
        self.basic("rival", "rival-secret-0123456789abcdef")
    }

    /// Authenticated as the `helpdesk` client (scope `end_user`).
    pub(crate) fn helpdesk(self) -> Self {
        self.basic("helpdesk", "helpdesk-secret-0123456789abcdef")
    }

    /// Authenticated as an enrolled device.
    pub(crate) fn device(self, d: &TestDevice) -> Self {
        self.basic(&d.id, &d.secret)
    }

    pub(crate) fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        self.raw("application/x-www-form-urlencoded", body)
    }

    pub(crate) fn json(self, value: Value) -> Self {
        self.raw("application/json", value.to_string())
    }

    pub(crate) fn raw(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers
            .insert(CONTENT_TYPE, content_type.parse().unwrap());
        self.body = body.into();
        self
    }

    pub(crate) fn peer_ip(mut self, ip: &str) -> Self {
        self.peer = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 40000);
        self
    }

    pub(crate) async fn send(self, api: &Api) -> Answer {
        let mut req = Request::builder().method(self.method).uri(self.uri);
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        let req = req.body(Full::new(self.body)).unwrap();
        let resp = api.handle(req, self.peer).await;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    /// `error_code` (or OAuth `error`, or a partial bulk delete's `code`).
    pub(crate) fn code(&self) -> String {
        let v = self.json();
        v.get("error_code")
            .or_else(|| v.get("error"))
            .or_else(|| v.get("code"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, with the body in the message.
    #[track_caller]
    pub(crate) fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }

    /// Asserts status and error code together, with the body in the message.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code().as_str()),
            (status, code),
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }
}

pub(crate) const V4: &str = "/oauth/api/v4/authenticate";

/// Starts an SMS transaction as `portal` for `user`; returns the transaction id.
pub(crate) async fn start_sms(api: &Api, type_name: &str, user: &str) -> String {
    let a = Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", type_name),
            ("user_id", user),
            ("phone_number", PHONE),
        ])
        .send(api)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.json()["transaction_id"].as_str().unwrap().to_owned()
}

pub(crate) const USERS: &str = "/oauth/api/v4/users";
pub(crate) const DEV: &str = "/device/v1";

/// A device enrolled through the in-memory API, with what the app would keep.
pub(crate) struct TestDevice {
    pub id: String,
    pub secret: String,
    pub keys: DeviceKeyPair,
    pub server: PublicKey,
}

/// A fresh enrollment code for `user`, issued by `helpdesk`.
pub(crate) async fn enrollment_code(api: &Api, user: &str) -> String {
    let a = Call::post(format!("{USERS}/{user}/enrollment-codes"))
        .helpdesk()
        .send(api)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    a.json()["enrollment_code"].as_str().unwrap().to_owned()
}

/// The enrollment body for `code` with a fresh key (returned too).
pub(crate) fn enrollment(code: &str, app: &str, platform: &str) -> (Value, DeviceKeyPair) {
    let keys = DeviceKeyPair::generate().expect("key generation");
    let body = json!({
        "enrollment_code": code,
        "app_id": app,
        "app_version": "1.0",
        "platform": platform,
        "device_name": "Test phone",
        "model": "Pixel 9",
        "os_version": "15",
        "public_key": keys.public_armored(),
    });
    (body, keys)
}

/// Enrolls a device of application `app` for `user`.
pub(crate) async fn enroll(api: &Api, user: &str, app: &str) -> TestDevice {
    let code = enrollment_code(api, user).await;
    let (body, keys) = enrollment(&code, app, "android");
    let a = Call::post(format!("{DEV}/enrollments"))
        .json(body)
        .send(api)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let v = a.json();
    TestDevice {
        id: v["device_id"].as_str().unwrap().to_owned(),
        secret: v["device_secret"].as_str().unwrap().to_owned(),
        keys,
        server: PublicKey::parse(v["server_public_key"].as_str().unwrap()).expect("server key"),
    }
}

/// `PUT /push-enrollment`; returns the answer.
pub(crate) async fn push_enroll(api: &Api, d: &TestDevice, token: &str) -> Answer {
    Call::put(format!("{DEV}/push-enrollment"))
        .device(d)
        .json(json!({ "push_token": token }))
        .send(api)
        .await
}

/// A device of `acme` for `user`, push-enrolled with a PIN; returns it and its PIN token.
pub(crate) async fn ready_device(api: &Api, user: &str) -> (TestDevice, String) {
    let d = enroll(api, user, "acme").await;
    let a = push_enroll(api, &d, &format!("push-{}", &d.id[..16])).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{:?}", a.body);
    let a = Call::put(format!("{DEV}/authenticators/pin"))
        .device(&d)
        .send(api)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    let pin = a.json()["pin_token"].as_str().unwrap().to_owned();
    (d, pin)
}
