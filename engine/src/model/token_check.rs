//! The verdict on an authenticator token, shared by the device layer that checks it (its
//! counters span transactions) and the machine that decides what it means for one transaction.
//! It lives with the plain data so neither `enroll` nor `txn` depends on the other for it.

/// The authenticator check the device layer made before handing the answer over. That layer owns
/// the per-device failure counters (they span transactions); the machine decides what the
/// outcome means for this transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The answer carried no token.
    Missing,
    Valid,
    /// Wrong token; the authenticator is still usable.
    Invalid {
        remaining_attempts: u32,
    },
    /// Fingerprint / custom limit reached: that authenticator is revoked, the PIN still works.
    Revoked,
    /// PIN limit reached: the device's enrollment is revoked ("the user is disconnected").
    Disconnected,
}
