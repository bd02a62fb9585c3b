//! Per-call cost of the pure transaction core, release build: `cargo bench -p tessera-engine
//! --bench machine`. Code generation (`Draw::random`), the start rules (`start::prepare`) and
//! one state machine step per input that matters on the hot path: start, verify (right and
//! wrong code), resend, expiry. Each step runs on a fresh clone of a prepared transaction; the
//! clone alone is timed too, so it can be subtracted. Plain std timing in batches (no bench
//! framework): sizes, not a regression gate.

use tessera_config::{Config, DEFAULT_CONFIG, MobileAuthType};
use tessera_engine::model::{Millis, Transaction};
use tessera_engine::txn::code_key::CodeKey;
use tessera_engine::txn::machine::{Input, TimerKind, step};
use tessera_engine::txn::start::{Draw, Settings, prepare};
use tessera_engine::{StartRequest, model::TxnId};

mod timing;
use timing::time;

const USER: &str = "alice@example.com";

const NOW: Millis = 1_767_225_600_000;

fn request(type_name: &str) -> StartRequest {
    StartRequest {
        type_name: type_name.into(),
        user_id: Some(USER.into()),
        phone_number: Some("+31612345678".into()),
        language_code: Some("en".into()),
        client_id: "portal".into(),
        ..StartRequest::default()
    }
}

fn prepared(
    cfg: &Config,
    ty: &MobileAuthType,
    req: &StartRequest,
    key: &CodeKey,
) -> (Transaction, String) {
    let settings = Settings {
        general: &cfg.general,
        ty,
        fallback: None,
        callbacks: &cfg.callback_configs,
        code_key: key,
        sms_policy: &cfg.sms_policy,
    };
    let draw = Draw::random(&mut rand::rng());
    let p = prepare(req, settings, &[], &draw, NOW).expect("a valid SMS start");
    (p.txn, p.sms_code.unwrap_or_default())
}

/// The string payloads a transaction owns (lengths, not allocator overhead).
fn heap_bytes(t: &Transaction) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let code = t.code.as_ref().map_or(0, |c| {
        c.phone_number.len() + c.code_hmac.len() + c.template.len() + opt(&c.sender_id)
    });
    t.type_name.len()
        + t.client_id.len()
        + opt(&t.user_id)
        + opt(&t.callback_uri)
        + t.language.len()
        + t.message.len()
        + [
            t.secure_message(),
            t.signing_data(),
            t.ip_address(),
            t.user_agent(),
        ]
        .into_iter()
        .map(|s| s.map_or(0, str::len))
        .sum::<usize>()
        + opt(&t.otp_sha256)
        + code
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = tessera_config::load_str(DEFAULT_CONFIG, &|_| None)?;
    let mut sms = cfg
        .mobile_auth_type("sms")
        .ok_or("the default config has an sms type")?
        .clone();
    sms.max_resends = 3;
    let req = request("sms");
    let key = CodeKey::from_config("");
    let settings = Settings {
        general: &cfg.general,
        ty: &sms,
        fallback: None,
        callbacks: &cfg.callback_configs,
        code_key: &key,
        sms_policy: &cfg.sms_policy,
    };

    let mut rng = rand::rng();
    time("Draw::random", 1_000, 2_000, || Draw::random(&mut rng));
    time("TxnId::random", 1_000, 2_000, TxnId::random);
    let draw = Draw::random(&mut rand::rng());
    time("start::prepare (sms)", 1_000, 2_000, || {
        prepare(&req, settings, &[], &draw, NOW)
    });

    let (fresh, clear) = prepared(&cfg, &sms, &req, &key);
    let mut started = fresh.clone();
    step(&mut started, Input::Start { fell_back: false }, NOW);
    // The machine compares MACs; the actor computes the portal's (timed separately below).
    let code = key.mac(started.id, &clear);
    let wrong_code = if clear == "000000" {
        "111111"
    } else {
        "000000"
    };
    let wrong = key.mac(started.id, wrong_code);
    let wrong = wrong.as_str();
    time("CodeKey::mac", 1_000, 2_000, || key.mac(started.id, &clear));

    println!(
        "Transaction (sms, pending): {} bytes inline + {} bytes in its strings",
        std::mem::size_of::<Transaction>(),
        heap_bytes(&started)
    );
    time("Transaction::clone", 1_000, 2_000, || started.clone());
    time("step Start", 1_000, 2_000, || {
        let mut t = fresh.clone();
        step(&mut t, Input::Start { fell_back: false }, NOW)
    });
    time("step VerifyCode (right)", 1_000, 2_000, || {
        let mut t = started.clone();
        step(
            &mut t,
            Input::VerifyCode {
                user_id: USER,
                code_hmac: &code,
            },
            NOW + 1_000,
        )
    });
    time("step VerifyCode (wrong)", 1_000, 2_000, || {
        let mut t = started.clone();
        step(
            &mut t,
            Input::VerifyCode {
                user_id: USER,
                code_hmac: wrong,
            },
            NOW + 1_000,
        )
    });
    time("step Resend", 1_000, 2_000, || {
        let mut t = started.clone();
        step(
            &mut t,
            Input::Resend {
                user_id: Some(USER),
                in_flight: false,
                fresh_code_hmac: None,
            },
            NOW + 60_000,
        )
    });
    let deadline = started.deadline;
    time("step Timer(Expiry) at deadline", 1_000, 2_000, || {
        let mut t = started.clone();
        step(&mut t, Input::Timer(TimerKind::Expiry), deadline)
    });
    Ok(())
}
