//! Secret resolution: each secret may be given inline, as `<name>_env` (an environment variable)
//! or as `<name>_file` (a file, one trailing newline trimmed) — at most one of them. The value is
//! resolved into the inline field and the twins are cleared. API client secrets are then hashed
//! into `secret_sha256`, so the plain secret does not stay in memory longer than loading.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::error::Problems;
use crate::overrides::Env;
use crate::schema::Config;

/// Paths of secrets (`sms_gateways[0].auth_token`) that could not be resolved; validation
/// problems about those fields would only repeat the same mistake and are dropped.
pub(crate) type Unresolved = HashSet<String>;

/// One secret and its twins, borrowed out of the config.
struct Slot<'a> {
    /// Path of the owning table, e.g. `sms_gateways[0]`.
    owner: String,
    field: &'static str,
    inline: &'a mut String,
    env: &'a mut String,
    file: &'a mut String,
}

macro_rules! slot {
    ($owner:expr, $table:expr, $field:ident, $env:ident, $file:ident) => {
        Slot {
            owner: $owner,
            field: stringify!($field),
            inline: &mut $table.$field,
            env: &mut $table.$env,
            file: &mut $table.$file,
        }
    };
}

/// Shortest API client secret accepted: 22 base64url characters carry 128 bits (API.md §1).
pub(crate) const MIN_SECRET_CHARS: usize = 22;

/// Every secret in the config except API client secrets, which have a fourth form.
fn slots(config: &mut Config) -> Vec<Slot<'_>> {
    let mut slots = Vec::new();
    for (i, c) in config.callback_configs.iter_mut().enumerate() {
        let owner = format!("callback_configs[{i}]");
        slots.push(slot!(
            owner.clone(),
            c,
            password,
            password_env,
            password_file
        ));
        slots.push(slot!(
            owner,
            c,
            signing_secret,
            signing_secret_env,
            signing_secret_file
        ));
    }
    for (i, g) in config.sms_gateways.iter_mut().enumerate() {
        let owner = format!("sms_gateways[{i}]");
        slots.push(slot!(
            owner.clone(),
            g,
            auth_token,
            auth_token_env,
            auth_token_file
        ));
        slots.push(slot!(owner, g, password, password_env, password_file));
    }
    for (i, p) in config.push_configs.iter_mut().enumerate() {
        let owner = format!("push_configs[{i}]");
        slots.push(slot!(owner, p, server_key, server_key_env, server_key_file));
    }
    for (i, a) in config.applications.iter_mut().enumerate() {
        slots.push(slot!(
            format!("applications[{i}]"),
            a,
            custom_verifier_signing_secret,
            custom_verifier_signing_secret_env,
            custom_verifier_signing_secret_file
        ));
    }
    let geo = &mut config.geolocation;
    slots.push(slot!(
        "geolocation".into(),
        geo,
        private_key,
        private_key_env,
        private_key_file
    ));
    let store = &mut config.store;
    slots.push(slot!(
        "store".into(),
        store,
        hash_key,
        hash_key_env,
        hash_key_file
    ));
    let proxy = &mut config.proxy;
    slots.push(slot!(
        "proxy".into(),
        proxy,
        password,
        password_env,
        password_file
    ));
    slots
}

/// Resolves every secret, hashing API client secrets. Returns the paths left unresolved.
pub(crate) fn resolve(config: &mut Config, env: Env<'_>, problems: &mut Problems) -> Unresolved {
    let mut unresolved = Unresolved::new();
    for slot in slots(config) {
        resolve_slot(slot, env, problems, &mut unresolved);
    }
    for (i, client) in config.api_clients.iter_mut().enumerate() {
        let owner = format!("api_clients[{i}]");
        let hash_path = format!("{owner}.secret_sha256");
        let forms = [
            &client.secret_sha256,
            &client.secret,
            &client.secret_env,
            &client.secret_file,
        ];
        if forms.iter().filter(|form| !form.is_empty()).count() > 1 {
            problems.push(
                &hash_path,
                "give only one of secret_sha256, secret, secret_env and secret_file",
            );
            unresolved.insert(hash_path);
            continue;
        }
        let slot = slot!(owner.clone(), client, secret, secret_env, secret_file);
        if !resolve_slot(slot, env, problems, &mut unresolved) {
            unresolved.insert(hash_path);
        } else if !client.secret.is_empty() && client.secret.chars().count() < MIN_SECRET_CHARS {
            // A short secret can be guessed online or brute-forced from its SHA-256 offline.
            problems.push(
                format!("{owner}.secret"),
                "too short: an API client secret needs at least 22 characters \
                 (128 random bits as base64url, e.g. `openssl rand -base64 32`)",
            );
            client.secret.clear();
            unresolved.insert(hash_path);
        } else if !client.secret.is_empty() {
            client.secret_sha256 = hex::encode(Sha256::digest(client.secret.as_bytes()));
            client.secret.clear();
        } else {
            client.secret_sha256.make_ascii_lowercase();
        }
    }
    unresolved
}

/// Resolves one secret into its inline field; false (with a problem) when it could not be.
fn resolve_slot(
    slot: Slot<'_>,
    env: Env<'_>,
    problems: &mut Problems,
    unresolved: &mut Unresolved,
) -> bool {
    let Slot {
        owner,
        field,
        inline,
        env: env_name,
        file,
    } = slot;
    let given = [&*inline, &*env_name, &*file]
        .iter()
        .filter(|form| !form.is_empty())
        .count();
    let problem = if given > 1 {
        Some((
            format!("{owner}.{field}"),
            format!("give only one of {field}, {field}_env and {field}_file"),
        ))
    } else if !env_name.is_empty() {
        match env(env_name) {
            Some(value) => {
                *inline = value;
                None
            }
            None => Some((
                format!("{owner}.{field}_env"),
                format!("environment variable {env_name} is not set"),
            )),
        }
    } else if !file.is_empty() {
        match read_bounded(file) {
            Ok(text) => {
                *inline = trim_newline(text);
                None
            }
            Err(e) => Some((
                format!("{owner}.{field}_file"),
                format!("cannot read {file}: {e}"),
            )),
        }
    } else {
        None
    };
    env_name.clear();
    file.clear();
    match problem {
        None => true,
        Some((path, message)) => {
            problems.push(path, message);
            unresolved.insert(format!("{owner}.{field}"));
            false
        }
    }
}

/// Largest secret file read: keys and service-account files are a few KiB; a path to a device
/// or a huge file (`/dev/zero`) is refused instead of read without end.
const MAX_SECRET_FILE: u64 = 1024 * 1024;

fn read_bounded(path: &str) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err(std::io::Error::other("larger than 1 MiB"));
    }
    Ok(text)
}

/// Secret files usually end with the newline an editor or `echo` added; it is not part of the secret.
fn trim_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}
