//! Messages: what happened ([`Action`], into `update`) and what `update` wants done
//! ([`Command`], out to the I/O tasks). Both are plain data, so `update` is tested without a
//! terminal or a server.

use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;
use tessera_config::admin::{
    DeadLetterList, EventList, ReplayOutcome, Stats, TransactionDetail, TransactionList,
};

use crate::client::{EventQuery, TransactionQuery};
use crate::error::Error;
use crate::resources::Collection;
use crate::sse::Record;

/// Into `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Key(KeyEvent),
    /// The frame tick, with the wall time (epoch ms).
    Tick {
        now: u64,
    },
    /// A `/stats` poll answered.
    Stats(Box<Stats>),
    /// A `/stats` poll failed; the next try is at `retry_at`.
    StatsFailed {
        error: Error,
        attempt: u32,
        retry_at: u64,
    },
    /// `/stream` is (again) open: lists are re-read to catch up on what was missed.
    StreamUp,
    Stream(Box<Record>),
    /// `/stream` closed or could not open; the next try is at `retry_at`.
    StreamDown {
        error: Error,
        attempt: u32,
        retry_at: u64,
    },
    /// An answer to [`Command::Fetch`] with that generation.
    Fetched {
        kind: FetchKind,
        generation: u64,
        result: Result<Fetched, Error>,
    },
    Cancelled {
        id: String,
        result: Result<(), Error>,
    },
    Replayed {
        id: String,
        result: Result<ReplayOutcome, Error>,
    },
    Saved {
        collection: Collection,
        name: String,
        field: String,
        sent: Box<Value>,
        result: Result<Option<Value>, Error>,
    },
}

/// The kinds of read; a new request of a kind makes older pending ones of that kind stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FetchKind {
    Transactions,
    Transaction,
    Events,
    DeadLetters,
    Config,
}

/// A read to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    Transactions(TransactionQuery),
    Transaction(String),
    Events(EventQuery),
    DeadLetters,
    Config(Collection),
}

impl Fetch {
    pub fn kind(&self) -> FetchKind {
        match self {
            Fetch::Transactions(_) => FetchKind::Transactions,
            Fetch::Transaction(_) => FetchKind::Transaction,
            Fetch::Events(_) => FetchKind::Events,
            Fetch::DeadLetters => FetchKind::DeadLetters,
            Fetch::Config(_) => FetchKind::Config,
        }
    }
}

/// What a read brought back.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Transactions(TransactionList),
    Transaction(Box<TransactionDetail>),
    Events(EventList),
    DeadLetters(DeadLetterList),
    Config(Collection, Vec<Value>),
}

/// Out of `update`.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Fetch {
        generation: u64,
        fetch: Fetch,
    },
    Cancel {
        id: String,
    },
    Replay {
        id: String,
    },
    /// `PUT` the whole object with one field changed.
    Save {
        collection: Collection,
        name: String,
        field: String,
        body: Box<Value>,
    },
    Quit,
}
