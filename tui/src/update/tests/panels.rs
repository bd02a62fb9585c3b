//! `update` in each panel: moving, the detail pane, cancel, pause, the editor, replay, and the
//! answers of the I/O tasks.

use super::*;

#[test]
fn movement_keys_select_rows_and_the_top_follows_new_ones() {
    let mut a = app();
    a.tab = Tab::Transactions;
    let user = |a: &App| {
        a.transactions
            .selected_row()
            .unwrap()
            .user_id
            .clone()
            .unwrap()
    };
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(user(&a), "bob");
    key(&mut a, KeyCode::Down);
    assert_eq!(user(&a), "carol");
    key(&mut a, KeyCode::Up);
    key(&mut a, KeyCode::Char('k'));
    assert_eq!(user(&a), "alice");
    key(&mut a, KeyCode::Char('G'));
    assert_eq!(user(&a), "dave");
    key(&mut a, KeyCode::Char('g'));
    assert_eq!(user(&a), "alice");
    key(&mut a, KeyCode::PageDown);
    assert_eq!(user(&a), "dave");
    key(&mut a, KeyCode::PageUp);
    assert_eq!(user(&a), "alice");
    key(&mut a, KeyCode::End);
    key(&mut a, KeyCode::Home);
    assert_eq!(a.transactions.selected, None);
    // At the top, a new transaction becomes the selection; lower down, the row stays.
    update(
        &mut a,
        Action::Stream(Box::new(Record::Transaction(txn(
            "new-1", "sms", "pending", "erin", 0,
        )))),
    );
    assert_eq!(user(&a), "erin");
    key(&mut a, KeyCode::Char('j'));
    update(
        &mut a,
        Action::Stream(Box::new(Record::Transaction(txn(
            "new-2", "sms", "pending", "fred", 0,
        )))),
    );
    assert_eq!(user(&a), "alice");
}

#[test]
fn enter_opens_the_detail_newest_answer_wins_and_esc_closes() {
    let mut a = app();
    a.tab = Tab::Transactions;
    key(&mut a, KeyCode::Char('j'));
    let first = key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('k'));
    let second = key(&mut a, KeyCode::Enter);
    let id = "0b5e7c1a-0000-4000-8000-000000000001";
    assert_eq!(a.transactions.detail, Detail::Loading { id: id.into() });
    let detail = |t| {
        Box::new(TransactionDetail {
            summary: t,
            callback_uri: None,
            used_authentication_attempts: 0,
            max_authentication_attempts: Some(3),
            resends_used: 0,
            phone_number_masked: None,
            targets: Vec::new(),
            fallback: None,
            timeline: Vec::new(),
        })
    };
    // The older request's answer arrives late: dropped.
    let stale = Fetched::Transaction(detail(a.transactions.items[1].clone()));
    update(
        &mut a,
        Action::Fetched {
            kind: FetchKind::Transaction,
            generation: generation(&first),
            result: Ok(stale),
        },
    );
    assert_eq!(a.transactions.detail.id(), Some(id));
    assert!(matches!(a.transactions.detail, Detail::Loading { .. }));
    let fresh = Fetched::Transaction(detail(a.transactions.items[0].clone()));
    update(
        &mut a,
        Action::Fetched {
            kind: FetchKind::Transaction,
            generation: generation(&second),
            result: Ok(fresh),
        },
    );
    assert!(matches!(&a.transactions.detail, Detail::Open(d) if d.summary.transaction_id == id));
    // A change to the open transaction re-reads it.
    let mut changed = txn(id, "push", "accepted", "alice", 2_000);
    changed.version = 2;
    let cmds = update(
        &mut a,
        Action::Stream(Box::new(Record::Transaction(changed))),
    );
    assert_eq!(fetches(&cmds), [&Fetch::Transaction(id.into())]);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.transactions.detail, Detail::Closed);
}

