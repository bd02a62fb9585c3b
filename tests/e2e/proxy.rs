//! The outgoing proxy through the binary (API.md §7: "all outbound HTTP honours the proxy
//! settings"), configured only by the seed's `TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_*`
//! variables. The push endpoints are plain `http://` loopback fakes, so nothing is tunnelled:
//! reqwest sends each request to the proxy itself — absolute-form HTTP/1.1 for FCM and its
//! token endpoint, h2c for APNs (whose client speaks HTTP/2 only) — with `Proxy-Authorization`
//! on every request. The proxy forwards to the fakes, and the phone answers the push it got.

use hyper::Version;
use tessera_api::device_client::Platform;
use tessera_api::wire::StartParams;
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::http::basic;
use tessera_testkit::proxy::ForwardProxy;
use tessera_testkit::push::apns::ApnsFake;
use tessera_testkit::push::fcm::FcmFake;
use tessera_testkit::sms::SmsHookFake;

use crate::support::binary::TempDir;
use crate::support::conf;
use crate::support::portal::PHONE;
use crate::support::world::{
    World, android_version, apns_config, application, fcm_config, ios_version, push_pin,
    push_pin_type,
};
use crate::support::{DEADLINE, eventually};

const PROXY: &str = "TOKEN_SERVER_ENGINE_EXTERNAL_REST_SERVICES_PROXY_";
const USER: &str = "squid";
const PASSWORD: &str = "s3cret:with-colon";

