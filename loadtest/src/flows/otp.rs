//! `otp`: the portal starts an OTP transaction (no user) and shows the code; a device scans and
//! redeems it (the encrypted document comes back), answers, and the portal's long-poll returns.

use tessera_api::AnswerBody;
use tessera_api::wire::{AnswerOutcome, StartParams};
use tokio::time::Instant;

use super::push::{AbortOnDrop, finish};
use super::world::outcome;
use super::{FlowError, World};
use crate::stats::Recorder;

pub const STEPS: &[&str] = &["start", "redeem", "answer", "result"];
const START: usize = 0;
const REDEEM: usize = 1;
const ANSWER: usize = 2;
/// From sending the answer to the portal's long-poll returning the outcome.
const RESULT: usize = 3;

pub async fn run(
    w: &World,
    rec: &Recorder,
    base: usize,
    intended: Instant,
) -> Result<(), FlowError> {
    let turn = w.turn();
    let device = w.device()?;
    let started = w
        .portal(turn)
        .start(&StartParams::new("otp"))
        .await
        .map_err(FlowError::at("start"))?;
    rec.record(base + START, intended.elapsed());
    let otp = started
        .otp
        .ok_or_else(|| FlowError::new("start", "no_otp"))?;
    let id = started.transaction_id;
    let poll = AbortOnDrop(tokio::spawn(outcome(
        w.portal(turn + 1).clone(),
        id.clone(),
        w.patience,
    )));

    let t = Instant::now();
    let doc = device
        .client
        .redeem_otp(&otp)
        .await
        .map_err(FlowError::at("redeem"))?;
    rec.record(base + REDEEM, t.elapsed());
    if doc.transaction_id != id {
        return Err(FlowError::new("redeem", "wrong_document"));
    }

    let answered = Instant::now();
    let body = AnswerBody {
        // Bound to this transaction, as the engine requires (answers cannot be replayed).
        transaction_id: Some(id.clone()),
        accepted: true,
        ..AnswerBody::default()
    };
    let answer = device
        .client
        .answer(&id, &body)
        .await
        .map_err(FlowError::at("answer"))?;
    rec.record(base + ANSWER, answered.elapsed());
    if answer != AnswerOutcome::Accepted {
        return Err(FlowError::new("answer", "rejected"));
    }
    finish(poll, rec, base + RESULT, answered).await
}
