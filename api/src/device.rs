//! Device API handlers (API.md §4), under `/device/v1`: what the app calls. Every call but the
//! enrollment itself authenticates with HTTP Basic `device_id:device_secret` first; bodies are
//! JSON, except the answer, which is an armored OpenPGP message. Refusals are the engine's
//! [`DeviceError`]s, mapped in `error.rs`.

use http::StatusCode;
use tessera_engine::enroll::authenticators::TokenKind;
use tessera_engine::model::{Platform, TxnId};
use tessera_engine::{DeviceError, EnrollRequest, RegistrationProof};

use crate::body::{self, decode_in, segment_in};
use crate::context::Cx;
use crate::error::{ApiError, Codes};
use crate::reply::{self, Reply};
use crate::wire::{
    AnswerOutcome, AnswerResult, AuthenticatorProof, CustomToken, Enrollment, EnrollmentParams,
    FingerprintToken, OtpParams, PGP_ENCRYPTED, PendingTransaction, PendingTransactions, PinToken,
    PushEnrollmentParams,
};

/// `POST /enrollments` → `201`: redeems an enrollment code for device credentials. The only call
/// without device credentials: the code is what proves the user.
pub(crate) async fn enroll(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let p: EnrollmentParams = decode_in(&cx.json()?, Codes::Named)?;
    let platform = match p
        .platform
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("android") => Platform::Android,
        Some("ios") => Platform::Ios,
        _ => return Err(DeviceError::InvalidRequest("platform").into()),
    };
    let req = EnrollRequest {
        enrollment_code: required(p.enrollment_code, "enrollment_code")?,
        app_id: required(p.app_id, "app_id")?,
        app_version: required(p.app_version, "app_version")?,
        platform,
        device_name: required(p.device_name, "device_name")?,
        model: p.model,
        os_version: p.os_version,
        public_key: required(p.public_key, "public_key")?,
    };
    let enrolled = cx.engine().enroll(req).await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &Enrollment {
            device_id: enrolled.device_id,
            device_secret: enrolled.device_secret,
            profile_id: enrolled.profile_id,
            server_public_key: enrolled.server_public_key,
        },
    ))
}

/// `PUT /push-enrollment` → `204`, under the configured push enrollment mode.
pub(crate) async fn push_enroll(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let p: PushEnrollmentParams = decode_in(&cx.json()?, Codes::Named)?;
    let token = required(p.push_token, "push_token")?;
    cx.engine().push_enroll(&device, &token).await?;
    Ok(reply::no_content())
}

/// `DELETE /push-enrollment` → `204`.
pub(crate) async fn push_unenroll(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    cx.json()?;
    cx.engine().push_unenroll(&device).await?;
    Ok(reply::no_content())
}

/// `PUT /authenticators/{pin | fingerprint | custom/{id}}` → `201` with the new token; the server
/// keeps only its hash. The JSON body carries the proof replacing needs (`{"pin_token"}`, or
/// where PIN is disabled the replaced authenticator's own token); a first PIN needs none.
pub(crate) async fn register(
    cx: &Cx<'_>,
    kind: &str,
    custom: Option<&str>,
) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let p: AuthenticatorProof = decode_in(&cx.json()?, Codes::Named)?;
    let proof = RegistrationProof {
        pin_token: p.pin_token,
        fingerprint_token: p.fingerprint_token,
        custom_token: p.custom_token,
    };
    let kind = match (kind, custom) {
        ("pin", None) => TokenKind::Pin,
        ("fingerprint", None) => TokenKind::Fingerprint,
        (_, Some(id)) => TokenKind::Custom(segment_in(id, Codes::Named)?),
        _ => return Err(ApiError::not_found()),
    };
    let token = cx
        .engine()
        .register_authenticator(&device, kind.clone(), &proof)
        .await?;
    let created = StatusCode::CREATED;
    Ok(match kind {
        TokenKind::Pin => reply::json(created, &PinToken { pin_token: token }),
        TokenKind::Fingerprint => reply::json(
            created,
            &FingerprintToken {
                fingerprint_token: token,
            },
        ),
        TokenKind::Custom(_) => reply::json(
            created,
            &CustomToken {
                custom_token: token,
            },
        ),
    })
}

/// `GET /transactions/pending` → `200`: push transactions for this device, not yet fetched.
pub(crate) async fn pending(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let transactions = cx
        .engine()
        .pending_for_device(&device)
        .await?
        .into_iter()
        .map(|p| PendingTransaction {
            transaction_id: p.transaction_id.to_string(),
            type_name: p.type_name,
            message: p.message,
            timestamp: p.timestamp,
            time_to_live: p.time_to_live,
        })
        .collect();
    Ok(reply::ok(&PendingTransactions { transactions }))
}

/// `GET /transactions/{id}` → `200` the armored document, encrypted to the device and signed by
/// the server; once per device.
pub(crate) async fn fetch(cx: &Cx<'_>, id: &str) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let id = txn_id(id)?;
    let armored = cx.engine().fetch(&device, id).await?;
    Ok(reply::text(PGP_ENCRYPTED, armored))
}

/// `POST /transactions/{id}/answer` with an armored OpenPGP body (`application/pgp-encrypted`,
/// or `text/plain` as some HTTP stacks send text) → `200 {"result"}`.
pub(crate) async fn answer(cx: &Cx<'_>, id: &str) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let id = txn_id(id)?;
    match body::content_type(&cx.headers).as_deref() {
        Some(t) if t == PGP_ENCRYPTED || t == "text/plain" => {}
        _ => {
            return Err(ApiError::unsupported_media_type(
                Codes::Named,
                "unsupported content type: use application/pgp-encrypted",
            ));
        }
    }
    let raw = cx
        .raw
        .as_ref()
        .map_err(|e| e.clone().answer(Codes::Named))?;
    // Armor is ASCII: anything else cannot be an answer.
    let armored = std::str::from_utf8(raw).map_err(|_| DeviceError::InvalidMessage)?;
    if armored.trim().is_empty() {
        return Err(DeviceError::InvalidMessage.into());
    }
    let accepted = cx.engine().answer(&device, id, armored).await?;
    let result = if accepted {
        AnswerOutcome::Accepted
    } else {
        AnswerOutcome::Rejected
    };
    Ok(reply::ok(&AnswerResult { result }))
}

/// `POST /otp` `{"otp"}` → `200` the transaction document, now bound to this device's user.
pub(crate) async fn redeem_otp(cx: &Cx<'_>) -> Result<Reply, ApiError> {
    let device = cx.device().await?;
    let p: OtpParams = decode_in(&cx.json()?, Codes::Named)?;
    let otp = required(p.otp, "otp")?;
    let armored = cx.engine().redeem_otp(&device, &otp).await?;
    Ok(reply::text(PGP_ENCRYPTED, armored))
}

fn required(value: Option<String>, name: &'static str) -> Result<String, ApiError> {
    value.ok_or_else(|| DeviceError::InvalidRequest(name).into())
}

/// Malformed ids are answered like unknown ones: `404 invalid_transaction`.
fn txn_id(raw: &str) -> Result<TxnId, ApiError> {
    raw.parse()
        .map_err(|_| DeviceError::InvalidTransaction.into())
}