/// The seed's proxy variables pointing at `proxy`, with its credentials.
fn seed_env(proxy: &ForwardProxy) -> Vec<(String, String)> {
    [
        ("ENABLED_BOOLEAN", "true".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", proxy.port().to_string()),
        ("USERNAME", USER.to_owned()),
        ("PASSWORD", PASSWORD.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{PROXY}{k}"), v))
    .collect()
}

async fn start(dir: TempDir, sections: &str, proxy: &ForwardProxy) -> World {
    let env = seed_env(proxy);
    let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    World::start(dir, sections, &env).await
}

#[tokio::test]
async fn fcm_token_request_and_push_go_through_the_proxy_with_its_credentials() {
    let proxy = ForwardProxy::start(USER, PASSWORD).await;
    let fcm = FcmFake::start().await;
    let dir = TempDir::new();
    let account = fcm.write_service_account(dir.path());
    let sections = format!(
        "{}{}{}",
        fcm_config("fcm-main", &fcm, &account),
        application(&[android_version("1.0", "fcm-main")]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = start(dir, &sections, &proxy).await;
    let token = "alice:APA91bH-through-the-proxy";
    let alice = w.phone("alice", Platform::Android, "1.0", token).await;

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = fcm.next_push().await;
    assert_eq!(push.token, token);
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
    fcm.assert_clean();

    let seen = proxy.requests();
    let lines: Vec<(String, String)> = seen
        .iter()
        .map(|r| (r.method.clone(), r.uri.clone()))
        .collect();
    let base = fcm.endpoint();
    assert_eq!(
        lines,
        [
            ("POST".to_owned(), format!("{base}/token")),
            ("POST".to_owned(), format!("{base}{}", FcmFake::send_path())),
        ],
        "absolute-form requests to the proxy"
    );
    for r in &seen {
        assert_eq!(r.version, Version::HTTP_11, "{} {}", r.method, r.uri);
        assert_eq!(
            r.header("proxy-authorization"),
            Some(basic(USER, PASSWORD).as_str()),
            "{}",
            r.uri
        );
        assert_eq!(r.status, 200, "{}", r.uri);
    }
    assert!(proxy.problems().is_empty(), "{:?}", proxy.problems());
    // What reached FCM came through the proxy only, and without the proxy's credentials.
    let at_fcm = fcm.requests();
    assert_eq!(at_fcm.len(), 2);
    assert!(
        at_fcm
            .iter()
            .all(|r| r.header("proxy-authorization").is_none()),
        "credentials stay with the proxy"
    );
}

#[tokio::test]
async fn apns_speaks_h2c_to_the_proxy_with_its_credentials() {
    let proxy = ForwardProxy::start(USER, PASSWORD).await;
    let apns = ApnsFake::start().await;
    let sections = format!(
        "{}{}{}",
        apns_config("apns-main", &apns),
        application(&[ios_version("1.0", "apns-main", false)]),
        push_pin_type(push_pin("push_pin")),
    );
    let w = start(TempDir::new(), &sections, &proxy).await;
    let token = "0a".repeat(32);
    let alice = w.phone("alice", Platform::Ios, "1.0", &token).await;

    let id = w.start_push("push_pin", "alice").await.transaction_id;
    let push = apns.next_push().await;
    assert_eq!(push.device_token, token);
    w.accept_with_pin(&alice, &push.transaction_id).await;
    assert_eq!(w.final_result(&id).await.status, "accepted");
    apns.assert_clean();

    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.uri, format!("{}/3/device/{token}", apns.endpoint()));
    assert_eq!(
        r.version,
        Version::HTTP_2,
        "prior-knowledge h2c to the proxy"
    );
    assert_eq!(
        r.header("proxy-authorization"),
        Some(basic(USER, PASSWORD).as_str())
    );
    assert!(proxy.problems().is_empty(), "{:?}", proxy.problems());
    assert!(
        apns.requests()
            .iter()
            .all(|r| r.header("proxy-authorization").is_none())
    );
}

/// Not only the push providers: the SMS gateway and the portal callback leave through the same
/// proxy, with the proxy's credentials beside their own.
#[tokio::test]
async fn sms_hook_and_portal_callback_go_through_the_proxy_too() {
    let proxy = ForwardProxy::start(USER, PASSWORD).await;
    let hook = SmsHookFake::start().await;
    let callback = CallbackFake::start().await;
    let sections = format!(
        "{}{}{}{}",
        conf::gateways(&["hook"]),
        conf::hook_gateway("hook", &hook),
        conf::callback_config(&callback),
        conf::sms_type("sms"),
    );
    let w = start(TempDir::new(), &sections, &proxy).await;

    let params = StartParams {
        user_id: Some("alice".into()),
        phone_number: Some(PHONE.into()),
        callback_uri: Some(callback.url()),
        ..StartParams::new("sms")
    };
    let id = w.portal.start(&params).await.expect("start").transaction_id;
    let code = hook.wait_for_messages(1).await[0].verification_code.clone();
    w.portal
        .verify_sms("alice", &id, &code)
        .await
        .expect("verify");
    let delivered = callback.wait_for(1).await;
    assert_eq!(delivered[0].json()["transaction_id"], id);

    // The proxy records a status once the target's answer is back through it.
    let seen = eventually(DEADLINE, "the proxy's answers", || {
        let seen = proxy.requests();
        async move { seen.iter().all(|r| r.status != 0).then_some(seen) }
    })
    .await;
    let uris: Vec<&str> = seen.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris, [hook.url(), callback.url()]);
    for r in &seen {
        assert_eq!(
            r.header("proxy-authorization"),
            Some(basic(USER, PASSWORD).as_str())
        );
        assert!(
            (200..300).contains(&r.status),
            "{} answered {}",
            r.uri,
            r.status
        );
    }
    assert!(proxy.problems().is_empty(), "{:?}", proxy.problems());
    // Their own credentials still reach them; the proxy's do not.
    let at_hook = &hook.requests()[0];
    assert_eq!(
        at_hook.basic_auth(),
        Some((SmsHookFake::USERNAME.into(), SmsHookFake::PASSWORD.into()))
    );
    assert_eq!(at_hook.header("proxy-authorization"), None);
    assert_eq!(
        delivered[0].basic_auth(),
        Some((CallbackFake::USERNAME.into(), CallbackFake::PASSWORD.into()))
    );
    assert_eq!(delivered[0].header("proxy-authorization"), None);
}
