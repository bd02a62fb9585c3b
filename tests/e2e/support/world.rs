//! The rest of a push-provider test: config sections for the fakes, and a [`World`] holding the
//! binary with the portal, the help desk and the phones that talk to it.
//!
//! Application `acme` (PIN on) has its versions pushed through the fakes; push type `push_pin`
//! (`push_with_pin`) may carry extra keys such as a fallback to the SMS type `sms`, which the
//! console gateway prints (`SMS to ...` on stdout).

use std::path::Path;
use std::time::Duration;

use tessera_api::device_client::{EnrollParams, Platform};
use tessera_api::wire::{AnswerOutcome, StartParams, StartResponse, TransactionResult};
use tessera_api::{ClientError, DeviceClient, ManagementClient, PortalClient};
use tessera_testkit::conf::{
    ApnsEnvironment, AppVersion, Method, MobileAuthType, Platform as AppPlatform, array,
};
use tessera_testkit::push::apns::{ApnsFake, BUNDLE_ID};
use tessera_testkit::push::fcm::FcmFake;

use crate::support::binary::{self, TempDir, Tessera};
use crate::support::conf::{self, CLIENT_ID, CLIENT_SECRET};
use crate::support::portal::PHONE;
use crate::support::{DEADLINE, eventually};

pub const APP_ID: &str = "acme";
pub const PIN: &str = "1234";
/// The default message of [`push_pin_type`]: the alert text of every push.
pub const PUSH_MESSAGE: &str = "Log in to ACME?";

/// `[[push_configs]] kind = "fcm_v1"` at the fake, with the service-account file at `account`.
pub fn fcm_config(id: &str, fcm: &FcmFake, account: &Path) -> String {
    array("push_configs", &[fcm.push_config(id, account)])
}

/// `[[push_configs]] kind = "apns"` at the fake, signing with the test `.p8`.
pub fn apns_config(id: &str, apns: &ApnsFake) -> String {
    array("push_configs", &[apns.push_config(id)])
}

/// An Android version of `acme`.
pub fn android_version(version: &str, push_config: &str) -> AppVersion {
    tessera_testkit::conf::version(AppPlatform::Android, version, push_config)
}

/// An iOS version of `acme` (development APNs, bundle id [`BUNDLE_ID`]).
pub fn ios_version(version: &str, push_config: &str, badge: bool) -> AppVersion {
    AppVersion {
        apns_environment: ApnsEnvironment::Development,
        bundle_id: BUNDLE_ID.into(),
        send_badge_number: badge,
        ..tessera_testkit::conf::version(AppPlatform::Ios, version, push_config)
    }
}

/// Application `acme` with these versions.
pub fn application(versions: &[AppVersion]) -> String {
    let acme = tessera_testkit::conf::application(APP_ID, "ACME Bank", versions.to_vec());
    array("applications", &[acme])
}

/// Push type `name` (`push_with_pin`) with [`PUSH_MESSAGE`].
pub fn push_pin(name: &str) -> MobileAuthType {
    tessera_testkit::conf::auth_type(name, Method::PushWithPin, PUSH_MESSAGE)
}

/// The push type `push`, and the SMS type `sms` a fallback can name, rendered.
pub fn push_pin_type(push: MobileAuthType) -> String {
    conf::types(&[push, conf::sms("sms")])
}

/// The binary and its clients, all on the harness's proxy-free `reqwest` client.
pub struct World {
    pub tessera: Tessera,
    pub portal: PortalClient,
    pub helpdesk: ManagementClient,
}

impl World {
    /// `tessera serve` on the suite's header plus `sections`, with `env` set for the process.
    /// `dir` receives the config; it already holds the files the config names, and lives as
    /// long as the process.
    pub async fn start(dir: TempDir, sections: &str, env: &[(&str, String)]) -> Self {
        let config = dir.write("tessera.toml", &conf::with(sections));
        let mut cmd = binary::command();
        cmd.arg("serve").arg("--config").arg(&config);
        for (key, value) in env {
            cmd.env(key, value);
        }
        let tessera = Tessera::spawn(cmd, dir).await;
        let http = tessera.http.clone();
        Self {
            portal: PortalClient::with_http(http.clone(), &tessera.base, CLIENT_ID, CLIENT_SECRET),
            helpdesk: ManagementClient::with_http(http, &tessera.base, CLIENT_ID, CLIENT_SECRET),
            tessera,
        }
    }

    /// A phone of `acme` for `user`: enrolled with a code from the help desk, push-enrolled with
    /// `push_token`, PIN [`PIN`] registered.
    pub async fn phone(
        &self,
        user: &str,
        platform: Platform,
        version: &str,
        push_token: &str,
    ) -> DeviceClient {
        let code = self
            .helpdesk
            .enrollment_code(user)
            .await
            .unwrap_or_else(|e| panic!("enrollment code for {user}: {e}"));
        let name = format!("{user}'s phone");
        let params = EnrollParams::new(code.enrollment_code, APP_ID, version, platform, name);
        let mut phone =
            DeviceClient::enroll_with(self.tessera.http.clone(), &self.tessera.base, &params)
                .await
                .unwrap_or_else(|e| panic!("enroll {user}: {e}\n{}", self.tessera.logs()));
        phone
            .push_enroll(push_token)
            .await
            .expect("push enrollment");
        phone.register_pin(PIN).await.expect("PIN registration");
        phone
    }

    /// Starts `type_name` for `user`, with a phone number for an SMS fallback.
    pub async fn try_start(
        &self,
        type_name: &str,
        user: &str,
    ) -> Result<StartResponse, ClientError> {
        let params = StartParams {
            user_id: Some(user.into()),
            phone_number: Some(PHONE.into()),
            ..StartParams::new(type_name)
        };
        self.portal.start(&params).await
    }

    pub async fn start_push(&self, type_name: &str, user: &str) -> StartResponse {
        self.try_start(type_name, user).await.unwrap_or_else(|e| {
            panic!("start {type_name} for {user}: {e}\n{}", self.tessera.logs())
        })
    }

    /// What the app does with a push for `transaction_id`: fetch the document, check it is that
    /// PIN transaction, and accept with the PIN.
    pub async fn accept_with_pin(&self, phone: &DeviceClient, transaction_id: &str) {
        let doc = phone
            .fetch(transaction_id)
            .await
            .unwrap_or_else(|e| panic!("fetch {transaction_id}: {e}"));
        assert_eq!(doc.transaction_id, transaction_id);
        assert_eq!(doc.method, "push_with_pin");
        assert_eq!(doc.message, PUSH_MESSAGE);
        let outcome = phone
            .answer_with_pin(transaction_id, PIN, true)
            .await
            .unwrap_or_else(|e| panic!("answer {transaction_id}: {e}"));
        assert_eq!(outcome, AnswerOutcome::Accepted);
    }

    /// The result once it is no longer pending (long-polling), within the suite's deadline.
    pub async fn final_result(&self, transaction_id: &str) -> TransactionResult {
        eventually(DEADLINE, "a final result", || async {
            let r = self
                .portal
                .result(transaction_id, Some(Duration::from_secs(2)))
                .await
                .expect("result");
            (r.status != "pending").then_some(r)
        })
        .await
    }

    /// The verification code of the SMS the console gateway printed for [`PHONE`], the
    /// `skip`-th and later stdout lines only.
    pub async fn console_sms_code(&self, skip: usize) -> String {
        let line = self
            .tessera
            .stdout_line(&format!("SMS to {PHONE} "), skip)
            .await;
        crate::support::code_in(&line).unwrap_or_else(|| panic!("no code in `{line}`"))
    }
}
