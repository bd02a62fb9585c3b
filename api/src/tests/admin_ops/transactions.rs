//! `GET /transactions` (filters, limit, bad parameters), `GET /transactions/{id}` (timeline,
//! nothing secret), `POST /transactions/{id}/cancel` (204 / 409 / 404) and `GET /events`.

use tessera_testkit::sms::SmsHookFake;

use super::*;

fn ids(list: &Value) -> Vec<&str> {
    list["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transaction_id"].as_str().unwrap())
        .collect()
}

#[actix_rt::test]
async fn the_list_filters_limits_and_refuses_bad_parameters() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let first = start_sms_with(&api, "alice", &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = start_sms_with(&api, "bob", &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let third = start_sms_with(&api, "alice", &[]).await;
    let a = Call::post(format!("{V4}/transaction/{second}/cancel"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 204);

    let all = admin_get(&api, "/transactions").await;
    assert_eq!(ids(&all), [third.as_str(), second.as_str(), first.as_str()]);
    let t = &all["transactions"][0];
    assert_eq!(
        (t["type"].as_str(), t["method"].as_str()),
        (Some("sms"), Some("sms"))
    );
    assert_eq!(
        (t["status"].as_str(), t["state"].as_str()),
        (Some("pending"), Some("code_sent"))
    );
    assert_eq!(t["client_id"], "portal");
    assert!(t["deadline"].as_u64() > t["created_at"].as_u64());

    assert_eq!(
        ids(&admin_get(&api, "/transactions?user_id=alice").await),
        [third.as_str(), first.as_str()]
    );
    assert_eq!(
        ids(&admin_get(&api, "/transactions?state=cancelled").await),
        [second.as_str()]
    );
    assert_eq!(
        ids(&admin_get(&api, "/transactions?state=code_sent").await),
        [third.as_str(), first.as_str()]
    );
    assert_eq!(
        ids(&admin_get(&api, "/transactions?state=pending&limit=1").await),
        [third.as_str()]
    );
    assert_eq!(
        ids(&admin_get(&api, "/transactions?type=sms&user_id=bob").await),
        [second.as_str()]
    );
    assert!(ids(&admin_get(&api, "/transactions?type=push").await).is_empty());

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=many",
        "colour=red",
        "state=%zz",
    ] {
        Call::get(format!("{ADMIN}/transactions?{bad}"))
            .ops()
            .send(&api)
            .await
            .assert_error(400, "invalid_request");
    }
}

#[actix_rt::test]
async fn the_detail_has_the_timeline_and_no_secret() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let id = start_sms_with(&api, "alice", &[]).await;
    verify_last(&api, &hook, "alice", &id, 1).await;
    let d = admin_until(&api, &format!("/transactions/{id}"), |d| {
        d["timeline"].as_array().is_some_and(|t| t.len() >= 2)
    })
    .await;
    assert_eq!(d["transaction_id"], id.as_str());
    assert_eq!(
        (d["status"].as_str(), d["state"].as_str()),
        (Some("accepted"), Some("accepted"))
    );
    assert_eq!(d["phone_number_masked"], "+********678");
    assert_eq!(d["used_authentication_attempts"], 1);
    assert_eq!(d["max_authentication_attempts"], 3);
    let names: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["SMS AUTH INIT MESSAGE SENT", "SMS AUTH AUTHENTICATED"]
    );
    let code = &hook.messages()[0].verification_code;
    let text = d.to_string();
    assert!(
        !text.contains(code.as_str()) && !text.contains(PHONE),
        "{text}"
    );

    for unknown in [uuid::Uuid::new_v4().to_string(), "not-an-id".into()] {
        Call::get(format!("{ADMIN}/transactions/{unknown}"))
            .ops()
            .send(&api)
            .await
            .assert_error(404, "not_found");
    }
}

#[actix_rt::test]
async fn an_operator_cancels_any_clients_transaction_once() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let id = start_sms_with(&api, "alice", &[]).await;
    let cancel = |id: String| {
        let api = api.clone();
        async move {
            Call::post(format!("{ADMIN}/transactions/{id}/cancel"))
                .ops()
                .send(&api)
                .await
        }
    };
    assert_eq!(cancel(id.clone()).await.status, 204);
    let seen = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await
        .json();
    assert_eq!(seen["status"], "cancelled");
    assert_eq!(seen["not_authenticated_reason"]["reason"], "cancelled");
    cancel(id.clone()).await.assert_error(409, "already_final");
    cancel(uuid::Uuid::new_v4().to_string())
        .await
        .assert_error(404, "not_found");
    // The cancel event names the operator's client.
    let events = admin_until(
        &api,
        &format!("/events?transaction_id={id}&event_name=MOBILE%20AUTH%20CANCELLED"),
        |v| !v["events"].as_array().unwrap().is_empty(),
    )
    .await;
    let e = &events["events"][0];
    assert_eq!(e["client_id"], "ops");
    assert!(e["detail"].as_str().is_some());
}

#[actix_rt::test]
async fn events_filter_by_transaction_user_name_and_time() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let a = start_sms_with(&api, "alice", &[]).await;
    let b = start_sms_with(&api, "bob", &[]).await;
    verify_last(&api, &hook, "bob", &b, 2).await;
    let of_b = admin_until(&api, &format!("/events?transaction_id={b}"), |v| {
        v["events"].as_array().unwrap().len() >= 2
    })
    .await;
    let events = of_b["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["transaction_id"] == b.as_str()));
    // Newest first.
    assert_eq!(events[0]["event_name"], "SMS AUTH AUTHENTICATED");
    let by_user = admin_get(&api, "/events?user_id=alice").await;
    let by_user = by_user["events"].as_array().unwrap();
    assert!(!by_user.is_empty());
    assert!(by_user.iter().all(|e| e["transaction_id"] == a.as_str()));
    let named = admin_get(&api, "/events?event_name=SMS%20AUTH%20AUTHENTICATED").await;
    assert_eq!(named["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin_get(&api, "/events?limit=1").await["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        admin_get(&api, "/events?from=1&to=2").await["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for bad in ["transaction_id=nope", "from=yesterday", "limit=0", "kind=x"] {
        Call::get(format!("{ADMIN}/events?{bad}"))
            .ops()
            .send(&api)
            .await
            .assert_error(400, "invalid_request");
    }
}
