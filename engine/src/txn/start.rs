//! Turning a portal's start request into a transaction record: request rules, method choice
//! (with fallback at start), messages, codes. Pure; the random parts come in as a [`Draw`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use tessera_config::{CallbackConfig, General, MobileAuthType, SmsPolicy};

use super::code_key::CodeKey;
use crate::error::{Error, Result};
use crate::model::{
    CodeState, FallbackPlan, Method, Millis, PushState, PushTarget, RequestContext, Status,
    Transaction, TxnId,
};
use crate::outbound::user_agent::MAX_USER_AGENT_LEN;

/// Longest `secure_message` / `signing_data` accepted (they travel inside the encrypted document).
pub const MAX_SECURE_TEXT: usize = 4096;

/// What a portal sends to `POST /authenticate/user`, already parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartRequest {
    pub type_name: String,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub callback_uri: Option<String>,
    pub message: Option<String>,
    pub secure_message: Option<String>,
    pub signing_data: Option<String>,
    pub phone_number: Option<String>,
    pub language_code: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// The API client that asked.
    pub client_id: String,
}

/// The random inputs of a start, drawn from a CSPRNG by the caller.
#[derive(Debug, Clone)]
pub struct Draw {
    pub id: TxnId,
    /// Enough digits for the longest code (10); each type takes the prefix it needs.
    pub digits: [u8; 10],
    pub fallback_digits: [u8; 10],
    pub otp_secret: [u8; 32],
    pub number_choices: [u8; 3],
}

impl Draw {
    pub fn random(rng: &mut impl Rng) -> Self {
        Self::random_for(TxnId::random(), rng)
    }

    /// The codes of a start whose id is already drawn (one of the shard serving it).
    pub fn random_for(id: TxnId, rng: &mut impl Rng) -> Self {
        let digits = random_digits(rng);
        let fallback_digits = random_digits(rng);
        let mut otp_secret = [0u8; 32];
        rng.fill(&mut otp_secret);
        let mut pool: Vec<u8> = (10..100).collect();
        pool.shuffle(rng);
        Self {
            id,
            digits,
            fallback_digits,
            otp_secret,
            number_choices: [pool[0], pool[1], pool[2]],
        }
    }
}

/// The configuration a start reads.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub general: &'a General,
    pub ty: &'a MobileAuthType,
    pub fallback: Option<&'a MobileAuthType>,
    pub callbacks: &'a [CallbackConfig],
    /// The key SMS codes are stored under (only their MAC is kept).
    pub code_key: &'a CodeKey,
    /// Where SMS may go (`[sms_policy]`).
    pub sms_policy: &'a SmsPolicy,
}

/// The record to drive, plus what only the start response carries.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub txn: Transaction,
    /// OTP types: the opaque value the portal shows as a QR code.
    pub otp: Option<String>,
    /// The SMS code in clear (the method's, or the prepared fallback's), for the actor alone:
    /// the record keeps only its MAC.
    pub sms_code: Option<String>,
    /// The requested method could not start: `txn` runs its fallback (seed).
    pub fell_back: bool,
}

