//! User-agent strings to the operating system and browser shown in the secure message
//! (API.md §6: `Mac 10.14`, `Chrome 73.0`), with a bounded cache: a portal sends the same few
//! hundred strings over and over.

use std::sync::Arc;

/// What a user agent says about the requester's device. `None` where it says nothing known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Name and major.minor version (`Mac 10.14`, `Windows 10`, `iOS 12.1`, `Android 9`).
    pub operating_system: Option<String>,
    /// Name and major.minor version (`Chrome 73.0`, `Firefox 66.0`, `Safari 12.1`).
    pub browser: Option<String>,
}

/// Parses user agents, remembering the most recent results (at most `capacity`).
pub struct UserAgents {
    _private: (),
}

impl UserAgents {
    pub fn new(capacity: usize) -> Self {
        let _ = capacity;
        unimplemented!("issue 13: user agents")
    }

    /// `ua` parsed (from the cache when seen recently).
    pub fn parse(&self, ua: &str) -> Arc<Client> {
        let _ = ua;
        unimplemented!("issue 13: user agents")
    }
}

/// `ua` parsed, uncached.
pub fn parse(ua: &str) -> Client {
    let _ = ua;
    unimplemented!("issue 13: user agents")
}
