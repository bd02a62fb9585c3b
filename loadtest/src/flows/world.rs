//! What every flow shares: the portal's client, the enrolled devices, the sinks, and the
//! counters that make each flow's phone number and user unique.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use tessera_api::device_client::Platform;
use tessera_api::wire::TransactionResult;
use tessera_api::{ClientError, DeviceClient, EnrollParams, ManagementClient, PortalClient};
use tokio::time::Instant;

use super::FlowError;
use crate::args::PushNotify;
use crate::context::Requesters;
use crate::sinks::Sinks;

/// Enrollments in flight while setting up devices.
const ENROLL_CONCURRENCY: usize = 8;
/// How often a device polls its pending list (`--push-notify pending`).
const PENDING_POLL: Duration = Duration::from_millis(2);

/// An enrolled app installation and the user it belongs to.
pub struct SimDevice {
    pub user: String,
    pub client: DeviceClient,
    /// The PIN token as the PIN unlocks it. Unlocking is PBKDF2 on the phone (milliseconds of
    /// the phone's CPU, not the engine's), so it is done once here rather than per answer,
    /// unless `--unlock-per-answer` asks for the phone's full cost.
    pub pin_token: String,
}

pub struct World {
    /// One client per `--target` node; each flow spreads its requests over them
    /// ([`World::portal`]), as a load balancer without affinity would.
    portals: Vec<PortalClient>,
    pub sinks: Arc<Sinks>,
    pub devices: Vec<Arc<SimDevice>>,
    pub pin: String,
    /// Unlock the PIN token (PBKDF2) for every answer, as the phone does.
    pub unlock_per_answer: bool,
    pub push_notify: PushNotify,
    /// Longest wait for an SMS or push to reach its sink, and for an outcome.
    pub patience: Duration,
    /// Distinguishes this run's users and phone numbers from earlier runs' on the same engine.
    pub run_id: String,
    /// `push_bomb`: the user the attacker pushes at (its phone is enrolled, apart from
    /// `devices`).
    pub victim: Option<String>,
    /// `--context`: where and from what push starts come.
    pub context: Option<Requesters>,
    next_device: AtomicUsize,
    next_phone: AtomicU64,
}

impl World {
    /// `portals`: one per node (at least one).
    pub fn new(
        portals: Vec<PortalClient>,
        sinks: Arc<Sinks>,
        devices: Vec<SimDevice>,
        push_notify: PushNotify,
        patience: Duration,
        run_id: String,
    ) -> Self {
        Self {
            portals,
            sinks,
            devices: devices.into_iter().map(Arc::new).collect(),
            pin: PIN.into(),
            unlock_per_answer: false,
            push_notify,
            patience,
            run_id,
            victim: None,
            context: None,
            next_device: AtomicUsize::new(0),
            // Random start: numbers differ between runs against one engine.
            next_phone: AtomicU64::new(u64::from(rand::random::<u32>())),
        }
    }

    /// A flow's first turn: its steps take [`World::portal`]`(turn)`, `(turn + 1)`, ... so that
    /// with several nodes consecutive requests of one transaction reach different nodes.
    pub fn turn(&self) -> usize {
        rand::random::<u16>().into()
    }

    /// One portal client per node.
    pub fn portals(&self) -> &[PortalClient] {
        &self.portals
    }

    /// The portal client of the node `turn` falls on.
    pub fn portal(&self, turn: usize) -> &PortalClient {
        &self.portals[turn % self.portals.len()]
    }

    /// The next device, round robin.
    pub fn device(&self) -> Result<Arc<SimDevice>, FlowError> {
        if self.devices.is_empty() {
            return Err(FlowError::new("start", "no_devices"));
        }
        let i = self.next_device.fetch_add(1, Ordering::Relaxed) % self.devices.len();
        Ok(Arc::clone(&self.devices[i]))
    }

    /// A phone number no other flow of this run uses (E.164, 12 digits).
    pub fn phone(&self) -> String {
        let n = self.next_phone.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
        format!("+31{n:010}")
    }

    /// A portal user id; SMS flows spread over many users.
    pub fn user(&self, n: u64) -> String {
        format!("lt-{}-u{}", self.run_id, n % 10_000)
    }

    /// Waits until `device` knows of transaction `id`: the push reached the FCM sink, or the
    /// device's pending list names it. Returns when that happened.
    pub async fn push_arrival(
        &self,
        device: &SimDevice,
        id: &str,
        claim: Option<crate::mailbox::Expected>,
    ) -> Result<Instant, FlowError> {
        match (self.push_notify, claim) {
            (PushNotify::Fcm, Some(claim)) => claim
                .recv(self.patience)
                .await
                .map(|d| d.at)
                .ok_or_else(|| FlowError::new("deliver", "not_delivered")),
            _ => {
                let give_up = Instant::now() + self.patience;
                loop {
                    let pending = device
                        .client
                        .pending()
                        .await
                        .map_err(FlowError::at("deliver"))?;
                    if pending.iter().any(|p| p.transaction_id == id) {
                        return Ok(Instant::now());
                    }
                    if Instant::now() > give_up {
                        return Err(FlowError::new("deliver", "not_pending"));
                    }
                    tokio::time::sleep(PENDING_POLL).await;
                }
            }
        }
    }
}

/// The PIN every simulated device registers.
pub const PIN: &str = "1234";

/// The portal's view of the outcome: long-polls until the transaction is final (or `patience`
/// passed) and returns the result with when it arrived.
pub async fn outcome(
    portal: PortalClient,
    id: String,
    patience: Duration,
) -> Result<(TransactionResult, Instant), ClientError> {
    let give_up = Instant::now() + patience;
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        let wait = left.clamp(Duration::from_millis(1), Duration::from_secs(30));
        let r = portal.result(&id, Some(wait)).await?;
        if r.status != "pending" || Instant::now() >= give_up {
            return Ok((r, Instant::now()));
        }
    }
}

/// Enrolls `n` devices for users `lt-{run_id}-d{i}` with application `app_id` (Android 1.0):
/// a fresh OpenPGP key pair each, push enrollment, and the PIN.
/// Enrolls `n` devices, device `i` through node `bases[i % bases.len()]` (its requests go
/// there from then on).
pub async fn enroll_devices(
    http: reqwest::Client,
    bases: &[String],
    management: &ManagementClient,
    run_id: &str,
    app_id: &str,
    n: usize,
) -> Result<Vec<SimDevice>, ClientError> {
    futures::stream::iter(0..n)
        .map(|i| {
            let http = http.clone();
            async move {
                let user = format!("lt-{run_id}-d{i}");
                let code = management.enrollment_code(&user).await?;
                let params = EnrollParams::new(
                    code.enrollment_code,
                    app_id,
                    "1.0",
                    Platform::Android,
                    format!("load test phone {i}"),
                );
                let base = &bases[i % bases.len()];
                let mut client = DeviceClient::enroll_with(http, base, &params).await?;
                client.push_enroll(&format!("lt-{run_id}-push-{i}")).await?;
                client.register_pin(PIN).await?;
                let pin_token = client.pin_token(PIN);
                Ok(SimDevice {
                    user,
                    client,
                    pin_token,
                })
            }
        })
        .buffer_unordered(ENROLL_CONCURRENCY)
        .try_collect()
        .await
}
