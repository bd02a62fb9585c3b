//! Keys in normal mode, per tab, and the Config tab's field editor.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

use super::{fetch, short};
use crate::action::{Command, Fetch};
use crate::app::{
    App, Confirm, Detail, EditPhase, Editor, Focus, Input, Inspect, Level, Mode, Replay, Tab,
    edit_text, parse_edit,
};

/// Rows moved by PageUp / PageDown.
const PAGE: isize = 10;

/// Up/down movement shared by the lists: `Some(delta)` for j/k, arrows, pages, g/G.
fn movement(key: &KeyEvent) -> Option<isize> {
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        KeyCode::Up | KeyCode::Char('k') => Some(-1),
        KeyCode::PageDown => Some(PAGE),
        KeyCode::PageUp => Some(-PAGE),
        KeyCode::Home | KeyCode::Char('g') => Some(isize::MIN / 2),
        KeyCode::End | KeyCode::Char('G') => Some(isize::MAX / 2),
        _ => None,
    }
}

pub fn tab_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    match app.tab {
        Tab::Overview => Vec::new(),
        Tab::Transactions => transactions_key(app, key),
        Tab::Events => {
            if let Some(d) = movement(&key) {
                app.events.scroll_by(d);
            } else if key.code == KeyCode::Char('p') {
                app.events.toggle_pause();
            }
            Vec::new()
        }
        Tab::Config => config_key(app, key),
        Tab::DeadLetters => dead_letters_key(app, key),
    }
}

fn transactions_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let t = &mut app.transactions;
    if let Some(d) = movement(&key) {
        if key.code == KeyCode::End || key.code == KeyCode::Char('G') {
            t.select_last();
        } else {
            t.select_by(d);
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter => {
            let Some(id) = t.selected_row().map(|r| r.transaction_id.clone()) else {
                return Vec::new();
            };
            t.detail = Detail::Loading { id: id.clone() };
            vec![fetch(app, Fetch::Transaction(id))]
        }
        KeyCode::Char('c') => {
            // The open detail's transaction, else the selected row's.
            let target = match &t.detail {
                Detail::Open(d) => {
                    Some((d.summary.transaction_id.clone(), d.summary.status.clone()))
                }
                _ => t
                    .selected_row()
                    .map(|r| (r.transaction_id.clone(), r.status.clone())),
            };
            match target {
                Some((id, status)) if status == "pending" => {
                    app.mode = Mode::Confirm(Confirm::Cancel { transaction_id: id });
                }
                Some((id, status)) => {
                    app.flash(Level::Error, format!("{} is already {status}", short(&id)));
                }
                None => app.flash(Level::Info, "no transaction selected"),
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn config_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let c = &mut app.config;
    if let Some(d) = movement(&key) {
        let before = c.collection;
        c.move_by(d);
        if c.collection != before {
            // Another collection: its list, from the top.
            c.items.clear();
            c.item = 0;
            c.field = 0;
            c.field_errors.clear();
            c.load = crate::app::Load::Loading;
            return vec![fetch(app, Fetch::Config(app.config.current()))];
        }
        return Vec::new();
    }
    match key.code {
        KeyCode::Left | KeyCode::Char('h') => {
            c.focus = match c.focus {
                Focus::Fields => Focus::Items,
                _ => Focus::Collections,
            }
        }
        KeyCode::Right | KeyCode::Char('l') | KeyCode::Enter if c.focus != Focus::Fields => {
            c.focus = match c.focus {
                Focus::Collections => Focus::Items,
                _ => Focus::Fields,
            }
        }
        KeyCode::Char('e') | KeyCode::Enter => open_editor(app),
        _ => {}
    }
    Vec::new()
}

fn open_editor(app: &mut App) {
    let c = &app.config;
    let collection = c.current();
    let (Some(name), Some((field, value))) = (c.selected_name(), c.selected_field()) else {
        app.flash(Level::Info, "select a field to edit");
        return;
    };
    if field == collection.key() {
        app.flash(
            Level::Error,
            format!("`{field}` names the item; it cannot be edited here"),
        );
        return;
    }
    app.mode = Mode::Edit(Editor {
        collection,
        name,
        field: field.to_owned(),
        input: Input::new(&edit_text(value)),
        phase: EditPhase::Typing,
    });
    app.config.focus = Focus::Fields;
}

/// Keys while the editor is open: Enter sends the whole object with the field changed.
pub fn edit_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let Mode::Edit(ed) = &mut app.mode else {
        return Vec::new();
    };
    if key.code == KeyCode::Esc {
        app.mode = Mode::Normal;
        app.config.field_errors.clear();
        return Vec::new();
    }
    if super::keys::saving(&ed.phase) {
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter => {}
        KeyCode::Backspace => ed.input.backspace(),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => ed.input.clear(),
        KeyCode::Char(ch) => ed.input.push(ch),
        _ => {}
    }
    if key.code != KeyCode::Enter {
        if ed.phase != EditPhase::Typing {
            ed.phase = EditPhase::Typing;
        }
        return Vec::new();
    }
    let item = app
        .config
        .items
        .iter()
        .find(|v| ed.collection.name_of(v) == Some(ed.name.as_str()));
    let Some(Value::Object(item)) = item else {
        ed.phase = EditPhase::Refused(format!("{} is gone; press R to reload", ed.name));
        return Vec::new();
    };
    let old = item.get(&ed.field).cloned().unwrap_or(Value::Null);
    let value = match parse_edit(&old, ed.input.text()) {
        Ok(v) => v,
        Err(e) => {
            ed.phase = EditPhase::Refused(e);
            return Vec::new();
        }
    };
    let mut body = item.clone();
    body.insert(ed.field.clone(), value);
    ed.phase = EditPhase::Saving;
    vec![Command::Save {
        collection: ed.collection,
        name: ed.name.clone(),
        field: ed.field.clone(),
        body: Box::new(Value::Object(body)),
    }]
}

fn dead_letters_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let d = &mut app.dead_letters;
    if let Some(delta) = movement(&key) {
        d.select_by(delta);
        return Vec::new();
    }
    match key.code {
        KeyCode::Enter => {
            d.inspect = match d.inspect {
                Inspect::Closed => Inspect::Open,
                Inspect::Open => Inspect::Closed,
            }
        }
        KeyCode::Char('r') => {
            if let Replay::Running { id } = &d.replay {
                let text = format!("replay of {} still running", short(id));
                app.flash(Level::Info, text);
                return Vec::new();
            }
            let Some(id) = d.selected_letter().map(|l| l.id.clone()) else {
                app.flash(Level::Info, "no dead letter selected");
                return Vec::new();
            };
            d.replay = Replay::Running { id: id.clone() };
            return vec![Command::Replay { id }];
        }
        _ => {}
    }
    Vec::new()
}
