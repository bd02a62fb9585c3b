//! Synthetic models for the update and view tests: fixed times, so pictures are stable.

use std::collections::BTreeMap;

use serde_json::json;
use tessera_config::admin::{
    CallbackStats, DeadLetterView, EventView, NodeStats, OutboundHealth, Quantiles, Stats,
    StoreStats, TransactionSummary, TypeStats,
};

use crate::app::{App, Link, Load};

/// The model's `now` in every test.
pub const NOW: u64 = 1_700_000_000_000;

pub fn txn(id: &str, type_name: &str, status: &str, user: &str, age_ms: u64) -> TransactionSummary {
    let created_at = NOW - age_ms;
    TransactionSummary {
        transaction_id: id.to_owned(),
        type_name: type_name.to_owned(),
        method: if type_name.starts_with("push") {
            "push".into()
        } else {
            type_name.to_owned()
        },
        client_id: "portal".into(),
        user_id: Some(user.to_owned()),
        status: status.to_owned(),
        state: if status == "pending" {
            "sent".into()
        } else {
            status.to_owned()
        },
        reason: (status == "rejected").then(|| "not_accepted".to_owned()),
        created_at,
        deadline: created_at + 300_000,
        finished_at: (status != "pending").then_some(created_at + 4_000),
        node: Some("node-a".into()),
        version: 1,
    }
}

pub fn event(name: &str, txn: Option<&str>, user: &str, age_ms: u64) -> EventView {
    EventView {
        event_identifier: format!("ev-{age_ms}"),
        event_name: name.to_owned(),
        event_type: "MOBILE_AUTH".into(),
        client_id: Some("portal".into()),
        app_name: None,
        transaction_id: txn.map(str::to_owned),
        user_id: Some(user.to_owned()),
        client_ip: None,
        user_agent: None,
        detail: None,
        occurred: NOW - age_ms,
    }
}

pub fn dead_letter(id: &str, txn: &str, tries: u32) -> DeadLetterView {
    DeadLetterView {
        id: id.to_owned(),
        transaction_id: txn.to_owned(),
        callback_uri: "https://portal.example.com/callback".into(),
        tries,
        last_error: "connection refused".into(),
        created_at: NOW - 120_000,
    }
}

fn node(name: &str, scale: u32) -> NodeStats {
    let ramp = |base: u32| {
        (0..60)
            .map(|i| base * scale + (i % 7) * scale)
            .collect::<Vec<u32>>()
    };
    let finished = BTreeMap::from([
        ("accepted".to_owned(), 90 * u64::from(scale)),
        ("rejected".to_owned(), 10),
    ]);
    NodeStats {
        name: name.to_owned(),
        started_at: NOW - 3 * 3_600_000,
        at: NOW - 400,
        types: vec![
            TypeStats {
                name: "push".into(),
                method: "push".into(),
                started: 1200,
                active: 7,
                finished: finished.clone(),
                starts_per_second: ramp(3),
            },
            TypeStats {
                name: "sms".into(),
                method: "sms".into(),
                started: 800,
                active: 3,
                finished,
                starts_per_second: ramp(1),
            },
        ],
        active_by_state: BTreeMap::from([
            ("delivered".to_owned(), 4),
            ("sent".to_owned(), 3),
            ("code_sent".to_owned(), 3),
        ]),
        outcomes: BTreeMap::from([
            ("accepted".to_owned(), 1700),
            ("rejected".to_owned(), 150),
            ("expired".to_owned(), 140),
        ]),
        start_latency: Quantiles {
            count: 600,
            p50_ms: 3.2,
            p90_ms: 8.0,
            p99_ms: 21.0,
        },
        flow_latency: Quantiles {
            count: 500,
            p50_ms: 2100.0,
            p90_ms: 4000.0,
            p99_ms: 9100.0,
        },
        sms_gateways: vec![OutboundHealth {
            name: "twilio".into(),
            kind: "twilio".into(),
            sent: 790,
            failed: 10,
            healthy: true,
            last_error: None,
            last_error_at: None,
        }],
        push_providers: vec![
            OutboundHealth {
                name: "fcm-main".into(),
                kind: "fcm_v1".into(),
                sent: 1150,
                failed: 0,
                healthy: true,
                last_error: None,
                last_error_at: None,
            },
            OutboundHealth {
                name: "apns".into(),
                kind: "apns".into(),
                sent: 40,
                failed: 12,
                healthy: false,
                last_error: Some("403 InvalidProviderToken".into()),
                last_error_at: Some(NOW - 5_000),
            },
        ],
        callbacks: CallbackStats {
            sent: 1900,
            failed_tries: 14,
            dead_lettered: 2,
            in_flight: 1,
        },
    }
}

pub fn stats() -> Stats {
    Stats {
        node: "node-a".into(),
        at: NOW - 400,
        store: StoreStats {
            kind: "redis".into(),
            healthy: true,
        },
        dead_letters: 2,
        nodes: vec![node("node-a", 2), node("node-b", 1)],
    }
}

/// A connected dashboard with data in every panel.
pub fn app() -> App {
    let mut app = App::new("http://127.0.0.1:8080", NOW);
    app.stats = Some(stats());
    app.stats_link = Link::Up;
    app.stream_link = Link::Up;
    app.transactions.replace(vec![
        txn(
            "0b5e7c1a-0000-4000-8000-000000000001",
            "push",
            "pending",
            "alice",
            2_000,
        ),
        txn(
            "1c6f8d2b-0000-4000-8000-000000000002",
            "sms",
            "accepted",
            "bob",
            15_000,
        ),
        txn(
            "2d7a9e3c-0000-4000-8000-000000000003",
            "push_with_pin",
            "rejected",
            "carol",
            70_000,
        ),
        txn(
            "3e8baf4d-0000-4000-8000-000000000004",
            "sms",
            "pending",
            "dave",
            95_000,
        ),
    ]);
    app.events.replace(vec![
        event(
            "PUSH AUTHENTICATION STARTED",
            Some("0b5e7c1a-0000-4000-8000-000000000001"),
            "alice",
            2_000,
        ),
        event(
            "SMS AUTHENTICATION SUCCESS",
            Some("1c6f8d2b-0000-4000-8000-000000000002"),
            "bob",
            11_000,
        ),
        event(
            "PUSH AUTHENTICATION REJECTED",
            Some("2d7a9e3c-0000-4000-8000-000000000003"),
            "carol",
            66_000,
        ),
    ]);
    app.dead_letters.replace(vec![
        dead_letter("d1a2b3c4-dead", "1c6f8d2b-0000-4000-8000-000000000002", 5),
        dead_letter("e5f6a7b8-dead", "2d7a9e3c-0000-4000-8000-000000000003", 6),
    ]);
    app.config.replace(vec![
        json!({"name": "push", "method": "push", "time_to_live": "2m", "fallback": "sms", "max_resends": 1, "number_matching": false}),
        json!({"name": "sms", "method": "sms", "time_to_live": "5m", "fallback": "", "max_attempts": 3, "code_length": 6}),
    ]);
    app.config.load = Load::Ready;
    app
}
