//! Every panel drawn into a `TestBackend` from synthetic models, at 80×24 and 200×60, and
//! compared with the committed `insta` snapshots (`snapshots/`).

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use tessera_config::admin::{EventView, TargetView, TransactionDetail};

use crate::app::{
    App, Confirm, Detail, EditPhase, Editor, Focus, Input, Inspect, Link, Mode, Replay, Tab,
};
use crate::fixtures::{NOW, app};
use crate::resources::Collection;

const SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    terminal.backend().to_string()
}

fn snap(name: &str, app: &App) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(app, w, h));
    }
}

fn on(tab: Tab) -> App {
    let mut a = app();
    a.tab = tab;
    a
}

#[test]
fn overview() {
    snap("overview", &on(Tab::Overview));
}

#[test]
fn transactions() {
    let mut a = on(Tab::Transactions);
    a.transactions.select_by(1);
    snap("transactions", &a);
}

#[test]
fn transaction_detail() {
    let mut a = on(Tab::Transactions);
    let summary = a.transactions.items[0].clone();
    let id = summary.transaction_id.clone();
    let ev = |name: &str, after: u64, detail: Option<&str>| EventView {
        event_identifier: format!("e{after}"),
        event_name: name.into(),
        event_type: "MOBILE_AUTH".into(),
        client_id: Some("portal".into()),
        app_name: Some("ACME Bank".into()),
        transaction_id: Some(id.clone()),
        user_id: Some("alice".into()),
        client_ip: None,
        user_agent: None,
        detail: detail.map(str::to_owned),
        occurred: summary.created_at + after,
    };
    a.transactions.detail = Detail::Open(Box::new(TransactionDetail {
        timeline: vec![
            ev("PUSH AUTHENTICATION STARTED", 0, None),
            ev("PUSH MESSAGE SENT", 120, Some("fcm-main")),
            ev(
                "PUSH MESSAGE DELIVERY FAILED",
                900,
                Some("apns: 403 InvalidProviderToken"),
            ),
        ],
        summary,
        callback_uri: Some("https://portal.example.com/callback".into()),
        used_authentication_attempts: 1,
        max_authentication_attempts: Some(3),
        resends_used: 0,
        phone_number_masked: None,
        targets: vec![
            TargetView {
                device_id: "A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90"
                    .into(),
                delivered: Some(true),
                fetched: true,
            },
            TargetView {
                device_id: "FFEEDDCCBBAA99887766554433221100FFEEDDCCBBAA99887766554433221100"
                    .into(),
                delivered: Some(false),
                fetched: false,
            },
        ],
        fallback: Some("sms".into()),
    }));
    snap("transaction_detail", &a);
}

#[test]
fn cancel_confirmation() {
    let mut a = on(Tab::Transactions);
    a.mode = Mode::Confirm(Confirm::Cancel {
        transaction_id: a.transactions.items[0].transaction_id.clone(),
    });
    snap("cancel_confirmation", &a);
}

#[test]
fn events_live_and_paused_with_a_filter() {
    snap("events", &on(Tab::Events));
    let mut a = on(Tab::Events);
    a.events.toggle_pause();
    a.events
        .push(crate::fixtures::event("SMS SENT", None, "zed", 0));
    a.events.filter = "PUSH".into();
    snap("events_paused", &a);
}

#[test]
fn config() {
    let mut a = on(Tab::Config);
    a.config.focus = Focus::Fields;
    a.config.field = 2;
    snap("config", &a);
}

#[test]
fn config_editor_with_a_validation_error() {
    let mut a = on(Tab::Config);
    a.config.focus = Focus::Fields;
    a.config.item = 1;
    a.config.field = 5;
    a.config.field_errors = [
        (
            "mobile_auth_types[1].time_to_live".to_owned(),
            "at most 24h".to_owned(),
        ),
        (
            "sender_id".to_owned(),
            "only with a Twilio gateway".to_owned(),
        ),
    ]
    .into();
    a.mode = Mode::Edit(Editor {
        collection: Collection::MobileAuthTypes,
        name: "sms".into(),
        field: "time_to_live".into(),
        input: Input::new("99h"),
        phase: EditPhase::Typing,
    });
    snap("config_editor_error", &a);
}

#[test]
fn config_with_masked_secret() {
    let mut a = on(Tab::Config);
    a.config.collection = 3;
    a.config.replace(vec![json!({"name": "twilio", "kind": "twilio", "account_sid": "AC123", "auth_token": "********", "from": "+3197010200300"})]);
    a.config.focus = Focus::Items;
    snap("config_gateways", &a);
}

#[test]
fn dead_letters_inspected_after_a_replay() {
    let mut a = on(Tab::DeadLetters);
    snap("dead_letters", &a);
    a.dead_letters.inspect = Inspect::Open;
    a.dead_letters.replay = Replay::Done(tessera_config::admin::ReplayOutcome {
        id: "d1a2b3c4-dead".into(),
        transaction_id: "1c6f8d2b".into(),
        delivered: false,
        error: Some("503 Service Unavailable".into()),
    });
    snap("dead_letters_inspect", &a);
}

#[test]
fn help_overlay() {
    let mut a = on(Tab::Transactions);
    a.mode = Mode::Help;
    snap("help", &a);
}

#[test]
fn filter_input() {
    let mut a = on(Tab::Transactions);
    a.mode = Mode::Filter(Input::new("type:sms state:pen"));
    snap("filter_input", &a);
}

#[test]
fn disconnected() {
    let mut a = App::new("http://127.0.0.1:8080", NOW);
    a.stats_link = Link::Down {
        attempt: 4,
        retry_at: NOW + 3_000,
        error: "cannot reach the server: Connection refused (os error 111)".into(),
    };
    a.stream_link = Link::Down {
        attempt: 4,
        retry_at: NOW + 3_000,
        error: "cannot reach the server: Connection refused (os error 111)".into(),
    };
    snap("disconnected", &a);
    // Data already read stays on screen while reconnecting.
    let mut b = on(Tab::Transactions);
    b.stream_link = a.stream_link.clone();
    snap("reconnecting_with_data", &b);
}

#[test]
fn loading_and_failed_lists_are_drawn() {
    let mut a = App::new("http://127.0.0.1:8080", NOW);
    a.tab = Tab::Transactions;
    let drawn = draw(&a, 80, 24);
    assert!(drawn.contains("loading…"), "{drawn}");
    a.transactions.load = crate::app::Load::Failed("503 store_unavailable: Redis down".into());
    let drawn = draw(&a, 80, 24);
    assert!(
        drawn.contains("could not load: 503 store_unavailable"),
        "{drawn}"
    );
    a.tab = Tab::Overview;
    assert!(draw(&a, 80, 24).contains("waiting for the first /stats answer"));
}

#[test]
fn tiny_terminals_do_not_panic() {
    let mut a = app();
    for tab in Tab::ALL {
        a.tab = tab;
        for (w, h) in [(1, 1), (10, 4), (30, 8), (79, 23)] {
            draw(&a, w, h);
        }
    }
    a.mode = Mode::Help;
    draw(&a, 20, 5);
}
