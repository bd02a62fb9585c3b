//! The secure message's context over the portal API (API.md §2.2, §2.6, §6): v4 starts carry
//! `ip_address` and `user_agent` (form and JSON) into the device document, v3 and v2 ignore
//! them, a bad one is a `400 1003`, and a failed lookup is listed by the events API. The
//! provider is the testkit's loopback IPQualityScore fake.

use serde_json::{Value, json};
use tessera_engine::crypto;
use tessera_testkit::conf::table;
use tessera_testkit::geo::{IpqsBehaviour, IpqsFake, UTRECHT_IP};

use crate::routes::Api;
use crate::test_util::*;

const CHROME_73_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/73.0.3683.86 Safari/537.36";
const PORTAL: &str = "You are logging into the XYZ portal.";
const SEED_TEXT: &str = "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
                         Location: NL, Provincie Utrecht, Utrecht";

/// The fake, checking its key, with the seed's place for [`UTRECHT_IP`].
async fn ipqs() -> IpqsFake {
    IpqsFake::start().await
}

/// The device API config with `[geolocation]` on at `fake`.
fn context_api(fake: &IpqsFake) -> Api {
    let extra = format!("{}{}", devices(), table("geolocation", &fake.config()));
    api_with(config("supported_locales = [\"en\", \"nl\"]", &extra)).0
}

/// `POST {base}/user` as the portal with `call`'s body; the answer.
async fn start(api: &Api, call: Call) -> Answer {
    call.portal().send(api).await
}

/// The transaction id of a `200`.
fn txn_id(a: &Answer) -> String {
    a.assert_status(200);
    a.json()["transaction_id"].as_str().unwrap().to_owned()
}

/// The document `d` fetches for `id`, decrypted.
async fn document(api: &Api, d: &TestDevice, id: &str) -> Value {
    let a = Call::get(format!("{DEV}/transactions/{id}"))
        .device(d)
        .send(api)
        .await;
    a.assert_status(200);
    let plain = crypto::open_from_server(std::str::from_utf8(&a.body).unwrap(), &d.keys, &d.server)
        .expect("the document opens");
    serde_json::from_slice(&plain).unwrap()
}

#[actix_rt::test]
async fn v4_form_and_json_starts_carry_the_context_into_the_document() {
    let fake = ipqs().await;
    let api = context_api(&fake);
    let (d, _pin) = ready_device(&api, "alice").await;

    let form = Call::post(format!("{V4}/user")).form(&[
        ("type", "push_pin"),
        ("user_id", "alice"),
        ("secure_message", PORTAL),
        ("ip_address", UTRECHT_IP),
        ("user_agent", CHROME_73_MAC),
    ]);
    let id = txn_id(&start(&api, form).await);
    let doc = document(&api, &d, &id).await;
    assert_eq!(doc["secure_message"], SEED_TEXT, "{doc}");
    assert_eq!(doc["message"], "Log in with your PIN?", "{doc}");

    let body = json!({
        "type": "push_pin",
        "user_id": "alice",
        "secure_message": PORTAL,
        "ip_address": UTRECHT_IP,
        "user_agent": CHROME_73_MAC,
    });
    let id = txn_id(&start(&api, Call::post(format!("{V4}/user")).json(body)).await);
    let doc = document(&api, &d, &id).await;
    assert_eq!(doc["secure_message"], SEED_TEXT, "{doc}");
    // One lookup: the second start found the place in the cache.
    assert_eq!(fake.looked_up(), vec![UTRECHT_IP.to_owned()]);
}

#[actix_rt::test]
async fn v3_and_v2_ignore_the_context() {
    let fake = ipqs().await;
    let api = context_api(&fake);
    let (d, _pin) = ready_device(&api, "alice").await;
    for (base, selector) in [
        ("/oauth/api/v3/authenticate", Some(("app_id", "acme"))),
        ("/oauth/api/v2/authenticate", None),
    ] {
        let mut fields = vec![
            ("type", "push_pin"),
            ("user_id", "alice"),
            ("secure_message", PORTAL),
            ("ip_address", UTRECHT_IP),
            ("user_agent", CHROME_73_MAC),
        ];
        fields.extend(selector);
        let id = txn_id(&start(&api, Call::post(format!("{base}/user")).form(&fields)).await);
        let doc = document(&api, &d, &id).await;
        assert_eq!(doc["secure_message"], PORTAL, "{base}: {doc}");
        // Not even a bad address is looked at.
        let bad = [
            ("type", "push_pin"),
            ("user_id", "alice"),
            ("ip_address", "not-an-ip"),
        ];
        let a = start(&api, Call::post(format!("{base}/user")).form(&bad)).await;
        a.assert_status(200);
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[actix_rt::test]
async fn a_bad_address_or_user_agent_is_a_portal_400() {
    let fake = ipqs().await;
    let api = context_api(&fake);
    ready_device(&api, "alice").await;
    let long = "a".repeat(1025);
    let cases: [(&str, &str, &str); 4] = [
        ("ip_address", "not-an-ip", "ip_address"),
        ("ip_address", "145.100.190.243:8080", "ip_address"),
        ("user_agent", &long, "user_agent"),
        ("user_agent", "Mozilla/5.0\r\nX-Injected: 1", "user_agent"),
    ];
    for (field, value, named) in cases {
        let form = Call::post(format!("{V4}/user")).form(&[
            ("type", "push_pin"),
            ("user_id", "alice"),
            (field, value),
        ]);
        let a = start(&api, form).await;
        a.assert_error(400, "1003");
        let description = a.json()["description"].as_str().unwrap().to_owned();
        assert!(description.contains(named), "{description}");
        let body = json!({"type": "push_pin", "user_id": "alice", field: value});
        let a = start(&api, Call::post(format!("{V4}/user")).json(body)).await;
        a.assert_error(400, "1003");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[actix_rt::test]
async fn the_events_api_lists_a_geolocation_failure_with_the_requester() {
    let fake = ipqs().await;
    fake.behave(IpqsBehaviour::Status(503));
    let api = context_api(&fake);
    let (d, _pin) = ready_device(&api, "alice").await;
    let form = Call::post(format!("{V4}/user")).form(&[
        ("type", "push_pin"),
        ("user_id", "alice"),
        ("secure_message", PORTAL),
        ("ip_address", UTRECHT_IP),
        ("user_agent", CHROME_73_MAC),
    ]);
    let id = txn_id(&start(&api, form).await);
    let doc = document(&api, &d, &id).await;
    assert_eq!(doc["secure_message"], PORTAL, "{doc}");

    let query = format!("/oauth/api/v1/events?transaction_id={id}");
    let failure = tessera_testkit::eventually(
        std::time::Duration::from_secs(5),
        "GEOLOCATION FAILURE in the events API",
        || async {
            let a = Call::get(query.clone()).portal().send(&api).await;
            a.assert_status(200);
            a.json()["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["event_name"] == "GEOLOCATION FAILURE")
                .cloned()
        },
    )
    .await;
    assert_eq!(failure["event_type"], "MOBILE_AUTHENTICATION", "{failure}");
    assert_eq!(failure["client_ip"], UTRECHT_IP, "{failure}");
    assert_eq!(failure["user_agent"], CHROME_73_MAC, "{failure}");
    assert_eq!(failure["user_id"], "alice", "{failure}");
    assert_eq!(failure["client_id"], "portal", "{failure}");
    assert!(!failure.to_string().contains("Pr1vate"), "{failure}");
}
