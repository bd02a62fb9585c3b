//! The pure `update`: `(model, action) -> commands`. It changes the model and says which I/O
//! to start; it never performs any. Keys are in [`keys`], per-tab keys in [`tabs`].

mod keys;
mod tabs;

use tessera_config::admin::codes;

use crate::action::{Action, Command, Fetch, FetchKind, Fetched};
use crate::app::{App, Detail, EditPhase, Level, Link, Load, Mode, Replay, Tail};
use crate::sse::Record;

/// Rows asked for per list read.
pub const LIST_LIMIT: u32 = 500;

/// The reads made at start (and after the stream reconnects).
pub fn start(app: &mut App) -> Vec<Command> {
    vec![
        fetch(
            app,
            Fetch::Transactions(app.transactions.filter.query(LIST_LIMIT)),
        ),
        fetch(app, events_query(app)),
        fetch(app, Fetch::DeadLetters),
        fetch(app, Fetch::Config(app.config.current())),
    ]
}

/// A read of `what`, stamped with a new generation (older pending answers become stale).
pub fn fetch(app: &mut App, what: Fetch) -> Command {
    Command::Fetch {
        generation: app.requests.issue(what.kind()),
        fetch: what,
    }
}

fn events_query(_app: &App) -> Fetch {
    Fetch::Events(crate::client::EventQuery {
        limit: Some(LIST_LIMIT),
        ..Default::default()
    })
}

pub fn update(app: &mut App, action: Action) -> Vec<Command> {
    match action {
        Action::Key(key) => keys::on_key(app, key),
        Action::Tick { now } => {
            app.now = now;
            Vec::new()
        }
        Action::Stats(stats) => {
            app.stats_link = Link::Up;
            let before = app.stats.as_ref().map(|s| s.dead_letters);
            let after = stats.dead_letters;
            app.stats = Some(*stats);
            // The count moved: the list is re-read so the tab shows the new letters.
            if before.is_some_and(|b| b != after) {
                return vec![fetch(app, Fetch::DeadLetters)];
            }
            Vec::new()
        }
        Action::StatsFailed {
            error,
            attempt,
            retry_at,
        } => {
            app.stats_link = Link::Down {
                attempt,
                retry_at,
                error: error.to_string(),
            };
            Vec::new()
        }
        Action::StreamUp => {
            app.stream_link = Link::Up;
            // What happened before the stream (re)opened is only in the lists; the newer
            // reads replace any still pending from the start.
            catch_up(app)
        }
        Action::Stream(record) => on_record(app, *record),
        Action::StreamDown {
            error,
            attempt,
            retry_at,
        } => {
            app.stream_link = Link::Down {
                attempt,
                retry_at,
                error: error.to_string(),
            };
            Vec::new()
        }
        Action::Fetched {
            kind,
            generation,
            result,
        } => {
            if app.requests.is_latest(kind, generation) {
                on_fetched(app, kind, result);
            }
            Vec::new()
        }
        Action::Cancelled { id, result } => on_cancelled(app, id, result),
        Action::Replayed { id, result } => {
            match result {
                Ok(outcome) => {
                    app.dead_letters.apply(&outcome);
                    let text = if outcome.delivered {
                        format!("replayed {}: delivered", short(&id))
                    } else {
                        let why = outcome.error.as_deref().unwrap_or("no reason given");
                        format!("replayed {}: not delivered ({why})", short(&id))
                    };
                    let level = if outcome.delivered {
                        Level::Info
                    } else {
                        Level::Error
                    };
                    app.flash(level, text);
                    app.dead_letters.replay = Replay::Done(outcome);
                }
                Err(e) => {
                    app.flash(Level::Error, format!("replay {}: {e}", short(&id)));
                    app.dead_letters.replay = Replay::Failed {
                        id,
                        error: e.to_string(),
                    };
                }
            }
            vec![fetch(app, Fetch::DeadLetters)]
        }
        Action::Saved {
            collection,
            name,
            field,
            sent,
            result,
        } => {
            let Mode::Edit(ed) = &mut app.mode else {
                return Vec::new();
            };
            if ed.collection != collection || ed.name != name || ed.field != field {
                return Vec::new();
            }
            match result {
                Ok(answer) => {
                    app.config.store(collection, &name, answer.unwrap_or(*sent));
                    app.config.field_errors.clear();
                    app.mode = Mode::Normal;
                    app.flash(
                        Level::Info,
                        format!("saved {}/{name}: {field}", collection.path()),
                    );
                    vec![fetch(app, Fetch::Config(collection))]
                }
                Err(e) => {
                    match e.fields() {
                        Some(fields) => {
                            app.config.field_errors = fields.clone();
                            ed.phase = match app.config.error_for(&field) {
                                Some(_) => EditPhase::Typing,
                                None => EditPhase::Refused(e.to_string()),
                            };
                        }
                        None => ed.phase = EditPhase::Refused(e.to_string()),
                    }
                    Vec::new()
                }
            }
        }
    }
}

