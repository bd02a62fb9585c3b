//! Dead letters: callbacks that failed every try (or never got a slot) are kept in the store,
//! listed by the admin API and replayed from there.

use uuid::Uuid;

use super::{CallbackDispatcher, CallbackJob};
use crate::model::{EventName, Millis};
use crate::store::{DeadLetter, StoreError};

impl CallbackDispatcher {
    /// Takes dead letter `id` from the store and delivers it again (`false`: no such letter).
    // No caller outside tests yet: the admin API's `POST /dead-letters/{id}/replay` is to come.
    #[allow(dead_code)]
    pub async fn replay(&self, id: Uuid) -> Result<bool, StoreError> {
        let Some(letter) = self.inner.store.take_dead_letter(id).await? else {
            return Ok(false);
        };
        // The dead letter keeps no user or client; the transaction may still be readable.
        let txn = self
            .inner
            .store
            .get(letter.transaction_id)
            .await
            .ok()
            .flatten();
        self.dispatch(CallbackJob {
            transaction_id: letter.transaction_id,
            callback_uri: letter.callback_uri,
            user_id: txn.as_ref().and_then(|t| t.user_id.clone()),
            client_id: txn.map(|t| t.client_id.clone()),
        });
        Ok(true)
    }

    pub(super) async fn dead_letter(&self, job: &CallbackJob, tries: u32, last_error: String) {
        self.store_letter(job, tries, last_error, None).await;
    }

    /// A job whose retries were interrupted by shutdown: kept with the time its next try was due.
    pub(super) async fn dead_letter_waiting(
        &self,
        job: &CallbackJob,
        tries: u32,
        last_error: String,
        next_attempt_at: Millis,
    ) {
        self.store_letter(job, tries, last_error, Some(next_attempt_at))
            .await;
    }

    async fn store_letter(
        &self,
        job: &CallbackJob,
        tries: u32,
        last_error: String,
        next_attempt_at: Option<Millis>,
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
        metrics::counter!(crate::telemetry::CALLBACKS, "result" => "dead_lettered").increment(1);
        self.emit(EventName::CallbackDeadLettered, job).await;
    }
}
