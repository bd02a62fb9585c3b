//! Builders for tests: transactions in a known state and small configs.

use std::time::Duration;

use tessera_config::{General, Method, MobileAuthType, RateLimits};

use crate::model::{
    CodeState, FallbackPlan, Millis, PushState, PushTarget, Status, Transaction, TxnId,
};

pub const T0: Millis = 1_700_000_000_000;
pub const TTL: u64 = 300_000;

pub fn txn(method: Method) -> Transaction {
    Transaction {
        id: TxnId::random(),
        version: 0,
        type_name: method.as_str().to_owned(),
        method,
        client_id: "portal".into(),
        user_id: Some("alice".into()),
        callback_uri: Some("https://portal.example/cb".into()),
        language: "en".into(),
        message: "Your code is {code}".into(),
        context: None,
        created_at: T0,
        deadline: T0 + TTL,
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
    }
}

pub fn code(code: &str, max_attempts: u32, max_resends: u32, cooldown_ms: u64) -> CodeState {
    CodeState {
        phone_number: "+31612345678".into(),
        // The machine only compares MACs: tests use the code itself as its "MAC".
        code_hmac: code.into(),
        code_length: 6,
        template: "Your code is {code}".into(),
        sender_id: None,
        max_attempts,
        attempts_used: 0,
        max_resends,
        resends_used: 0,
        resend_cooldown_ms: cooldown_ms,
        last_sent_at: None,
    }
}

pub fn sms_txn(max_attempts: u32, max_resends: u32, cooldown_ms: u64) -> Transaction {
    let mut t = txn(Method::Sms);
    t.code = Some(code("123456", max_attempts, max_resends, cooldown_ms));
    t
}

pub fn push_txn(method: Method, devices: &[&str]) -> Transaction {
    let mut t = txn(method);
    t.push = Some(Box::new(PushState {
        targets: devices
            .iter()
            .map(|d| PushTarget {
                device_id: (*d).to_owned(),
                fetched: false,
                delivered: None,
            })
            .collect(),
        ..Default::default()
    }));
    t
}

pub fn with_fallback(mut t: Transaction, after_ms: Option<u64>, on_failure: bool) -> Transaction {
    t.fallback = Some(Box::new(FallbackPlan {
        type_name: "sms".into(),
        at: after_ms.map(|a| T0 + a),
        on_delivery_failure: on_failure,
        code: code("654321", 3, 0, 0),
    }));
    t
}

/// A portal's start of type `sms` for alice.
pub fn sms_request() -> crate::StartRequest {
    crate::StartRequest {
        type_name: "sms".into(),
        user_id: Some("alice".into()),
        phone_number: Some("+31612345678".into()),
        client_id: "portal".into(),
        ..Default::default()
    }
}

pub fn sms_type(name: &str) -> MobileAuthType {
    MobileAuthType {
        name: name.into(),
        method: Method::Sms,
        default_messages: [
            ("en".to_owned(), "Your code is {code}".to_owned()),
            ("nl".to_owned(), "Je code is {code}".to_owned()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

pub fn push_type(name: &str, method: Method, fallback: &str) -> MobileAuthType {
    MobileAuthType {
        name: name.into(),
        method,
        fallback: fallback.into(),
        time_to_live: Duration::from_secs(120),
        default_messages: [("en".to_owned(), "Log in?".to_owned())]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// `[rate_limits]` with every limit off and no fraud mute, for tests that drive more traffic
/// from one user or to one number than CONFIG.md's defaults allow.
pub fn no_limits() -> RateLimits {
    RateLimits::off()
}

pub fn general() -> General {
    General {
        supported_locales: vec!["en".into(), "nl".into()],
        ..Default::default()
    }
}

/// An SMS gateway that keeps every code it is handed, by transaction: the store holds only the
/// codes' MACs, so tests read the code the way a user would — from the message.
pub struct Outbox;

static SENT: std::sync::LazyLock<parking_lot::Mutex<std::collections::HashMap<TxnId, String>>> =
    std::sync::LazyLock::new(Default::default);

#[async_trait::async_trait]
impl crate::outbound::SmsGateway for Outbox {
    fn name(&self) -> &str {
        "outbox"
    }

    async fn send(&self, msg: &crate::outbound::SmsMessage) -> Result<(), String> {
        SENT.lock().insert(msg.transaction_id, msg.code.clone());
        Ok(())
    }
}

/// [`Outbox`] as the only SMS gateway.
pub fn outbox() -> Option<Vec<std::sync::Arc<dyn crate::outbound::SmsGateway>>> {
    Some(vec![std::sync::Arc::new(Outbox)])
}

/// The last code texted for `id` (ids are random, so tests running in parallel never collide).
pub fn sent_code(id: TxnId) -> String {
    SENT.lock()
        .get(&id)
        .cloned()
        .unwrap_or_else(|| panic!("no SMS was sent for {id}"))
}

/// Whether any SMS was texted for `id`.
pub fn was_sent(id: TxnId) -> bool {
    SENT.lock().contains_key(&id)
}
