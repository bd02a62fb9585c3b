//! The model: everything the views draw, and nothing else. No I/O, no clock: time is `now`
//! (epoch ms), set by ticks, so a view of a given model is always the same picture.

mod config;
mod dead_letters;
mod events;
mod input;
mod transactions;

use std::collections::BTreeMap;

use tessera_config::admin::Stats;

pub use config::{ConfigState, EditPhase, Editor, Focus, edit_text, parse_edit};
pub use dead_letters::{DeadLetters, Inspect, Replay};
pub use events::{Events, Tail};
pub use input::Input;
pub use transactions::{Detail, Transactions, TxnFilter};

use crate::action::FetchKind;

/// The five panels, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Transactions,
    Events,
    Config,
    DeadLetters,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Overview,
        Tab::Transactions,
        Tab::Events,
        Tab::Config,
        Tab::DeadLetters,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Transactions => "Transactions",
            Tab::Events => "Events",
            Tab::Config => "Config",
            Tab::DeadLetters => "Dead letters",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// What the keyboard is talking to. Overlays and editors take keys before the tab does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    /// Typing the current tab's filter; the previous one comes back on Esc.
    Filter(Input),
    Confirm(Confirm),
    Edit(Editor),
}

/// An action waiting for `y`/`n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    Cancel { transaction_id: String },
}

/// Whether the program keeps going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    Running,
    Quit,
}

/// One connection to the server (the `/stats` poll, the `/stream` subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Up,
    /// Failed; the next try is at `retry_at` (backoff grows with `attempt`).
    Down {
        attempt: u32,
        retry_at: u64,
        error: String,
    },
}

/// Loading state of a list, drawn rather than hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    Loading,
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// A one-line notice in the status bar (an outcome, a refusal), with when it was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub at: u64,
}

/// How long a notice stays.
pub const FLASH_MS: u64 = 6_000;

/// Newest-request-wins bookkeeping: each fetch kind remembers the generation of its latest
/// request; an answer to an older one is dropped (gitui's `asyncjob` keeps only the newest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    next: u64,
    latest: BTreeMap<FetchKind, u64>,
}

impl Requests {
    /// A new generation for `kind`; older pending answers of that kind become stale.
    pub fn issue(&mut self, kind: FetchKind) -> u64 {
        self.next += 1;
        self.latest.insert(kind, self.next);
        self.next
    }

    pub fn is_latest(&self, kind: FetchKind, generation: u64) -> bool {
        self.latest.get(&kind) == Some(&generation)
    }
}

/// The whole model.
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// The server, as given on the command line (shown in the title bar).
    pub url: String,
    /// Wall time, epoch ms, from the last tick.
    pub now: u64,
    pub tab: Tab,
    pub mode: Mode,
    pub run: Run,
    pub stats: Option<Stats>,
    pub stats_link: Link,
    pub stream_link: Link,
    pub transactions: Transactions,
    pub events: Events,
    pub config: ConfigState,
    pub dead_letters: DeadLetters,
    pub flash: Option<Flash>,
    pub requests: Requests,
}

impl App {
    pub fn new(url: &str, now: u64) -> Self {
        Self {
            url: url.to_owned(),
            now,
            tab: Tab::Overview,
            mode: Mode::Normal,
            run: Run::Running,
            stats: None,
            stats_link: Link::Connecting,
            stream_link: Link::Connecting,
            transactions: Transactions::default(),
            events: Events::default(),
            config: ConfigState::default(),
            dead_letters: DeadLetters::default(),
            flash: None,
            requests: Requests::default(),
        }
    }

    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            level,
            at: self.now,
        });
    }

    /// The notice to draw now, if any.
    pub fn current_flash(&self) -> Option<&Flash> {
        self.flash
            .as_ref()
            .filter(|f| self.now.saturating_sub(f.at) < FLASH_MS)
    }

    /// Both connections up.
    pub fn connected(&self) -> bool {
        self.stats_link == Link::Up && self.stream_link == Link::Up
    }
}
