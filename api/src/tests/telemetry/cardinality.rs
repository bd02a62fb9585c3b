//! Label cardinality: requests for 200 different users, devices, transactions and unknown
//! paths add no label value — routes are templates (`unmatched` for no route), and no id,
//! path or phone number ever becomes a label.

use std::collections::BTreeSet;

use tessera_engine::telemetry::exposition::{problems, samples};

use crate::routes::Api;
use crate::test_util::*;

/// Every (metric, label, value) of `text`, store operations aside: which operations the
/// background loops (health `PING`, purge, stats) have run by now depends on time, and `op` is
/// bounded by the `Store` trait anyway.
fn label_values(text: &str) -> BTreeSet<(String, String, String)> {
    samples(text)
        .into_iter()
        .flat_map(|s| {
            let name = s.name.clone();
            s.labels
                .into_iter()
                .filter(|(k, _)| k != "op")
                .map(move |(k, v)| (name.clone(), k, v))
        })
        .collect()
}

/// One user's round: a start and its status, an availability check, an unknown path, a
/// device that does not exist, and a helpdesk delete of a device that does not exist.
async fn round(api: &Api, i: usize) -> Vec<String> {
    let user = format!("user{i:03}-{:08x}", rand::random::<u32>());
    let device = hex::encode_upper(rand::random::<[u8; 32]>());
    let path = format!("/nope/{}", uuid::Uuid::new_v4());
    let id = start_sms(api, "sms", &user).await;
    let a = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(api)
        .await;
    assert_eq!(a.status, 200);
    let a = Call::get(format!("{V4}/user/{user}/enabled"))
        .portal()
        .send(api)
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(Call::get(&path).send(api).await.status, 404);
    let a = Call::get(format!("{DEV}/transactions/pending"))
        .basic(&device, "not-the-secret")
        .send(api)
        .await;
    assert_eq!(a.status, 401);
    let a = Call::delete(format!("{USERS}/{user}/devices/{device}"))
        .helpdesk()
        .send(api)
        .await;
    assert_eq!(a.status, 404);
    vec![user, device, path, id]
}

#[actix_rt::test]
async fn two_hundred_users_devices_and_paths_add_no_label_value() {
    let recorder = crate::metrics::recorder().unwrap();
    let handle = recorder.handle();
    let _guard = ::metrics::set_default_local_recorder(&recorder);
    let (_, engine) = api();
    let api = crate::service(engine, Some(handle.clone()));

    round(&api, 0).await;
    let before = label_values(&handle.render());
    let mut ids = Vec::new();
    for i in 1..=200 {
        ids.extend(round(&api, i).await);
    }
    let text = handle.render();
    let after = label_values(&text);
    let added: Vec<_> = after.difference(&before).collect();
    assert!(added.is_empty(), "new label values: {added:#?}");
    assert_eq!(problems(&text), Vec::<String>::new(), "\n{text}");

    let values: Vec<String> = samples(&text)
        .into_iter()
        .flat_map(|s| s.labels.into_iter().map(|(_, v)| v))
        .collect();
    for id in ids.iter().map(|id| id.trim_start_matches("/nope/")) {
        assert!(!values.iter().any(|v| v.contains(id)), "{id} is in a label");
    }
    assert!(
        !values.iter().any(|v| v.contains(&PHONE[1..])),
        "a phone number"
    );
    assert!(
        text.lines().any(|l| l
            == r#"tessera_http_requests_total{surface="none",route="unmatched",status="404"} 201"#),
        "\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == r#"tessera_transactions_started_total{type="sms",method="sms"} 201"#),
        "\n{text}"
    );
}
