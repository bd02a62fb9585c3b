//! Dead letters from a failing loopback portal: listed, replayed while it still fails (kept,
//! one more try), replayed once it is fixed (delivered once, signed, gone).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tessera_testkit::callback::CallbackFake;
use tessera_testkit::http::Recorded;
use tessera_testkit::sms::SmsHookFake;

use super::*;

fn assert_signed(req: &Recorded) {
    let header = req.header("tessera-signature").expect("signed");
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(CallbackFake::SIGNING_SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&req.body);
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        req.basic_auth(),
        Some((CallbackFake::USERNAME.into(), CallbackFake::PASSWORD.into()))
    );
}

#[actix_rt::test]
async fn a_dead_letter_is_listed_replayed_and_gone() {
    let hook = SmsHookFake::start().await;
    let portal = CallbackFake::start().await;
    portal.fail_always(500);
    let (api, _) = admin_api(&hook, Some(&portal));
    let id = start_sms_with(&api, "alice", &[("callback_uri", &portal.url())]).await;
    let a = Call::post(format!("{V4}/transaction/{id}/cancel"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.status, 204);

    let list = admin_until(&api, "/dead-letters", |v| {
        !v["dead_letters"].as_array().unwrap().is_empty()
    })
    .await;
    let letter = list["dead_letters"][0].clone();
    assert_eq!(letter["transaction_id"], id.as_str());
    assert_eq!(letter["callback_uri"], portal.url());
    assert_eq!(
        (letter["tries"].as_u64(), letter["last_error"].as_str()),
        (Some(1), Some("portal answered 500"))
    );
    assert_eq!(admin_get(&api, "/stats").await["dead_letters"], 1);
    let letter_id = letter["id"].as_str().unwrap().to_owned();
    let replay = |api: Api, letter_id: String| async move {
        Call::post(format!("{ADMIN}/dead-letters/{letter_id}/replay"))
            .ops()
            .send(&api)
            .await
    };

    // Still failing: kept, one more try.
    let out = replay(api.clone(), letter_id.clone()).await;
    assert_eq!(out.status, 200, "{:?}", out.body);
    let out = out.json();
    assert_eq!(
        (out["delivered"].as_bool(), out["id"].as_str()),
        (Some(false), Some(letter_id.as_str()))
    );
    assert_eq!(out["error"], "portal answered 500");
    let kept = admin_get(&api, "/dead-letters").await;
    assert_eq!(kept["dead_letters"].as_array().unwrap().len(), 1);
    assert_eq!(kept["dead_letters"][0]["tries"], 2);
    assert_eq!(portal.requests().len(), 2);

    // Fixed: delivered once, signed, gone.
    portal.fail_first(0, 500);
    let out = replay(api.clone(), letter_id.clone()).await.json();
    assert_eq!(
        (out["delivered"].as_bool(), out["transaction_id"].as_str()),
        (Some(true), Some(id.as_str()))
    );
    assert!(out["error"].is_null());
    let requests = portal.requests();
    assert_eq!(requests.len(), 3);
    assert_signed(&requests[2]);
    assert_eq!(requests[2].json()["transaction_id"], id.as_str());
    assert!(
        admin_get(&api, "/dead-letters").await["dead_letters"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    replay(api.clone(), letter_id)
        .await
        .assert_error(404, "not_found");
    replay(api.clone(), "not-a-uuid".into())
        .await
        .assert_error(404, "not_found");
    portal
        .assert_no_more_than(3, std::time::Duration::from_millis(200))
        .await;
    assert_eq!(
        admin_get(&api, "/stats").await["nodes"][0]["callbacks"]["sent"],
        1
    );
}
