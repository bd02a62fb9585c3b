//! `push` and `push_with_pin`: the portal starts a push to a user's one device and long-polls
//! for the outcome; the push reaches the device (FCM sink or pending list), which fetches the
//! encrypted document (decrypt + verify), and answers signed and encrypted (with the PIN token
//! for `push_with_pin`). With `--context` the start carries `ip_address` and `user_agent`, and
//! the document must come back with the rendered `secure_message`.

use tessera_api::AnswerBody;
use tessera_api::wire::{AnswerOutcome, StartParams};
use tokio::time::Instant;

use super::world::outcome;
use super::{FlowError, World};
use crate::stats::Recorder;

pub const STEPS: &[&str] = &["start", "deliver", "fetch", "answer", "result"];
const START: usize = 0;
/// From sending the start to the device learning of the transaction.
const DELIVER: usize = 1;
const FETCH: usize = 2;
const ANSWER: usize = 3;
/// From sending the answer to the portal's long-poll returning the outcome.
const RESULT: usize = 4;

pub async fn run(
    w: &World,
    rec: &Recorder,
    base: usize,
    intended: Instant,
    with_pin: bool,
) -> Result<(), FlowError> {
    let turn = w.turn();
    let device = w.device()?;
    let type_name = if with_pin { "push_with_pin" } else { "push" };
    let (ip_address, user_agent) = w.context.as_ref().map(|c| c.next()).unzip();
    let params = StartParams {
        user_id: Some(device.user.clone()),
        ip_address,
        user_agent,
        ..StartParams::new(type_name)
    };
    let sent = Instant::now();
    let started = w
        .portal(turn)
        .start(&params)
        .await
        .map_err(FlowError::at("start"))?;
    rec.record(base + START, intended.elapsed());
    let id = started.transaction_id;

    // The portal long-polls while the device works; dropped (aborted) if the device fails.
    let poll = tokio::spawn(outcome(w.portal(turn + 1).clone(), id.clone(), w.patience));
    let poll = AbortOnDrop(poll);
    let claim = Some(w.sinks.push.expect(&id));

    let arrived = w.push_arrival(&device, &id, claim).await?;
    rec.record(base + DELIVER, arrived.saturating_duration_since(sent));

    let t = Instant::now();
    let doc = device
        .client
        .fetch(&id)
        .await
        .map_err(FlowError::at("fetch"))?;
    rec.record(base + FETCH, t.elapsed());
    if doc.transaction_id != id {
        return Err(FlowError::new("fetch", "wrong_document"));
    }
    // `--context`: the start sent no `secure_message`, so one in the document is the rendered
    // context; a failed lookup would have left it out.
    if w.context.is_some() && doc.secure_message.is_none() {
        return Err(FlowError::new("fetch", "no_context"));
    }

    let answered = Instant::now();
    let result = if with_pin && w.unlock_per_answer {
        device.client.answer_with_pin(&id, &w.pin, true).await
    } else {
        let body = AnswerBody {
            // Bound to this transaction, as the engine requires (answers cannot be replayed).
            transaction_id: Some(id.clone()),
            accepted: true,
            pin_token: with_pin.then(|| device.pin_token.clone()),
            ..AnswerBody::default()
        };
        device.client.answer(&id, &body).await
    };
    let answer = result.map_err(FlowError::at("answer"))?;
    rec.record(base + ANSWER, answered.elapsed());
    if answer != AnswerOutcome::Accepted {
        return Err(FlowError::new("answer", "rejected"));
    }

    finish(poll, rec, base + RESULT, answered).await
}

/// Awaits the portal's long-poll and records from `answered` to its return.
pub(super) async fn finish(
    poll: AbortOnDrop,
    rec: &Recorder,
    step: usize,
    answered: Instant,
) -> Result<(), FlowError> {
    let (result, at) = poll
        .join()
        .await
        .map_err(|_| FlowError::new("result", "aborted"))?
        .map_err(FlowError::at("result"))?;
    if result.status != "accepted" {
        return Err(FlowError::new(
            "result",
            format!("status_{}", result.status),
        ));
    }
    rec.record(step, at.saturating_duration_since(answered));
    Ok(())
}

type Poll = tokio::task::JoinHandle<
    Result<(tessera_api::wire::TransactionResult, Instant), tessera_api::ClientError>,
>;

/// The portal's long-poll task, aborted when the flow gives up on it.
pub(super) struct AbortOnDrop(pub(super) Poll);

impl AbortOnDrop {
    async fn join(
        mut self,
    ) -> Result<
        Result<(tessera_api::wire::TransactionResult, Instant), tessera_api::ClientError>,
        tokio::task::JoinError,
    > {
        (&mut self.0).await
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
