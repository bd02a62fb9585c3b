//! The Events panel's state: a bounded live tail of audit events, a text filter, and pause
//! (records keep arriving while paused and are held, bounded, until the tail resumes).

use std::collections::VecDeque;

use tessera_config::admin::EventView;

use super::Load;

/// Events kept in the tail, and held while paused.
pub const MAX_EVENTS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    Live,
    /// `held` arrived since the pause; `missed` fell off the bounded hold.
    Paused {
        held: VecDeque<EventView>,
        missed: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Events {
    /// Newest first.
    pub items: VecDeque<EventView>,
    /// Substring matched against name, type, ids, client and detail.
    pub filter: String,
    pub tail: Tail,
    /// Rows scrolled down from the newest.
    pub scroll: usize,
    pub load: Load,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            filter: String::new(),
            tail: Tail::Live,
            scroll: 0,
            load: Load::Loading,
        }
    }
}

impl Events {
    pub fn matches(&self, e: &EventView) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let f = self.filter.to_lowercase();
        [
            Some(e.event_name.as_str()),
            Some(e.event_type.as_str()),
            e.transaction_id.as_deref(),
            e.user_id.as_deref(),
            e.client_id.as_deref(),
            e.app_name.as_deref(),
            e.detail.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|v| v.to_lowercase().contains(&f))
    }

    pub fn visible(&self) -> Vec<&EventView> {
        self.items.iter().filter(|e| self.matches(e)).collect()
    }

    /// Replaces the tail with a list read (newest first).
    pub fn replace(&mut self, items: Vec<EventView>) {
        self.items = items.into_iter().take(MAX_EVENTS).collect();
        self.load = Load::Ready;
    }

    /// A `/stream` event: shown at once when live, held when paused.
    pub fn push(&mut self, e: EventView) {
        match &mut self.tail {
            Tail::Live => {
                self.items.push_front(e);
                self.items.truncate(MAX_EVENTS);
                // Someone reading older rows keeps seeing the same rows.
                if self.scroll > 0 {
                    self.scroll += 1;
                }
            }
            Tail::Paused { held, missed } => {
                held.push_front(e);
                if held.len() > MAX_EVENTS {
                    held.pop_back();
                    *missed += 1;
                }
            }
        }
    }

    /// `p`: pauses a live tail, or resumes a paused one (held events join it).
    pub fn toggle_pause(&mut self) {
        match std::mem::replace(&mut self.tail, Tail::Live) {
            Tail::Live => {
                self.tail = Tail::Paused {
                    held: VecDeque::new(),
                    missed: 0,
                }
            }
            Tail::Paused { held, .. } => {
                for e in held.into_iter().rev() {
                    self.items.push_front(e);
                }
                self.items.truncate(MAX_EVENTS);
                self.scroll = 0;
            }
        }
    }

    pub fn scroll_by(&mut self, delta: isize) {
        let max = self.visible().len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }
}
