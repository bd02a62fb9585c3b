//! The generated config files: typed settings from `tessera_testkit::conf` and the fakes, and
//! TOML snippets for what tests vary. A test's config is [`with`] its own sections:
//! the header binds a free loopback port and declares the API clients every test uses.

use tessera_testkit::callback::CallbackFake;
pub use tessera_testkit::conf::MobileAuthType;
use tessera_testkit::conf::{
    Method, RateLimits, Scope, api_client, array, auth_type, from_network, no_rate_limits, table,
};
use tessera_testkit::sms::{SmsHookFake, TwilioFake};

/// The portal: every scope a portal test needs.
pub const CLIENT_ID: &str = "portal";
pub const CLIENT_SECRET: &str = "portal-secret-0123456789abcdef";

/// A client without the `mobile_authentication` (and `events`) scope.
pub const LIMITED_ID: &str = "helpdesk";
pub const LIMITED_SECRET: &str = "helpdesk-secret-0123456789abcdef";

/// A client that may only call from 10.0.0.0/8, so never from the tests' loopback address.
pub const FENCED_ID: &str = "fenced";
pub const FENCED_SECRET: &str = "fenced-secret-0123456789abcdef";

/// `[server]` on a free loopback port, the three API clients and `limits`.
fn header(limits: &RateLimits) -> String {
    use Scope::{EndUser, Events, MobileAuthentication};
    let every = [MobileAuthentication, EndUser, Events];
    let clients = [
        api_client(CLIENT_ID, CLIENT_SECRET, &every),
        api_client(LIMITED_ID, LIMITED_SECRET, &[EndUser]),
        from_network(api_client(FENCED_ID, FENCED_SECRET, &every), "10.0.0.0/8"),
    ];
    format!(
        "\n[server]\nlisten = \"127.0.0.1:0\"\n{}{}",
        array("api_clients", &clients),
        table("rate_limits", limits)
    )
}

/// The header plus `sections`, every rate limit off: the suite's requests all come from
/// 127.0.0.1, from one portal, for a handful of users and phone numbers, where CONFIG.md's
/// defaults would refuse ordinary test traffic ([`with_limits`] for tests of the limits).
pub fn with(sections: &str) -> String {
    with_limits(&no_rate_limits(), sections)
}

/// The header with `limits` as its `[rate_limits]`, plus `sections`.
pub fn with_limits(limits: &RateLimits, sections: &str) -> String {
    format!("{}\n{sections}\n", header(limits))
}

/// [`with`], with `server_keys` (`key = value` lines) added to the header's `[server]` table.
pub fn with_server(server_keys: &str, sections: &str) -> String {
    let listen = "listen = \"127.0.0.1:0\"";
    with(sections).replacen(listen, &format!("{listen}\n{server_keys}"), 1)
}

/// An SMS type `name` with an English default message.
pub fn sms(name: &str) -> MobileAuthType {
    auth_type(name, Method::Sms, "Your code is {code}")
}

/// `types` as `[[mobile_auth_types]]` sections.
pub fn types(types: &[MobileAuthType]) -> String {
    array("mobile_auth_types", types)
}

/// The SMS type [`sms`]`(name)`, rendered.
pub fn sms_type(name: &str) -> String {
    types(&[sms(name)])
}

/// `[sms] gateways = [...]` in this order, with a cool-down long enough never to end in a test.
pub fn gateways(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "\n[sms]\ngateways = [{}]\nfailover_cooldown = \"5m\"\n",
        list.join(", ")
    )
}

/// A `kind = "twilio"` gateway called `name` pointing at `fake`.
pub fn twilio_gateway(name: &str, fake: &TwilioFake) -> String {
    array("sms_gateways", &[fake.gateway(name)])
}

/// A `kind = "rest"` gateway called `name` pointing at `fake`, with its Basic credentials.
pub fn hook_gateway(name: &str, fake: &SmsHookFake) -> String {
    array("sms_gateways", &[fake.gateway(name)])
}

/// Fast callback delivery: three tries, 50 ms apart at first, half a second each.
pub const FAST_CALLBACKS: &str = r#"
[callbacks]
timeout = "500ms"
max_tries = 3
initial_backoff = "50ms"
"#;

/// A callback config for `fake`'s URL with Basic credentials and a signing secret.
pub fn callback_config(fake: &CallbackFake) -> String {
    array("callback_configs", &[fake.config()])
}
