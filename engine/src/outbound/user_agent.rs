//! User-agent strings to the operating system and browser shown in the secure message
//! (API.md §6: `Mac 10.14`, `Chrome 73.0`), with a bounded cache: a portal sends the same few
//! hundred strings over and over.
//!
//! Parsing is woothee's; this module only turns its names into the ones a user recognises
//! (`Mac OSX` → `Mac`, `iPhone` → `iOS`, `SamsungBrowser` → `Samsung Internet`) and its
//! versions into major.minor (`73.0.3683.86` → `73.0`, `8.1.0` → `8.1`, `9` → `9`). What
//! woothee cannot tell, and what is not a browser (crawlers, HTTP libraries), is `None`: the
//! template then leaves it out.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use woothee::parser::{Parser, WootheeResult};

/// Longest user agent accepted (real ones stay well under 512 characters): a start refuses
/// longer ones (in characters), and anything longer (in bytes) reaching here is not a
/// browser's and is not worth a regex pass or a cache slot.
pub const MAX_USER_AGENT_LEN: usize = 1024;

/// woothee's word for "could not tell".
const UNKNOWN: &str = "UNKNOWN";

/// What a user agent says about the requester's device. `None` where it says nothing known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Name and major.minor version (`Mac 10.14`, `Windows 10`, `iOS 12.1`, `Android 9`).
    pub operating_system: Option<String>,
    /// Name and major.minor version (`Chrome 73.0`, `Firefox 66.0`, `Safari 12.1`).
    pub browser: Option<String>,
}

/// Parses user agents, remembering the most recent results (at most `capacity`).
///
/// The cache keeps two generations: hits come from either, a hit in the older one moves to
/// the newer, and when the newer holds half the capacity it becomes the older one (the old
/// older one is dropped). So strings in use stay, memory stays bounded, and no entry needs a
/// timestamp or a list to be kept in order.
pub struct UserAgents {
    /// Entries per generation: half the capacity (0: nothing is cached).
    generation: usize,
    cache: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    newer: HashMap<String, Arc<Client>>,
    older: HashMap<String, Arc<Client>>,
}

impl UserAgents {
    /// A parser remembering at most `capacity` user agents (below 2: none).
    pub fn new(capacity: usize) -> Self {
        Self {
            generation: capacity / 2,
            cache: Mutex::new(Generations::default()),
        }
    }

    /// `ua` parsed (from the cache when seen recently).
    pub fn parse(&self, ua: &str) -> Arc<Client> {
        if self.generation == 0 || ua.len() > MAX_USER_AGENT_LEN {
            return Arc::new(parse(ua));
        }
        if let Some(hit) = self.cached(ua) {
            return hit;
        }
        // Parsed outside the lock: two threads meeting a new string may both parse it, which
        // costs microseconds; holding the lock over woothee's regexes would serialise every
        // fetch.
        let client = Arc::new(parse(ua));
        self.insert(ua, client.clone());
        client
    }

    /// How many user agents are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        let cache = self.cache.lock();
        cache.newer.len() + cache.older.len()
    }

    fn cached(&self, ua: &str) -> Option<Arc<Client>> {
        let mut cache = self.cache.lock();
        if let Some(hit) = cache.newer.get(ua) {
            return Some(hit.clone());
        }
        let hit = cache.older.remove(ua)?;
        self.store(&mut cache, ua, hit.clone());
        Some(hit)
    }

    fn insert(&self, ua: &str, client: Arc<Client>) {
        let mut cache = self.cache.lock();
        self.store(&mut cache, ua, client);
    }

    fn store(&self, cache: &mut Generations, ua: &str, client: Arc<Client>) {
        if cache.newer.len() >= self.generation {
            cache.older = std::mem::take(&mut cache.newer);
        }
        cache.newer.insert(ua.to_owned(), client);
    }
}

/// `ua` parsed, uncached.
pub fn parse(ua: &str) -> Client {
    if ua.len() > MAX_USER_AGENT_LEN {
        return Client::default();
    }
    match Parser::new().parse(ua) {
        Some(found) => Client {
            operating_system: operating_system(&found, ua),
            browser: browser(&found),
        },
        None => Client::default(),
    }
}

// === woothee's names to ours ===

fn operating_system(found: &WootheeResult<'_>, ua: &str) -> Option<String> {
    let version = major_minor(&found.os_version);
    let name = match found.os {
        "" | UNKNOWN => return None,
        // woothee only reads 10.x; macOS 11 and later still say "Mac OS X 11_2_3".
        "Mac OSX" => return Some(named("Mac", version.or_else(|| mac_version(ua)))),
        "iPhone" | "iPod" | "iOS" => "iOS",
        // Apple renamed the iPad's system from version 13 on.
        "iPad" if version.as_deref().and_then(major).is_some_and(|m| m >= 13) => "iPadOS",
        "iPad" => "iOS",
        "Windows UNKNOWN Ver" => return Some("Windows".into()),
        "Windows Phone OS" => "Windows Phone",
        // woothee's Windows names carry the version ("Windows 10"; NT 10.0 is also Windows 11,
        // which user agents do not tell apart); its os_version is the NT number.
        windows if windows.starts_with("Windows") => return Some(windows.into()),
        // ChromeOS's "version" is the platform and build ("x86_64 14541.0.0"), nothing a user
        // knows; Linux's is never given.
        "ChromeOS" | "Linux" => return Some(found.os.into()),
        other => other,
    };
    Some(named(name, version))
}

fn browser(found: &WootheeResult<'_>) -> Option<String> {
    if found.browser_type != "browser" {
        return None;
    }
    let name = match found.name {
        "" | UNKNOWN => return None,
        "SamsungBrowser" => "Samsung Internet",
        other => other,
    };
    Some(named(name, major_minor(found.version)))
}

fn named(name: &str, version: Option<String>) -> String {
    match version {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    }
}

/// `version`'s first two numeric components (`73.0.3683.86` → `73.0`, `10_14_3` → `10.14`,
/// `9` → `9`); `None` when it does not start with a number (`UNKNOWN`, `NT 10.0`, `curl`).
fn major_minor(version: &str) -> Option<String> {
    let numeric = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let mut parts = version.split(['.', '_']);
    let major = parts.next().filter(numeric)?;
    Some(match parts.next().filter(numeric) {
        Some(minor) => format!("{major}.{minor}"),
        None => major.to_owned(),
    })
}

fn major(version: &str) -> Option<u32> {
    version.split('.').next()?.parse().ok()
}

/// The version after "Mac OS X " (`Mac OS X 11_2_3)` → `11.2`).
fn mac_version(ua: &str) -> Option<String> {
    let (_, rest) = ua.split_once("Mac OS X ")?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    major_minor(&rest[..end])
}

#[cfg(test)]
mod tests;