#[test]
fn c_asks_and_y_cancels_n_does_not() {
    let mut a = app();
    a.tab = Tab::Transactions;
    key(&mut a, KeyCode::Char('c'));
    let id = "0b5e7c1a-0000-4000-8000-000000000001".to_owned();
    assert_eq!(
        a.mode,
        Mode::Confirm(Confirm::Cancel {
            transaction_id: id.clone()
        })
    );
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    assert_eq!(a.mode, Mode::Normal);
    key(&mut a, KeyCode::Char('c'));
    assert!(key(&mut a, KeyCode::Esc).is_empty());
    key(&mut a, KeyCode::Char('c'));
    assert_eq!(
        key(&mut a, KeyCode::Char('y')),
        [Command::Cancel { id: id.clone() }]
    );
    update(
        &mut a,
        Action::Cancelled {
            id: id.clone(),
            result: Ok(()),
        },
    );
    assert!(
        a.current_flash()
            .unwrap()
            .text
            .starts_with("cancelled 0b5e7c1a")
    );
    update(
        &mut a,
        Action::Cancelled {
            id: id.clone(),
            result: Err(http(409, "already_final", &[])),
        },
    );
    assert!(a.current_flash().unwrap().text.contains("already finished"));
    // A finished row is not offered.
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('c'));
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.current_flash().unwrap().text.contains("already accepted"));
}

#[test]
fn p_pauses_the_tail_holds_events_and_resumes() {
    let mut a = app();
    a.tab = Tab::Events;
    key(&mut a, KeyCode::Char('p'));
    update(
        &mut a,
        Action::Stream(Box::new(Record::Event(event("SMS SENT", None, "zed", 0)))),
    );
    assert_eq!(a.events.items.len(), 3);
    assert!(matches!(&a.events.tail, Tail::Paused { held, .. } if held.len() == 1));
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(a.events.scroll, 1);
    key(&mut a, KeyCode::Char('k'));
    assert_eq!(a.events.scroll, 0);
    key(&mut a, KeyCode::Char('p'));
    assert_eq!(a.events.tail, Tail::Live);
    assert_eq!(a.events.items[0].event_name, "SMS SENT");
    update(
        &mut a,
        Action::Stream(Box::new(Record::Event(event("SMS FAILED", None, "zed", 0)))),
    );
    assert_eq!(a.events.items.len(), 5);
}

#[test]
fn config_columns_edit_and_save_with_field_errors_in_place() {
    let mut a = app();
    a.tab = Tab::Config;
    // j on the resources column changes the collection and reads it.
    let cmds = key(&mut a, KeyCode::Char('j'));
    assert_eq!(fetches(&cmds), [&Fetch::Config(Collection::Applications)]);
    key(&mut a, KeyCode::Char('k'));
    a.config.replace(fixtures::app().config.items);
    key(&mut a, KeyCode::Char('l'));
    assert_eq!(a.config.focus, Focus::Items);
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(a.config.selected_name().as_deref(), Some("sms"));
    key(&mut a, KeyCode::Right);
    assert_eq!(a.config.focus, Focus::Fields);
    // Fields by key: code_length, fallback, max_attempts, method, name, time_to_live.
    key(&mut a, KeyCode::Char('G'));
    assert_eq!(a.config.selected_field().unwrap().0, "time_to_live");
    key(&mut a, KeyCode::Char('e'));
    assert!(matches!(&a.mode, Mode::Edit(ed) if ed.input.text() == "5m"));
    ctrl(&mut a, 'u');
    typed(&mut a, "99h");
    let cmds = key(&mut a, KeyCode::Enter);
    let [
        Command::Save {
            collection,
            name,
            field,
            body,
        },
    ] = &cmds[..]
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (*collection, name.as_str(), field.as_str()),
        (Collection::MobileAuthTypes, "sms", "time_to_live")
    );
    assert_eq!(body["time_to_live"], "99h");
    assert_eq!(body["code_length"], 6, "the whole object is sent");
    assert!(matches!(&a.mode, Mode::Edit(ed) if ed.phase == EditPhase::Saving));
    // Keys wait while saving.
    typed(&mut a, "x");
    assert!(matches!(&a.mode, Mode::Edit(ed) if ed.input.text() == "99h"));
    let fields = [
        ("mobile_auth_types[1].time_to_live", "at most 24h"),
        ("fallback", "bad"),
    ];
    update(
        &mut a,
        Action::Saved {
            collection: Collection::MobileAuthTypes,
            name: "sms".into(),
            field: "time_to_live".into(),
            sent: body.clone(),
            result: Err(http(422, "invalid_config", &fields)),
        },
    );
    assert!(matches!(&a.mode, Mode::Edit(ed) if ed.phase == EditPhase::Typing));
    assert_eq!(a.config.error_for("time_to_live"), Some("at most 24h"));
    assert_eq!(a.config.error_for("fallback"), Some("bad"));
    key(&mut a, KeyCode::Backspace);
    typed(&mut a, "m");
    let cmds = key(&mut a, KeyCode::Enter);
    assert_eq!(cmds.len(), 1);
    let mut saved = body.as_ref().clone();
    saved["time_to_live"] = json!("99m");
    let cmds = update(
        &mut a,
        Action::Saved {
            collection: Collection::MobileAuthTypes,
            name: "sms".into(),
            field: "time_to_live".into(),
            sent: Box::new(saved.clone()),
            result: Ok(Some(saved)),
        },
    );
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.config.field_errors.is_empty());
    assert_eq!(a.config.selected_item().unwrap()["time_to_live"], "99m");
    assert_eq!(
        fetches(&cmds),
        [&Fetch::Config(Collection::MobileAuthTypes)]
    );
}

