//! `bare`: `GET /health/live`, the cheapest round trip the API has — the ceiling the flows are
//! quoted against.

use tokio::time::Instant;

use super::{FlowError, World};
use crate::stats::Recorder;

pub const STEPS: &[&str] = &["live"];

pub async fn run(
    w: &World,
    rec: &Recorder,
    base: usize,
    intended: Instant,
) -> Result<(), FlowError> {
    w.portal(w.turn())
        .live()
        .await
        .map_err(FlowError::at("live"))?;
    rec.record(base, intended.elapsed());
    Ok(())
}
