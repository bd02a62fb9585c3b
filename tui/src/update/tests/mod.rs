//! `update` for every key binding and every I/O answer, without a terminal or a server.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde_json::json;
use tessera_config::admin::{Dropped, ErrorBody, ReplayOutcome, TransactionDetail};

use super::*;
use crate::action::{Action, Command, Fetch, FetchKind, Fetched};
use crate::app::{Confirm, Detail, EditPhase, Focus, Inspect, Link, Mode, Replay, Run, Tab, Tail};
use crate::error::Error;
use crate::fixtures::{self, NOW, app, event, txn};
use crate::resources::Collection;
use crate::sse::Record;

fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(app: &mut App, c: char) -> Vec<Command> {
    update(
        app,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn fetches(cmds: &[Command]) -> Vec<&Fetch> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Fetch { fetch, .. } => Some(fetch),
            _ => None,
        })
        .collect()
}

fn generation(cmds: &[Command]) -> u64 {
    match cmds.first() {
        Some(Command::Fetch { generation, .. }) => *generation,
        other => panic!("no fetch: {other:?}"),
    }
}

fn http(status: u16, code: &str, fields: &[(&str, &str)]) -> Error {
    Error::Http {
        status,
        body: ErrorBody {
            error_code: code.into(),
            description: format!("{code} happened"),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        },
    }
}

#[test]
fn start_reads_every_list() {
    let mut app = App::new("http://x", NOW);
    let cmds = start(&mut app);
    let kinds: Vec<_> = fetches(&cmds).iter().map(|f| f.kind()).collect();
    assert_eq!(
        kinds,
        [
            FetchKind::Transactions,
            FetchKind::Events,
            FetchKind::DeadLetters,
            FetchKind::Config
        ]
    );
}

#[test]
fn q_and_ctrl_c_quit_but_q_is_text_in_a_filter() {
    let mut a = app();
    assert_eq!(key(&mut a, KeyCode::Char('q')), [Command::Quit]);
    assert_eq!(a.run, Run::Quit);
    let mut a = app();
    a.tab = Tab::Events;
    key(&mut a, KeyCode::Char('/'));
    assert!(key(&mut a, KeyCode::Char('q')).is_empty());
    assert_eq!(a.run, Run::Running);
    assert_eq!(a.mode, Mode::Filter(crate::app::Input::new("q")));
    assert_eq!(ctrl(&mut a, 'c'), [Command::Quit]);
    assert_eq!(a.run, Run::Quit);
}

#[test]
fn key_releases_are_ignored() {
    let mut a = app();
    let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(update(&mut a, Action::Key(release)).is_empty());
    assert_eq!(a.run, Run::Running);
}

#[test]
fn help_opens_with_question_mark_and_closes_with_esc_or_question_mark() {
    let mut a = app();
    key(&mut a, KeyCode::Char('?'));
    assert_eq!(a.mode, Mode::Help);
    // Tab keys do nothing under the overlay.
    key(&mut a, KeyCode::Char('2'));
    assert_eq!(a.tab, Tab::Overview);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.mode, Mode::Normal);
    key(&mut a, KeyCode::Char('?'));
    key(&mut a, KeyCode::Char('?'));
    assert_eq!(a.mode, Mode::Normal);
    key(&mut a, KeyCode::Char('?'));
    assert_eq!(key(&mut a, KeyCode::Char('q')), [Command::Quit]);
}

#[test]
fn digits_and_tab_keys_switch_tabs_and_read_what_is_not_live() {
    let mut a = app();
    for (c, tab) in ['1', '2', '3', '4', '5'].into_iter().zip(Tab::ALL) {
        let cmds = key(&mut a, KeyCode::Char(c));
        assert_eq!(a.tab, tab);
        let kinds: Vec<_> = fetches(&cmds).iter().map(|f| f.kind()).collect();
        match tab {
            Tab::Config => assert_eq!(kinds, [FetchKind::Config]),
            Tab::DeadLetters => assert_eq!(kinds, [FetchKind::DeadLetters]),
            _ => assert!(kinds.is_empty()),
        }
    }
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.tab, Tab::Overview);
    key(&mut a, KeyCode::BackTab);
    assert_eq!(a.tab, Tab::DeadLetters);
    key(&mut a, KeyCode::BackTab);
    assert_eq!(a.tab, Tab::Config);
}

#[test]
fn capital_r_rereads_the_current_list() {
    let mut a = app();
    assert!(
        key(&mut a, KeyCode::Char('R')).is_empty(),
        "the overview is polled"
    );
    for (tab, kind) in [
        (Tab::Transactions, FetchKind::Transactions),
        (Tab::Events, FetchKind::Events),
        (Tab::Config, FetchKind::Config),
        (Tab::DeadLetters, FetchKind::DeadLetters),
    ] {
        a.tab = tab;
        let cmds = key(&mut a, KeyCode::Char('R'));
        assert_eq!(fetches(&cmds)[0].kind(), kind);
    }
}

#[test]
fn slash_filters_transactions_locally_and_on_the_server() {
    let mut a = app();
    a.tab = Tab::Transactions;
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "type:sms statx");
    key(&mut a, KeyCode::Backspace);
    typed(&mut a, "e:pending");
    let cmds = key(&mut a, KeyCode::Enter);
    assert_eq!(a.mode, Mode::Normal);
    match fetches(&cmds)[..] {
        [Fetch::Transactions(q)] => {
            assert_eq!(q.type_name.as_deref(), Some("sms"));
            assert_eq!(q.state.as_deref(), Some("pending"));
            assert_eq!(q.user_id, None);
        }
        ref other => panic!("{other:?}"),
    }
    let ids: Vec<_> = a
        .transactions
        .visible()
        .iter()
        .map(|t| t.user_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["dave"]);
    // Reopened with the filter as text; Ctrl-U clears, Esc keeps the old filter.
    key(&mut a, KeyCode::Char('/'));
    assert_eq!(
        a.mode,
        Mode::Filter(crate::app::Input::new("type:sms state:pending"))
    );
    ctrl(&mut a, 'u');
    assert_eq!(a.mode, Mode::Filter(crate::app::Input::new("")));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.transactions.filter.text(), "type:sms state:pending");
    // user: and free text.
    key(&mut a, KeyCode::Char('/'));
    ctrl(&mut a, 'u');
    typed(&mut a, "user:alice");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.transactions.visible().len(), 1);
    key(&mut a, KeyCode::Char('/'));
    ctrl(&mut a, 'u');
    typed(&mut a, "push");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.transactions.visible().len(), 2);
}

#[test]
fn slash_filters_events_config_and_dead_letters_but_not_the_overview() {
    let mut a = app();
    key(&mut a, KeyCode::Char('/'));
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.current_flash().is_some());
    a.tab = Tab::Events;
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "rejected");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.events.visible().len(), 1);
    a.tab = Tab::Config;
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "sm");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.config.selected_name().as_deref(), Some("sms"));
    a.tab = Tab::DeadLetters;
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "e5f6");
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.dead_letters.selected_letter().unwrap().tries, 6);
}

mod panels;
