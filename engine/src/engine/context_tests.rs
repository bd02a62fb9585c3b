//! The secure message's context through the engine (API.md §6): a start with `ip_address` and
//! `user_agent` begins the lookup, the device's fetch renders the template into the document's
//! `secure_message`, the push never carries it, and every way the provider fails leaves the
//! portal's text alone with one `GEOLOCATION FAILURE` event. The provider is the testkit's
//! loopback IPQualityScore fake (its real JSON) or the MaxMind test databases.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tessera_config::{Config, GeoProvider, Geolocation, LocationPrecision, PushEnrollmentMode};
use tessera_testkit::geo::{self, IpqsBehaviour, IpqsFake, UTRECHT_IP};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::device_tests::{Phone, config, fetch, phone, start_req};
use super::*;
use crate::context::LOOKUP_TIMEOUT;
use crate::crypto;
use crate::model::{Event, EventName, EventQuery};
use crate::outbound::{PushError, PushNotice, PushProvider, PushTarget};
use crate::{Document, Error, StartRequest};

/// The private key the engine is configured with and the fake checks (characters that must be
/// percent-encoded in a path included).
const KEY: &str = IpqsFake::KEY;
/// The seed's example user agent: Chrome 73 on macOS 10.14.
const CHROME_73_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/73.0.3683.86 Safari/537.36";
/// The portal's `secure_message` in the seed's example.
const PORTAL: &str = "You are logging into the XYZ portal.";
/// The seed's rendered example (API.md §6, default template).
const SEED_TEXT: &str = "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
                         Location: NL, Provincie Utrecht, Utrecht";
/// The device part alone: what a start shows when nothing is known about its address.
const DEVICE_ONLY: &str = "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0";

// === the world ===

/// The push provider: keeps every notice it is handed, as APNs or FCM would receive it.
#[derive(Default)]
struct Pushes {
    sent: Mutex<Vec<PushNotice>>,
}

#[async_trait]
impl PushProvider for Pushes {
    fn name(&self) -> &str {
        "pushes"
    }
    async fn send(&self, _target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        self.sent.lock().push(notice.clone());
        Ok(())
    }
}

impl Pushes {
    fn count(&self) -> usize {
        self.sent.lock().len()
    }

    fn message(&self, i: usize) -> String {
        self.sent.lock()[i].message.clone()
    }
}

/// The fake IPQualityScore service, checking [`KEY`], with [`UTRECHT_IP`] in its table
/// (the seed's place).
async fn ipqs() -> IpqsFake {
    IpqsFake::start().await
}

/// `[geolocation]` on, with the HTTP provider at `fake` (IPQualityScore's URL form) and its key.
fn http_geolocation(fake: &IpqsFake) -> Geolocation {
    let geo = fake.config();
    assert_eq!(
        (geo.provider, geo.private_key.as_str()),
        (GeoProvider::Http, KEY)
    );
    geo
}

/// What reached the fake: the addresses looked up, and connections it had to close.
fn asked(fake: &IpqsFake) -> Vec<String> {
    fake.looked_up()
}

/// Nothing reached the fake.
fn untouched(fake: &IpqsFake) -> bool {
    fake.requests().is_empty() && fake.closed() == 0
}

/// `[geolocation]` on, with the MaxMind database at `path`.
fn mmdb_geolocation(path: &str) -> Geolocation {
    Geolocation {
        enabled: true,
        provider: GeoProvider::Mmdb,
        mmdb_path: path.into(),
        ..Geolocation::default()
    }
}

/// The device tests' config (push types, `otp`, `sms`) with `geo` and English and Dutch.
fn geo_config(geo: Geolocation) -> Config {
    let mut cfg = config(PushEnrollmentMode::SingleDevice);
    cfg.general.supported_locales = vec!["en".into(), "nl".into()];
    cfg.geolocation = geo;
    // Many starts for alice from one test.
    cfg.rate_limits = crate::test_util::no_limits();
    cfg
}

