//! Every operation wants scope `admin`: no or wrong credentials are `401 invalid_client`, a
//! portal's client `403 insufficient_scope`; nothing is done for either.

use http::Method;
use tessera_testkit::sms::SmsHookFake;

use super::*;

#[actix_rt::test]
async fn every_operation_checks_the_admin_scope() {
    let hook = SmsHookFake::start().await;
    let (api, _) = admin_api(&hook, None);
    let id = start_sms_with(&api, "alice", &[]).await;
    let letter = uuid::Uuid::new_v4();
    let endpoints = [
        (Method::GET, "/stats".to_owned()),
        (Method::GET, "/stream".to_owned()),
        (Method::GET, "/transactions".to_owned()),
        (Method::GET, format!("/transactions/{id}")),
        (Method::POST, format!("/transactions/{id}/cancel")),
        (Method::GET, "/events".to_owned()),
        (Method::GET, "/dead-letters".to_owned()),
        (Method::POST, format!("/dead-letters/{letter}/replay")),
    ];
    for (method, path) in &endpoints {
        let uri = format!("{ADMIN}{path}");
        let anonymous = Call::new(method.clone(), &uri).send(&api).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        assert_eq!(anonymous.json()["error"], "invalid_client");
        let wrong = Call::new(method.clone(), &uri)
            .basic("ops", "not-the-secret-0123456789abcdef")
            .send(&api)
            .await;
        assert_eq!(wrong.status, 401, "{method} {path}");
        let portal = Call::new(method.clone(), &uri).portal().send(&api).await;
        assert_eq!(portal.status, 403, "{method} {path}");
        assert_eq!(portal.json()["error"], "insufficient_scope");
    }
    // The refused cancels changed nothing.
    let a = Call::get(format!("{V4}/transaction/{id}"))
        .portal()
        .send(&api)
        .await;
    assert_eq!(a.json()["status"], "pending");
    // Other methods on these paths are 405, not a fall-through to something else.
    Call::new(Method::DELETE, format!("{ADMIN}/stats"))
        .ops()
        .send(&api)
        .await
        .assert_error(405, "method_not_allowed");
}
