//! Rules for `[sms]` and `[[sms_gateways]]`.

use std::collections::HashSet;

use super::{http_url, positive, required, unique};
use crate::error::Problems;
use crate::schema::{CONSOLE_GATEWAY, Config, SmsGateway, SmsGatewayKind};

pub(super) fn check(config: &Config, p: &mut Problems) {
    let names = config.sms_gateways.iter().map(|g| g.name.as_str());
    unique(p, "sms_gateways", "name", names);
    for (i, gateway) in config.sms_gateways.iter().enumerate() {
        declared(p, &format!("sms_gateways[{i}]"), gateway);
    }

    let order = &config.sms.gateways;
    if order.is_empty() {
        p.push(
            "sms.gateways",
            "must not be empty (use \"console\" to log messages instead of sending them)",
        );
    }
    let mut listed = HashSet::new();
    for (i, name) in order.iter().enumerate() {
        let path = format!("sms.gateways[{i}]");
        if name != CONSOLE_GATEWAY && config.sms_gateway(name).is_none() {
            p.push(
                path,
                format!("no [[sms_gateways]] named `{name}` (nor is it \"console\")"),
            );
        } else if !listed.insert(name) {
            p.push(path, format!("`{name}` is listed twice"));
        }
    }
}

fn declared(p: &mut Problems, path: &str, gateway: &SmsGateway) {
    required(p, &format!("{path}.name"), &gateway.name);
    if gateway.name == CONSOLE_GATEWAY && gateway.kind != SmsGatewayKind::Console {
        p.push(
            format!("{path}.name"),
            "`console` names the built-in console gateway",
        );
    }
    positive(p, &format!("{path}.timeout"), gateway.timeout);
    match gateway.kind {
        SmsGatewayKind::Twilio => {
            http_url(p, &format!("{path}.base_url"), &gateway.base_url);
            account_sid(p, &format!("{path}.account_sid"), &gateway.account_sid);
            required(p, &format!("{path}.auth_token"), &gateway.auth_token);
            // Twilio sends either from a number or through a messaging service, never both.
            if gateway.from.is_empty() == gateway.messaging_service_sid.is_empty() {
                p.push(
                    format!("{path}.from"),
                    "give exactly one of from and messaging_service_sid",
                );
            }
        }
        SmsGatewayKind::Rest => http_url(p, &format!("{path}.url"), &gateway.url),
        SmsGatewayKind::Console => {}
    }
}

/// The SID becomes a segment of the request path (`/Accounts/{sid}/Messages.json`): only what
/// Twilio issues (`AC` and hex) is accepted, so a stray `/` or `?` cannot change the request.
fn account_sid(p: &mut Problems, path: &str, sid: &str) {
    required(p, path, sid);
    if !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        p.push(
            path,
            "must be letters and digits only (a Twilio account SID)",
        );
    }
}