/// Push devices the user could be reached on (empty until push enrollment exists for them).
pub fn prepare(
    req: &StartRequest,
    settings: Settings<'_>,
    push_devices: &[String],
    draw: &Draw,
    now: Millis,
) -> Result<Prepared> {
    let Settings {
        general,
        ty,
        fallback,
        callbacks,
        code_key,
        sms_policy,
    } = settings;
    if !general.mobile_authentication_enabled {
        return Err(Error::MobileAuthDisabled);
    }
    check_user(req, ty.method)?;
    check_callback(req.callback_uri.as_deref(), general, callbacks)?;
    for text in [&req.secure_message, &req.signing_data]
        .into_iter()
        .flatten()
    {
        if text.chars().count() > MAX_SECURE_TEXT {
            return Err(Error::InvalidParameter("secure_message"));
        }
    }
    check_requester(req)?;
    if req
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > general.max_message_length)
    {
        return Err(Error::MessageTooLong);
    }
    // The fallback's required fields must be present too, whether or not it is used; a number
    // the SMS policy refuses is refused here, before anything starts, even when the SMS is
    // only the fallback's.
    let sms_involved =
        ty.method == Method::Sms || fallback.is_some_and(|f| f.method == Method::Sms);
    if sms_involved {
        check_phone(req.phone_number.as_deref(), sms_policy)?;
    }

    let language = pick_language(req.language_code.as_deref(), general);
    let devices = targets(req, push_devices);
    let push_possible = general.push_authorization_enabled && !devices.is_empty();
    // Fallback at start (seed): the requested method cannot be initialised.
    let (ty_now, fell_back) = match ty.method {
        m if m.is_push() && !push_possible => match fallback {
            Some(f) => (f, true),
            None => return Err(Error::NoAuthPossibilities),
        },
        _ => (ty, false),
    };
    if ty_now.method == Method::Sms && !general.sms_authentication_enabled {
        return Err(Error::SmsDisabled);
    }

    let message = match &req.message {
        Some(m) => m.clone(),
        None => default_message(ty_now, &language).ok_or(Error::InvalidParameter("message"))?,
    };
    let mut txn = Transaction {
        id: draw.id,
        version: 0,
        type_name: ty.name.clone(),
        method: ty_now.method,
        client_id: req.client_id.clone(),
        user_id: req.user_id.clone(),
        callback_uri: req.callback_uri.clone(),
        language: language.clone(),
        message: message.clone(),
        context: RequestContext {
            secure_message: req.secure_message.clone(),
            signing_data: req.signing_data.clone(),
            ip_address: req.ip_address.clone(),
            user_agent: req.user_agent.clone(),
        }
        .boxed(),
        created_at: now,
        deadline: now + ty.time_to_live.as_millis() as u64,
        status: Status::Pending,
        reason: None,
        finished_at: None,
        used_authentication_attempts: 0,
        code: None,
        push: None,
        otp_sha256: None,
        otp_sealed: None,
        fallback: None,
        answer: None,
        node: None,
        callback_due: false,
    };
    let mut otp = None;
    let mut sms_code = None;
    let sms = SmsSettings {
        req,
        general,
        code_key,
        id: draw.id,
    };
    match ty_now.method {
        Method::Sms => {
            let (state, code) = sms.code_state(ty_now, &message, &draw.digits);
            txn.code = Some(state);
            sms_code = Some(code);
        }
        Method::Otp => {
            otp = Some(encode_otp(draw.id, &draw.otp_secret));
            txn.otp_sha256 = Some(hex::encode(Sha256::digest(draw.otp_secret)));
            txn.otp_sealed = Some(code_key.seal(draw.id, &draw.otp_secret));
            txn.push = Some(Box::new(push_state(ty_now, Vec::new(), draw)));
        }
        _ => {
            txn.push = Some(Box::new(push_state(ty_now, devices, draw)));
            if let Some((plan, code)) =
                in_transaction_fallback(&sms, ty, fallback, &language, draw, now)
            {
                txn.fallback = Some(Box::new(plan));
                sms_code = Some(code);
            }
        }
    }
    Ok(Prepared {
        txn,
        otp,
        sms_code,
        fell_back,
    })
}

