//! Property tests: random input sequences against the machine's invariants — one final state
//! reached at most once, nothing changes after it, attempts and resends never above their
//! limits, the expiry timer always armed for the deadline, one callback per transaction.

use proptest::prelude::*;

use super::*;
use crate::model::{Method, TokenCheck};
use crate::test_util::{T0, TTL, push_txn, sms_txn, with_fallback};

/// An input with owned data, drawn at random.
#[derive(Debug, Clone)]
enum Op {
    VerifyRight,
    VerifyWrong,
    VerifyOtherUser,
    Resend {
        sms_user: bool,
        in_flight: bool,
    },
    SmsDelivered {
        ok: bool,
        resend: bool,
    },
    PushDelivered {
        device: u8,
        ok: bool,
    },
    Fetch {
        device: u8,
    },
    Answer {
        device: u8,
        accepted: bool,
        fraud: bool,
        token: u8,
    },
    DeviceRemoved {
        device: u8,
    },
    Cancel,
    Timer {
        expiry: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::VerifyRight),
        Just(Op::VerifyWrong),
        Just(Op::VerifyOtherUser),
        (any::<bool>(), any::<bool>()).prop_map(|(sms_user, in_flight)| Op::Resend {
            sms_user,
            in_flight
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(ok, resend)| Op::SmsDelivered { ok, resend }),
        (0u8..3, any::<bool>()).prop_map(|(device, ok)| Op::PushDelivered { device, ok }),
        (0u8..3).prop_map(|device| Op::Fetch { device }),
        (0u8..3, any::<bool>(), any::<bool>(), 0u8..5).prop_map(
            |(device, accepted, fraud, token)| {
                Op::Answer {
                    device,
                    accepted,
                    fraud,
                    token,
                }
            }
        ),
        (0u8..3).prop_map(|device| Op::DeviceRemoved { device }),
        Just(Op::Cancel),
        any::<bool>().prop_map(|expiry| Op::Timer { expiry }),
    ]
}

const DEVICES: [&str; 3] = ["d1", "d2", "unknown"];

fn token(n: u8) -> TokenCheck {
    match n {
        0 => TokenCheck::Missing,
        1 => TokenCheck::Valid,
        2 => TokenCheck::Invalid {
            remaining_attempts: 1,
        },
        3 => TokenCheck::Revoked,
        _ => TokenCheck::Disconnected,
    }
}

/// Feeds `op` to the machine (owned data lives in this frame).
fn feed(t: &mut Transaction, op: &Op, now: Millis) -> Step {
    let right = t
        .code
        .as_ref()
        .map(|c| c.code_hmac.clone())
        .unwrap_or_default();
    match op {
        Op::VerifyRight => step(
            t,
            Input::VerifyCode {
                user_id: "alice",
                code_hmac: &right,
            },
            now,
        ),
        Op::VerifyWrong => step(
            t,
            Input::VerifyCode {
                user_id: "alice",
                code_hmac: "000000",
            },
            now,
        ),
        Op::VerifyOtherUser => step(
            t,
            Input::VerifyCode {
                user_id: "mallory",
                code_hmac: &right,
            },
            now,
        ),
        Op::Resend {
            sms_user,
            in_flight,
        } => step(
            t,
            Input::Resend {
                user_id: sms_user.then_some("alice"),
                in_flight: *in_flight,
                fresh_code_hmac: None,
            },
            now,
        ),
        Op::SmsDelivered { ok, resend } => step(
            t,
            Input::SmsDelivered {
                ok: *ok,
                resend: *resend,
            },
            now,
        ),
        Op::PushDelivered { device, ok } => step(
            t,
            Input::PushDelivered {
                device_id: DEVICES[*device as usize],
                ok: *ok,
            },
            now,
        ),
        Op::Fetch { device } => step(
            t,
            Input::Fetch {
                device_id: DEVICES[*device as usize],
            },
            now,
        ),
        Op::Answer {
            device,
            accepted,
            fraud,
            token: n,
        } => step(
            t,
            Input::Answer(DeviceAnswer {
                device_id: DEVICES[*device as usize].into(),
                accepted: *accepted,
                fraud: *fraud,
                token: token(*n),
                number: None,
                signature: None,
            }),
            now,
        ),
        Op::DeviceRemoved { device } => step(
            t,
            Input::DeviceRemoved {
                device_id: DEVICES[*device as usize],
            },
            now,
        ),
        Op::Cancel => step(t, Input::Cancel, now),
        Op::Timer { expiry } => {
            let kind = if *expiry {
                TimerKind::Expiry
            } else {
                TimerKind::Fallback
            };
            step(t, Input::Timer(kind), now)
        }
    }
}

