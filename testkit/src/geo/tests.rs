//! The IPQualityScore fake answers as the real service does.

use std::time::Duration;

use serde_json::Value;

use super::{IpqsBehaviour, IpqsFake, UTRECHT_IP};

/// `IpqsFake::KEY` percent-encoded as a path segment.
const ENCODED_KEY: &str = "ipqs-Pr1vate%2Fkey%3F%23%25";

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("the fake answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn answers_the_seed_example_under_the_prefix_and_at_the_root() {
    let fake = IpqsFake::start().await;
    for base in [fake.url(), fake.root_url()] {
        let (status, body) = get(&format!("{base}{ENCODED_KEY}/{UTRECHT_IP}")).await;
        assert_eq!(status, 200);
        assert_eq!(body["success"], true);
        assert_eq!(body["country_code"], "NL");
        assert_eq!(body["region"], "Provincie Utrecht");
        assert_eq!(body["city"], "Utrecht");
    }
    assert_eq!(fake.looked_up(), [UTRECHT_IP, UTRECHT_IP]);
}

#[tokio::test]
async fn unknown_address_is_na_and_wrong_key_is_refused() {
    let fake = IpqsFake::start().await;
    let (_, body) = get(&format!("{}{ENCODED_KEY}/8.8.8.8", fake.url())).await;
    assert_eq!(
        (&body["success"], &body["country_code"], &body["city"]),
        (&Value::Bool(true), &Value::from("N/A"), &Value::from("N/A"))
    );
    let (status, body) = get(&format!("{}wrong/{UTRECHT_IP}", fake.url())).await;
    assert_eq!(status, 200, "IPQualityScore refuses keys in the body");
    assert_eq!(body["success"], false);
    assert!(body["message"].as_str().unwrap().contains("Invalid"));

    fake.set_key(None);
    let (_, body) = get(&format!("{}{UTRECHT_IP}", fake.url())).await;
    assert_eq!(body["city"], "Utrecht", "no key: /{{ip}}");
}

#[tokio::test]
async fn scripted_failures() {
    let fake = IpqsFake::start().await;
    let url = format!("{}{ENCODED_KEY}/{UTRECHT_IP}", fake.url());

    fake.behave(IpqsBehaviour::Status(503));
    assert_eq!(get(&url).await.0, 503);

    fake.behave(IpqsBehaviour::Unsuccessful("quota".into()));
    assert_eq!(get(&url).await.1["message"], "quota");

    fake.behave(IpqsBehaviour::NoLocation);
    let body = get(&url).await.1;
    assert_eq!(body["success"], true);
    assert!(body.get("country_code").is_none() && body.get("city").is_none());

    fake.behave(IpqsBehaviour::NotJson);
    assert_eq!(get(&url).await.1, Value::Null);

    fake.behave(IpqsBehaviour::Close);
    let before = fake.requests().len();
    let err = reqwest::get(&url).await.unwrap_err();
    assert!(!err.is_timeout(), "closed, not stalled: {err}");
    assert_eq!(fake.closed(), 1);
    assert_eq!(fake.requests().len(), before, "never reached the server");

    fake.behave(IpqsBehaviour::Slow(Duration::from_millis(300)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert!(client.get(&url).send().await.unwrap_err().is_timeout());
}