fn catch_up(app: &mut App) -> Vec<Command> {
    let mut out = vec![
        fetch(
            app,
            Fetch::Transactions(app.transactions.filter.query(LIST_LIMIT)),
        ),
        fetch(app, Fetch::DeadLetters),
    ];
    if app.events.tail == Tail::Live {
        out.push(fetch(app, events_query(app)));
    }
    out
}

fn on_record(app: &mut App, record: Record) -> Vec<Command> {
    match record {
        Record::Transaction(t) => {
            let refresh = app.transactions.detail.id() == Some(t.transaction_id.as_str());
            app.transactions.upsert(t);
            if refresh {
                let id = app.transactions.detail.id().unwrap_or_default().to_owned();
                return vec![fetch(app, Fetch::Transaction(id))];
            }
        }
        Record::Event(e) => app.events.push(e),
        Record::Dropped(d) => {
            app.stream_link = Link::Connecting;
            app.flash(
                Level::Error,
                format!(
                    "stream dropped ({}, {} missed): catching up",
                    d.reason, d.missed
                ),
            );
        }
    }
    Vec::new()
}

fn on_fetched(app: &mut App, kind: FetchKind, result: Result<Fetched, crate::error::Error>) {
    let error = match result {
        Ok(Fetched::Transactions(l)) => return app.transactions.replace(l.transactions),
        Ok(Fetched::Transaction(d)) => {
            if app.transactions.detail.id() == Some(d.summary.transaction_id.as_str()) {
                app.transactions.detail = Detail::Open(d);
            }
            return;
        }
        Ok(Fetched::Events(l)) => {
            if app.events.tail == Tail::Live {
                app.events.replace(l.events);
            }
            return;
        }
        Ok(Fetched::DeadLetters(l)) => return app.dead_letters.replace(l.dead_letters),
        Ok(Fetched::Config(c, items)) => {
            if c == app.config.current() {
                app.config.replace(items);
            }
            return;
        }
        Err(e) => e.to_string(),
    };
    match kind {
        FetchKind::Transactions => app.transactions.load = Load::Failed(error),
        FetchKind::Transaction => {
            if let Some(id) = app.transactions.detail.id().map(str::to_owned) {
                app.transactions.detail = Detail::Failed { id, error };
            }
        }
        FetchKind::Events => app.events.load = Load::Failed(error),
        FetchKind::DeadLetters => app.dead_letters.load = Load::Failed(error),
        FetchKind::Config => app.config.load = Load::Failed(error),
    }
}

fn on_cancelled(
    app: &mut App,
    id: String,
    result: Result<(), crate::error::Error>,
) -> Vec<Command> {
    match result {
        Ok(()) => app.flash(Level::Info, format!("cancelled {}", short(&id))),
        Err(e) if e.code() == Some(codes::ALREADY_FINAL) => {
            app.flash(Level::Error, format!("{} already finished", short(&id)));
        }
        Err(e) if e.code() == Some(codes::NOT_FOUND) => {
            app.flash(Level::Error, format!("{} not found", short(&id)));
        }
        Err(e) => app.flash(Level::Error, format!("cancel {}: {e}", short(&id))),
    }
    if app.transactions.detail.id() == Some(id.as_str()) {
        return vec![fetch(app, Fetch::Transaction(id))];
    }
    Vec::new()
}

/// The first 8 characters of an id, as the tables show it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

#[cfg(test)]
mod tests;
