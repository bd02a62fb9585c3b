//! A transaction's *fine state*: finer than its status while pending, for operators (the admin
//! API's `TransactionSummary::state`, the stats' active-by-state gauge, the `state` filter of
//! the transaction list). Derived from the record alone, in [`FineState::of`], so every node
//! computes the same answer for the same version.

use super::{Method, Transaction};

/// Where a pending transaction is; a final one is its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FineState {
    /// Push: no provider has answered for any target yet. SMS: the code has not left yet.
    Sending,
    /// Push: the providers answered for every target and none accepted (a resend, a
    /// fallback or the expiry follows).
    Sent,
    /// Push: a provider accepted the notification for at least one target.
    Delivered,
    /// Push (or a redeemed OTP): the app fetched the transaction document.
    Fetched,
    /// SMS: a gateway took the code.
    CodeSent,
    /// OTP: the portal shows the code; the app has not redeemed it.
    Waiting,
    /// A push transaction that switched to its SMS fallback in flight (`fallback_after` or
    /// every delivery failed), until it ends.
    Fallback,
    /// Final: the status says which.
    Final(super::Status),
}

impl FineState {
    /// The mapping, in order of precedence: final → its status; an in-flight fallback (the
    /// method is SMS and the record still carries its push part) → `fallback`; an unredeemed
    /// OTP → `waiting`; SMS → `code_sent` once a gateway took the code, else `sending`; push →
    /// `fetched` > `delivered` > `sent` (every target answered, none accepted) > `sending`.
    pub fn of(txn: &Transaction) -> Self {
        if txn.is_final() {
            return FineState::Final(txn.status);
        }
        if txn.method == Method::Sms {
            if txn.push.is_some() {
                return FineState::Fallback;
            }
            let sent = txn.code.as_ref().is_some_and(|c| c.last_sent_at.is_some());
            return if sent {
                FineState::CodeSent
            } else {
                FineState::Sending
            };
        }
        if txn.otp_sha256.is_some() {
            return FineState::Waiting;
        }
        let targets = txn.push.as_ref().map_or(&[][..], |p| p.targets.as_slice());
        if targets.iter().any(|t| t.fetched) {
            FineState::Fetched
        } else if targets.iter().any(|t| t.delivered == Some(true)) {
            FineState::Delivered
        } else if !targets.is_empty() && targets.iter().all(|t| t.delivered.is_some()) {
            FineState::Sent
        } else {
            FineState::Sending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FineState::Sending => "sending",
            FineState::Sent => "sent",
            FineState::Delivered => "delivered",
            FineState::Fetched => "fetched",
            FineState::CodeSent => "code_sent",
            FineState::Waiting => "waiting",
            FineState::Fallback => "fallback",
            FineState::Final(status) => status.as_str(),
        }
    }

    /// The pending states, in the order the stats list them (`index` is the position).
    pub const PENDING: [FineState; 7] = [
        FineState::Sending,
        FineState::Sent,
        FineState::Delivered,
        FineState::Fetched,
        FineState::CodeSent,
        FineState::Waiting,
        FineState::Fallback,
    ];

    /// Position in [`FineState::PENDING`]; `None` for a final state.
    pub fn index(self) -> Option<usize> {
        Self::PENDING.iter().position(|s| *s == self)
    }
}

/// Filters for the admin API's transaction list. `state` matches the status or the fine state.
#[derive(Debug, Clone, Default)]
pub struct TxnQuery {
    pub state: Option<String>,
    pub type_name: Option<String>,
    pub user_id: Option<String>,
    pub limit: usize,
}

impl TxnQuery {
    pub fn matches(&self, txn: &Transaction) -> bool {
        self.type_name.as_deref().is_none_or(|t| txn.type_name == t)
            && self
                .user_id
                .as_deref()
                .is_none_or(|u| txn.user_id.as_deref() == Some(u))
            && self
                .state
                .as_deref()
                .is_none_or(|s| txn.status.as_str() == s || FineState::of(txn).as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PushState, PushTarget, Status};
    use crate::test_util;

    fn push(targets: &[(bool, Option<bool>)]) -> Transaction {
        let mut t = test_util::txn(Method::Push);
        t.code = None;
        t.push = Some(Box::new(PushState {
            targets: targets
                .iter()
                .enumerate()
                .map(|(i, (fetched, delivered))| PushTarget {
                    device_id: format!("D{i}"),
                    fetched: *fetched,
                    delivered: *delivered,
                })
                .collect(),
            ..Default::default()
        }));
        t
    }

    #[test]
    fn push_states_by_precedence() {
        assert_eq!(FineState::of(&push(&[(false, None)])), FineState::Sending);
        assert_eq!(
            FineState::of(&push(&[(false, Some(false)), (false, None)])),
            FineState::Sending
        );
        assert_eq!(
            FineState::of(&push(&[(false, Some(false))])),
            FineState::Sent
        );
        assert_eq!(
            FineState::of(&push(&[(false, Some(false)), (false, Some(true))])),
            FineState::Delivered
        );
        assert_eq!(
            FineState::of(&push(&[(true, Some(true)), (false, Some(false))])),
            FineState::Fetched
        );
    }

    #[test]
    fn sms_otp_fallback_and_final() {
        let mut sms = test_util::txn(Method::Sms);
        sms.code = Some(test_util::code("123456", 3, 0, 0));
        assert_eq!(FineState::of(&sms).as_str(), "sending");
        if let Some(c) = sms.code.as_mut() {
            c.last_sent_at = Some(1);
        }
        assert_eq!(FineState::of(&sms).as_str(), "code_sent");

        let mut fell_back = push(&[(false, Some(false))]);
        fell_back.method = Method::Sms;
        assert_eq!(FineState::of(&fell_back).as_str(), "fallback");

        let mut otp = push(&[]);
        otp.method = Method::Otp;
        otp.otp_sha256 = Some("x".into());
        assert_eq!(FineState::of(&otp).as_str(), "waiting");

        sms.status = Status::Cancelled;
        assert_eq!(FineState::of(&sms).as_str(), "cancelled");
        assert_eq!(FineState::of(&sms).index(), None);
    }

    #[test]
    fn query_matches_status_or_fine_state() {
        let t = push(&[(false, Some(true))]);
        let q = |state: &str| TxnQuery {
            state: Some(state.into()),
            ..Default::default()
        };
        assert!(q("pending").matches(&t));
        assert!(q("delivered").matches(&t));
        assert!(!q("fetched").matches(&t));
        let by_user = TxnQuery {
            user_id: Some("nobody".into()),
            ..Default::default()
        };
        assert!(!by_user.matches(&t));
    }
}
