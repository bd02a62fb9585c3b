//! [`DeviceClient`]: the app's side of the device API (API.md §4) — enrollment with a fresh
//! OpenPGP key pair, push enrollment, authenticators, and the encrypted transaction round trip.
//! Tests, the load harness and integrators use it to act as the phone.
//!
//! Authenticator tokens are kept as the app would: the PIN token only encrypted under the PIN
//! (see `pin.rs` for why the cipher is deliberately unauthenticated), fingerprint and custom
//! tokens as a platform keystore holds them behind the biometric or custom flow — here, in memory.

mod pin;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use tessera_engine::crypto::{self, DeviceKeyPair, PublicKey};
use tessera_engine::{AnswerBody, Document};

pub use tessera_config::Platform;

use self::pin::SealedToken;
use crate::client::{ClientError, empty_answer, encode, http_client, json_answer, text_answer};
use crate::wire::{
    AnswerOutcome, AnswerResult, AuthenticatorProof, CustomToken, Enrollment, EnrollmentParams,
    FingerprintToken, OtpParams, PGP_ENCRYPTED, PendingTransaction, PendingTransactions, PinToken,
    PushEnrollmentParams,
};

const DEVICE: &str = "/device/v1";

/// What the app sends to enroll, besides the key it generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollParams {
    pub enrollment_code: String,
    pub app_id: String,
    pub app_version: String,
    pub platform: Platform,
    pub device_name: String,
    pub model: Option<String>,
    pub os_version: Option<String>,
}

impl EnrollParams {
    /// The required fields; set `model` and `os_version` with struct update syntax.
    pub fn new(
        enrollment_code: impl Into<String>,
        app_id: impl Into<String>,
        app_version: impl Into<String>,
        platform: Platform,
        device_name: impl Into<String>,
    ) -> Self {
        Self {
            enrollment_code: enrollment_code.into(),
            app_id: app_id.into(),
            app_version: app_version.into(),
            platform,
            device_name: device_name.into(),
            model: None,
            os_version: None,
        }
    }
}

/// One enrolled app installation: its key pair, credentials, the server's key and its tokens.
#[derive(Clone)]
pub struct DeviceClient {
    http: reqwest::Client,
    base: String,
    keys: DeviceKeyPair,
    device_id: String,
    device_secret: String,
    profile_id: String,
    server_key: PublicKey,
    pin: Option<SealedToken>,
    fingerprint_token: Option<String>,
    custom_tokens: BTreeMap<String, String>,
}

