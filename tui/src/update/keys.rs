//! Keys, by mode: an open editor, filter, confirmation or help overlay takes keys before the
//! tab does; Esc closes it. Ctrl-C quits from anywhere, `q` from anywhere but a text input.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{LIST_LIMIT, fetch, tabs};
use crate::action::{Command, Fetch};
use crate::app::{App, Confirm, Detail, EditPhase, Input, Inspect, Level, Mode, Run, Tab};

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    // Some terminals report releases and repeats too; only presses act.
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return quit(app);
    }
    match app.mode {
        Mode::Filter(_) => filter_key(app, key),
        Mode::Edit(_) => tabs::edit_key(app, key),
        Mode::Confirm(_) => confirm_key(app, key),
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Char('?') => {
                app.mode = Mode::Normal;
                Vec::new()
            }
            KeyCode::Char('q') => quit(app),
            _ => Vec::new(),
        },
        Mode::Normal => normal_key(app, key),
    }
}

fn quit(app: &mut App) -> Vec<Command> {
    app.run = Run::Quit;
    vec![Command::Quit]
}

fn normal_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Char('q') => return quit(app),
        KeyCode::Char('?') => app.mode = Mode::Help,
        KeyCode::Char(c @ '1'..='5') => {
            let index = c as usize - '1' as usize;
            return switch(app, Tab::ALL[index]);
        }
        KeyCode::Tab => return switch(app, app.tab.next()),
        KeyCode::BackTab => return switch(app, app.tab.prev()),
        KeyCode::Char('/') => match filter_text(app) {
            Some(text) => app.mode = Mode::Filter(Input::new(&text)),
            None => app.flash(Level::Info, "the overview has no filter"),
        },
        KeyCode::Char('R') => return refresh(app),
        KeyCode::Esc => match app.tab {
            Tab::Transactions => app.transactions.detail = Detail::Closed,
            Tab::DeadLetters => app.dead_letters.inspect = Inspect::Closed,
            _ => {}
        },
        _ => return tabs::tab_key(app, key),
    }
    Vec::new()
}

/// Shows `tab`; the lists that are not kept live by the stream are re-read on entry.
fn switch(app: &mut App, tab: Tab) -> Vec<Command> {
    app.tab = tab;
    match tab {
        Tab::DeadLetters => vec![fetch(app, Fetch::DeadLetters)],
        Tab::Config => vec![fetch(app, Fetch::Config(app.config.current()))],
        _ => Vec::new(),
    }
}

/// `R`: re-reads the current tab's list.
pub(super) fn refresh(app: &mut App) -> Vec<Command> {
    let what = match app.tab {
        Tab::Overview => return Vec::new(),
        Tab::Transactions => Fetch::Transactions(app.transactions.filter.query(LIST_LIMIT)),
        Tab::Events => super::events_query(app),
        Tab::Config => Fetch::Config(app.config.current()),
        Tab::DeadLetters => Fetch::DeadLetters,
    };
    vec![fetch(app, what)]
}

fn filter_text(app: &App) -> Option<String> {
    match app.tab {
        Tab::Overview => None,
        Tab::Transactions => Some(app.transactions.filter.text()),
        Tab::Events => Some(app.events.filter.clone()),
        Tab::Config => Some(app.config.filter.clone()),
        Tab::DeadLetters => Some(app.dead_letters.filter.clone()),
    }
}

fn filter_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Mode::Filter(input) = &mut app.mode else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => app.mode = Mode::Normal,
        KeyCode::Enter => {
            let text = input.text().trim().to_owned();
            app.mode = Mode::Normal;
            return apply_filter(app, &text);
        }
        KeyCode::Backspace => input.backspace(),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
        KeyCode::Char(c) => input.push(c),
        _ => {}
    }
    Vec::new()
}

fn apply_filter(app: &mut App, text: &str) -> Vec<Command> {
    match app.tab {
        Tab::Overview => {}
        Tab::Transactions => {
            app.transactions.filter = crate::app::TxnFilter::parse(text);
            app.transactions.selected = None;
            // The server filters too, so older matching transactions are found.
            return vec![fetch(
                app,
                Fetch::Transactions(app.transactions.filter.query(LIST_LIMIT)),
            )];
        }
        Tab::Events => {
            app.events.filter = text.to_owned();
            app.events.scroll = 0;
        }
        Tab::Config => {
            app.config.filter = text.to_owned();
            app.config.item = 0;
            app.config.field = 0;
        }
        Tab::DeadLetters => {
            app.dead_letters.filter = text.to_owned();
            app.dead_letters.selected = 0;
        }
    }
    Vec::new()
}

fn confirm_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Mode::Confirm(Confirm::Cancel { transaction_id }) = &app.mode else {
        return Vec::new();
    };
    let id = transaction_id.clone();
    app.mode = Mode::Normal;
    match key.code {
        KeyCode::Char('y' | 'Y') => {
            app.flash(Level::Info, format!("cancelling {}…", super::short(&id)));
            vec![Command::Cancel { id }]
        }
        _ => {
            app.flash(Level::Info, "not cancelled");
            Vec::new()
        }
    }
}

/// Whether an editor is waiting for its save (keys other than Esc wait too).
pub(super) fn saving(phase: &EditPhase) -> bool {
    *phase == EditPhase::Saving
}
