//! One test (at least) per rule of the machine.

use super::*;
use crate::model::{Method, Reason, Status};
use crate::test_util::{T0, TTL, push_txn, sms_txn, txn, with_fallback};

fn answer(device: &str, accepted: bool, token: TokenCheck) -> DeviceAnswer {
    DeviceAnswer {
        device_id: device.into(),
        accepted,
        fraud: false,
        token,
        number: None,
        signature: None,
    }
}

fn has(step: &Step, e: &Effect) -> bool {
    step.effects.contains(e)
}

fn emitted(step: &Step, name: EventName) -> bool {
    has(step, &Effect::Emit(name))
}

fn assert_final(t: &Transaction, status: Status, reason: Option<Reason>) {
    assert_eq!(t.status, status);
    assert_eq!(t.reason, reason);
    assert!(t.finished_at.is_some());
}

const START: Input<'static> = Input::Start { fell_back: false };

/// The expiry timer of the test transactions, armed for their deadline.
const EXPIRY_ARMED: Effect = Effect::ArmTimer {
    kind: TimerKind::Expiry,
    at: T0 + TTL,
};

/// The push provider refused the delivery to `device_id`.
fn push_failed(device_id: &str) -> Input<'_> {
    Input::PushDelivered {
        device_id,
        ok: false,
    }
}

/// The portal's code for the test user (`alice`), already as its MAC.
fn verify(code_hmac: &str) -> Input<'_> {
    Input::VerifyCode {
        user_id: "alice",
        code_hmac,
    }
}

/// A resend asked while no other is in flight (a push resend: no user named).
fn resend(fresh_code_hmac: Option<&str>) -> Input<'_> {
    Input::Resend {
        user_id: None,
        in_flight: false,
        fresh_code_hmac,
    }
}

mod fallback;
mod props;
mod push;
mod sms;
mod start;
mod timers;