/// The OTP of transaction `id`: base64url of `id ‖ secret`.
fn encode_otp(id: TxnId, secret: &[u8]) -> String {
    let mut raw = Vec::with_capacity(16 + secret.len());
    raw.extend_from_slice(id.0.as_bytes());
    raw.extend_from_slice(secret);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The OTP of a pending, unredeemed OTP transaction, unsealed from its record with the store's
/// `key` (so any node sharing the store can show it). `None` once it is redeemed or the
/// transaction finished (both clear the sealed copy), and when the seal does not open to the
/// secret whose hash the record holds (another key): compared in constant time.
pub fn unseal_otp(txn: &Transaction, key: &CodeKey) -> Option<String> {
    if txn.is_final() || txn.method != Method::Otp {
        return None;
    }
    let expected = txn.otp_sha256.as_deref()?;
    let secret = key.unseal(txn.id, txn.otp_sealed.as_deref()?)?;
    let hash = hex::encode(Sha256::digest(&secret));
    bool::from(hash.as_bytes().ct_eq(expected.as_bytes())).then(|| encode_otp(txn.id, &secret))
}

/// Splits an OTP into the transaction it names and the SHA-256 (hex) of its secret part.
pub fn parse_otp(otp: &str) -> Option<(TxnId, String)> {
    let raw = URL_SAFE_NO_PAD.decode(otp.as_bytes()).ok()?;
    if raw.len() != 48 {
        return None;
    }
    let id = uuid::Uuid::from_slice(&raw[..16]).ok()?;
    Some((TxnId(id), hex::encode(Sha256::digest(&raw[16..]))))
}

/// `{code}` marks where the code goes; a message without it sends the code alone (seed).
pub fn sms_text(message: &str, code: &str) -> String {
    if message.contains("{code}") {
        message.replace("{code}", code)
    } else {
        code.to_owned()
    }
}

/// `language_code` if a default/template exists for it at all, else `en`.
pub fn pick_language(requested: Option<&str>, general: &General) -> String {
    match requested {
        Some(l) if general.supported_locales.iter().any(|s| s == l) => l.to_owned(),
        _ => "en".to_owned(),
    }
}

/// The type's default message for `language`, falling back to English (seed).
pub fn default_message(ty: &MobileAuthType, language: &str) -> Option<String> {
    ty.default_messages
        .get(language)
        .or_else(|| ty.default_messages.get("en"))
        .cloned()
}

/// The requester context (API.md §6): `ip_address` an IPv4 or IPv6 address, `user_agent` at
/// most [`MAX_USER_AGENT_LEN`] characters without control characters. Both are logged with the
/// transaction's events and shown inside the app, so what cannot be either is refused here.
fn check_requester(req: &StartRequest) -> Result<()> {
    if req
        .ip_address
        .as_deref()
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
    {
        return Err(Error::InvalidParameter("ip_address"));
    }
    if req.user_agent.as_deref().is_some_and(|ua| {
        ua.chars().count() > MAX_USER_AGENT_LEN || ua.chars().any(char::is_control)
    }) {
        return Err(Error::InvalidParameter("user_agent"));
    }
    Ok(())
}

fn check_user(req: &StartRequest, method: Method) -> Result<()> {
    match (method, &req.user_id) {
        (Method::Otp, Some(_)) => Err(Error::InvalidParameter("user_id")),
        (Method::Otp, None) => Ok(()),
        (_, None) => Err(Error::InvalidParameter("user_id")),
        (_, Some(u)) if !valid_user_id(u) => Err(Error::UnknownType),
        _ => Ok(()),
    }
}

/// 1–255 printable characters.
pub fn valid_user_id(u: &str) -> bool {
    let n = u.chars().count();
    (1..=255).contains(&n) && !u.chars().any(char::is_control)
}

fn check_callback(
    uri: Option<&str>,
    general: &General,
    callbacks: &[CallbackConfig],
) -> Result<()> {
    let Some(uri) = uri else { return Ok(()) };
    let absolute = (uri.starts_with("https://") || uri.starts_with("http://"))
        && uri.len() <= 2048
        && !uri.chars().any(|c| c.is_control() || c == ' ');
    if !absolute {
        return Err(Error::InvalidParameter("callback_uri"));
    }
    if general.callback_allow_list_enabled && !callbacks.iter().any(|c| c.url == uri) {
        return Err(Error::CallbackNotAllowed);
    }
    Ok(())
}

/// E.164 (`+`, a non-zero digit, 7 to 14 more digits), and a destination `policy` allows
/// (`[sms_policy]`: `400 3001` naming the policy).
pub fn check_phone(phone: Option<&str>, policy: &SmsPolicy) -> Result<()> {
    let phone = phone.filter(|p| {
        let digits = p.strip_prefix('+').unwrap_or("");
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    });
    let phone = phone.ok_or(Error::InvalidPhoneNumber)?;
    policy.check(phone).map_err(Error::PhoneNotAllowed)
}

fn targets(req: &StartRequest, push_devices: &[String]) -> Vec<String> {
    match &req.device_id {
        Some(d) => push_devices.iter().filter(|x| *x == d).cloned().collect(),
        None => push_devices.to_vec(),
    }
}

/// A code of `len` digits (4..=10) from `digits` (drawn by the caller from a CSPRNG).
pub fn code_of(digits: &[u8; 10], len: u8) -> String {
    digits[..usize::from(len.clamp(4, 10))]
        .iter()
        .map(|d| char::from(b'0' + d % 10))
        .collect()
}

/// What an SMS code of this start is made from.
struct SmsSettings<'a> {
    req: &'a StartRequest,
    general: &'a General,
    code_key: &'a CodeKey,
    id: TxnId,
}

