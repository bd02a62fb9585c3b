use std::sync::Arc;

use proptest::prelude::*;

use super::{Client, MAX_USER_AGENT_LEN, UserAgents, major_minor, parse};

/// The seed's example (API.md §6).
const MAC_CHROME_73: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/73.0.3683.86 Safari/537.36";

/// Real user agents and what the secure message shows for them.
const TABLE: &[(&str, Option<&str>, Option<&str>)] = &[
    (MAC_CHROME_73, Some("Mac 10.14"), Some("Chrome 73.0")),
    // --- macOS
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/115.0",
        Some("Mac 10.15"),
        Some("Firefox 115.0"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/12.1 Safari/605.1.15",
        Some("Mac 10.14"),
        Some("Safari 12.1"),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/50.0 Safari/537.36",
        Some("Mac 10.9"),
        Some("Chrome 50.0"),
    ),
    // woothee reads only 10.x; the version is taken from the string itself.
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 11_2_3) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/89.0.4389.90 Safari/537.36",
        Some("Mac 11.2"),
        Some("Chrome 89.0"),
    ),
    // --- Windows
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36",
        Some("Windows 10"),
        Some("Chrome 120.0"),
    ),
    // Chromium Edge (`Edg/`).
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        Some("Windows 10"),
        Some("Edge 120.0"),
    ),
    // EdgeHTML (`Edge/`).
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/70.0.3538.102 Safari/537.36 Edge/18.18362",
        Some("Windows 10"),
        Some("Edge 18.18362"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        Some("Windows 10"),
        Some("Firefox 121.0"),
    ),
    (
        "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/109.0.0.0 Safari/537.36",
        Some("Windows 8.1"),
        Some("Chrome 109.0"),
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
        Some("Windows 7"),
        Some("Internet Explorer 11.0"),
    ),
    (
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
        Some("Windows 8"),
        Some("Internet Explorer 10.0"),
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)",
        Some("Windows XP"),
        Some("Internet Explorer 8.0"),
    ),
    (
        "Mozilla/5.0 (Windows NT 6.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0 \
         Safari/537.36",
        Some("Windows Vista"),
        Some("Chrome 49.0"),
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/109.0.0.0 Safari/537.36 OPR/95.0.0.0",
        Some("Windows 7"),
        Some("Opera 95.0"),
    ),
    (
        "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
        Some("Windows 7"),
        Some("Opera 12.18"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5",
        Some("Windows 10"),
        Some("Vivaldi 6.5"),
    ),
    // A version with a single component stays single.
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/73 Safari/537.36",
        Some("Windows 10"),
        Some("Chrome 73"),
    ),
    (
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) \
         AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 \
         Edge/15.14977",
        Some("Windows Phone 10.0"),
        Some("Edge 15.14977"),
    ),
    // --- iOS / iPadOS
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 12_1 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) Version/12.0 Mobile/15E148 Safari/604.1",
        Some("iOS 12.1"),
        Some("Safari 12.0"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
        Some("iOS 17.1"),
        Some("Safari 17.1"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 12_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/12.0 Mobile/15E148 Safari/604.1",
        Some("iOS 12.1"),
        Some("Safari 12.0"),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 14_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/14.0.1 Mobile/15E148 Safari/604.1",
        Some("iPadOS 14.2"),
        Some("Safari 14.0"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) CriOS/119.0.6045.169 Mobile/15E148 Safari/604.1",
        Some("iOS 16.0"),
        Some("Chrome 119.0"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15",
        Some("iOS 16.0"),
        Some("Firefox 120.0"),
    ),
    // An in-app web view: woothee knows the kind, not its version.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) Mobile/15E148",
        Some("iOS 16.0"),
        Some("Webview"),
    ),
    // --- Android
    (
        "Mozilla/5.0 (Linux; Android 9; SM-G960F) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/74.0.3729.157 Mobile Safari/537.36",
        Some("Android 9"),
        Some("Chrome 74.0"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Mobile Safari/537.36",
        Some("Android 10"),
        Some("Chrome 120.0"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 8.1.0; Nexus 5X) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/70.0.3538.110 Mobile Safari/537.36",
        Some("Android 8.1"),
        Some("Chrome 70.0"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S901B) AppleWebKit/537.36 \
         (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        Some("Android 13"),
        Some("Samsung Internet 23.0"),
    ),
    (
        "Mozilla/5.0 (Android 13; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        Some("Android 13"),
        Some("Firefox 121.0"),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.84",
        Some("Android 10"),
        Some("Edge 120.0"),
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) \
         AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
        Some("Android 4.0"),
        Some("Safari 4.0"),
    ),
    // --- Linux, ChromeOS, BSD
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36",
        Some("Linux"),
        Some("Chrome 120.0"),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        Some("Linux"),
        Some("Firefox 121.0"),
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/120.0.0.0 Safari/537.36",
        Some("ChromeOS"),
        Some("Chrome 120.0"),
    ),
    // woothee's BSD "version" is the architecture: the name alone.
    (
        "Mozilla/5.0 (X11; FreeBSD amd64; rv:120.0) Gecko/20100101 Firefox/120.0",
        Some("BSD"),
        Some("Firefox 120.0"),
    ),
    // --- not browsers, garbage
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        None,
        None,
    ),
    ("curl/8.4.0", None, None),
    ("python-requests/2.31.0", None, None),
    ("", None, None),
    ("   ", None, None),
    ("garbage !!", None, None),
    ("Mozilla/5.0", None, None),
    // What a string claims is taken at its word, as far as it goes.
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X ", Some("Mac"), None),
    (
        "\u{0}\u{1b}[31m💥 Mac OS X 10_14 ]][[",
        Some("Mac 10.14"),
        None,
    ),
    ("\u{0}\u{1b}[31m💥 ]][[ Chrome/", None, None),
];

