//! The transaction state machine: `(transaction, input, now) -> (reply, effects)`.
//!
//! Pure: no I/O, no clock, no randomness (codes and number challenges are drawn at start, in
//! `start.rs`). Every rule of the seed lives here — TTL over all attempts, SMS attempts (0 =
//! unlimited) and resends of the same code (0 = disabled), resend cool-down, push resends,
//! authenticator outcomes, number matching, transaction signing, fan-out first-answer-wins,
//! in-transaction fallback, cancellation — and the first final state wins.

mod delivery;
mod fallback;
mod finish;
mod push;
mod sms;

pub use crate::model::TokenCheck;
use crate::model::{EventName, Millis, Reason, Status, Transaction};
pub use delivery::timers;
use delivery::{push_delivered, sms_delivered, start};
use fallback::fallback_due;
use finish::finish;
use push::{answer_push, device_removed, fetch, redeem_otp};
pub use push::{awaits_fetch, may_answer};
use sms::{rekey, resend, verify_code};

/// Which timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The time to live is over.
    Expiry,
    /// `fallback_after` elapsed without an answer.
    Fallback,
}

/// A transaction-signing signature the device layer verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    pub signature: String,
    pub user_public_key: String,
    pub verified: bool,
}

/// A device's decrypted, authenticated answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAnswer {
    pub device_id: String,
    pub accepted: bool,
    pub fraud: bool,
    pub token: TokenCheck,
    pub number: Option<u8>,
    pub signature: Option<SignatureCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// Just created: deliver and arm timers. `fell_back`: the start already replaced the
    /// requested method with its fallback (seed: the method could not be initialised).
    Start {
        fell_back: bool,
    },
    /// The portal's SMS code for `user_id`, as its MAC under the store's hash key
    /// (`txn::code_key`): the record holds only the MAC of the real one.
    VerifyCode {
        user_id: &'a str,
        code_hmac: &'a str,
    },
    /// `user_id`: SMS resends name the user, push resends do not. `in_flight`: the previous
    /// resend is still with the gateway. `fresh_code_hmac`: the driver no longer knows the SMS
    /// code in clear (its actor was rebuilt from the store), so an SMS resend sends a new code
    /// with this MAC instead.
    Resend {
        user_id: Option<&'a str>,
        in_flight: bool,
        fresh_code_hmac: Option<&'a str>,
    },
    /// The driver lost the clear SMS code (actor rebuilt) and drew a new one: it replaces a code
    /// that was never sent (the prepared fallback's, or one whose first send never left).
    Rekey {
        code_hmac: &'a str,
    },
    /// A gateway answered for the SMS sent at start, resend (`resend`) or fallback.
    SmsDelivered {
        ok: bool,
        resend: bool,
    },
    /// A push provider answered for one device.
    PushDelivered {
        device_id: &'a str,
        ok: bool,
    },
    Fetch {
        device_id: &'a str,
    },
    Answer(DeviceAnswer),
    /// The app redeemed the OTP: `secret_sha256` is the hash of the OTP's secret part.
    RedeemOtp {
        secret_sha256: &'a str,
        user_id: &'a str,
        device_id: &'a str,
    },
    DeviceRemoved {
        device_id: &'a str,
    },
    Cancel,
    Timer(TimerKind),
}

/// An [`Input`] that owns its data, kept by the driver while the step's write is on its way: a
/// write refused because another node changed the transaction first is fed again on the
/// stored state (`actor::persist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputBuf {
    Start {
        fell_back: bool,
    },
    VerifyCode {
        user_id: String,
        code_hmac: String,
    },
    Resend {
        user_id: Option<String>,
        in_flight: bool,
        fresh_code_hmac: Option<String>,
    },
    Rekey {
        code_hmac: String,
    },
    SmsDelivered {
        ok: bool,
        resend: bool,
    },
    PushDelivered {
        device_id: String,
        ok: bool,
    },
    Fetch {
        device_id: String,
    },
    Answer(DeviceAnswer),
    RedeemOtp {
        secret_sha256: String,
        user_id: String,
        device_id: String,
    },
    DeviceRemoved {
        device_id: String,
    },
    Cancel,
    Timer(TimerKind),
}