/// An engine on `cfg` pushing through a recorder, and alice's phone.
async fn world(cfg: Config) -> (Engine, Phone, Arc<Pushes>) {
    let recorder = Arc::new(Pushes::default());
    let providers: Vec<(String, Arc<dyn PushProvider>)> = vec![("p".to_owned(), recorder.clone())];
    let engine = Engine::launch_with_sms(
        cfg,
        EngineOptions {
            shards: 1,
            in_place: true,
        },
        providers,
        crate::test_util::outbox(),
    )
    .expect("engine launches with [geolocation] on");
    let p = phone(&engine, "alice").await;
    (engine, p, recorder)
}

/// A push-with-PIN start for alice carrying the seed's context from `ip`.
fn context_req(ip: &str) -> StartRequest {
    StartRequest {
        secure_message: Some(PORTAL.into()),
        ip_address: Some(ip.into()),
        user_agent: Some(CHROME_73_MAC.into()),
        ..start_req("pin", "alice")
    }
}

/// Starts `req` and fetches its document as alice's phone.
async fn start_and_fetch(engine: &Engine, p: &Phone, req: StartRequest) -> Document {
    let id = engine.start(req).await.expect("start").txn.id;
    fetch(engine, p, id).await
}

/// The events of `id` named `GEOLOCATION FAILURE`.
async fn failures(engine: &Engine, id: TxnId) -> Vec<Event> {
    let query = EventQuery {
        transaction_id: Some(id),
        event_name: Some(EventName::GeolocationFailure.as_str().to_owned()),
        limit: 100,
        ..Default::default()
    };
    engine.query_events(&query).await.expect("events")
}

/// Waits for `id`'s first `GEOLOCATION FAILURE`, then long enough for a second one (the fetch's
/// or a late prefetch's) to have been written too, and returns them all.
async fn settled_failures(engine: &Engine, id: TxnId) -> Vec<Event> {
    tessera_testkit::eventually(
        Duration::from_secs(5),
        "a GEOLOCATION FAILURE event",
        || async move { (!failures(engine, id).await.is_empty()).then_some(()) },
    )
    .await;
    tokio::time::sleep(LOOKUP_TIMEOUT + Duration::from_millis(300)).await;
    failures(engine, id).await
}

// === the rendered text ===

#[actix_rt::test]
async fn the_seed_example_reaches_the_document_and_never_the_push() {
    let fake = ipqs().await;
    let (engine, p, recorder) = world(geo_config(http_geolocation(&fake))).await;
    let started = engine.start(context_req(UTRECHT_IP)).await.unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert_eq!(doc.secure_message.as_deref(), Some(SEED_TEXT));
    assert_eq!(doc.message, "Log in?", "`message` stays the plain text");

    // The provider was asked about the address once, in IPQualityScore's form (and with the
    // right key: a wrong one gets no place, see `a_wrong_key_...`).
    assert_eq!(asked(&fake), vec![UTRECHT_IP.to_owned()]);
    let requests = fake.requests();
    assert_eq!(requests[0].method, "GET");
    assert!(
        requests[0].path.starts_with(IpqsFake::PREFIX),
        "{}",
        requests[0].path
    );
    assert_eq!(requests[0].status, 200);
    // Nothing of the context went through the push provider.
    let pushed = recorder.sent.lock().clone();
    assert_eq!(pushed.len(), 1);
    let notice = format!("{:?}", pushed[0]);
    for secret in [PORTAL, "Utrecht", "Chrome", "Device:"] {
        assert!(!notice.contains(secret), "{secret} in the push: {notice}");
    }
    assert_eq!(pushed[0].message, "Log in?");
    // A lookup that found the place is no failure.
    assert!(failures(&engine, started.txn.id).await.is_empty());
}

#[actix_rt::test]
async fn the_second_seed_template() {
    let fake = ipqs().await;
    let mut geo = http_geolocation(&fake);
    geo.templates = BTreeMap::from([(
        "en".to_owned(),
        "[message] using [browser] from [city], [countryCode]".to_owned(),
    )]);
    let (engine, p, _) = world(geo_config(geo)).await;
    let req = StartRequest {
        secure_message: Some("You are logging into the XYZ portal".into()),
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, req).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some("You are logging into the XYZ portal using Chrome 73.0 from Utrecht, NL")
    );
}

