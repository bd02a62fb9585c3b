//! `sms`: the portal starts an SMS transaction for a phone number only this flow uses, the
//! engine sends the code to the harness's REST SMS sink, the portal verifies the captured code.

use tessera_api::wire::StartParams;
use tokio::time::Instant;

use super::{FlowError, World};
use crate::stats::Recorder;

pub const STEPS: &[&str] = &["start", "deliver", "verify"];
const START: usize = 0;
/// From sending the start to the code reaching the sink.
const DELIVER: usize = 1;
const VERIFY: usize = 2;

pub async fn run(
    w: &World,
    rec: &Recorder,
    base: usize,
    intended: Instant,
) -> Result<(), FlowError> {
    let turn = w.turn();
    let phone = w.phone();
    let user = w.user(rand::random());
    // Claim the phone number before starting: the SMS may beat the start's answer.
    let claim = w.sinks.sms.expect(&phone);
    let params = StartParams {
        user_id: Some(user.clone()),
        phone_number: Some(phone),
        ..StartParams::new("sms")
    };
    let sent = Instant::now();
    let started = w
        .portal(turn)
        .start(&params)
        .await
        .map_err(FlowError::at("start"))?;
    rec.record(base + START, intended.elapsed());

    let code = claim
        .recv(w.patience)
        .await
        .ok_or_else(|| FlowError::new("deliver", "not_delivered"))?;
    rec.record(base + DELIVER, code.at.saturating_duration_since(sent));

    let t = Instant::now();
    w.portal(turn + 1)
        .verify_sms(&user, &started.transaction_id, &code.value)
        .await
        .map_err(FlowError::at("verify"))?;
    rec.record(base + VERIFY, t.elapsed());
    Ok(())
}