impl Input<'_> {
    pub fn to_buf(&self) -> InputBuf {
        match self {
            Input::Start { fell_back } => InputBuf::Start {
                fell_back: *fell_back,
            },
            Input::VerifyCode { user_id, code_hmac } => InputBuf::VerifyCode {
                user_id: (*user_id).to_owned(),
                code_hmac: (*code_hmac).to_owned(),
            },
            Input::Resend {
                user_id,
                in_flight,
                fresh_code_hmac,
            } => InputBuf::Resend {
                user_id: user_id.map(str::to_owned),
                in_flight: *in_flight,
                fresh_code_hmac: fresh_code_hmac.map(str::to_owned),
            },
            Input::Rekey { code_hmac } => InputBuf::Rekey {
                code_hmac: (*code_hmac).to_owned(),
            },
            Input::SmsDelivered { ok, resend } => InputBuf::SmsDelivered {
                ok: *ok,
                resend: *resend,
            },
            Input::PushDelivered { device_id, ok } => InputBuf::PushDelivered {
                device_id: (*device_id).to_owned(),
                ok: *ok,
            },
            Input::Fetch { device_id } => InputBuf::Fetch {
                device_id: (*device_id).to_owned(),
            },
            Input::Answer(answer) => InputBuf::Answer(answer.clone()),
            Input::RedeemOtp {
                secret_sha256,
                user_id,
                device_id,
            } => InputBuf::RedeemOtp {
                secret_sha256: (*secret_sha256).to_owned(),
                user_id: (*user_id).to_owned(),
                device_id: (*device_id).to_owned(),
            },
            Input::DeviceRemoved { device_id } => InputBuf::DeviceRemoved {
                device_id: (*device_id).to_owned(),
            },
            Input::Cancel => InputBuf::Cancel,
            Input::Timer(kind) => InputBuf::Timer(*kind),
        }
    }
}

impl InputBuf {
    pub fn input(&self) -> Input<'_> {
        match self {
            InputBuf::Start { fell_back } => Input::Start {
                fell_back: *fell_back,
            },
            InputBuf::VerifyCode { user_id, code_hmac } => Input::VerifyCode { user_id, code_hmac },
            InputBuf::Resend {
                user_id,
                in_flight,
                fresh_code_hmac,
            } => Input::Resend {
                user_id: user_id.as_deref(),
                in_flight: *in_flight,
                fresh_code_hmac: fresh_code_hmac.as_deref(),
            },
            InputBuf::Rekey { code_hmac } => Input::Rekey { code_hmac },
            InputBuf::SmsDelivered { ok, resend } => Input::SmsDelivered {
                ok: *ok,
                resend: *resend,
            },
            InputBuf::PushDelivered { device_id, ok } => {
                Input::PushDelivered { device_id, ok: *ok }
            }
            InputBuf::Fetch { device_id } => Input::Fetch { device_id },
            InputBuf::Answer(answer) => Input::Answer(answer.clone()),
            InputBuf::RedeemOtp {
                secret_sha256,
                user_id,
                device_id,
            } => Input::RedeemOtp {
                secret_sha256,
                user_id,
                device_id,
            },
            InputBuf::DeviceRemoved { device_id } => Input::DeviceRemoved { device_id },
            InputBuf::Cancel => Input::Cancel,
            InputBuf::Timer(kind) => Input::Timer(*kind),
        }
    }
}

/// What the machine asks its driver to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `txn.code` by SMS (`resend`: a resend of the same code).
    SendSms {
        resend: bool,
    },
    SendPush {
        device_ids: Vec<String>,
        resend: bool,
    },
    ArmTimer {
        kind: TimerKind,
        at: Millis,
    },
    CancelTimers,
    Persist,
    Emit(EventName),
    /// Notify the portal's callback (final states with a `callback_uri`).
    Callback,
    /// Release long-poll waiters.
    Wake,
    /// Drop the finished transaction from its devices' pending lists (and badges).
    Unindex,
    /// Count it in the metrics.
    Count(Metric),
}

/// What a step counts (see `telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Started,
    Finished,
    Fallback(FallbackTrigger),
}

/// Why a transaction fell back to another method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackTrigger {
    /// The requested method could not start (seed).
    Start,
    /// `fallback_after` elapsed unanswered.
    FallbackAfter,
    /// Every push delivery failed.
    DeliveryFailure,
}

impl FallbackTrigger {
    /// Its metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackTrigger::Start => "start",
            FallbackTrigger::FallbackAfter => "fallback_after",
            FallbackTrigger::DeliveryFailure => "delivery_failure",
        }
    }
}

/// The machine's answer to whoever sent the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Done,
    Accepted,
    Rejected,
    Refused(Refusal),
}

