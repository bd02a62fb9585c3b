//! The harness of the `config` fuzz target in `fuzz/` (cargo-fuzz), which the property tests here
//! run on stable too: arbitrary text through [`load_str`] — the loader `tessera serve` and
//! `tessera config check` use — must give a config, a syntax error or a list of problems, and a
//! config it gives must pass [`validate`] again (the admin API re-validates what it stores). The
//! harness **panics** otherwise, which is how a fuzzer or a property test sees a failure. Not a
//! stable API (docs/testing.md).

use crate::{Error, load_str, validate};

/// The environment the harness loads with: the secrets the examples in `config/examples/` name
/// are set, nothing else is (so no `TESSERA_*` override applies).
pub fn env(name: &str) -> Option<String> {
    matches!(name, "PORTAL_SECRET" | "TWILIO_AUTH_TOKEN" | "TWILIO_TOKEN")
        .then(|| "fuzz-secret-0123456789abcdefghijkl".to_owned())
}

/// `config`: `data` as a configuration file.
pub fn config(data: &[u8]) {
    // A file that is not UTF-8 is refused before parsing; lossy conversion keeps the input useful.
    let text = String::from_utf8_lossy(data);
    match load_str(&text, &env) {
        Ok(config) => {
            if let Err(e) = validate(&config) {
                panic!("a loaded config fails validation:\n{e}");
            }
        }
        Err(Error::Syntax { message }) => assert!(!message.is_empty(), "a syntax error says where"),
        Err(Error::Invalid(problems)) => assert!(!problems.is_empty(), "invalid, but no problem"),
        Err(e @ Error::Read { .. }) => panic!("load_str reads no file: {e}"),
    }
}

#[cfg(test)]
mod tests;