#[actix_rt::test]
async fn language_code_picks_the_template_and_falls_back_to_english() {
    let fake = ipqs().await;
    let mut geo = http_geolocation(&fake);
    geo.templates = BTreeMap::from([
        (
            "en".to_owned(),
            "[message] From [city] ([countryCode]) on [browser]".to_owned(),
        ),
        (
            "nl".to_owned(),
            "[message] Apparaat: [operatingSystem] [browser], Locatie: [city], [countryCode]"
                .to_owned(),
        ),
    ]);
    let (engine, p, _) = world(geo_config(geo)).await;
    let dutch = StartRequest {
        language_code: Some("nl".into()),
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, dutch).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some(
            "You are logging into the XYZ portal. Apparaat: Mac 10.14 Chrome 73.0, \
             Locatie: Utrecht, NL"
        )
    );
    // A language without a template (and not a supported locale either) gets English.
    for language in ["fr", "de"] {
        let req = StartRequest {
            language_code: Some(language.into()),
            ..context_req(UTRECHT_IP)
        };
        let doc = start_and_fetch(&engine, &p, req).await;
        assert_eq!(
            doc.secure_message.as_deref(),
            Some("You are logging into the XYZ portal. From Utrecht (NL) on Chrome 73.0"),
            "{language}"
        );
    }
}

#[actix_rt::test]
async fn without_an_english_template_the_vendor_default_applies() {
    let fake = ipqs().await;
    let mut geo = http_geolocation(&fake);
    geo.templates = BTreeMap::from([("nl".to_owned(), "[message] Locatie: [city]".to_owned())]);
    let (engine, p, _) = world(geo_config(geo)).await;
    let doc = start_and_fetch(&engine, &p, context_req(UTRECHT_IP)).await;
    assert_eq!(doc.secure_message.as_deref(), Some(SEED_TEXT));
    let dutch = StartRequest {
        language_code: Some("nl".into()),
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, dutch).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some("You are logging into the XYZ portal. Locatie: Utrecht")
    );
}

#[actix_rt::test]
async fn message_stands_in_when_the_portal_sent_no_secure_message() {
    let fake = ipqs().await;
    let (engine, p, recorder) = world(geo_config(http_geolocation(&fake))).await;
    let req = StartRequest {
        secure_message: None,
        message: Some("Log in to XYZ?".into()),
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, req).await;
    assert_eq!(doc.message, "Log in to XYZ?");
    assert_eq!(
        doc.secure_message.as_deref(),
        Some(
            "Log in to XYZ? Device: Mac 10.14 Chrome 73.0, Location: NL, Provincie Utrecht, \
             Utrecht"
        )
    );
    // The push still shows the plain message alone.
    assert_eq!(recorder.message(0), "Log in to XYZ?");
}

#[actix_rt::test]
async fn the_document_of_a_redeemed_otp_carries_the_context() {
    let fake = ipqs().await;
    let (engine, p, _) = world(geo_config(http_geolocation(&fake))).await;
    let req = StartRequest {
        user_id: None,
        ..context_req(UTRECHT_IP)
    };
    let req = StartRequest {
        type_name: "otp".into(),
        ..req
    };
    let started = engine.start(req).await.unwrap();
    let otp = started.otp.expect("an OTP");
    let armored = engine.redeem_otp(&p.device, &otp).await.unwrap();
    let plain = crypto::open_from_server(&armored, &p.keys, &p.server).unwrap();
    let doc: Document = serde_json::from_slice(&plain).unwrap();
    assert_eq!(doc.method, "otp");
    assert_eq!(doc.secure_message.as_deref(), Some(SEED_TEXT));
    assert_eq!(asked(&fake), vec![UTRECHT_IP.to_owned()]);
}

#[actix_rt::test]
async fn sms_starts_look_nothing_up() {
    let fake = ipqs().await;
    let (engine, _p, _) = world(geo_config(http_geolocation(&fake))).await;
    // An SMS type, and a push type that falls back to SMS at the start (bob has no phone).
    let sms = StartRequest {
        secure_message: None,
        ip_address: Some(UTRECHT_IP.into()),
        user_agent: Some(CHROME_73_MAC.into()),
        ..start_req("sms", "alice")
    };
    let started = engine.start(sms).await.unwrap();
    assert_eq!(started.txn.method, tessera_config::Method::Sms);
    let fallen = engine.start(context_req_for("push", "bob")).await.unwrap();
    assert_eq!(fallen.txn.method, tessera_config::Method::Sms);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(untouched(&fake), "{:?}", fake.requests());
    for id in [started.txn.id, fallen.txn.id] {
        assert!(failures(&engine, id).await.is_empty());
    }
}

