//! Every configuration resource needs an API client with scope `admin`, answered as the other
//! surfaces answer: `401 invalid_client` without (valid) credentials, `403 insufficient_scope`
//! for a client without the scope. Nothing changes either way.

use http::Method;
use serde_json::json;

use super::*;

const PATHS: &[&str] = &[
    "/general",
    "/sms",
    "/mobile-auth-types",
    "/mobile-auth-types/sms",
    "/applications",
    "/applications/acme",
    "/applications/acme/versions/android/1.0",
    "/push-configs",
    "/push-configs/log-android",
    "/callback-configs",
    "/callback-configs/https%3A%2F%2Fportal.example%2Fcb",
    "/sms-gateways",
    "/sms-gateways/console",
    "/api-clients",
    "/api-clients/portal",
];

#[actix_rt::test]
async fn without_the_admin_scope_nothing_is_read_or_changed() {
    let (api, engine) = admin_api();
    for path in PATHS {
        // Lists are read only, `/general` and `/sms` cannot be deleted (those answer 405).
        let methods = match path.matches('/').count() {
            1 if ["/general", "/sms"].contains(path) => vec![Method::GET, Method::PUT],
            1 => vec![Method::GET],
            _ => vec![Method::GET, Method::PUT, Method::DELETE],
        };
        for method in methods {
            let uri = format!("{ADMIN}{path}");
            let call = || Call::new(method.clone(), uri.clone()).json(json!({}));
            let a = call().send(&api).await;
            a.assert_error(401, "invalid_client");
            assert!(a.header("www-authenticate").is_some());
            call()
                .basic("operator", "wrong-secret-0123456789abcdef")
                .send(&api)
                .await
                .assert_error(401, "invalid_client");
            // `portal` may start transactions and read events, not administer.
            call()
                .portal()
                .send(&api)
                .await
                .assert_error(403, "insufficient_scope");
        }
    }
    let a = Call::post(format!("{ADMIN}/api-clients/portal/rotate-secret"))
        .helpdesk()
        .send(&api)
        .await;
    a.assert_error(403, "insufficient_scope");
    assert!(engine.store().config_doc().await.unwrap().is_none());
    // With the scope, the same paths answer; unknown ones are 404, other methods 405.
    let absent = ["/callback-configs/", "/sms-gateways/console"];
    for path in PATHS
        .iter()
        .filter(|p| !absent.iter().any(|a| p.starts_with(a)))
    {
        read(&api, path).await;
    }
    let a = Call::get(format!("{ADMIN}/mobile-auth-typez"))
        .operator()
        .send(&api)
        .await;
    assert_eq!(a.status, 404);
    let a = Call::post(format!("{ADMIN}/general"))
        .operator()
        .send(&api)
        .await;
    assert_eq!(a.status, 405);
}
