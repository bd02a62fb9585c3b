//! Delivering one push: from a device id to the provider its app version is configured with.
//! A provider saying the token is dead drops the device's push enrollment; a provider that
//! fails for now (429, 5xx, timeouts) is tried again with backoff while the transaction lives.

use rand::Rng;
use tokio::time::Instant;

use super::retry::RetryPolicy;
use super::{PushError, PushNotice, PushProvider, PushTarget, Route};
use crate::events::TxnRef;
use crate::model::{EventName, Transaction};
use crate::telemetry::{self, PushMetrics, PushResult, Revoked};
use crate::txn::services::Services;

/// Sends `txn`'s push to one device.
pub(crate) async fn push_to(
    svc: &Services,
    txn: &Transaction,
    device_id: &str,
) -> Result<(), PushError> {
    let device = match svc.store.get_device(device_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(PushError::Failed("device removed".into())),
        Err(e) => return Err(PushError::Retryable(e.to_string())),
    };
    let Some(token) = device.push_token.clone().filter(|_| device.push_ready()) else {
        return Err(PushError::Failed("device not enrolled for push".into()));
    };
    let cfg = svc.config();
    let version = cfg
        .application(&device.app_id)
        .and_then(|a| a.enabled_version(device.platform, &device.app_version))
        .ok_or_else(|| PushError::Failed("application version not configured".into()))?;
    let Route {
        provider,
        retry,
        metrics,
    } = svc
        .push()
        .route(&version.push_config)
        .ok_or_else(|| PushError::Failed("push config not found".into()))?;
    let now = svc.clock.now();
    let badge = if version.send_badge_number {
        let pending = svc
            .store
            .device_txns(device_id, now)
            .await
            .unwrap_or_default();
        Some(u32::try_from(pending.len()).unwrap_or(u32::MAX))
    } else {
        None
    };
    let notice = PushNotice {
        transaction_id: txn.id,
        profile_id: device.profile_id.clone(),
        message: txn.message.clone(),
        badge,
        ttl_ms: txn.remaining_ms(now),
    };
    let target = PushTarget {
        device_id: device.id.clone(),
        token,
        platform: device.platform,
        bundle_id: version.bundle_id.clone(),
        apns_environment: version.apns_environment,
    };
    let deadline = svc.clock.instant_at(txn.deadline);
    let result = send_with_retry(
        provider.as_ref(),
        &target,
        notice,
        deadline,
        &retry,
        &metrics,
    )
    .await;
    metrics.result(match &result {
        Ok(()) => PushResult::Accepted,
        Err(PushError::Unregistered) => PushResult::Unregistered,
        Err(e) if e.is_retryable() => PushResult::Retryable,
        Err(_) => PushResult::Failed,
    });
    match &result {
        Ok(()) => svc.stats.push.sent(provider.name()),
        Err(e) => svc
            .stats
            .push
            .failed(provider.name(), &e.to_string(), svc.clock.now()),
    }
    if let Err(e) = &result {
        // The device id, never the token; provider errors carry no secrets.
        tracing::info!(device_id, provider = provider.name(), error = %e, "push not delivered");
    }
    if result == Err(PushError::Unregistered) {
        drop_push_enrollment(svc, device_id, txn).await;
    }
    result
}

/// Sends `notice` through `provider`, trying again after retryable failures — backoff per
/// `policy`, at least the provider's `Retry-After` — as long as tries are left and the next one
/// can start before `deadline` (the end of the transaction's time to live). Each try carries the
/// time to live left at that moment and is cut off at `deadline`. Each try is timed into
/// `metrics`, and each retry counted.
pub(crate) async fn send_with_retry(
    provider: &dyn PushProvider,
    target: &PushTarget,
    mut notice: PushNotice,
    deadline: Instant,
    policy: &RetryPolicy,
    metrics: &PushMetrics,
) -> Result<(), PushError> {
    let mut failures = 0;
    loop {
        let started = Instant::now();
        notice.ttl_ms = deadline.saturating_duration_since(started).as_millis() as u64;
        let tried = tokio::time::timeout_at(deadline, provider.send(target, &notice)).await;
        metrics.request(started.elapsed());
        let error = match tried {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if e.is_retryable() => e,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(PushError::Retryable("time to live ended".into())),
        };
        failures += 1;
        let jitter = rand::rng().random::<f64>();
        let Some(pause) = policy.delay(failures, error.retry_after(), jitter) else {
            return Err(error);
        };
        if Instant::now() + pause >= deadline {
            return Err(error);
        }
        metrics.retry();
        tracing::debug!(provider = provider.name(), failures, ?pause, error = %error, "push will be retried");
        tokio::time::sleep(pause).await;
    }
}