fn start_state() -> impl Strategy<Value = Transaction> {
    prop_oneof![
        (1u32..4, 0u32..3).prop_map(|(attempts, resends)| sms_txn(attempts, resends, 1_000)),
        Just(push_txn(Method::Push, &["d1", "d2"])),
        Just(push_txn(Method::PushWithPin, &["d1"])),
        (any::<bool>(), proptest::option::of(1_000u64..TTL)).prop_map(|(on_failure, after)| {
            with_fallback(
                push_txn(Method::PushWithPin, &["d1", "d2"]),
                after,
                on_failure,
            )
        }),
    ]
}

/// Time between two inputs: mostly seconds (so limits are reached before the deadline),
/// sometimes long enough to pass a fallback or the deadline.
fn elapsed() -> impl Strategy<Value = u64> {
    prop_oneof![9 => 0u64..3_000, 1 => 0u64..TTL / 2]
}

fn counts(step: &Step, which: &Effect) -> usize {
    step.effects.iter().filter(|e| *e == which).count()
}

/// Every SMS and push resend counter is within its limit.
fn within_limits(t: &Transaction) -> Result<(), TestCaseError> {
    for code in [t.code.as_ref(), t.fallback.as_ref().map(|f| &f.code)]
        .into_iter()
        .flatten()
    {
        prop_assert!(
            code.attempts_used <= code.max_attempts,
            "attempts {:?}",
            code
        );
        prop_assert!(code.resends_used <= code.max_resends, "resends {:?}", code);
    }
    if let Some(push) = &t.push {
        prop_assert!(push.resends_used <= push.max_resends, "push resends");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_keep_the_machines_invariants(
        mut t in start_state(),
        ops in proptest::collection::vec((op(), elapsed()), 0..40),
    ) {
        let mut now = T0;
        let first = step(&mut t, Input::Start { fell_back: false }, now);
        let expiry = Effect::ArmTimer {
            kind: TimerKind::Expiry,
            at: t.deadline,
        };
        prop_assert!(first.effects.contains(&expiry), "the start arms the expiry");
        let deadline = t.deadline;
        let mut finished = counts(&first, &Effect::Count(Metric::Finished));
        let mut callbacks = counts(&first, &Effect::Callback);
        for (op, dt) in &ops {
            now += dt;
            let before = t.clone();
            let s = feed(&mut t, op, now);
            within_limits(&t)?;
            prop_assert_eq!(t.deadline, deadline, "the deadline never moves");
            if before.status.is_final() {
                prop_assert_eq!(&t, &before, "nothing changes after the final state ({:?})", op);
                prop_assert!(
                    !s.effects.iter().any(|e| matches!(e,
                        Effect::SendSms { .. } | Effect::SendPush { .. } | Effect::ArmTimer { .. } | Effect::Callback)),
                    "no effect after the final state: {:?}", s.effects
                );
            }
            for e in &s.effects {
                if let Effect::ArmTimer { kind: TimerKind::Expiry, at } = e {
                    prop_assert_eq!(*at, deadline);
                }
                if let Effect::ArmTimer { at, .. } = e {
                    prop_assert!(*at <= deadline, "no timer beyond the deadline");
                }
            }
            finished += counts(&s, &Effect::Count(Metric::Finished));
            callbacks += counts(&s, &Effect::Callback);
        }
        // One final state, reached once, with its time; one callback at most (the test
        // transactions have a callback URI: exactly one when final).
        prop_assert_eq!(finished, usize::from(t.status.is_final()));
        prop_assert_eq!(t.finished_at.is_some(), t.status.is_final());
        prop_assert_eq!(callbacks, usize::from(t.status.is_final()));
    }
}