#[test]
fn real_user_agents_give_the_names_a_user_knows() {
    let mut wrong = Vec::new();
    for &(ua, os, browser) in TABLE {
        let expected = Client {
            operating_system: os.map(str::to_owned),
            browser: browser.map(str::to_owned),
        };
        let got = parse(ua);
        if got != expected {
            wrong.push(format!(
                "{ua:?}\n  got      {got:?}\n  expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_seeds_example_is_exact() {
    let client = UserAgents::new(16).parse(MAC_CHROME_73);
    assert_eq!(client.operating_system.as_deref(), Some("Mac 10.14"));
    assert_eq!(client.browser.as_deref(), Some("Chrome 73.0"));
}

#[test]
fn versions_become_major_minor() {
    for (version, expected) in [
        ("73.0.3683.86", Some("73.0")),
        ("73.0", Some("73.0")),
        ("73", Some("73")),
        ("10_14_3", Some("10.14")),
        ("8.1.0", Some("8.1")),
        ("12.x", Some("12")),
        ("UNKNOWN", None),
        ("NT 10.0", None),
        ("curl", None),
        ("", None),
        (".1", None),
    ] {
        assert_eq!(major_minor(version).as_deref(), expected, "{version:?}");
    }
}

#[test]
fn an_overlong_user_agent_is_unknown_and_not_remembered() {
    let long = format!("{MAC_CHROME_73} {}", "x".repeat(MAX_USER_AGENT_LEN));
    assert_eq!(parse(&long), Client::default());
    let agents = UserAgents::new(16);
    assert_eq!(*agents.parse(&long), Client::default());
    assert_eq!(agents.len(), 0);
}

#[test]
fn the_cache_answers_as_the_parser_does_and_shares_the_answer() {
    let agents = UserAgents::new(64);
    for &(ua, ..) in TABLE {
        let first = agents.parse(ua);
        let again = agents.parse(ua);
        assert_eq!(*first, parse(ua), "{ua:?}");
        assert!(Arc::ptr_eq(&first, &again), "{ua:?} was parsed again");
    }
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let capacity = 100;
    let agents = UserAgents::new(capacity);
    for i in 0..10 * capacity {
        let ua = format!("Mozilla/5.0 (Windows NT 10.0) Chrome/{i}.0 Safari/537.36");
        assert_eq!(
            agents.parse(&ua).browser.as_deref(),
            Some(format!("Chrome {i}.0").as_str())
        );
        assert!(
            agents.len() <= capacity,
            "{} entries after {i}",
            agents.len()
        );
    }
    assert!(agents.len() >= capacity / 2, "the cache forgot too much");
}

#[test]
fn a_user_agent_in_use_survives_eviction() {
    let capacity = 10;
    let agents = UserAgents::new(capacity);
    let kept = agents.parse(MAC_CHROME_73);
    for i in 0..10 * capacity {
        agents.parse(&format!("Mozilla/5.0 (X11; Linux x86_64) Firefox/{i}.0"));
        // Used again between every few others: it keeps moving to the newer generation.
        if i % 3 == 0 {
            assert!(
                Arc::ptr_eq(&kept, &agents.parse(MAC_CHROME_73)),
                "evicted at {i}"
            );
        }
    }
}

#[test]
fn a_capacity_below_two_caches_nothing() {
    for capacity in [0, 1] {
        let agents = UserAgents::new(capacity);
        assert_eq!(*agents.parse(MAC_CHROME_73), parse(MAC_CHROME_73));
        assert_eq!(agents.len(), 0);
    }
}

#[test]
fn threads_share_one_cache() {
    let agents = Arc::new(UserAgents::new(32));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let agents = agents.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let ua = format!(
                        "Mozilla/5.0 (Windows NT 6.1) Chrome/{}.0 Safari/537.36",
                        (i + t) % 40
                    );
                    let expected = format!("Chrome {}.0", (i + t) % 40);
                    assert_eq!(
                        agents.parse(&ua).browser.as_deref(),
                        Some(expected.as_str())
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().is_ok(), "a thread panicked");
    }
    assert!(agents.len() <= 32);
}

proptest! {
    /// Whatever a portal forwards, parsing answers (no panic), and what it answers is plain
    /// text: a name, never an empty string.
    #[test]
    fn any_string_parses(ua in "\\PC{0,300}") {
        let client = parse(&ua);
        for value in [&client.operating_system, &client.browser].into_iter().flatten() {
            prop_assert!(!value.trim().is_empty());
        }
    }

    /// Browser-like strings with random versions: the versions come out as major.minor.
    #[test]
    fn browser_like_strings_parse(
        os in prop::sample::select(vec!["Windows NT 10.0", "Macintosh; Intel Mac OS X 10_13_6",
                                         "X11; Linux x86_64", "Linux; Android 11"]),
        version in "[0-9]{1,4}(\\.[0-9]{1,5}){0,3}",
    ) {
        let ua = format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/{version} Safari/537.36");
        let browser = parse(&ua).browser;
        let expected = format!("Chrome {}", major_minor(&version).unwrap_or_default());
        prop_assert_eq!(browser.as_deref(), Some(expected.as_str()));
    }
}
