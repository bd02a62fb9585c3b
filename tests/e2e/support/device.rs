//! The push family end to end (API.md §2–§4): a config with one application whose Android app
//! pushes through the `log` provider (one `PUSH to <device_id> via ...` stdout line per push), a
//! mobile auth type per push method, and phones played by [`DeviceClient`] with real OpenPGP.
//!
//! [`World`] is the binary plus the typed portal and management clients, all on the harness's
//! proxy-free `reqwest` client.

use std::fmt::Debug;
use std::time::Duration;

use tessera_api::device_client::Platform;
use tessera_api::wire::{StartParams, StartResponse, TransactionResult};
use tessera_api::{ClientError, DeviceClient, EnrollParams, ManagementClient, PortalClient};
use tessera_engine::AnswerBody;

use tessera_testkit::conf::{
    AppVersion, Application, Method, MobileAuthType, Platform as AppPlatform, VersionStatus, array,
    auth_type, log_push, version,
};

use super::binary::Tessera;
use super::conf::{self, CLIENT_ID, CLIENT_SECRET};
use super::portal::PHONE;
use super::{DEADLINE, eventually};

/// The PIN every [`World::phone`] registers.
pub const PIN: &str = "1234";
/// The custom authenticator the application allows.
pub const FACE: &str = "face";
/// The application every phone runs.
pub const APP_ID: &str = "acme";
pub const APP_NAME: &str = "ACME";
pub const APP_VERSION: &str = "1.0";

/// The application, its Android version 1.0 (0.9 is disabled) and the `log` push config.
pub fn application() -> String {
    let acme = Application {
        max_pin_attempts: 3,
        fingerprint_enabled: true,
        max_fingerprint_attempts: 2,
        custom_authenticators: vec![FACE.into()],
        max_custom_attempts: 2,
        ..tessera_testkit::conf::application(
            APP_ID,
            APP_NAME,
            vec![
                version(AppPlatform::Android, APP_VERSION, "log-android"),
                AppVersion {
                    status: VersionStatus::Disabled,
                    ..version(AppPlatform::Android, "0.9", "log-android")
                },
            ],
        )
    };
    [
        array("applications", &[acme]),
        array(
            "push_configs",
            &[log_push("log-android", AppPlatform::Android)],
        ),
    ]
    .concat()
}

/// One type per method, plus the variants some tests need: number matching, transaction
/// signing, an SMS fallback after two seconds, one push resend, a two-second time to live.
pub fn types() -> String {
    use Method::{Otp, Push, PushWithCustomAuthenticator, PushWithFingerprint, PushWithPin, Sms};
    let types = [
        auth_type("push", Push, "Log in to ACME?"),
        auth_type("push_pin", PushWithPin, "Log in to ACME with your PIN?"),
        auth_type(
            "push_fingerprint",
            PushWithFingerprint,
            "Log in to ACME with your fingerprint?",
        ),
        auth_type(
            "push_custom",
            PushWithCustomAuthenticator,
            "Log in to ACME with your face?",
        ),
        auth_type("otp", Otp, "Log in to ACME on this computer?"),
        auth_type("sms", Sms, "Your ACME code is {code}"),
        MobileAuthType {
            number_matching: true,
            ..auth_type("push_number", Push, "Pick the number shown on your screen")
        },
        MobileAuthType {
            transaction_signing: true,
            ..auth_type("push_signed", Push, "Sign this payment")
        },
        MobileAuthType {
            time_to_live: Duration::from_secs(60),
            fallback: "sms".into(),
            fallback_after: Some(Duration::from_secs(2)),
            ..auth_type("push_or_sms", PushWithPin, "Log in to ACME?")
        },
        MobileAuthType {
            max_resends: 1,
            ..auth_type("push_resend", Push, "Log in to ACME?")
        },
        MobileAuthType {
            time_to_live: Duration::from_secs(2),
            ..auth_type("push_short", PushWithPin, "Quick, log in to ACME?")
        },
    ];
    array("mobile_auth_types", &types)
}

/// The whole config: `general` lines in `[general]` (e.g. `push_enrollment_mode = "..."`), the
/// application and the types.
pub fn config(general: &str) -> String {
    conf::with(&format!(
        "[general]\n{general}\n{}{}",
        application(),
        types()
    ))
}

/// The running binary and the portal's and help desk's typed clients.
pub struct World {
    pub t: Tessera,
    pub portal: PortalClient,
    pub mgmt: ManagementClient,
}

impl World {
    /// Starts the binary on [`config`]`(general)`.
    pub async fn start(general: &str) -> Self {
        let t = Tessera::start(&config(general)).await;
        let portal = PortalClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
        let mgmt = ManagementClient::with_http(t.http.clone(), &t.base, CLIENT_ID, CLIENT_SECRET);
        Self { t, portal, mgmt }
    }

    /// A fresh enrollment code for `user`.
    pub async fn enrollment_code(&self, user: &str) -> String {
        self.mgmt
            .enrollment_code(user)
            .await
            .unwrap_or_else(|e| panic!("enrollment code for {user}: {e}\n{}", self.t.logs()))
            .enrollment_code
    }

    /// A phone of `user` named `name`, enrolled but not push-enrolled and without
    /// authenticators.
    pub async fn enroll(&self, user: &str, name: &str) -> DeviceClient {
        let code = self.enrollment_code(user).await;
        self.enroll_with_code(&code, name).await
    }

