//! `--context`: push starts that carry the requester context of the secure message (API.md §6),
//! so a run measures what rendering it costs — a user-agent parse and a geolocation lookup per
//! start (cached after the first flows), the template at each fetch.
//!
//! The addresses are public ones the GeoLite2 test database places (MaxMind's test data, which
//! `testkit/data/geo/` carries); the user agents are real browsers'. Flows take them round robin,
//! so after the first few flows every lookup and every parse is a cache hit, as with a portal
//! whose users log in again and again.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The GeoLite2 test database of this source tree: the embedded engine's `mmdb_path` unless
/// `--context-mmdb` names another.
pub const GEOLITE2_TEST_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testkit/data/geo/GeoLite2-City-Test.mmdb"
);

/// Public addresses the GeoLite2 test database knows (London, Boxford, Linköping, Milton WA,
/// Changchun, San Diego).
pub const ADDRESSES: &[&str] = &[
    "81.2.69.142",
    "2.125.160.216",
    "89.160.20.112",
    "216.160.83.56",
    "175.16.199.0",
    "2001:480::1",
];

/// Browsers on desktops and phones.
pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/73.0.3683.86 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:66.0) Gecko/20100101 Firefox/66.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
     Gecko) Version/12.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 9; Pixel 3) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/74.0.3729.157 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
     Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
];

/// Where and from what each push start comes: the next address and user agent, round robin.
#[derive(Debug, Default)]
pub struct Requesters {
    next: AtomicUsize,
}

impl Requesters {
    /// The next `(ip_address, user_agent)`. Addresses and agents cycle at different lengths, so
    /// the pairs vary too.
    pub fn next(&self) -> (String, String) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (
            ADDRESSES[n % ADDRESSES.len()].to_owned(),
            USER_AGENTS[n % USER_AGENTS.len()].to_owned(),
        )
    }
}

/// The engine config's `[geolocation]` for `--context`: on, the `mmdb` provider on `mmdb`, the
/// default template and precision.
pub fn geolocation_section(mmdb: &str) -> String {
    // The path as a TOML basic string: backslashes and quotes escaped.
    let path = mmdb.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "\n# `--context`: the secure message's requester context, looked up in a local database.\n\
         [geolocation]\nenabled = true\nprovider = \"mmdb\"\nmmdb_path = \"{path}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requesters_cycle_through_every_address_and_agent() {
        let r = Requesters::default();
        let pairs: Vec<(String, String)> = (0..ADDRESSES.len() * USER_AGENTS.len())
            .map(|_| r.next())
            .collect();
        for ip in ADDRESSES {
            assert!(pairs.iter().any(|(a, _)| a == ip), "{ip}");
            ip.parse::<std::net::IpAddr>().expect("an IP address");
        }
        for ua in USER_AGENTS {
            assert!(pairs.iter().any(|(_, u)| u == ua), "{ua}");
            assert!(ua.len() <= 1024 && !ua.chars().any(char::is_control));
        }
        let distinct: std::collections::BTreeSet<_> = pairs.iter().collect();
        assert_eq!(
            distinct.len(),
            pairs.len(),
            "every pairing occurs once per cycle"
        );
    }

    #[test]
    fn the_test_database_is_in_the_source_tree() {
        assert!(
            std::path::Path::new(GEOLITE2_TEST_DB).is_file(),
            "{GEOLITE2_TEST_DB}"
        );
    }

    #[test]
    fn the_section_quotes_the_path() {
        let s = geolocation_section(r#"C:\geo\"odd".mmdb"#);
        assert!(s.contains(r#"mmdb_path = "C:\\geo\\\"odd\".mmdb""#), "{s}");
    }
}
