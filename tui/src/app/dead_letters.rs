//! The Dead letters panel's state: the list, the inspected letter and the last replay.

use tessera_config::admin::{DeadLetterView, ReplayOutcome};

use super::Load;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetters {
    /// Oldest first, as the server lists them.
    pub items: Vec<DeadLetterView>,
    pub selected: usize,
    /// Substring matched against id, transaction, URI and error.
    pub filter: String,
    pub inspect: Inspect,
    pub replay: Replay,
    pub load: Load,
}

impl Default for DeadLetters {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            selected: 0,
            filter: String::new(),
            inspect: Inspect::Closed,
            replay: Replay::None,
            load: Load::Loading,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inspect {
    Closed,
    Open,
}

/// The last replay asked for in this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    None,
    Running { id: String },
    Done(ReplayOutcome),
    Failed { id: String, error: String },
}

impl DeadLetters {
    pub fn visible(&self) -> Vec<&DeadLetterView> {
        let f = self.filter.to_lowercase();
        self.items
            .iter()
            .filter(|d| {
                f.is_empty()
                    || [&d.id, &d.transaction_id, &d.callback_uri, &d.last_error]
                        .iter()
                        .any(|v| v.to_lowercase().contains(&f))
            })
            .collect()
    }

    pub fn selected_letter(&self) -> Option<&DeadLetterView> {
        let rows = self.visible();
        rows.get(self.selected.min(rows.len().saturating_sub(1)))
            .copied()
    }

    pub fn select_by(&mut self, delta: isize) {
        let max = self.visible().len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(max);
    }

    pub fn replace(&mut self, items: Vec<DeadLetterView>) {
        self.items = items;
        self.load = Load::Ready;
        self.select_by(0);
    }

    /// A replay's outcome: a delivered letter is gone; one that failed again counts the try.
    pub fn apply(&mut self, outcome: &ReplayOutcome) {
        if outcome.delivered {
            self.items.retain(|d| d.id != outcome.id);
        } else if let Some(d) = self.items.iter_mut().find(|d| d.id == outcome.id) {
            d.tries += 1;
            if let Some(e) = &outcome.error {
                d.last_error.clone_from(e);
            }
        }
        self.select_by(0);
    }
}
