//! SMS delivery: the gateways (Twilio, the vendor's REST hook, the console) and the ordered list
//! that fails over between them (API.md §7).
//!
//! A gateway that fails is put in *cool-down* for `sms.failover_cooldown`: later messages go to
//! the next healthy gateway first instead of paying the failing one's timeout every time.

mod console;
mod rest;
mod twilio;

#[cfg(test)]
mod router_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tessera_config::SmsGatewayKind;

pub use console::ConsoleGateway;
pub use rest::RestGateway;
pub use twilio::TwilioGateway;

use crate::clock::Clock;
use crate::error::StartupError;
use crate::model::{Millis, TxnId};
use crate::telemetry::SmsGatewayMetrics;

/// The name `sms.gateways` uses for the built-in console gateway.
pub const CONSOLE: &str = "console";

/// One SMS to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The transaction it belongs to (for correlation; no gateway wire format carries it).
    pub transaction_id: TxnId,
    /// E.164.
    pub to: String,
    /// The complete text, code already placed.
    pub body: String,
    /// The code alone (the REST hook's `verification_code`).
    pub code: String,
    /// Type's sender id → general default → none.
    pub sender_id: Option<String>,
}

/// Which gateway took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    pub gateway: String,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SmsError {
    /// Every gateway failed or was cooling down; the last error.
    #[error("no SMS gateway accepted the message: {0}")]
    AllFailed(String),
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    fn name(&self) -> &str;
    /// Err carries a short reason without secrets, message body or code (it is logged).
    async fn send(&self, msg: &SmsMessage) -> Result<(), String>;
}

/// The ordered gateway list.
pub struct SmsRouter {
    pub(crate) gateways: Vec<Arc<dyn SmsGateway>>,
    /// Per gateway (same index): epoch ms until which it is skipped; 0 = healthy. Atomics, not a
    /// lock: every SMS reads these and a stale read only costs one extra try.
    cooling_until: Vec<AtomicU64>,
    cooldown: Duration,
    clock: Clock,
    /// Per gateway (same index): its Prometheus series.
    metrics: Vec<SmsGatewayMetrics>,
    /// `general.default_sender_id`, for messages whose caller left `sender_id` empty.
    default_sender_id: Option<String>,
    /// Where sends and failures are counted per gateway (the engine's collector).
    stats: Option<Arc<crate::stats::Collector>>,
}

// === impl SmsRouter ===

/// Names and cool-down only: gateways hold credentials and are not `Debug`.
impl std::fmt::Debug for SmsRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsRouter")
            .field("gateways", &self.names())
            .field("cooldown", &self.cooldown)
            .finish_non_exhaustive()
    }
}

impl SmsRouter {
    /// Builds the list named by `sms.gateways` from `[[sms_gateways]]` (or the built-in
    /// `console`), in order. An empty list is allowed (SMS may be disabled); sending then fails.
    /// The settings are validated ones: the only failure left is a name with no gateway, which
    /// validation refuses too.
    pub fn from_config(
        cfg: &tessera_config::Config,
        http: reqwest::Client,
    ) -> Result<Self, StartupError> {
        let mut gateways: Vec<Arc<dyn SmsGateway>> = Vec::with_capacity(cfg.sms.gateways.len());
        for (i, name) in cfg.sms.gateways.iter().enumerate() {
            let declared = cfg.sms_gateways.iter().find(|g| &g.name == name);
            let gateway: Arc<dyn SmsGateway> = match declared {
                None if name == CONSOLE => Arc::new(ConsoleGateway::new(CONSOLE)),
                None => {
                    return Err(StartupError::invalid(
                        format!("sms.gateways[{i}]"),
                        format!("no [[sms_gateways]] entry named `{name}`"),
                    ));
                }
                Some(g) => match g.kind {
                    SmsGatewayKind::Twilio => Arc::new(TwilioGateway::from_config(g, http.clone())),
                    SmsGatewayKind::Rest => Arc::new(RestGateway::from_config(g, http.clone())),
                    SmsGatewayKind::Console => Arc::new(ConsoleGateway::new(&g.name)),
                },
            };
            gateways.push(gateway);
        }
        let mut router = Self::new(gateways, cfg.sms.failover_cooldown, Clock::new());
        let default = cfg.general.default_sender_id.trim();
        router.default_sender_id = (!default.is_empty()).then(|| default.to_owned());
        Ok(router)
    }