    /// Like [`Self::enroll`] with an enrollment code already issued.
    pub async fn enroll_with_code(&self, code: &str, name: &str) -> DeviceClient {
        let code = code.to_owned();
        let params = EnrollParams {
            model: Some("Pixel 8".into()),
            os_version: Some("14".into()),
            ..EnrollParams::new(code, APP_ID, APP_VERSION, Platform::Android, name)
        };
        DeviceClient::enroll_with(self.t.http.clone(), &self.t.base, &params)
            .await
            .unwrap_or_else(|e| panic!("enroll {name}: {e}\n{}", self.t.logs()))
    }

    /// A phone of `user` ready for every push method: enrolled, push-enrolled, with PIN
    /// [`PIN`], a fingerprint and the [`FACE`] custom authenticator.
    pub async fn phone(&self, user: &str, name: &str) -> DeviceClient {
        let mut phone = self.enroll(user, name).await;
        phone
            .push_enroll(&push_token(&phone))
            .await
            .unwrap_or_else(|e| panic!("push enrollment of {name}: {e}\n{}", self.t.logs()));
        phone.register_pin(PIN).await.expect("register the PIN");
        phone
            .register_fingerprint(Some(PIN))
            .await
            .expect("register a fingerprint");
        phone
            .register_custom(FACE, Some(PIN))
            .await
            .expect("register the face authenticator");
        phone
    }

    /// Starts `params`, asserting success.
    pub async fn start_with(&self, params: &StartParams) -> StartResponse {
        self.portal
            .start(params)
            .await
            .unwrap_or_else(|e| panic!("start {params:?}: {e}\n{}", self.t.logs()))
    }

    /// Starts a transaction of `type_name` for `user` with the default message.
    pub async fn start_push(&self, type_name: &str, user: &str) -> StartResponse {
        self.start_with(&StartParams {
            user_id: Some(user.into()),
            ..StartParams::new(type_name)
        })
        .await
    }

    /// Like [`Self::start_push`] with the phone number a type with an SMS fallback needs.
    pub async fn start_with_phone(&self, type_name: &str, user: &str) -> StartResponse {
        self.start_with(&StartParams {
            user_id: Some(user.into()),
            phone_number: Some(PHONE.into()),
            ..StartParams::new(type_name)
        })
        .await
    }

    /// The portal's result now.
    pub async fn result(&self, id: &str) -> TransactionResult {
        self.portal
            .result(id, None)
            .await
            .unwrap_or_else(|e| panic!("result of {id}: {e}"))
    }

    /// Long-polls the result until it is final; panics after [`DEADLINE`].
    pub async fn final_result(&self, id: &str) -> TransactionResult {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let r = self
                .portal
                .result(id, Some(Duration::from_secs(2)))
                .await
                .unwrap_or_else(|e| panic!("result of {id}: {e}"));
            if r.status != "pending" {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} still pending after {DEADLINE:?}\n{}",
                self.t.logs()
            );
        }
    }

    /// The `log` provider's lines for pushes to `device_id` so far.
    pub fn pushes_to(&self, device_id: &str) -> Vec<String> {
        let prefix = format!("PUSH to {device_id} via log-android (fcm): ");
        self.t
            .stdout
            .snapshot()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }

    /// Waits until at least `n` pushes to `device_id` were logged, returns them all.
    pub async fn wait_pushes(&self, device_id: &str, n: usize) -> Vec<String> {
        eventually(
            DEADLINE,
            &format!("{n} push(es) to {device_id}"),
            || async {
                let lines = self.pushes_to(device_id);
                (lines.len() >= n).then_some(lines)
            },
        )
        .await
    }
}

/// A push token unique to the phone (a token held by another device is refused).
pub fn push_token(phone: &DeviceClient) -> String {
    format!("fcm-token-{}", &phone.device_id()[..16])
}

/// An answer accepting with nothing else.
pub fn accept() -> AnswerBody {
    AnswerBody {
        accepted: true,
        ..AnswerBody::default()
    }
}

/// An answer rejecting with `reason` (`not_me`, `cancelled`, `fraud`).
pub fn reject(reason: &str) -> AnswerBody {
    AnswerBody {
        accepted: false,
        reject_reason: Some(reason.into()),
        ..AnswerBody::default()
    }
}

/// Asserts an error answer with this status and code; returns it.
#[track_caller]
pub fn expect_api_error<T: Debug>(
    result: Result<T, ClientError>,
    status: u16,
    code: &str,
) -> ClientError {
    match result {
        Ok(v) => panic!("expected {status} {code}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(
                (e.status(), e.code()),
                (Some(status), Some(code)),
                "unexpected error: {e}"
            );
            e
        }
    }
}

/// `remaining_attempts` of an `invalid_authenticator` error.
pub fn remaining_attempts(e: &ClientError) -> Option<u32> {
    match e {
        ClientError::Api {
            remaining_attempts, ..
        } => *remaining_attempts,
        _ => None,
    }
}

/// Asserts a final result: status, reason (`None` for accepted) and whether it authenticated.
#[track_caller]
pub fn assert_outcome(result: &TransactionResult, status: &str, reason: Option<&str>) {
    assert_eq!(result.status, status, "{result:?}");
    assert_eq!(result.is_authenticated, status == "accepted", "{result:?}");
    assert_eq!(
        result
            .not_authenticated_reason
            .as_ref()
            .map(|r| r.reason.as_str()),
        reason,
        "{result:?}"
    );
}
