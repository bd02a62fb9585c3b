//! The flows a simulated portal and device carry out, each a sequence of named steps recorded
//! into a [`Recorder`]. The first step (`start`, or `live` for `bare`) is measured from the
//! arrival's *intended* time, so a harness or engine that falls behind its schedule shows up as
//! latency (coordinated omission corrected); later steps from when they were issued; `flow`
//! covers the whole flow from the intended time.

mod bare;
mod otp;
mod push;
mod sms;
mod world;

use serde::Serialize;
use tessera_api::ClientError;
use tokio::time::Instant;

pub use world::{SimDevice, World, enroll_devices};

use crate::args::Mix;
use crate::stats::Recorder;

/// One kind of flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    Bare,
    Sms,
    Push,
    PushWithPin,
    Otp,
}

impl FlowKind {
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Bare => "bare",
            FlowKind::Sms => "sms",
            FlowKind::Push => "push",
            FlowKind::PushWithPin => "push_with_pin",
            FlowKind::Otp => "otp",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            FlowKind::Bare,
            FlowKind::Sms,
            FlowKind::Push,
            FlowKind::PushWithPin,
            FlowKind::Otp,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// The named steps, in order (`flow` comes after them).
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            FlowKind::Bare => bare::STEPS,
            FlowKind::Sms => sms::STEPS,
            FlowKind::Push | FlowKind::PushWithPin => push::STEPS,
            FlowKind::Otp => otp::STEPS,
        }
    }

    /// Whether the flow needs enrolled devices.
    pub fn needs_devices(self) -> bool {
        matches!(self, FlowKind::Push | FlowKind::PushWithPin | FlowKind::Otp)
    }
}

/// Why a flow failed: the step and an error code (`"503 1002"`, `"timeout"`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub step: &'static str,
    pub code: String,
}

impl FlowError {
    pub fn new(step: &'static str, code: impl Into<String>) -> Self {
        Self {
            step,
            code: code.into(),
        }
    }

    /// The key in `errors_by_code`.
    pub fn key(&self) -> String {
        format!("{}: {}", self.step, self.code)
    }

    /// Maps a client error at `step`.
    pub fn at(step: &'static str) -> impl Fn(ClientError) -> FlowError {
        move |e| FlowError::new(step, code_of(&e))
    }
}

/// A short, stable code for a failed call.
pub fn code_of(e: &ClientError) -> String {
    match e {
        ClientError::Api { status, code, .. } if code.is_empty() => status.to_string(),
        ClientError::Api { status, code, .. } => format!("{status} {code}"),
        ClientError::Transport(t) if t.is_timeout() => "timeout".into(),
        ClientError::Transport(t) if t.is_connect() => "connect".into(),
        ClientError::Transport(_) => "transport".into(),
        ClientError::Decode { status, .. } => format!("{status} undecodable"),
        ClientError::Crypto(_) => "openpgp".into(),
    }
}

/// Where each flow kind of a scenario records: step names, and which index each starts at.
#[derive(Debug, Clone)]
pub struct Layout {
    entries: Vec<Entry>,
    total_weight: u32,
    names: Vec<String>,
    /// `mixed`: the index of the overall `flow`.
    overall: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: FlowKind,
    weight: u32,
    base: usize,
}

impl Layout {
    /// One kind: its steps by their plain names, then `flow`.
    pub fn single(kind: FlowKind) -> Self {
        let mut names: Vec<String> = kind.steps().iter().map(|s| (*s).to_owned()).collect();
        names.push("flow".into());
        Self {
            entries: vec![Entry {
                kind,
                weight: 1,
                base: 0,
            }],
            total_weight: 1,
            names,
            overall: None,
        }
    }

    /// Several kinds by weight: steps named `kind.step`, each kind's `kind.flow`, and `flow`.
    pub fn mixed(mix: &Mix) -> Self {
        let mut names = Vec::new();
        let mut entries = Vec::new();
        for &(kind, weight) in &mix.0 {
            entries.push(Entry {
                kind,
                weight,
                base: names.len(),
            });
            for step in kind.steps().iter().chain(&["flow"]) {
                names.push(format!("{}.{step}", kind.name()));
            }
        }
        let overall = names.len();
        names.push("flow".into());
        Self {
            total_weight: entries.iter().map(|e| e.weight).sum(),
            entries,
            names,
            overall: Some(overall),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    pub fn kinds(&self) -> impl Iterator<Item = FlowKind> + '_ {
        self.entries.iter().map(|e| e.kind)
    }

    /// The index of the overall `flow` step (the one the progress line shows).
    pub fn flow_index(&self) -> usize {
        self.overall.unwrap_or(self.names.len() - 1)
    }

    /// Indexes of steps named `step` or `kind.step`.
    pub fn indexes_of(&self, step: &str) -> Vec<usize> {
        let suffix = format!(".{step}");
        (0..self.names.len())
            .filter(|&i| self.names[i] == step || self.names[i].ends_with(&suffix))
            .collect()
    }

    /// Arrival `n`'s flow: a smooth weighted round robin, so every window of the run sees the
    /// mix in its proportions.
    fn pick(&self, n: u64) -> Entry {
        let mut slot = (n % u64::from(self.total_weight)) as u32;
        // Interleave: spread each kind's share over the cycle rather than in blocks.
        slot = (slot as u64 * 7919 % u64::from(self.total_weight)) as u32;
        for e in &self.entries {
            if slot < e.weight {
                return *e;
            }
            slot -= e.weight;
        }
        self.entries[0]
    }

    /// Runs arrival `n` (intended at `intended`) and records it.
    pub async fn run(&self, n: u64, world: &World, rec: &Recorder, intended: Instant) {
        let e = self.pick(n);
        let result = match e.kind {
            FlowKind::Bare => bare::run(world, rec, e.base, intended).await,
            FlowKind::Sms => sms::run(world, rec, e.base, intended).await,
            FlowKind::Push => push::run(world, rec, e.base, intended, false).await,
            FlowKind::PushWithPin => push::run(world, rec, e.base, intended, true).await,
            FlowKind::Otp => otp::run(world, rec, e.base, intended).await,
        };
        match result {
            Ok(()) => {
                let total = intended.elapsed();
                rec.record(e.base + e.kind.steps().len(), total);
                if let Some(i) = self.overall {
                    rec.record(i, total);
                }
                rec.flow_ok();
            }
            Err(err) => {
                let key = match self.overall {
                    Some(_) => format!("{}.{}", e.kind.name(), err.key()),
                    None => err.key(),
                };
                rec.flow_failed(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_layout_names_and_picks_by_weight() {
        let mix = Mix(vec![(FlowKind::Sms, 5), (FlowKind::Otp, 2)]);
        let layout = Layout::mixed(&mix);
        let names = layout.names();
        assert_eq!(names[0], "sms.start");
        assert_eq!(names[3], "sms.flow");
        assert_eq!(names[4], "otp.start");
        assert_eq!(names.last().unwrap(), "flow");
        assert_eq!(layout.flow_index(), names.len() - 1);
        assert_eq!(layout.indexes_of("start"), vec![0, 4]);
        let sms = (0..700)
            .filter(|&n| layout.pick(n).kind == FlowKind::Sms)
            .count();
        assert_eq!(sms, 500);
    }

    #[test]
    fn single_layout() {
        let layout = Layout::single(FlowKind::PushWithPin);
        assert_eq!(
            layout.names(),
            ["start", "deliver", "fetch", "answer", "result", "flow"]
        );
        assert_eq!(layout.flow_index(), 5);
        assert_eq!(layout.indexes_of("start"), vec![0]);
    }
}