    /// A router over `gateways` in this order (tests, or callers that build gateways themselves).
    pub fn new(gateways: Vec<Arc<dyn SmsGateway>>, cooldown: Duration, clock: Clock) -> Self {
        let cooling_until = gateways.iter().map(|_| AtomicU64::new(0)).collect();
        let metrics = gateways
            .iter()
            .map(|g| SmsGatewayMetrics::new(g.name()))
            .collect();
        Self {
            gateways,
            cooling_until,
            cooldown,
            clock,
            metrics,
            default_sender_id: None,
            stats: None,
        }
    }

    /// Counts sends and failures per gateway in `stats`.
    pub(crate) fn with_stats(mut self, stats: Arc<crate::stats::Collector>) -> Self {
        self.stats = Some(stats);
        self
    }

    /// The gateway names, in failover order.
    pub fn names(&self) -> Vec<&str> {
        self.gateways.iter().map(|g| g.name()).collect()
    }

    /// Whether gateway `index` is in its failover cool-down (for health displays).
    #[cfg(test)]
    pub fn is_cooling_down(&self, index: usize) -> bool {
        self.cooling_until
            .get(index)
            .is_some_and(|u| u.load(Ordering::Relaxed) > self.clock.now())
    }

    /// Sends through the first gateway that accepts the message. Gateways in cool-down are
    /// skipped while another one can be tried; they are tried last rather than never, so a
    /// message is not refused without any gateway having been asked.
    pub async fn send(&self, msg: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let filled;
        let msg = match (&msg.sender_id, &self.default_sender_id) {
            (None, Some(default)) => {
                filled = SmsMessage {
                    sender_id: Some(default.clone()),
                    ..msg.clone()
                };
                &filled
            }
            _ => msg,
        };
        let mut last_error = String::from("no SMS gateway configured");
        for index in self.try_order(self.clock.now()) {
            let gateway = &self.gateways[index];
            let name = gateway.name();
            let started = tokio::time::Instant::now();
            let sent = gateway.send(msg).await;
            self.metrics[index].send(sent.is_ok(), started.elapsed());
            match sent {
                Ok(()) => {
                    self.cooling_until[index].store(0, Ordering::Relaxed);
                    if let Some(stats) = &self.stats {
                        stats.sms.sent(name);
                    }
                    return Ok(SmsReceipt {
                        gateway: name.to_owned(),
                    });
                }
                Err(reason) => {
                    let until = self
                        .clock
                        .now()
                        .saturating_add(self.cooldown.as_millis() as Millis);
                    self.cooling_until[index].store(until, Ordering::Relaxed);
                    if let Some(stats) = &self.stats {
                        stats.sms.failed(name, &reason, self.clock.now());
                    }
                    // Neither the recipient, the body nor the code is logged: the reason carries none of them.
                    tracing::warn!(gateway = name, error = %reason, "SMS gateway failed");
                    last_error = format!("{name}: {reason}");
                }
            }
        }
        Err(SmsError::AllFailed(last_error))
    }

    /// Healthy gateways in configured order, then the cooling ones in configured order.
    fn try_order(&self, now: Millis) -> Vec<usize> {
        let cooling = |i: &usize| self.cooling_until[*i].load(Ordering::Relaxed) > now;
        let (mut order, rest): (Vec<usize>, Vec<usize>) =
            (0..self.gateways.len()).partition(|i| !cooling(i));
        order.extend(rest);
        order
    }
}