/// The provider no longer knows the token: forget it so no further push goes there.
async fn drop_push_enrollment(svc: &Services, device_id: &str, txn: &Transaction) {
    for _ in 0..5 {
        let Ok(Some(mut device)) = svc.store.get_device(device_id).await else {
            return;
        };
        device.push_token = None;
        device.push_enabled = false;
        device.version += 1;
        match svc.store.save_device(&device).await {
            Ok(()) => {
                telemetry::revocation(Revoked::Push);
                let e = TxnRef::of(txn).event(EventName::PushEnrollmentRemoved, svc.clock.now());
                svc.events.emit(e).await;
                return;
            }
            Err(crate::store::StoreError::Conflict { .. }) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "could not drop a dead push enrollment");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use parking_lot::Mutex;
    use tessera_config::{ApnsEnvironment, Platform};

    use super::*;
    use crate::model::TxnId;

    /// Answers each try with the next of `answers` (the last one forever) and records the time
    /// to live each try carried.
    struct Scripted {
        answers: Vec<Result<(), PushError>>,
        ttls: Mutex<Vec<u64>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<(), PushError>>) -> Self {
            Self {
                answers,
                ttls: Mutex::new(Vec::new()),
            }
        }

        fn tries(&self) -> usize {
            self.ttls.lock().len()
        }
    }

    #[async_trait]
    impl PushProvider for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn send(&self, _: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
            let mut ttls = self.ttls.lock();
            ttls.push(notice.ttl_ms);
            let i = (ttls.len() - 1).min(self.answers.len() - 1);
            self.answers[i].clone()
        }
    }

    fn target() -> PushTarget {
        PushTarget {
            device_id: "D1".into(),
            token: "t".into(),
            platform: Platform::Android,
            bundle_id: String::new(),
            apns_environment: ApnsEnvironment::Production,
        }
    }

    fn notice() -> PushNotice {
        PushNotice {
            transaction_id: TxnId::random(),
            profile_id: "P1".into(),
            message: "Log in?".into(),
            badge: None,
            ttl_ms: 0,
        }
    }

    async fn run(p: &Scripted, ttl: Duration, policy: RetryPolicy) -> Result<(), PushError> {
        let deadline = Instant::now() + ttl;
        let metrics = PushMetrics::new(p.name());
        send_with_retry(p, &target(), notice(), deadline, &policy, &metrics).await
    }

    fn down() -> PushError {
        PushError::Retryable("503".into())
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_down_for_good_ends_in_an_error_within_the_ttl() {
        let p = Scripted::new(vec![Err(down())]);
        let start = Instant::now();
        let ttl = Duration::from_secs(2);
        // No bound on tries: only the time to live stops it.
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            ..RetryPolicy::default()
        };
        assert_eq!(run(&p, ttl, policy).await, Err(down()));
        assert!(start.elapsed() < ttl, "ended at {:?}", start.elapsed());
        // ~0, 0.2, 0.6, 1.4 s; the next would start past 2 s.
        assert_eq!(p.tries(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn tries_are_bounded_and_carry_the_ttl_left() {
        let p = Scripted::new(vec![Err(down())]);
        let result = run(&p, Duration::from_secs(300), RetryPolicy::default()).await;
        assert!(result.unwrap_err().is_retryable());
        let ttls = p.ttls.lock().clone();
        assert_eq!(ttls.len(), 5, "five tries in all");
        assert_eq!(ttls[0], 300_000);
        assert!(ttls.windows(2).all(|w| w[1] < w[0]), "{ttls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_succeeds() {
        let p = Scripted::new(vec![Err(down()), Err(down()), Ok(())]);
        assert_eq!(
            run(&p, Duration::from_secs(60), RetryPolicy::default()).await,
            Ok(())
        );
        assert_eq!(p.tries(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn final_answers_are_not_retried() {
        for answer in [
            PushError::Unregistered,
            PushError::Failed("bad topic".into()),
        ] {
            let p = Scripted::new(vec![Err(answer.clone()), Ok(())]);
            let result = run(&p, Duration::from_secs(60), RetryPolicy::default()).await;
            assert_eq!(result, Err(answer));
            assert_eq!(p.tries(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_for_or_given_up_on_when_past_the_ttl() {
        let slow_down = |secs| PushError::RetryAfter {
            reason: "429".into(),
            after: Duration::from_secs(secs),
        };
        let p = Scripted::new(vec![Err(slow_down(5)), Ok(())]);
        let start = Instant::now();
        assert_eq!(
            run(&p, Duration::from_secs(60), RetryPolicy::default()).await,
            Ok(())
        );
        assert!(start.elapsed() >= Duration::from_secs(5));

        let p = Scripted::new(vec![Err(slow_down(90)), Ok(())]);
        let start = Instant::now();
        let result = run(&p, Duration::from_secs(60), RetryPolicy::default()).await;
        assert_eq!(result, Err(slow_down(90)));
        assert_eq!(p.tries(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO, "no pointless wait");
    }

    /// A provider that hangs is cut off when the time to live ends.
    #[tokio::test(start_paused = true)]
    async fn a_hanging_provider_is_cut_off_at_the_deadline() {
        struct Hangs;
        #[async_trait]
        impl PushProvider for Hangs {
            fn name(&self) -> &str {
                "hangs"
            }
            async fn send(&self, _: &PushTarget, _: &PushNotice) -> Result<(), PushError> {
                std::future::pending().await
            }
        }
        let start = Instant::now();
        let deadline = start + Duration::from_secs(3);
        let result = send_with_retry(
            &Hangs,
            &target(),
            notice(),
            deadline,
            &RetryPolicy::default(),
            &PushMetrics::new("hangs"),
        )
        .await;
        assert!(result.unwrap_err().is_retryable());
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }
}
