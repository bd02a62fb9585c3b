//! Dead letters: callbacks that failed every try (or never got a slot) are kept in the store,
//! listed by the admin API and replayed from there.

use uuid::Uuid;

use super::{Body, CallbackDispatcher, CallbackJob};
use crate::model::{EventName, Millis};
use crate::store::{DeadLetter, StoreError};
use crate::telemetry::{self, CallbackResult};

/// What one replay try did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The letter as it is now: gone from the store when delivered, else kept with one more
    /// try and the new error.
    pub letter: DeadLetter,
    /// `None`: delivered.
    pub error: Option<String>,
}

impl CallbackDispatcher {
    /// One more delivery try of dead letter `id`, made before returning (admin API's
    /// `POST /dead-letters/{id}/replay`), signed and authenticated like every try. Delivered:
    /// the letter is gone. Not delivered: it is stored again with `tries + 1` and the error.
    /// `None`: no such letter.
    ///
    /// The letter is taken out of the store for the try, so two replays at once cannot both
    /// deliver it: the second finds nothing.
    pub async fn replay(&self, id: Uuid) -> Result<Option<Replayed>, StoreError> {
        let Some(mut letter) = self.inner.store.take_dead_letter(id).await? else {
            return Ok(None);
        };
        // The dead letter keeps no user or client; the transaction may still be readable.
        let txn = self
            .inner
            .store
            .get(letter.transaction_id)
            .await
            .ok()
            .flatten();
        let job = CallbackJob {
            transaction_id: letter.transaction_id,
            callback_uri: letter.callback_uri.clone(),
            user_id: txn.as_ref().and_then(|t| t.user_id.clone()),
            client_id: txn.map(|t| t.client_id.clone()),
        };
        let body = serde_json::to_vec(&Body {
            callback_uri: &job.callback_uri,
            transaction_id: job.transaction_id,
        })
        .map_err(|e| e.to_string());
        // A try after the failed ones the letter records.
        telemetry::callback(CallbackResult::Retried);
        let tried = match body {
            Ok(body) => self.try_once(&job, &body).await,
            Err(e) => Err(format!("cannot encode body: {e}")),
        };
        letter.tries = letter.tries.saturating_add(1);
        match tried {
            Ok(()) => {
                telemetry::callback(CallbackResult::Sent);
                if let Some(stats) = self.stats() {
                    stats.callback_sent();
                }
                self.emit(EventName::PushAuthCallbackSent, &job).await;
                Ok(Some(Replayed {
                    letter,
                    error: None,
                }))
            }
            Err(error) => {
                telemetry::callback(CallbackResult::Failed);
                if let Some(stats) = self.stats() {
                    stats.callback_failed_try();
                }
                letter.last_error = error.clone();
                letter.next_attempt_at = None;
                // Back where it was; if the store refuses, the caller hears it (a 503) and the
                // letter is lost, which the log says.
                if let Err(e) = self.inner.store.put_dead_letter(&letter).await {
                    tracing::error!(transaction_id = %job.transaction_id, error = %e, "could not keep a dead letter after its replay failed");
                    return Err(e);
                }
                self.emit(EventName::PushAuthCallbackFailed, &job).await;
                Ok(Some(Replayed {
                    letter,
                    error: Some(error),
                }))
            }
        }
    }

    pub(super) async fn dead_letter(&self, job: &CallbackJob, tries: u32, last_error: String) {
        self.store_letter(job, tries, last_error, None, CallbackResult::DeadLettered)
            .await;
    }

    /// A job that got no delivery at all (the queue was full): kept, never tried.
    pub(super) async fn dead_letter_dropped(&self, job: &CallbackJob, last_error: String) {
        self.store_letter(job, 0, last_error, None, CallbackResult::Dropped)
            .await;
    }

    /// A job whose retries were interrupted by shutdown: kept with the time its next try was due.
    pub(super) async fn dead_letter_waiting(
        &self,
        job: &CallbackJob,
        tries: u32,
        last_error: String,
        next_attempt_at: Millis,
    ) {
        let result = CallbackResult::DeadLettered;
        self.store_letter(job, tries, last_error, Some(next_attempt_at), result)
            .await;
    }

    async fn store_letter(
        &self,
        job: &CallbackJob,
        tries: u32,
        last_error: String,
        next_attempt_at: Option<Millis>,
        result: CallbackResult,
    ) {
        let letter = DeadLetter {
            id: Uuid::new_v4(),
            transaction_id: job.transaction_id,
            callback_uri: job.callback_uri.clone(),
            tries,
            last_error,
            created_at: self.inner.clock.now(),
            next_attempt_at,
        };
        if let Err(e) = self.inner.store.put_dead_letter(&letter).await {
            tracing::error!(transaction_id = %job.transaction_id, error = %e, "could not store dead letter");
        }
        telemetry::callback(result);
        if let Some(stats) = self.stats() {
            stats.callback_dead_lettered();
        }
        self.emit(EventName::CallbackDeadLettered, job).await;
    }
}
