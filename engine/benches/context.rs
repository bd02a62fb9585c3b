//! Cost of the secure message's context (API.md §6), release build: `cargo bench -p
//! tessera-engine --bench context`. What a device's fetch adds when the start carried
//! `ip_address` and `user_agent` — `SecureContext::render` with the address's location already
//! cached (the `mmdb` provider on the GeoLite2 test database) and the user agent seen before —
//! and its parts: the template alone, a user-agent parse uncached (woothee) and from the cache.
//! Plain std timing in batches (no bench framework): sizes, not a regression gate.
#![allow(clippy::disallowed_types)] // std's Instant is fine outside engine code

use std::hint::black_box;
use std::time::{Duration, Instant};

use tessera_config::{Config, GeoProvider, Method};
use tessera_engine::context::{self, Rendered, SecureContext, Values};
use tessera_engine::model::{RequestContext, Status, Transaction, TxnId};
use tessera_engine::outbound::user_agent::{self, UserAgents};

mod timing;
use timing::time;

const CHROME_73_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 \
                             (KHTML, like Gecko) Chrome/73.0.3683.86 Safari/537.36";
const LONDON: &str = "81.2.69.142";
const CALLS: u32 = 10_000;
const ROUNDS: u32 = 20;

/// A push transaction whose start carried the seed's context from `ip`.
fn transaction(ip: &str) -> Transaction {
    let context = RequestContext {
        secure_message: Some("You are logging into the XYZ portal.".into()),
        ip_address: Some(ip.into()),
        user_agent: Some(CHROME_73_MAC.into()),
        ..RequestContext::default()
    };
    Transaction {
        id: TxnId::random(),
        version: 0,
        type_name: "push".into(),
        method: Method::Push,
        client_id: "portal".into(),
        user_id: Some("alice".into()),
        callback_uri: None,
        language: "en".into(),
        message: "Log in?".into(),
        context: context.boxed(),
        created_at: 0,
        deadline: 300_000,
        status: Status::Pending,
        reason: None,
        finished_at: None,
        used_authentication_attempts: 0,
        code: None,
        push: None,
        otp_sha256: None,
        otp_sealed: None,
        fallback: None,
        answer: None,
        node: None,
        callback_due: false,
    }
}

fn secure_context() -> SecureContext {
    let mut cfg = Config::default();
    cfg.geolocation.enabled = true;
    cfg.geolocation.provider = GeoProvider::Mmdb;
    cfg.geolocation.mmdb_path = tessera_testkit::geo::GEOLITE2_CITY.into();
    match SecureContext::from_config(&cfg) {
        Ok(Some(c)) => c,
        _ => panic!("the GeoLite2 test database opens"),
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ctx = secure_context();
    let txn = transaction(LONDON);
    let first = rt.block_on(ctx.render(&txn));
    let Rendered::Text(text) = &first else {
        panic!("not rendered: {first:?}")
    };
    println!("{text}");

    // The whole render on a warm cache, awaited inside one runtime as the fetch does.
    let per_call = rt.block_on(async {
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..CALLS {
                black_box(ctx.render(black_box(&txn)).await);
            }
            rounds.push(start.elapsed() / CALLS);
        }
        rounds
    });
    report("SecureContext::render (warm caches)", per_call);

    let location = tessera_engine::outbound::geolocation::Location {
        country_code: Some("GB".into()),
        region: Some("England".into()),
        city: Some("London".into()),
    };
    let values = Values {
        message: "You are logging into the XYZ portal.",
        operating_system: Some("Mac 10.14"),
        browser: Some("Chrome 73.0"),
        ..Values::default()
    }
    .with_location(&location, tessera_config::LocationPrecision::City);
    let template = tessera_config::DEFAULT_CONFIRMATION_TEMPLATE;
    time("template alone (default, all known)", 1_000, 1_000, || {
        context::render(black_box(template), black_box(&values))
    });

    time("user agent, uncached (woothee)", 1_000, 200, || {
        user_agent::parse(black_box(CHROME_73_MAC))
    });
    let agents = UserAgents::new(4096);
    agents.parse(CHROME_73_MAC);
    time("user agent, cached", 1_000, 1_000, || {
        agents.parse(black_box(CHROME_73_MAC))
    });
}

/// Prints per-call times of rounds like [`timing::time`] does.
fn report(name: &str, mut per_call: Vec<Duration>) {
    per_call.sort();
    let rounds = per_call.len() as u32;
    let mean = per_call.iter().sum::<Duration>() / rounds;
    let best = per_call[0];
    let p99 = per_call[per_call.len() * 99 / 100];
    println!(
        "{name:<40} mean {mean:>9.1?}  best {best:>9.1?}  p99 {p99:>9.1?}  ({rounds}×{CALLS})"
    );
}
