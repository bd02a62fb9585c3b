//! SMS gateways against loopback fakes of their wire formats, and failover between them.

use std::time::Duration;

use serde_json::json;
use tessera_config::{Config, SmsGateway as GatewayConfig, SmsGatewayKind};

use super::*;
use tessera_testkit::http::{LoopbackServer, Reply};

const SID: &str = "AC0123456789abcdef";
const TOKEN: &str = "twilio-token-do-not-leak";

pub(super) fn msg() -> SmsMessage {
    SmsMessage {
        transaction_id: crate::model::TxnId::random(),
        to: "+31612345678".into(),
        body: "Your code is 493817".into(),
        code: "493817".into(),
        sender_id: None,
    }
}

fn twilio(base_url: &str) -> GatewayConfig {
    GatewayConfig {
        name: "twilio".into(),
        kind: SmsGatewayKind::Twilio,
        base_url: base_url.into(),
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        from: "+15005550006".into(),
        ..GatewayConfig::default()
    }
}

fn rest(url: &str) -> GatewayConfig {
    GatewayConfig {
        name: "hook".into(),
        kind: SmsGatewayKind::Rest,
        url: url.into(),
        username: "tessera".into(),
        password: "hook-pass".into(),
        ..GatewayConfig::default()
    }
}

fn router(gateways: Vec<GatewayConfig>, order: &[&str]) -> SmsRouter {
    let mut cfg = Config::default();
    cfg.sms.gateways = order.iter().map(|s| s.to_string()).collect();
    cfg.sms_gateways = gateways;
    let http = crate::outbound::http::client(&cfg.proxy, Duration::from_secs(5)).unwrap();
    SmsRouter::from_config(&cfg, http).unwrap()
}

#[tokio::test]
async fn twilio_posts_the_form_with_basic_auth() {
    let fake = LoopbackServer::start(|_, _| {
        Reply::json(
            201,
            json!({"sid": "SM123", "status": "queued", "error_code": null}),
        )
    })
    .await;
    let receipt = router(vec![twilio(&fake.url("/"))], &["twilio"])
        .send(&msg())
        .await
        .unwrap();
    assert_eq!(receipt.gateway, "twilio");

    let req = &fake.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.uri, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(req.basic_auth(), Some((SID.into(), TOKEN.into())));
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = req.form();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+31612345678"));
    assert_eq!(field("From"), Some("+15005550006"));
    assert_eq!(field("Body"), Some("Your code is 493817"));
    assert_eq!(field("MessagingServiceSid"), None);
}

#[tokio::test]
async fn twilio_uses_sender_id_or_messaging_service() {
    let fake = LoopbackServer::start(|_, _| Reply::json(201, json!({"sid": "SM1"}))).await;
    let mut gw = twilio(&fake.url(""));
    gw.from = String::new();
    gw.messaging_service_sid = "MG42".into();
    let r = router(vec![gw], &["twilio"]);
    r.send(&msg()).await.unwrap();
    r.send(&SmsMessage {
        sender_id: Some("ACME".into()),
        ..msg()
    })
    .await
    .unwrap();

    let seen = fake.requests();
    assert!(
        seen[0]
            .form()
            .contains(&("MessagingServiceSid".into(), "MG42".into()))
    );
    assert!(!seen[0].form().iter().any(|(k, _)| k == "From"));
    assert!(seen[1].form().contains(&("From".into(), "ACME".into())));
}

