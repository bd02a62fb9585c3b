//! `push_bomb`: push bombing (MFA fatigue) under load. One attacker who knows a user's password
//! hammers push starts at that user — the victim, whose phone is enrolled — at `--bomb-rate`,
//! while the other users run normal `push` flows at `--rate`. The engine's
//! `rate_limits.push_starts_per_user` must refuse the attacker (`429 1007`) without the others
//! noticing: the scenario's flows, errors and steps are the normal users' only (compare them with
//! a `push` run of the same invocation), and [`BomberReport`] says what the attacker got.
//!
//! The attacker's starts are open loop too: each is sent at its instant whether or not the ones
//! before it were answered, at most [`IN_FLIGHT`] at a time (beyond that an attempt is counted
//! `dropped`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tessera_api::PortalClient;
use tessera_api::wire::StartParams;
use tokio::sync::Semaphore;
use tokio::time::{Instant, MissedTickBehavior};

use crate::flows::code_of;

/// The attacker's starts waiting for an answer at once, at most.
pub const IN_FLIGHT: usize = 256;

/// What the attacker got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BomberReport {
    /// The victim's user id.
    pub user: String,
    /// Starts offered per second.
    pub rate: f64,
    /// Starts sent (warm-up included: the limit does not care when measuring begins).
    pub attempts: u64,
    /// Starts the engine took: pushes that reached the victim's phone.
    pub started: u64,
    /// Starts refused with `429 1007` by a rate limit.
    pub limited: u64,
    /// Anything else, by code (`"503 1002"`, `"timeout"`, `"dropped"`).
    pub errors_by_code: BTreeMap<String, u64>,
}

/// Sends push starts for `victim` through `portals` (round robin) at `rate` per second until
/// `until`, and counts the answers.
pub async fn run(
    portals: Vec<PortalClient>,
    victim: String,
    rate: f64,
    until: Instant,
) -> BomberReport {
    let tally = Arc::new(Mutex::new(BomberReport {
        user: victim.clone(),
        rate,
        ..BomberReport::default()
    }));
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let params = Arc::new(StartParams {
        user_id: Some(victim),
        ..StartParams::new("push")
    });
    let mut n = 0usize;
    loop {
        let at = tick.tick().await;
        if at >= until || portals.is_empty() {
            break;
        }
        tally.lock().attempts += 1;
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            count(&tally, "dropped");
            continue;
        };
        let portal = portals[n % portals.len()].clone();
        n += 1;
        let (tally, params) = (Arc::clone(&tally), Arc::clone(&params));
        tokio::spawn(async move {
            match portal.start(&params).await {
                Ok(_) => tally.lock().started += 1,
                Err(e) if e.status() == Some(429) && code_of(&e) == "429 1007" => {
                    tally.lock().limited += 1;
                }
                Err(e) => count(&tally, &code_of(&e)),
            }
            drop(permit);
        });
    }
    // Every permit back: every start was answered (or failed).
    let all = u32::try_from(IN_FLIGHT).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(60), permits.acquire_many(all)).await;
    tally.lock().clone()
}

fn count(tally: &Mutex<BomberReport>, code: &str) {
    *tally
        .lock()
        .errors_by_code
        .entry(code.to_owned())
        .or_insert(0) += 1;
}

/// A `push_starts_per_user` the normal users of a `push_bomb` run stay well under and the
/// attacker does not: each of `devices` users starts `rate / devices` pushes a second, evenly
/// spaced (devices are taken round robin); the cap allows four times that (at least 4), with a
/// burst of as many. A production cap is far lower (CONFIG.md: 5 per 10 minutes); simulated
/// users log in much more often than people do.
pub fn cap_for(rate: f64, devices: usize) -> String {
    let per_user = rate / devices.max(1) as f64;
    let count = (4.0 * per_user).ceil().max(4.0) as u64;
    format!("{count}/1s")
}

impl BomberReport {
    /// The report's line about the attacker.
    pub fn line(&self) -> String {
        let mut line = format!(
            "bomber (user {}, {:.0} starts/s): {} sent, {} started, {} refused 429 1007",
            self.user, self.rate, self.attempts, self.started, self.limited
        );
        for (code, n) in &self.errors_by_code {
            line.push_str(&format!(", {n} {code}"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_normal_users_four_times_their_rate() {
        assert_eq!(cap_for(8.0, 4), "8/1s");
        assert_eq!(cap_for(200.0, 64), "13/1s");
        assert_eq!(cap_for(1.0, 64), "4/1s");
        assert_eq!(cap_for(10.0, 0), "40/1s");
    }
}
