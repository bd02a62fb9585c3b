//! API-client authentication (API.md §1): HTTP Basic or form-field credentials, the vendor's
//! `invalid_client` 401 with its challenge, `insufficient_scope` 403, IP allow lists, and the
//! demo client created when the config declares none.

use crate::support;

use crate::support::Tessera;
use crate::support::conf::{
    self, CLIENT_ID, CLIENT_SECRET, FENCED_ID, FENCED_SECRET, LIMITED_ID, LIMITED_SECRET, gateways,
    sms_type,
};
use crate::support::portal::Resp;
use crate::support::portal::{EVENTS, PHONE, V4};
use reqwest::Method;

async fn tessera() -> Tessera {
    Tessera::start(&conf::with(&format!(
        "{}{}",
        gateways(&["console"]),
        sms_type("sms")
    )))
    .await
}

const START: &[(&str, &str)] = &[
    ("type", "sms"),
    ("user_id", "alice"),
    ("phone_number", PHONE),
];

/// `POST /user` (start) with `START` and the given Basic credentials, if any.
async fn start_as(t: &Tessera, basic: Option<(&str, &str)>) -> Resp {
    let mut req = t.http.post(t.url(&format!("{V4}/user"))).form(START);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    t.send(req).await
}

#[tokio::test]
async fn requests_without_credentials_get_invalid_client() {
    let t = tessera().await;
    start_as(&t, None).await.expect_invalid_client();
    let id = "6f1c0d2e-9a4b-4c3d-8e7f-0a1b2c3d4e5f";
    let paths = [
        (Method::GET, format!("{V4}/transaction/{id}")),
        (Method::POST, format!("{V4}/transaction/{id}/cancel")),
        (Method::POST, format!("{V4}/user/alice/sms")),
        (Method::POST, format!("{V4}/user/alice/sms/resend")),
        (Method::GET, format!("{V4}/user/alice/enabled")),
        (Method::GET, EVENTS.to_owned()),
    ];
    for (method, path) in paths {
        let resp = t.send(t.http.request(method.clone(), t.url(&path))).await;
        assert_eq!(resp.status, 401, "{method} {path}: {}", resp.text());
        resp.expect_invalid_client();
    }
}

#[tokio::test]
async fn a_wrong_secret_or_an_unknown_client_gets_invalid_client() {
    let t = tessera().await;
    start_as(&t, Some((CLIENT_ID, "portal-secret-0123456789abcdeX")))
        .await
        .expect_invalid_client();
    start_as(&t, Some((CLIENT_ID, "")))
        .await
        .expect_invalid_client();
    start_as(&t, Some(("stranger", CLIENT_SECRET)))
        .await
        .expect_invalid_client();
    // Another client's secret is not this client's.
    start_as(&t, Some((CLIENT_ID, LIMITED_SECRET)))
        .await
        .expect_invalid_client();
    start_as(&t, Some((CLIENT_ID, CLIENT_SECRET)))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_client_without_the_scope_gets_insufficient_scope() {
    let t = tessera().await;
    let resp = start_as(&t, Some((LIMITED_ID, LIMITED_SECRET))).await;
    resp.expect(403);
    assert_eq!(
        resp.json()["error"],
        "insufficient_scope",
        "{}",
        resp.text()
    );
}

#[tokio::test]
async fn a_client_calling_from_outside_its_allowed_ips_gets_invalid_client() {
    let t = tessera().await;
    // The fenced client's credentials are right, but it may only call from 10.0.0.0/8.
    start_as(&t, Some((FENCED_ID, FENCED_SECRET)))
        .await
        .expect_invalid_client();
}

#[tokio::test]
async fn credentials_may_be_given_as_form_fields() {
    let t = tessera().await;
    let mut form = START.to_vec();
    form.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    let resp = t
        .send(t.http.post(t.url(&format!("{V4}/user"))).form(&form))
        .await;
    resp.expect(200);
    assert!(resp.json()["transaction_id"].is_string());

    let mut wrong = START.to_vec();
    wrong.extend([("client_id", CLIENT_ID), ("client_secret", "nope")]);
    t.send(t.http.post(t.url(&format!("{V4}/user"))).form(&wrong))
        .await
        .expect_invalid_client();
}

#[tokio::test]
async fn json_bodies_are_accepted_like_forms() {
    let t = tessera().await;
    let before = t.stdout.snapshot().len();
    let resp = t
        .send(
            t.portal(Method::POST, &format!("{V4}/user")).json(
                &serde_json::json!({"type": "sms", "user_id": "alice", "phone_number": PHONE}),
            ),
        )
        .await;
    resp.expect(200);
    let id = resp.json()["transaction_id"].as_str().unwrap().to_owned();
    let line = t.stdout_line(&format!("SMS to {PHONE}"), before).await;
    let code = support::code_in(&line).expect("code on the console");
    t.send(
        t.portal(Method::POST, &format!("{V4}/user/alice/sms"))
            .json(&serde_json::json!({"transaction_id": id, "sms_code": code})),
    )
    .await
    .expect(200);
    assert_eq!(t.result(&id).await["status"], "accepted");
}

#[tokio::test]
async fn without_declared_clients_a_demo_client_is_printed_once_and_works() {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{}{}",
        gateways(&["console"]),
        sms_type("sms")
    );
    let t = Tessera::start(&config).await;
    let prefix = "demo API client (shown once): client_id=demo client_secret=";
    let line = t.stdout_line(prefix, 0).await;
    let secret = line
        .split_once(prefix)
        .map(|(_, s)| s.trim().to_owned())
        .expect("secret on the line");
    assert!(secret.len() >= 16, "a short demo secret `{secret}`");
    start_as(&t, Some(("demo", &secret))).await.expect(200);
    start_as(&t, Some(("demo", "not-the-secret")))
        .await
        .expect_invalid_client();
    // The declared test clients do not exist here.
    start_as(&t, Some((CLIENT_ID, CLIENT_SECRET)))
        .await
        .expect_invalid_client();
}