/// [`context_req`] for another type and user.
fn context_req_for(type_name: &str, user: &str) -> StartRequest {
    StartRequest {
        type_name: type_name.into(),
        user_id: Some(user.into()),
        ..context_req(UTRECHT_IP)
    }
}

// === failures ===

/// One failure of the provider and the words its event's `detail` must hold.
struct Case {
    behaviour: IpqsBehaviour,
    cause: &'static str,
}

fn failure_cases() -> Vec<Case> {
    vec![
        Case {
            behaviour: IpqsBehaviour::Status(500),
            cause: "HTTP 500",
        },
        Case {
            behaviour: IpqsBehaviour::NotJson,
            cause: "not JSON",
        },
        Case {
            behaviour: IpqsBehaviour::Unsuccessful("Invalid IP address.".into()),
            cause: "success = false",
        },
        Case {
            behaviour: IpqsBehaviour::NoLocation,
            cause: "no location",
        },
        Case {
            behaviour: IpqsBehaviour::Close,
            cause: "unreachable",
        },
    ]
}

/// The provider failing with `case`: the portal's text alone, one event naming the cause,
/// never the key.
async fn fails_cleanly(case: Case) {
    let fake = ipqs().await;
    fake.behave(case.behaviour.clone());
    let (engine, p, recorder) = world(geo_config(http_geolocation(&fake))).await;
    let started = engine.start(context_req(UTRECHT_IP)).await.unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some(PORTAL),
        "{}",
        case.cause
    );
    assert_eq!(recorder.count(), 1, "the push went out regardless");
    let events = settled_failures(&engine, started.txn.id).await;
    assert_eq!(events.len(), 1, "{}: {events:?}", case.cause);
    // The fetch took the start's failed lookup as it was: the provider was asked once.
    assert_eq!(
        fake.requests().len() + fake.closed(),
        1,
        "{}: {:?}",
        case.cause,
        fake.requests()
    );
    let event = &events[0];
    assert_eq!(event.event_type, "MOBILE_AUTHENTICATION");
    assert_eq!(event.client_ip.as_deref(), Some(UTRECHT_IP));
    assert_eq!(event.user_agent.as_deref(), Some(CHROME_73_MAC));
    assert_eq!(event.user_id.as_deref(), Some("alice"));
    let detail = event.detail.as_deref().unwrap_or_default();
    assert!(detail.contains(case.cause), "{}: {detail}", case.cause);
    // Neither the key nor the URL that holds it (reqwest's errors quote it).
    for secret in [KEY, "Pr1vate", "127.0.0.1"] {
        assert!(!detail.contains(secret), "{secret} leaked: {detail}");
    }
}

#[actix_rt::test]
async fn an_http_error_leaves_the_base_message_and_one_event() {
    fails_cleanly(failure_cases().remove(0)).await;
}

#[actix_rt::test]
async fn an_answer_that_is_not_json_leaves_the_base_message_and_one_event() {
    fails_cleanly(failure_cases().remove(1)).await;
}

#[actix_rt::test]
async fn success_false_leaves_the_base_message_and_one_event() {
    fails_cleanly(failure_cases().remove(2)).await;
}

#[actix_rt::test]
async fn an_answer_without_a_location_leaves_the_base_message_and_one_event() {
    fails_cleanly(failure_cases().remove(3)).await;
}

#[actix_rt::test]
async fn a_closed_connection_leaves_the_base_message_and_one_event() {
    fails_cleanly(failure_cases().remove(4)).await;
}