#[test]
fn the_editor_refuses_bad_json_and_the_name_and_esc_closes_it() {
    let mut a = app();
    a.tab = Tab::Config;
    a.config.focus = Focus::Fields;
    a.config.item = 1;
    a.config.field = 0; // code_length: a number
    key(&mut a, KeyCode::Enter);
    ctrl(&mut a, 'u');
    typed(&mut a, "six");
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(
        matches!(&a.mode, Mode::Edit(ed) if matches!(&ed.phase, EditPhase::Refused(m) if m.contains("JSON")))
    );
    // Typing again clears the refusal; a non-field error is shown as a refusal.
    typed(&mut a, "x");
    assert!(matches!(&a.mode, Mode::Edit(ed) if ed.phase == EditPhase::Typing));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.mode, Mode::Normal);
    a.config.field = 4; // name
    key(&mut a, KeyCode::Char('e'));
    assert_eq!(a.mode, Mode::Normal);
    assert!(a.current_flash().unwrap().text.contains("cannot be edited"));
    a.config.field = 0;
    key(&mut a, KeyCode::Char('e'));
    let cmds = key(&mut a, KeyCode::Enter);
    let [Command::Save { body, .. }] = &cmds[..] else {
        panic!()
    };
    update(
        &mut a,
        Action::Saved {
            collection: Collection::MobileAuthTypes,
            name: "sms".into(),
            field: "code_length".into(),
            sent: body.clone(),
            result: Err(Error::Connect("connection refused".into())),
        },
    );
    assert!(
        matches!(&a.mode, Mode::Edit(ed) if matches!(&ed.phase, EditPhase::Refused(m) if m.contains("refused")))
    );
    key(&mut a, KeyCode::Char('h'));
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('h'));
    assert_eq!(a.config.focus, Focus::Items);
    key(&mut a, KeyCode::Left);
    assert_eq!(a.config.focus, Focus::Collections);
}