/// Why an input was not taken. The transaction is unchanged unless the refusal says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The transaction is final (first final state wins).
    Final(Status),
    /// The input does not apply to this method (an SMS code for a push, ...).
    WrongMethod,
    /// The portal named another user than the transaction's.
    WrongUser,
    /// Wrong SMS code; one attempt used (the transaction may have failed with it).
    WrongCode,
    ResendLimit,
    ResendTooSoon {
        retry_after_ms: u64,
    },
    /// The previous resend is still with the gateway: one resend at a time.
    ResendInFlight,
    UnknownDevice,
    AlreadyFetched,
    Expired,
    TokenRequired,
    InvalidAuthenticator {
        remaining_attempts: u32,
    },
    AuthenticatorRevoked,
    DeviceDisconnected,
    InvalidOtp,
    /// A delivery report arrived for a send nobody is waiting on.
    Ignored,
    /// The SMS of the start or of a resend never left (the driver's answer to its requester).
    SmsNotSent,
    /// The push start could not be delivered (the driver's answer to its requester).
    PushNotSent,
    /// The change was made but could not be stored (the driver's answer to its requester): it
    /// is not acknowledged, and the driver writes it again until the store takes it.
    NotStored,
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub reply: Reply,
    pub effects: Vec<Effect>,
}

impl Step {
    fn reply(reply: Reply) -> Self {
        Self {
            reply,
            effects: Vec::new(),
        }
    }

    fn refused(r: Refusal) -> Self {
        Self::reply(Reply::Refused(r))
    }
}

/// Feeds one input to the transaction.
pub fn step(txn: &mut Transaction, input: Input<'_>, now: Millis) -> Step {
    // The time to live covers every attempt: past the deadline, a pending transaction is
    // expired before anything else is considered, whether or not its timer has fired yet.
    let mut out = Step::reply(Reply::Done);
    let mut expiry_handled = false;
    if !txn.is_final() && now >= txn.deadline && !matches!(input, Input::Start { .. }) {
        out = finish(txn, Reason::Expired, now);
        expiry_handled = matches!(input, Input::Timer(TimerKind::Expiry));
    }
    if !expiry_handled {
        let next = dispatch(txn, input, now);
        out.reply = next.reply;
        out.effects.extend(next.effects);
    }
    if out.effects.contains(&Effect::Persist) {
        txn.version += 1;
        // Persist once, before the effects that tell the outside world about the change.
        out.effects.retain(|e| *e != Effect::Persist);
        out.effects.insert(0, Effect::Persist);
    }
    out
}

fn dispatch(txn: &mut Transaction, input: Input<'_>, now: Millis) -> Step {
    if txn.is_final() {
        return match input {
            // Late delivery reports and timers of a finished transaction change nothing.
            Input::SmsDelivered { .. } | Input::PushDelivered { .. } | Input::Timer(_) => {
                Step::refused(Refusal::Ignored)
            }
            Input::Fetch { .. } if txn.status == Status::Expired => Step::refused(Refusal::Expired),
            _ => Step::refused(Refusal::Final(txn.status)),
        };
    }
    match input {
        Input::Start { fell_back } => start(txn, fell_back),
        Input::VerifyCode { user_id, code_hmac } => verify_code(txn, user_id, code_hmac, now),
        Input::Resend {
            user_id,
            in_flight,
            fresh_code_hmac,
        } => resend(txn, user_id, in_flight, fresh_code_hmac, now),
        Input::Rekey { code_hmac } => rekey(txn, code_hmac),
        Input::SmsDelivered { ok, resend } => sms_delivered(txn, ok, resend, now),
        Input::PushDelivered { device_id, ok } => push_delivered(txn, device_id, ok, now),
        Input::Fetch { device_id } => fetch(txn, device_id),
        Input::Answer(answer) => answer_push(txn, answer, now),
        Input::RedeemOtp {
            secret_sha256,
            user_id,
            device_id,
        } => redeem_otp(txn, secret_sha256, user_id, device_id),
        Input::DeviceRemoved { device_id } => device_removed(txn, device_id, now),
        Input::Cancel => finish(txn, Reason::Cancelled, now),
        Input::Timer(TimerKind::Expiry) => {
            // Fired early (clock adjustment): wait for the real deadline.
            Step {
                reply: Reply::Done,
                effects: vec![Effect::ArmTimer {
                    kind: TimerKind::Expiry,
                    at: txn.deadline,
                }],
            }
        }
        Input::Timer(TimerKind::Fallback) => fallback_due(txn, now),
    }
}

#[cfg(test)]
mod tests;
