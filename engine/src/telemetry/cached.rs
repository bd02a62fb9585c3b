//! Series resolved once and kept, for the hot paths: a transaction type's, an SMS gateway's,
//! a push provider's and a store operation's. The first use resolves a handle under the
//! recorder current then (the process-wide one; a test's local one); every later use is an
//! atomic load and the handle's own update — no key built, no label allocated, no registry
//! lookup (and no lock in it).
//!
//! Handles live in the object that records (the node's stats per type, the SMS router, a push
//! route, the store wrapper), never in a `static`: a test's recorder then sees only its own
//! engine.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, SharedString};

use super::{
    PUSH_RETRIES, PUSH_SEND_DURATION, PUSH_SENT, SMS_SEND_DURATION, SMS_SENT, STORE_DURATION,
    STORE_ERRORS, TRANSACTION_DURATION, TRANSACTIONS_ACTIVE, TRANSACTIONS_FINISHED,
    TRANSACTIONS_STARTED,
};
use crate::model::{FineState, Method, Status};

/// Every method, in the order of [`method_index`].
const METHODS: [Method; 6] = [
    Method::Push,
    Method::PushWithPin,
    Method::PushWithFingerprint,
    Method::PushWithCustomAuthenticator,
    Method::Otp,
    Method::Sms,
];

fn method_index(method: Method) -> usize {
    match method {
        Method::Push => 0,
        Method::PushWithPin => 1,
        Method::PushWithFingerprint => 2,
        Method::PushWithCustomAuthenticator => 3,
        Method::Otp => 4,
        Method::Sms => 5,
    }
}

/// The final statuses: the `outcome` label.
const OUTCOMES: [Status; 5] = [
    Status::Accepted,
    Status::Rejected,
    Status::Expired,
    Status::Failed,
    Status::Cancelled,
];

fn outcome_index(status: Status) -> Option<usize> {
    match status {
        Status::Pending => None,
        Status::Accepted => Some(0),
        Status::Rejected => Some(1),
        Status::Expired => Some(2),
        Status::Failed => Some(3),
        Status::Cancelled => Some(4),
    }
}

fn label(name: &str) -> SharedString {
    SharedString::from(Arc::<str>::from(name))
}

// === impl TypeMetrics ===

/// One mobile authentication type's series: starts by method, ends by method and outcome,
/// durations by outcome, pending transactions by fine state.
pub struct TypeMetrics {
    name: SharedString,
    started: [OnceLock<Counter>; METHODS.len()],
    finished: [[OnceLock<Counter>; OUTCOMES.len()]; METHODS.len()],
    duration: [OnceLock<Histogram>; OUTCOMES.len()],
    active: [OnceLock<Gauge>; FineState::PENDING.len()],
}

impl TypeMetrics {
    pub fn new(type_name: &str) -> Self {
        Self {
            name: label(type_name),
            started: [const { OnceLock::new() }; METHODS.len()],
            finished: [const { [const { OnceLock::new() }; OUTCOMES.len()] }; METHODS.len()],
            duration: [const { OnceLock::new() }; OUTCOMES.len()],
            active: [const { OnceLock::new() }; FineState::PENDING.len()],
        }
    }

    /// A transaction of this type started (not when rebuilt from the store).
    pub fn started(&self, method: Method) {
        let i = method_index(method);
        self.started[i]
            .get_or_init(|| {
                metrics::counter!(TRANSACTIONS_STARTED,
                    "type" => self.name.clone(), "method" => METHODS[i].as_str())
            })
            .increment(1);
    }

    /// A transaction of this type reached final `status`, `took` after its start.
    pub fn finished(&self, method: Method, status: Status, took: Duration) {
        let Some(o) = outcome_index(status) else {
            return;
        };
        let m = method_index(method);
        self.finished[m][o]
            .get_or_init(|| {
                metrics::counter!(TRANSACTIONS_FINISHED, "type" => self.name.clone(),
                    "method" => METHODS[m].as_str(), "outcome" => OUTCOMES[o].as_str())
            })
            .increment(1);
        self.duration[o]
            .get_or_init(|| {
                metrics::histogram!(TRANSACTION_DURATION,
                    "type" => self.name.clone(), "outcome" => OUTCOMES[o].as_str())
            })
            .record(took.as_secs_f64());
    }

    /// A pending transaction of this type entered (`+1.0`) or left (`-1.0`) `state`; final
    /// states are not counted.
    pub fn active(&self, state: FineState, delta: f64) {
        let Some(i) = state.index() else {
            return;
        };
        self.active[i]
            .get_or_init(|| {
                metrics::gauge!(TRANSACTIONS_ACTIVE,
                    "type" => self.name.clone(), "state" => FineState::PENDING[i].as_str())
            })
            .increment(delta);
    }
}

// === impl SmsGatewayMetrics ===