#[tokio::test]
async fn twilio_error_carries_code_and_message_but_no_secrets() {
    let fake = LoopbackServer::start(|_, _| {
        Reply::json(
            400,
            json!({"code": 21211, "message": "The 'To' number +31612345678 is not a valid phone number.",
                   "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
        )
    })
    .await;
    let err = router(vec![twilio(&fake.url(""))], &["twilio"])
        .send(&msg())
        .await
        .unwrap_err();
    let SmsError::AllFailed(text) = err;
    assert!(text.contains("400") && text.contains("21211") && text.contains("not a valid"));
    assert!(
        text.contains("The 'To' number [recipient] is not"),
        "{text}"
    );
    assert!(!text.contains(TOKEN) && !text.contains("493817"), "{text}");
}

#[tokio::test]
async fn rest_hook_gets_json_and_basic_auth() {
    let fake = LoopbackServer::start(|_, _| Reply::status(204)).await;
    let r = router(vec![rest(&fake.url("/sms"))], &["hook"]);
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "hook");
    r.send(&SmsMessage {
        sender_id: Some("ACME".into()),
        ..msg()
    })
    .await
    .unwrap();

    let seen = fake.requests();
    assert_eq!(seen[0].uri, "/sms");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[0].basic_auth(),
        Some(("tessera".into(), "hook-pass".into()))
    );
    assert_eq!(
        seen[0].json(),
        json!({"phone_number": "+31612345678", "message": "Your code is 493817",
               "verification_code": "493817", "sender_id": null})
    );
    assert_eq!(seen[1].json()["sender_id"], "ACME");
}

#[tokio::test]
async fn rest_hook_without_username_sends_no_authorization() {
    let fake = LoopbackServer::start(|_, _| Reply::status(204)).await;
    let mut gw = rest(&fake.url("/"));
    gw.username = String::new();
    router(vec![gw], &["hook"]).send(&msg()).await.unwrap();
    assert_eq!(fake.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn fails_over_and_skips_the_failed_gateway_while_it_cools_down() {
    let broken = LoopbackServer::start(|_, _| Reply::json(500, json!({"code": 20500}))).await;
    let hook = LoopbackServer::start(|_, _| Reply::status(204)).await;
    let r = router(
        vec![twilio(&broken.url("")), rest(&hook.url("/"))],
        &["twilio", "hook"],
    );
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "hook");
    assert!(r.is_cooling_down(0));
    assert_eq!(r.send(&msg()).await.unwrap().gateway, "hook");
    assert_eq!(broken.requests().len(), 1, "skipped during its cool-down");
    assert_eq!(hook.requests().len(), 2);
}

#[tokio::test]
async fn all_failing_is_all_failed_with_the_last_error() {
    let a = LoopbackServer::start(|_, _| Reply::status(503)).await;
    let b = LoopbackServer::start(|_, _| Reply::status(500)).await;
    let r = router(
        vec![twilio(&a.url("")), rest(&b.url("/"))],
        &["twilio", "hook"],
    );
    assert_eq!(
        r.send(&msg()).await,
        Err(SmsError::AllFailed("hook: SMS hook answered 500".into()))
    );
}

#[test]
fn from_config_resolves_names() {
    let mut cfg = Config::default();
    let http = reqwest::Client::new();
    assert_eq!(
        SmsRouter::from_config(&cfg, http.clone()).unwrap().names(),
        ["console"]
    );

    cfg.sms.gateways = vec!["console".into(), "nope".into()];
    let e = SmsRouter::from_config(&cfg, http.clone()).unwrap_err();
    assert_eq!(e.key(), "sms.gateways[1]");
    assert!(e.to_string().contains("`nope`"), "{e}");

    // The gateways' own rules (a Twilio auth token, a hook URL) are `tessera_config`'s
    // validation; the router builds what it is given.
    cfg.sms_gateways = vec![twilio("https://api.twilio.com")];
    cfg.sms.gateways = vec!["twilio".into()];
    assert_eq!(
        SmsRouter::from_config(&cfg, http).unwrap().names(),
        ["twilio"]
    );
}

#[test]
fn console_line_is_one_line() {
    let m = SmsMessage {
        body: "Your code\nis 1234".into(),
        ..msg()
    };
    assert_eq!(
        console::line(&m),
        "SMS to +31612345678 from -: Your code is 1234"
    );
    let m = SmsMessage {
        sender_id: Some("ACME".into()),
        ..msg()
    };
    assert_eq!(
        console::line(&m),
        "SMS to +31612345678 from ACME: Your code is 493817"
    );
}