impl std::fmt::Debug for DeviceClient {
    // Never the secret, the key pair or the tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("base", &self.base)
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl DeviceClient {
    /// `POST /enrollments` with a freshly generated key pair. `base_url` like
    /// `http://127.0.0.1:8080`.
    pub async fn enroll(
        base_url: impl Into<String>,
        params: &EnrollParams,
    ) -> Result<Self, ClientError> {
        Self::enroll_with(http_client(), base_url, params).await
    }

    /// The same phone reaching the service at `base_url` from now on (behind a load balancer,
    /// another node of the same deployment).
    pub fn switch_to(&mut self, base_url: &str) {
        self.base = base_url.trim_end_matches('/').to_owned();
    }

    /// [`Self::enroll`] with a preconfigured `reqwest` client.
    pub async fn enroll_with(
        http: reqwest::Client,
        base_url: impl Into<String>,
        params: &EnrollParams,
    ) -> Result<Self, ClientError> {
        let base = base_url.into().trim_end_matches('/').to_owned();
        let keys = DeviceKeyPair::generate()?;
        let body = EnrollmentParams {
            enrollment_code: Some(params.enrollment_code.clone()),
            app_id: Some(params.app_id.clone()),
            app_version: Some(params.app_version.clone()),
            platform: Some(params.platform.as_str().to_owned()),
            device_name: Some(params.device_name.clone()),
            model: params.model.clone(),
            os_version: params.os_version.clone(),
            public_key: Some(keys.public_armored().to_owned()),
        };
        let req = http.post(format!("{base}{DEVICE}/enrollments")).json(&body);
        let enrolled: Enrollment = json_answer(req).await?;
        let server_key = PublicKey::parse(&enrolled.server_public_key)?;
        Ok(Self {
            http,
            base,
            keys,
            device_id: enrolled.device_id,
            device_secret: enrolled.device_secret,
            profile_id: enrolled.profile_id,
            server_key,
            pin: None,
            fingerprint_token: None,
            custom_tokens: BTreeMap::new(),
        })
    }

    /// `PUT /push-enrollment`.
    pub async fn push_enroll(&self, push_token: &str) -> Result<(), ClientError> {
        let params = PushEnrollmentParams {
            push_token: Some(push_token.to_owned()),
            old_push_token: None,
        };
        empty_answer(self.call(Method::PUT, "/push-enrollment").json(&params)).await
    }

    /// `DELETE /push-enrollment`.
    pub async fn push_unenroll(&self) -> Result<(), ClientError> {
        empty_answer(self.call(Method::DELETE, "/push-enrollment")).await
    }

    /// `PUT /authenticators/pin`: registers the device's first PIN (no proof needed while it
    /// has none) and keeps the token encrypted under it.
    pub async fn register_pin(&mut self, pin: &str) -> Result<(), ClientError> {
        let proof = AuthenticatorProof::default();
        self.put_pin(pin, &proof).await
    }

    /// `PUT /authenticators/pin` with the current PIN's token as proof: replaces the PIN.
    pub async fn change_pin(
        &mut self,
        current_pin: &str,
        new_pin: &str,
    ) -> Result<(), ClientError> {
        let proof = self.pin_proof(Some(current_pin));
        self.put_pin(new_pin, &proof).await
    }

    async fn put_pin(&mut self, pin: &str, proof: &AuthenticatorProof) -> Result<(), ClientError> {
        let answer: PinToken = self.put_json("/authenticators/pin", proof).await?;
        let raw = URL_SAFE_NO_PAD
            .decode(answer.pin_token.as_bytes())
            .map_err(|_| ClientError::Decode {
                status: 201,
                message: "pin_token is not base64url".into(),
            })?;
        self.pin = Some(SealedToken::seal(&raw, pin, &self.device_id));
        Ok(())
    }

    /// The proof body: the token `pin` decrypts, or none.
    fn pin_proof(&self, pin: Option<&str>) -> AuthenticatorProof {
        AuthenticatorProof {
            pin_token: pin.map(|p| self.pin_token(p)),
            ..AuthenticatorProof::default()
        }
    }

    /// The PIN token as `pin` decrypts it: the real one for the right PIN, a well-formed wrong
    /// one otherwise (also when no PIN was registered), which only the server can reject.
    pub fn pin_token(&self, pin: &str) -> String {
        let raw = match &self.pin {
            Some(sealed) => sealed.open(pin, &self.device_id),
            None => SealedToken::seal(&[0u8; 32], pin, &self.device_id).open("", ""),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// `PUT /authenticators/fingerprint`. With PIN enabled, `pin` is the PIN whose token proves
    /// the user; with PIN disabled pass `None`: a replacement then proves itself with the
    /// fingerprint token held from the previous registration.
    pub async fn register_fingerprint(&mut self, pin: Option<&str>) -> Result<(), ClientError> {
        let mut proof = self.pin_proof(pin);
        if pin.is_none() {
            proof.fingerprint_token = self.fingerprint_token.clone();
        }
        let answer: FingerprintToken = self.put_json("/authenticators/fingerprint", &proof).await?;
        self.fingerprint_token = Some(answer.fingerprint_token);
        Ok(())
    }

    /// `PUT /authenticators/custom/{authenticator_id}`; `pin` as for `register_fingerprint`.
    pub async fn register_custom(
        &mut self,
        authenticator_id: &str,
        pin: Option<&str>,
    ) -> Result<(), ClientError> {
        let path = format!("/authenticators/custom/{}", encode(authenticator_id));
        let mut proof = self.pin_proof(pin);
        if pin.is_none() {
            proof.custom_token = self.custom_tokens.get(authenticator_id).cloned();
        }
        let answer: CustomToken = self.put_json(&path, &proof).await?;
        self.custom_tokens
            .insert(authenticator_id.to_owned(), answer.custom_token);
        Ok(())
    }

    /// The fingerprint token, once registered (what the keystore releases after a match).
    pub fn fingerprint_token(&self) -> Option<&str> {
        self.fingerprint_token.as_deref()
    }

    /// The token of a registered custom authenticator.
    pub fn custom_token(&self, authenticator_id: &str) -> Option<&str> {
        self.custom_tokens.get(authenticator_id).map(String::as_str)
    }

    /// `GET /transactions/pending`.
    pub async fn pending(&self) -> Result<Vec<PendingTransaction>, ClientError> {
        let list: PendingTransactions =
            json_answer(self.call(Method::GET, "/transactions/pending")).await?;
        Ok(list.transactions)
    }

    /// `GET /transactions/{id}`: decrypts the document and checks the server's signature.
    pub async fn fetch(&self, transaction_id: &str) -> Result<Document, ClientError> {
        let path = format!("/transactions/{}", encode(transaction_id));
        let armored = text_answer(self.call(Method::GET, &path)).await?;
        self.open(&armored)
    }

    /// The answer as it goes on the wire: JSON, signed by the device key and encrypted to the
    /// server's (for tests that tamper with it).
    pub fn seal_answer(&self, answer: &AnswerBody) -> Result<String, ClientError> {
        let json = serde_json::to_vec(answer).map_err(|e| ClientError::Decode {
            status: 0,
            message: e.to_string(),
        })?;
        Ok(crypto::seal_for_server(
            &json,
            &self.server_key,
            &self.keys,
        )?)
    }

    /// `POST /transactions/{id}/answer`. The answer is bound to `transaction_id` (its
    /// `transaction_id` is filled in when unset), as the server requires.
    pub async fn answer(
        &self,
        transaction_id: &str,
        answer: &AnswerBody,
    ) -> Result<AnswerOutcome, ClientError> {
        let mut answer = answer.clone();
        answer
            .transaction_id
            .get_or_insert_with(|| transaction_id.to_owned());
        let armored = self.seal_answer(&answer)?;
        let path = format!("/transactions/{}/answer", encode(transaction_id));
        let req = self
            .call(Method::POST, &path)
            .header(CONTENT_TYPE, PGP_ENCRYPTED)
            .body(armored);
        let result: AnswerResult = json_answer(req).await?;
        Ok(result.result)
    }

    /// Accepts (with the token `pin` decrypts) or rejects a transaction.
    pub async fn answer_with_pin(
        &self,
        transaction_id: &str,
        pin: &str,
        accepted: bool,
    ) -> Result<AnswerOutcome, ClientError> {
        let answer = AnswerBody {
            transaction_id: Some(transaction_id.to_owned()),
            accepted,
            pin_token: accepted.then(|| self.pin_token(pin)),
            ..AnswerBody::default()
        };
        self.answer(transaction_id, &answer).await
    }

    /// `POST /otp`: redeems a scanned OTP; the answer is the transaction's document.
    pub async fn redeem_otp(&self, otp: &str) -> Result<Document, ClientError> {
        let params = OtpParams {
            otp: Some(otp.to_owned()),
        };
        let armored = text_answer(self.call(Method::POST, "/otp").json(&params)).await?;
        self.open(&armored)
    }

    /// A detached signature over `data` by the device key (transaction signing).
    pub fn sign(&self, data: &[u8]) -> Result<String, ClientError> {
        Ok(crypto::sign_detached(data, &self.keys)?)
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The secret shown once at enrollment (HTTP Basic password of every call).
    pub fn device_secret(&self) -> &str {
        &self.device_secret
    }

    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }

    /// The device's armored public key, as enrolled.
    pub fn public_key_armored(&self) -> &str {
        self.keys.public_armored()
    }

    /// The server's key this device talks to.
    pub fn server_public_key(&self) -> &PublicKey {
        &self.server_key
    }

    // === plumbing ===

    fn call(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{DEVICE}{path}", self.base))
            .basic_auth(&self.device_id, Some(&self.device_secret))
    }

    async fn put_json<T: DeserializeOwned>(
        &self,
        path: &str,
        proof: &AuthenticatorProof,
    ) -> Result<T, ClientError> {
        json_answer(self.call(Method::PUT, path).json(proof)).await
    }

    fn open(&self, armored: &str) -> Result<Document, ClientError> {
        let plain = crypto::open_from_server(armored, &self.keys, &self.server_key)?;
        serde_json::from_slice(&plain).map_err(|e| ClientError::Decode {
            status: 200,
            message: format!("transaction document: {e}"),
        })
    }
}