/// One SMS gateway's series (`gateway`: its configured name).
pub struct SmsGatewayMetrics {
    name: SharedString,
    sent: OnceLock<Counter>,
    failed: OnceLock<Counter>,
    duration: OnceLock<Histogram>,
}

impl SmsGatewayMetrics {
    /// Its send counters start at zero, so a failure ratio reads 0 before the first failure.
    pub fn new(gateway: &str) -> Self {
        let this = Self {
            name: label(gateway),
            sent: OnceLock::new(),
            failed: OnceLock::new(),
            duration: OnceLock::new(),
        };
        for (cell, result) in [(&this.sent, "sent"), (&this.failed, "failed")] {
            cell.get_or_init(
                || metrics::counter!(SMS_SENT, "gateway" => this.name.clone(), "result" => result),
            )
            .absolute(0);
        }
        this
    }

    /// One send attempt through this gateway took `took` and was taken (`ok`) or not.
    pub fn send(&self, ok: bool, took: Duration) {
        let (cell, result) = if ok {
            (&self.sent, "sent")
        } else {
            (&self.failed, "failed")
        };
        cell.get_or_init(
            || metrics::counter!(SMS_SENT, "gateway" => self.name.clone(), "result" => result),
        )
        .increment(1);
        self.duration
            .get_or_init(|| metrics::histogram!(SMS_SEND_DURATION, "gateway" => self.name.clone()))
            .record(took.as_secs_f64());
    }
}

// === impl PushMetrics ===

/// What one push to one device came to, after its retries (`result` of
/// `tessera_push_sent_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushResult {
    Accepted,
    /// The provider no longer knows the token.
    Unregistered,
    /// Still failing for now when the tries or the time to live ran out.
    Retryable,
    Failed,
}

impl PushResult {
    const ALL: [PushResult; 4] = [
        PushResult::Accepted,
        PushResult::Unregistered,
        PushResult::Retryable,
        PushResult::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PushResult::Accepted => "accepted",
            PushResult::Unregistered => "unregistered",
            PushResult::Retryable => "retryable",
            PushResult::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One push provider's series (`provider`: its push config id).
pub struct PushMetrics {
    name: SharedString,
    results: [OnceLock<Counter>; PushResult::ALL.len()],
    duration: OnceLock<Histogram>,
    retries: OnceLock<Counter>,
}

impl PushMetrics {
    /// Its result, retry and token refresh counters start at zero.
    pub fn new(provider: &str) -> Self {
        let this = Self {
            name: label(provider),
            results: [const { OnceLock::new() }; PushResult::ALL.len()],
            duration: OnceLock::new(),
            retries: OnceLock::new(),
        };
        for result in PushResult::ALL {
            this.results[result.index()]
                .get_or_init(|| {
                    metrics::counter!(PUSH_SENT,
                        "provider" => this.name.clone(), "result" => result.as_str())
                })
                .absolute(0);
        }
        this.retries
            .get_or_init(|| metrics::counter!(PUSH_RETRIES, "provider" => this.name.clone()))
            .absolute(0);
        super::provider_token_refreshes_zero(provider);
        this
    }

    /// A push to one device ended with `result`.
    pub fn result(&self, result: PushResult) {
        self.results[result.index()]
            .get_or_init(|| {
                metrics::counter!(PUSH_SENT,
                    "provider" => self.name.clone(), "result" => result.as_str())
            })
            .increment(1);
    }

    /// One request to the provider took `took` (answered, or cut off).
    pub fn request(&self, took: Duration) {
        self.duration
            .get_or_init(
                || metrics::histogram!(PUSH_SEND_DURATION, "provider" => self.name.clone()),
            )
            .record(took.as_secs_f64());
    }

    /// A retryable failure is tried again.
    pub fn retry(&self) {
        self.retries
            .get_or_init(|| metrics::counter!(PUSH_RETRIES, "provider" => self.name.clone()))
            .increment(1);
    }
}

// === impl StoreOp ===

/// One store operation's latency and failures (`op`: the `Store` trait method's name).
pub struct StoreOp {
    op: &'static str,
    handles: OnceLock<(Histogram, Counter)>,
}

impl StoreOp {
    pub const fn new(op: &'static str) -> Self {
        Self {
            op,
            handles: OnceLock::new(),
        }
    }

    /// The operation took `took`; `failed`: the store did not answer (an expected refusal
    /// such as a version conflict is an answer, not a failure).
    pub fn record(&self, took: Duration, failed: bool) {
        let (duration, errors) = self.handles.get_or_init(|| {
            (
                metrics::histogram!(STORE_DURATION, "op" => self.op),
                metrics::counter!(STORE_ERRORS, "op" => self.op),
            )
        });
        duration.record(took.as_secs_f64());
        if failed {
            errors.increment(1);
        }
    }
}