#[actix_rt::test]
async fn a_slow_provider_holds_back_neither_the_push_nor_the_fetch() {
    let fake = ipqs().await;
    fake.behave(IpqsBehaviour::Slow(Duration::from_secs(5)));
    let (engine, p, recorder) = world(geo_config(http_geolocation(&fake))).await;
    let started = engine.start(context_req(UTRECHT_IP)).await.unwrap();
    // The push is out while the provider is still thinking.
    tessera_testkit::eventually(Duration::from_millis(900), "the push", || async {
        (recorder.count() > 0).then_some(())
    })
    .await;
    assert!(
        failures(&engine, started.txn.id).await.is_empty(),
        "the lookup has not ended yet"
    );
    let fetched = tokio::time::Instant::now();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert!(
        fetched.elapsed() < LOOKUP_TIMEOUT + Duration::from_millis(500),
        "the fetch waited {:?}",
        fetched.elapsed()
    );
    assert_eq!(doc.secure_message.as_deref(), Some(PORTAL));
    let events = settled_failures(&engine, started.txn.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = events[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("no answer within"), "{detail}");
    assert!(!detail.contains("Pr1vate"), "{detail}");
    // The fetch joined the start's lookup: one request.
    assert_eq!(asked(&fake), vec![UTRECHT_IP.to_owned()]);
}

#[actix_rt::test]
async fn a_wrong_key_is_reported_without_the_key() {
    let fake = ipqs().await;
    let mut geo = http_geolocation(&fake);
    geo.private_key = "not-the-key-0123456789".into();
    let (engine, p, _) = world(geo_config(geo)).await;
    let started = engine.start(context_req(UTRECHT_IP)).await.unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert_eq!(doc.secure_message.as_deref(), Some(PORTAL));
    let events = settled_failures(&engine, started.txn.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = events[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("success = false"), "{detail}");
    assert!(!detail.contains("not-the-key"), "{detail}");
    // The request carried the configured key, the fake refused it.
    assert_eq!(asked(&fake), vec![UTRECHT_IP.to_owned()]);
}

// === addresses never looked up ===

#[actix_rt::test]
async fn private_and_special_addresses_never_reach_the_provider() {
    let fake = ipqs().await;
    let (engine, p, _) = world(geo_config(http_geolocation(&fake))).await;
    let addresses = [
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.20",
        "127.0.0.1",
        "169.254.10.1",
        "192.0.2.44",
        "198.51.100.7",
        "203.0.113.9",
        "100.64.1.1",
        "::1",
        "fe80::1",
        "fd00::5",
        "2001:db8::1",
        "::ffff:192.168.1.1",
    ];
    for ip in addresses {
        let started = engine.start(context_req(ip)).await.unwrap();
        let doc = fetch(&engine, &p, started.txn.id).await;
        assert_eq!(doc.secure_message.as_deref(), Some(DEVICE_ONLY), "{ip}");
        assert!(failures(&engine, started.txn.id).await.is_empty(), "{ip}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(untouched(&fake), "{:?}", fake.requests());
}

#[actix_rt::test]
async fn an_address_alone_shows_the_place_and_a_user_agent_alone_the_device() {
    let fake = ipqs().await;
    let (engine, p, _) = world(geo_config(http_geolocation(&fake))).await;
    let no_agent = StartRequest {
        user_agent: None,
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, no_agent).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some("You are logging into the XYZ portal. Location: NL, Provincie Utrecht, Utrecht")
    );
    let no_address = StartRequest {
        ip_address: None,
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, no_address).await;
    assert_eq!(doc.secure_message.as_deref(), Some(DEVICE_ONLY));
    // Neither: the portal's text as it sent it.
    let plain = StartRequest {
        ip_address: None,
        user_agent: None,
        ..context_req(UTRECHT_IP)
    };
    let doc = start_and_fetch(&engine, &p, plain).await;
    assert_eq!(doc.secure_message.as_deref(), Some(PORTAL));
}

// === settings ===

#[actix_rt::test]
async fn location_precision_limits_the_place() {
    let cases = [
        (
            LocationPrecision::Region,
            "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
             Location: NL, Provincie Utrecht",
        ),
        (
            LocationPrecision::Country,
            "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, Location: NL",
        ),
        (LocationPrecision::None, DEVICE_ONLY),
    ];
    for (precision, expected) in cases {
        let fake = ipqs().await;
        let mut geo = http_geolocation(&fake);
        geo.location_precision = precision;
        let (engine, p, _) = world(geo_config(geo)).await;
        let doc = start_and_fetch(&engine, &p, context_req(UTRECHT_IP)).await;
        assert_eq!(
            doc.secure_message.as_deref(),
            Some(expected),
            "{precision:?}"
        );
        if precision == LocationPrecision::None {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(untouched(&fake), "precision none asks nobody");
        }
    }
}

#[actix_rt::test]
async fn with_geolocation_off_the_secure_message_is_untouched() {
    let fake = ipqs().await;
    let mut geo = http_geolocation(&fake);
    geo.enabled = false;
    let (engine, p, _) = world(geo_config(geo)).await;
    let started = engine.start(context_req(UTRECHT_IP)).await.unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert_eq!(doc.secure_message.as_deref(), Some(PORTAL));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(untouched(&fake));
    assert!(failures(&engine, started.txn.id).await.is_empty());
}

#[actix_rt::test]
async fn the_start_refuses_what_cannot_be_an_address_or_a_user_agent() {
    let fake = ipqs().await;
    let (engine, _p, _) = world(geo_config(http_geolocation(&fake))).await;
    for ip in [
        "not-an-ip",
        "145.100.190",
        "145.100.190.243:443",
        "1.2.3.4/24",
        " ",
    ] {
        let req = context_req(ip);
        let refused = engine.start(req).await.err();
        assert!(
            matches!(refused, Some(Error::InvalidParameter("ip_address"))),
            "{ip:?}: {refused:?}"
        );
    }
    let limit = crate::outbound::user_agent::MAX_USER_AGENT_LEN;
    let too_long = "a".repeat(limit + 1);
    for ua in [too_long.as_str(), "Mozilla/5.0\nInjected: yes", "tab\there"] {
        let req = StartRequest {
            user_agent: Some(ua.into()),
            ..context_req(UTRECHT_IP)
        };
        let refused = engine.start(req).await.err();
        assert!(
            matches!(refused, Some(Error::InvalidParameter("user_agent"))),
            "{ua:?}: {refused:?}"
        );
    }
    // The longest user agent accepted, and IPv6.
    let longest = StartRequest {
        user_agent: Some("é".repeat(limit)),
        ip_address: Some("2a02:a46f:ff52:0:1::7".into()),
        ..context_req(UTRECHT_IP)
    };
    assert!(engine.start(longest).await.is_ok());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !asked(&fake).iter().any(|ip| ip == "not-an-ip"),
        "nothing refused was looked up"
    );
}

#[actix_rt::test]
async fn a_warm_cache_makes_no_new_request() {
    let fake = ipqs().await;
    let (engine, p, _) = world(geo_config(http_geolocation(&fake))).await;
    for _ in 0..3 {
        let doc = start_and_fetch(&engine, &p, context_req(UTRECHT_IP)).await;
        assert_eq!(doc.secure_message.as_deref(), Some(SEED_TEXT));
    }
    assert_eq!(asked(&fake), vec![UTRECHT_IP.to_owned()]);
}

// === the MaxMind provider ===

#[actix_rt::test]
async fn the_mmdb_provider_places_the_geolite2_test_address() {
    let (engine, p, _) = world(geo_config(mmdb_geolocation(geo::GEOLITE2_CITY))).await;
    let doc = start_and_fetch(&engine, &p, context_req("81.2.69.142")).await;
    assert_eq!(
        doc.secure_message.as_deref(),
        Some(
            "You are logging into the XYZ portal. Device: Mac 10.14 Chrome 73.0, \
             Location: GB, England, London"
        )
    );
    // The seed's example from a database of its own.
    let (engine, p, _) = world(geo_config(mmdb_geolocation(geo::UTRECHT_MMDB))).await;
    let doc = start_and_fetch(&engine, &p, context_req(UTRECHT_IP)).await;
    assert_eq!(doc.secure_message.as_deref(), Some(SEED_TEXT));
}

#[actix_rt::test]
async fn an_address_missing_from_the_database_is_a_failure() {
    let (engine, p, _) = world(geo_config(mmdb_geolocation(geo::GEOLITE2_CITY))).await;
    // Public, but not in the small test database.
    let started = engine.start(context_req("8.8.8.8")).await.unwrap();
    let doc = fetch(&engine, &p, started.txn.id).await;
    assert_eq!(doc.secure_message.as_deref(), Some(PORTAL));
    let events = settled_failures(&engine, started.txn.id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = events[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("not in the database"), "{detail}");
}
