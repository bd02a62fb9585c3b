//! The admin API's configuration resources (API.md §5) in memory: an `operator` client with
//! scope `admin` beside the usual portal clients and the device world. Helpers here; the tests
//! per resource in `admin_config/`.

mod apps;
mod callbacks;
mod clients;
mod gateways;
mod general;
mod push;
mod scope;
mod types;

use serde_json::Value;
use tessera_config::admin::MASKED;
use tessera_engine::model::EventQuery;
use tessera_engine::{Engine, EngineOptions};
use tessera_testkit::conf::{Scope, api_client, array};

use crate::routes::Api;
use crate::test_util::*;

pub(super) const ADMIN: &str = "/admin/v1";
const OPERATOR_SECRET: &str = "operator-secret-0123456789abcdef";

/// The operator client, plus the device world and `extra` TOML.
fn operator_config(general: &str, extra: &str) -> tessera_config::Config {
    let mut more = devices();
    more += &array(
        "api_clients",
        &[api_client("operator", OPERATOR_SECRET, &[Scope::Admin])],
    );
    more += extra;
    config(general, &more)
}

/// The API with the recording SMS outbox (codes readable with `sms_code`).
pub(super) fn admin_api() -> (Api, Engine) {
    api_with(operator_config("", ""))
}

/// The API with the config's own SMS gateways (`extra` declares them), no outbox.
pub(super) fn admin_api_routed(general: &str, extra: &str) -> (Api, Engine) {
    let engine = Engine::launch(
        operator_config(general, extra),
        EngineOptions {
            shards: 1,
            in_place: true,
        },
    )
    .expect("engine launches");
    (crate::service(engine.clone(), None), engine)
}

impl Call {
    /// Authenticated as the `operator` client (scope `admin`).
    pub(super) fn operator(self) -> Self {
        self.basic("operator", OPERATOR_SECRET)
    }
}

/// `GET` as the operator; asserts `200` and answers the JSON.
pub(super) async fn read(api: &Api, path: &str) -> Value {
    let a = Call::get(format!("{ADMIN}{path}"))
        .operator()
        .send(api)
        .await;
    assert_eq!(a.status, 200, "GET {path}: {:?}", a.body);
    a.json()
}

/// `PUT` `body` as the operator; returns the answer.
pub(super) async fn write(api: &Api, path: &str, body: Value) -> Answer {
    Call::put(format!("{ADMIN}{path}"))
        .operator()
        .json(body)
        .send(api)
        .await
}

/// `DELETE` as the operator; returns the answer.
pub(super) async fn remove(api: &Api, path: &str) -> Answer {
    Call::delete(format!("{ADMIN}{path}"))
        .operator()
        .send(api)
        .await
}

/// The `fields` of a `422 invalid_config`, asserting the status and code.
#[track_caller]
pub(super) fn fields(a: &Answer) -> serde_json::Map<String, Value> {
    a.assert_error(422, "invalid_config");
    a.json()["fields"].as_object().cloned().unwrap_or_default()
}

/// The newest admin event: asserts who made the change and what it says.
pub(super) async fn assert_last_event(engine: &Engine, name: &str, detail: &str) {
    let events = engine
        .query_events(&EventQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let e = &events[0];
    assert_eq!(e.event_name, name);
    assert_eq!(e.event_type, "ADMINISTRATION");
    assert_eq!(e.client_id.as_deref(), Some("operator"));
    assert_eq!(e.detail.as_deref(), Some(detail));
}

/// The stored configuration document as text: asserts it exists and holds none of `secrets`.
pub(super) async fn assert_sealed(engine: &Engine, secrets: &[&str]) -> String {
    let doc = engine.store().config_doc().await.unwrap().expect("stored");
    let text = String::from_utf8(doc.bytes).unwrap();
    for s in secrets {
        assert!(!text.contains(s), "{s} in clear in the store");
    }
    text
}

/// Asserts every named secret field of `item` reads back masked.
#[track_caller]
pub(super) fn assert_masked(item: &Value, names: &[&str]) {
    for n in names {
        assert_eq!(item[n], MASKED, "{n} in {item}");
    }
}
