//! Rules for `[[mobile_auth_types]]`: names, limits, messages and the fallback graph.

use std::collections::HashMap;
use std::time::Duration;

use super::{locales, positive, required, unique};
use crate::error::Problems;
use crate::schema::{Config, Method, MobileAuthType};

/// The longest time to live a transaction may have.
const MAX_TIME_TO_LIVE: Duration = Duration::from_secs(24 * 3600);

pub(super) fn check(config: &Config, p: &mut Problems) {
    let types = &config.mobile_auth_types;
    unique(
        p,
        "mobile_auth_types",
        "name",
        types.iter().map(|t| t.name.as_str()),
    );
    // First declaration wins, as lookups by name do; duplicates are reported above.
    let by_name: HashMap<&str, usize> = types
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.name.is_empty())
        .map(|(i, t)| (t.name.as_str(), i))
        .rev()
        .collect();

    for (i, t) in types.iter().enumerate() {
        let path = format!("mobile_auth_types[{i}]");
        required(p, &format!("{path}.name"), &t.name);
        if !(4..=10).contains(&t.code_length) {
            p.push(format!("{path}.code_length"), "must be between 4 and 10");
        }
        if t.time_to_live.is_zero() {
            p.push(format!("{path}.time_to_live"), "must be greater than 0");
        } else if t.time_to_live > MAX_TIME_TO_LIVE {
            p.push(format!("{path}.time_to_live"), "must be at most 24h");
        }
        locales(
            p,
            config,
            &format!("{path}.default_messages"),
            t.default_messages.keys(),
        );
        fallback(p, &path, t, types, &by_name);
        if let Some(chain) = fallback_loop(types, &by_name, i) {
            p.push(
                format!("{path}.fallback"),
                format!("fallback chain loops: {}", chain.join(" → ")),
            );
        }
        fallback_triggers(p, &path, t, types, &by_name);
    }
}

/// Where a type falls back to: another existing type, never for or to `otp`.
fn fallback(
    p: &mut Problems,
    path: &str,
    t: &MobileAuthType,
    types: &[MobileAuthType],
    by_name: &HashMap<&str, usize>,
) {
    if t.fallback.is_empty() {
        return;
    }
    let path = format!("{path}.fallback");
    // OTP is answered by scanning a code at the portal; there is no delivery to fail over from.
    if t.method == Method::Otp {
        return p.push(path, "an otp type cannot have a fallback");
    }
    if t.fallback == t.name {
        return p.push(path, "a type cannot fall back to itself");
    }
    match by_name.get(t.fallback.as_str()) {
        None => p.push(path, format!("no mobile auth type named `{}`", t.fallback)),
        Some(&target) if types[target].method == Method::Otp => {
            p.push(
                path,
                format!("cannot fall back to `{}`: its method is otp", t.fallback),
            );
        }
        Some(_) => {}
    }
}

/// `fallback_after` and `fallback_on_delivery_failure` (Tessera's triggers) switch a push
/// transaction to its fallback inside the same transaction; they need a push method to switch
/// from and an SMS fallback to switch to.
fn fallback_triggers(
    p: &mut Problems,
    path: &str,
    t: &MobileAuthType,
    types: &[MobileAuthType],
    by_name: &HashMap<&str, usize>,
) {
    let fallback_method = by_name.get(t.fallback.as_str()).map(|i| types[*i].method);
    let trigger_problem = || {
        if t.fallback.is_empty() {
            Some("needs a fallback".to_string())
        } else if !t.method.is_push() {
            Some(format!(
                "only push methods can use it, this type's method is {}",
                t.method.as_str()
            ))
        } else if fallback_method.is_some_and(|m| m != Method::Sms) {
            Some(format!(
                "needs an sms fallback, `{}` is not one",
                t.fallback
            ))
        } else {
            None
        }
    };
    if let Some(after) = t.fallback_after {
        let path = format!("{path}.fallback_after");
        if let Some(message) = trigger_problem() {
            p.push(path, message);
        } else if after >= t.time_to_live {
            p.push(path, "must be shorter than time_to_live");
        } else {
            positive(p, &path, after);
        }
    }
    if let Some(message) = t
        .fallback_on_delivery_failure
        .then(trigger_problem)
        .flatten()
    {
        p.push(format!("{path}.fallback_on_delivery_failure"), message);
    }
}

/// The loop that following fallbacks from type `start` runs into, as names (`a → b → a`), when
/// `start` is the first type of that loop in the file, so that each loop is reported once.
fn fallback_loop<'a>(
    types: &'a [MobileAuthType],
    by_name: &HashMap<&str, usize>,
    start: usize,
) -> Option<Vec<&'a str>> {
    let mut chain = vec![start];
    let mut current = start;
    loop {
        let &next = by_name.get(types[current].fallback.as_str())?;
        if next == start {
            // A type falling back to itself is reported as such, not as a loop.
            if chain.len() == 1 || chain.iter().any(|&i| i < start) {
                return None;
            }
            chain.push(start);
            return Some(chain.into_iter().map(|i| types[i].name.as_str()).collect());
        }
        if chain.contains(&next) {
            return None; // a loop that `start` only leads into; reported from inside it.
        }
        chain.push(next);
        current = next;
    }
}
