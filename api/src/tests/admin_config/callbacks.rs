//! `/callback-configs` (key: the URL, percent-encoded in the path): CRUD with masked
//! credentials, and the allow list and credentials used by the next transaction.

use serde_json::json;
use tessera_testkit::callback::CallbackFake;

use super::*;

fn encoded(url: &str) -> String {
    url.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn start_with_callback(api: &Api, url: &str) -> Answer {
    Call::post(format!("{V4}/user"))
        .portal()
        .form(&[
            ("type", "sms"),
            ("user_id", "alice"),
            ("phone_number", PHONE),
            ("callback_uri", url),
        ])
        .send(api)
        .await
}

#[actix_rt::test]
async fn a_callback_config_added_at_run_time_is_allowed_and_called_with_its_credentials() {
    let (api, engine) = api_with(operator_config("callback_allow_list_enabled = true", ""));
    let portal = CallbackFake::start().await;
    let url = portal.url();
    start_with_callback(&api, &url)
        .await
        .assert_error(400, "1003");

    let path = format!("/callback-configs/{}", encoded(&url));
    let body = serde_json::to_value(portal.config()).unwrap();
    let a = write(&api, &path, body).await;
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.json()["url"], url);
    assert_masked(&a.json(), &["password", "signing_secret"]);
    assert_sealed(
        &engine,
        &[CallbackFake::PASSWORD, CallbackFake::SIGNING_SECRET],
    )
    .await;
    let list = read(&api, "/callback-configs").await;
    assert_eq!(list["items"][0]["username"], CallbackFake::USERNAME);
    assert_masked(&list["items"][0], &["password", "signing_secret"]);

    let a = start_with_callback(&api, &url).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let id = a.json()["transaction_id"].as_str().unwrap().to_owned();
    let code = sms_code(&engine, &id).await;
    let a = Call::post(format!("{V4}/user/alice/sms"))
        .portal()
        .form(&[("transaction_id", id.as_str()), ("sms_code", code.as_str())])
        .send(&api)
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let delivered = portal.wait_for(1).await;
    assert!(
        delivered[0]
            .header("authorization")
            .is_some_and(|h| h.starts_with("Basic "))
    );
    assert!(delivered[0].header("tessera-signature").is_some());

    // Replacing with the masks written back keeps both secrets.
    let current = read(&api, &path).await;
    assert_eq!(write(&api, &path, current).await.status, 200);
    let stored = engine.config();
    let stored = &stored.callback_configs[0];
    assert_eq!(stored.password, CallbackFake::PASSWORD);
    assert_eq!(stored.signing_secret, CallbackFake::SIGNING_SECRET);

    assert_eq!(remove(&api, &path).await.status, 204);
    remove(&api, &path).await.assert_error(404, "not_found");
    start_with_callback(&api, &url)
        .await
        .assert_error(400, "1003");
}

#[actix_rt::test]
async fn a_callback_url_must_be_http_and_match_the_path() {
    let (api, engine) = admin_api();
    let f = fields(&write(&api, "/callback-configs/ftp%3A%2F%2Fportal", json!({})).await);
    assert!(f.contains_key("url"), "{f:?}");
    let f = fields(
        &write(
            &api,
            "/callback-configs/https%3A%2F%2Fportal.example%2Fa",
            json!({"url": "https://portal.example/b"}),
        )
        .await,
    );
    assert!(f.contains_key("url"), "{f:?}");
    assert!(engine.config().callback_configs.is_empty());
}

#[actix_rt::test]
async fn a_full_list_takes_no_new_item_but_still_takes_replacements() {
    let configs: Vec<tessera_config::CallbackConfig> = (0..1000)
        .map(|i| tessera_config::CallbackConfig {
            url: format!("https://portal.example/{i:04}"),
            ..Default::default()
        })
        .collect();
    let (api, engine) = api_with(operator_config("", &array("callback_configs", &configs)));
    let f = fields(
        &write(
            &api,
            &format!(
                "/callback-configs/{}",
                encoded("https://portal.example/new")
            ),
            json!({}),
        )
        .await,
    );
    assert_eq!(f["callback_configs"], "at most 1000 items");
    let a = write(
        &api,
        &format!(
            "/callback-configs/{}",
            encoded("https://portal.example/0007")
        ),
        json!({"username": "seven"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(engine.config().callback_configs.len(), 1000);
}
