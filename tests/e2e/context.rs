//! The secure message's context through the binary (API.md §6): a portal's start with
//! `ip_address` and `user_agent`, the GnuPG phone decrypting the seed's rendered text — once from
//! the IPQualityScore fake reached through the outgoing proxy, once from the GeoLite2 test
//! database — and a failing provider leaving the base message and a `GEOLOCATION FAILURE` event
//! the events API lists. Runs on both stores (`TESSERA_E2E_STORE`).

use tessera_config::{GeoProvider, Geolocation, Proxy};
use tessera_testkit::conf::table;
use tessera_testkit::geo::{self, IpqsBehaviour, IpqsFake, UTRECHT_IP};
use tessera_testkit::proxy::ForwardProxy;

use crate::support::Tessera;
use crate::support::device::config;
use crate::support::gpg::GpgPhone;

/// The fake's private key; it holds characters that must be percent-encoded in the path.
const KEY: &str = IpqsFake::KEY;
const CHROME_73_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/73.0.3683.86 Safari/537.36";
const PORTAL: &str = "You are logging into the XYZ portal.";
const SEED_TEXT: &str = "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
                         Location: NL, Provincie Utrecht, Utrecht";
const FAILURE: &str = "GEOLOCATION FAILURE";
const PROXY_USER: &str = "squid";
const PROXY_PASSWORD: &str = "s3cret:with-colon";

/// The fake, checking [`KEY`], with the seed's place for [`UTRECHT_IP`].
async fn ipqs() -> IpqsFake {
    IpqsFake::start().await
}

/// `[geolocation]` with the HTTP provider at `fake`, in IPQualityScore's URL form.
fn http(fake: &IpqsFake) -> Geolocation {
    fake.config()
}

/// The push world's config with `sections` added.
fn with(sections: &str) -> String {
    format!("{}{sections}", config(""))
}

/// Starts a `push_pin` for `user` from [`CHROME_73_MAC`] at `ip`; the transaction id.
async fn start(t: &Tessera, user: &str, ip: &str) -> String {
    let resp = t
        .start_raw(&[
            ("type", "push_pin"),
            ("user_id", user),
            ("secure_message", PORTAL),
            ("ip_address", ip),
            ("user_agent", CHROME_73_MAC),
        ])
        .await;
    resp.expect(200);
    crate::support::portal::txn_id(&resp.json())
}

#[tokio::test]
async fn gnupg_phone_reads_the_seed_context_looked_up_through_the_proxy() {
    let fake = ipqs().await;
    let proxy = ForwardProxy::start(PROXY_USER, PROXY_PASSWORD).await;
    let outgoing = Proxy {
        enabled: true,
        host: "127.0.0.1".into(),
        port: proxy.port(),
        username: PROXY_USER.into(),
        password: PROXY_PASSWORD.into(),
        preemptive_auth: true,
        ..Proxy::default()
    };
    let t = Tessera::start(&with(&format!(
        "{}{}",
        table("geolocation", &http(&fake)),
        table("proxy", &outgoing)
    )))
    .await;
    let phone = GpgPhone::enroll(&t, "gina").await;

    let id = start(&t, "gina", UTRECHT_IP).await;
    let doc = phone.fetch(&id).await;
    assert_eq!(doc["secure_message"], SEED_TEXT, "{doc}");
    assert_eq!(doc["message"], "Log in to ACME with your PIN?", "{doc}");

    // The lookup went through the proxy, in IPQualityScore's form, and found the place.
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert!(
        seen[0].uri.starts_with(&fake.url()) && seen[0].uri.ends_with(&format!("/{UTRECHT_IP}")),
        "{}",
        seen[0].uri
    );
    assert!(
        !seen[0].uri.contains(KEY),
        "the key is percent-encoded: {}",
        seen[0].uri
    );
    assert_eq!(seen[0].status, 200);
    assert!(proxy.problems().is_empty(), "{:?}", proxy.problems());
    assert_eq!(fake.looked_up(), vec![UTRECHT_IP.to_owned()]);
    assert!(
        !t.event_names(&id).await.iter().any(|n| n == FAILURE),
        "a lookup that found the place is no failure"
    );
    assert!(
        !t.logs().contains("Pr1vate"),
        "the private key is in the logs"
    );
}

#[tokio::test]
async fn gnupg_phone_reads_the_geolite2_place_from_the_mmdb_provider() {
    let geo = Geolocation {
        enabled: true,
        provider: GeoProvider::Mmdb,
        mmdb_path: geo::GEOLITE2_CITY.into(),
        ..Geolocation::default()
    };
    let t = Tessera::start(&with(&table("geolocation", &geo))).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    let id = start(&t, "gina", "81.2.69.142").await;
    let doc = phone.fetch(&id).await;
    assert_eq!(
        doc["secure_message"],
        "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
         Location: GB, England, London",
        "{doc}"
    );
}

#[tokio::test]
async fn a_failing_provider_leaves_the_base_message_and_one_listed_event() {
    let fake = ipqs().await;
    fake.behave(IpqsBehaviour::Status(500));
    let t = Tessera::start(&with(&table("geolocation", &http(&fake)))).await;
    let phone = GpgPhone::enroll(&t, "gina").await;
    let id = start(&t, "gina", UTRECHT_IP).await;
    let doc = phone.fetch(&id).await;
    assert_eq!(doc["secure_message"], PORTAL, "{doc}");

    t.wait_for_event(&id, FAILURE, 1).await;
    // Long enough for a second report (the fetch's own lookup) to have been written.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let events: Vec<_> = t
        .events(&id)
        .await
        .into_iter()
        .filter(|e| e["event_name"] == FAILURE)
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["client_ip"], UTRECHT_IP, "{e}");
    assert_eq!(e["user_agent"], CHROME_73_MAC, "{e}");
    assert_eq!(e["user_id"], "gina", "{e}");
    assert!(!e.to_string().contains("Pr1vate"), "{e}");
    assert!(
        !t.logs().contains("Pr1vate"),
        "the private key is in the logs"
    );

    // The phone still answers the transaction as usual.
    let resp = phone
        .answer(
            &id,
            &serde_json::json!({"transaction_id": id, "accepted": true, "pin_token": phone.pin_token}),
        )
        .await;
    resp.expect(200);
    assert_eq!(t.final_result(&id).await["status"], "accepted");
}
