//! Rules for `[[applications]]`, their versions, and the `[[push_configs]]` they deliver through.

use std::time::Duration;

use std::collections::HashMap;

use super::{http_url, required, unique};
use crate::error::Problems;
use crate::schema::{Application, Config, Platform, PushConfig, PushKind};

/// A field of a push config, named as in the file.
type Field = (&'static str, fn(&PushConfig) -> &str);

/// What each provider cannot work without.
fn required_fields(kind: PushKind) -> &'static [Field] {
    match kind {
        PushKind::FcmV1 => &[("service_account_file", |c| &c.service_account_file)],
        PushKind::FcmLegacy => &[("server_key", |c| &c.server_key)],
        PushKind::Apns => &[
            ("team_id", |c| &c.team_id),
            ("key_id", |c| &c.key_id),
            ("key_file", |c| &c.key_file),
        ],
        PushKind::Log => &[],
    }
}

pub(super) fn check(config: &Config, p: &mut Problems) {
    push_configs(config, p);
    let ids = config.applications.iter().map(|a| a.id.as_str());
    unique(p, "applications", "id", ids);
    for (i, app) in config.applications.iter().enumerate() {
        application(config, p, &format!("applications[{i}]"), app);
    }
}

fn push_configs(config: &Config, p: &mut Problems) {
    unique(
        p,
        "push_configs",
        "id",
        config.push_configs.iter().map(|c| c.id.as_str()),
    );
    for (i, push) in config.push_configs.iter().enumerate() {
        let path = format!("push_configs[{i}]");
        required(p, &format!("{path}.id"), &push.id);
        for (field, get) in required_fields(push.kind) {
            if get(push).is_empty() {
                p.push(
                    format!("{path}.{field}"),
                    format!("required for kind {}", push.kind.as_str()),
                );
            }
        }
        if push.kind == PushKind::FcmLegacy && !fits_a_header(&push.server_key) {
            p.push(
                format!("{path}.server_key"),
                "must be printable ASCII: it is sent in the Authorization header",
            );
        }
        if push.kind == PushKind::Apns && push.platform != Platform::Ios {
            p.push(
                format!("{path}.platform"),
                "an apns push config is for platform ios",
            );
        }
        if !push.endpoint.is_empty() {
            http_url(p, &format!("{path}.endpoint"), &push.endpoint);
        }
        if let Some(n) = push.max_attempts
            && !(1..=10).contains(&n)
        {
            p.push(format!("{path}.max_attempts"), "must be 1..=10");
        }
        if let Some(d) = push.retry_delay
            && !(Duration::from_millis(10)..=Duration::from_secs(10)).contains(&d)
        {
            p.push(format!("{path}.retry_delay"), "must be 10ms..=10s");
        }
    }
}

fn application(config: &Config, p: &mut Problems, path: &str, app: &Application) {
    required(p, &format!("{path}.id"), &app.id);
    if !app.custom_verifier_url.is_empty() {
        http_url(
            p,
            &format!("{path}.custom_verifier_url"),
            &app.custom_verifier_url,
        );
    }
    let mut seen: HashMap<(Platform, &str), usize> = HashMap::new();
    for (j, version) in app.versions.iter().enumerate() {
        let path = format!("{path}.versions[{j}]");
        required(p, &format!("{path}.version"), &version.version);
        if let Some(first) = seen.insert((version.platform, &version.version), j) {
            let message = format!(
                "duplicate {} version `{}` (first at versions[{first}])",
                version.platform.as_str(),
                version.version
            );
            p.push(format!("{path}.version"), message);
        }

        let push_path = format!("{path}.push_config");
        if version.push_config.is_empty() {
            p.push(push_path, "required");
            continue;
        }
        let Some(push) = config.push_config(&version.push_config) else {
            p.push(
                push_path,
                format!("no push config with id `{}`", version.push_config),
            );
            continue;
        };
        if push.platform != version.platform {
            let message = format!(
                "push config `{}` is for {}, this version is {}",
                push.id,
                push.platform.as_str(),
                version.platform.as_str()
            );
            p.push(push_path, message);
        } else if push.kind == PushKind::Apns && version.bundle_id.is_empty() {
            // The bundle id is the APNs topic; pushes without it are rejected by Apple.
            p.push(
                format!("{path}.bundle_id"),
                "required with an apns push config",
            );
        }
    }
}

/// What an HTTP header value may carry: visible ASCII, spaces and tabs.
fn fits_a_header(value: &str) -> bool {
    value.chars().all(|c| c == '\t' || (' '..='~').contains(&c))
}