impl SmsSettings<'_> {
    /// The code's record (MAC only) and the code in clear.
    fn code_state(
        &self,
        ty: &MobileAuthType,
        message: &str,
        digits: &[u8; 10],
    ) -> (CodeState, String) {
        let code = code_of(digits, ty.code_length);
        let sender = [&ty.sender_id, &self.general.default_sender_id]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned();
        let state = CodeState {
            phone_number: self.req.phone_number.clone().unwrap_or_default(),
            code_hmac: self.code_key.mac(self.id, &code),
            code_length: ty.code_length.clamp(4, 10),
            template: message.to_owned(),
            sender_id: sender,
            max_attempts: ty.max_attempts,
            attempts_used: 0,
            max_resends: ty.max_resends,
            resends_used: 0,
            resend_cooldown_ms: ty.resend_cooldown.as_millis() as u64,
            last_sent_at: None,
        };
        (state, code)
    }
}

/// Ten decimal digits from `rng` (a CSPRNG): enough for the longest code.
pub fn random_digits(rng: &mut impl Rng) -> [u8; 10] {
    let mut digits = [0u8; 10];
    for d in &mut digits {
        *d = rng.random_range(0..10);
    }
    digits
}

fn push_state(ty: &MobileAuthType, devices: Vec<String>, draw: &Draw) -> PushState {
    PushState {
        targets: devices
            .into_iter()
            .map(|device_id| PushTarget {
                device_id,
                fetched: false,
                delivered: None,
            })
            .collect(),
        max_resends: ty.max_resends,
        resends_used: 0,
        resend_cooldown_ms: ty.resend_cooldown.as_millis() as u64,
        last_sent_at: None,
        number_challenge: ty.number_matching.then_some(draw.number_choices[0]),
        number_choices: if ty.number_matching {
            let mut c = draw.number_choices.to_vec();
            c.sort_unstable();
            c
        } else {
            Vec::new()
        },
        signing_required: ty.transaction_signing,
    }
}

/// Tessera's in-transaction fallback (`fallback_after`, delivery failure) runs only to SMS.
fn in_transaction_fallback(
    sms: &SmsSettings<'_>,
    ty: &MobileAuthType,
    fallback: Option<&MobileAuthType>,
    language: &str,
    draw: &Draw,
    now: Millis,
) -> Option<(FallbackPlan, String)> {
    let f = fallback.filter(|f| f.method == Method::Sms)?;
    if ty.fallback_after.is_none() && !ty.fallback_on_delivery_failure {
        return None;
    }
    let message = default_message(f, language).unwrap_or_else(|| "{code}".to_owned());
    let (code, clear) = sms.code_state(f, &message, &draw.fallback_digits);
    let plan = FallbackPlan {
        type_name: f.name.clone(),
        at: ty.fallback_after.map(|d| now + d.as_millis() as u64),
        on_delivery_failure: ty.fallback_on_delivery_failure,
        code,
    };
    Some((plan, clear))
}

#[cfg(test)]
mod tests;