#[test]
fn dead_letters_move_inspect_and_replay() {
    let mut a = app();
    a.tab = Tab::DeadLetters;
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(
        a.dead_letters.selected_letter().unwrap().id,
        "e5f6a7b8-dead"
    );
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.dead_letters.inspect, Inspect::Open);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.dead_letters.inspect, Inspect::Closed);
    let cmds = key(&mut a, KeyCode::Char('r'));
    assert_eq!(
        cmds,
        [Command::Replay {
            id: "d1a2b3c4-dead".into()
        }]
    );
    assert!(
        key(&mut a, KeyCode::Char('r')).is_empty(),
        "one replay at a time"
    );
    let cmds = update(
        &mut a,
        Action::Replayed {
            id: "d1a2b3c4-dead".into(),
            result: Ok(ReplayOutcome {
                id: "d1a2b3c4-dead".into(),
                transaction_id: "t".into(),
                delivered: false,
                error: Some("503 from portal".into()),
            }),
        },
    );
    assert_eq!(fetches(&cmds), [&Fetch::DeadLetters]);
    assert_eq!(a.dead_letters.items[0].tries, 6);
    assert_eq!(a.dead_letters.items[0].last_error, "503 from portal");
    key(&mut a, KeyCode::Char('r'));
    update(
        &mut a,
        Action::Replayed {
            id: "d1a2b3c4-dead".into(),
            result: Ok(ReplayOutcome {
                id: "d1a2b3c4-dead".into(),
                transaction_id: "t".into(),
                delivered: true,
                error: None,
            }),
        },
    );
    assert_eq!(a.dead_letters.items.len(), 1);
    assert!(matches!(&a.dead_letters.replay, Replay::Done(o) if o.delivered));
    key(&mut a, KeyCode::Char('r'));
    update(
        &mut a,
        Action::Replayed {
            id: "e5f6a7b8-dead".into(),
            result: Err(http(404, "not_found", &[])),
        },
    );
    assert!(matches!(&a.dead_letters.replay, Replay::Failed { .. }));
}

#[test]
fn connection_state_follows_the_links() {
    let mut a = App::new("http://x", NOW);
    assert!(!a.connected());
    update(&mut a, Action::Stats(Box::new(fixtures::stats())));
    let cmds = update(&mut a, Action::StreamUp);
    assert!(a.connected());
    assert_eq!(
        fetches(&cmds).len(),
        3,
        "catch-up reads after the stream opens"
    );
    update(
        &mut a,
        Action::StreamDown {
            error: Error::Connect("connection refused".into()),
            attempt: 2,
            retry_at: NOW + 1_000,
        },
    );
    assert_eq!(
        a.stream_link,
        Link::Down {
            attempt: 2,
            retry_at: NOW + 1_000,
            error: "cannot reach the server: connection refused".into()
        }
    );
    update(&mut a, Action::StreamUp);
    update(
        &mut a,
        Action::Stream(Box::new(Record::Dropped(Dropped {
            reason: "slow".into(),
            missed: 7,
        }))),
    );
    assert_eq!(a.stream_link, Link::Connecting);
    assert!(a.current_flash().unwrap().text.contains("7 missed"));
    update(
        &mut a,
        Action::StatsFailed {
            error: Error::Connect("reset".into()),
            attempt: 1,
            retry_at: NOW,
        },
    );
    assert!(matches!(a.stats_link, Link::Down { .. }));
    // A moved dead-letter count re-reads the list.
    let mut s = fixtures::stats();
    s.dead_letters = 9;
    assert_eq!(
        fetches(&update(&mut a, Action::Stats(Box::new(s)))),
        [&Fetch::DeadLetters]
    );
    update(&mut a, Action::Tick { now: NOW + 7_000 });
    assert_eq!(a.now, NOW + 7_000);
    assert!(a.current_flash().is_none(), "notices expire");
}

#[test]
fn a_failed_read_is_drawn_and_a_stale_one_ignored() {
    let mut a = App::new("http://x", NOW);
    let cmds = start(&mut a);
    let Command::Fetch { generation, .. } = &cmds[0] else {
        panic!()
    };
    update(
        &mut a,
        Action::Fetched {
            kind: FetchKind::Transactions,
            generation: *generation + 100,
            result: Err(Error::Connect("x".into())),
        },
    );
    assert_eq!(a.transactions.load, crate::app::Load::Loading);
    update(
        &mut a,
        Action::Fetched {
            kind: FetchKind::Transactions,
            generation: *generation,
            result: Err(Error::Connect("x".into())),
        },
    );
    assert!(matches!(a.transactions.load, crate::app::Load::Failed(_)));
}
