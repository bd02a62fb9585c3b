//! The admin API's views of engine records (`tessera_config::admin`): what an operator may
//! see. Codes, OTPs and their MACs never appear; a phone number shows its last 3 digits only.

use tessera_config::admin::{
    DeadLetterView, EventView, TargetView, TransactionDetail, TransactionSummary,
};

use crate::model::{Event, FineState, Transaction};
use crate::store::DeadLetter;

/// A transaction in lists and in the admin stream.
pub fn summary(txn: &Transaction) -> TransactionSummary {
    TransactionSummary {
        transaction_id: txn.id.to_string(),
        type_name: txn.type_name.clone(),
        method: txn.method.as_str().to_owned(),
        client_id: txn.client_id.clone(),
        user_id: txn.user_id.clone(),
        status: txn.status.as_str().to_owned(),
        state: FineState::of(txn).as_str().to_owned(),
        reason: txn.reason.map(|r| r.as_str().to_owned()),
        created_at: txn.created_at,
        deadline: txn.deadline,
        finished_at: txn.finished_at,
        node: txn.node.clone(),
        version: txn.version,
    }
}

/// A transaction with its counters and `events` (its audit events, newest first as the store
/// answers queries) as the timeline, oldest first.
pub fn detail(txn: &Transaction, mut events: Vec<Event>) -> TransactionDetail {
    // Events of one millisecond keep the order they were recorded in: reverse the store's
    // newest-first answer, then a stable sort by time only moves what is out of order.
    events.reverse();
    events.sort_by_key(|e| e.occurred);
    let code = txn
        .code
        .as_ref()
        .or_else(|| txn.fallback.as_ref().map(|f| &f.code));
    let push = txn.push.as_deref();
    TransactionDetail {
        summary: summary(txn),
        callback_uri: txn.callback_uri.clone(),
        used_authentication_attempts: txn.used_authentication_attempts,
        max_authentication_attempts: txn.code.as_ref().map(|c| c.max_attempts).filter(|n| *n > 0),
        resends_used: txn
            .code
            .as_ref()
            .map(|c| c.resends_used)
            .or(push.map(|p| p.resends_used))
            .unwrap_or(0),
        phone_number_masked: code.map(|c| mask_phone(&c.phone_number)),
        targets: push.map_or_else(Vec::new, |p| {
            p.targets
                .iter()
                .map(|t| TargetView {
                    device_id: t.device_id.clone(),
                    delivered: t.delivered,
                    fetched: t.fetched,
                })
                .collect()
        }),
        fallback: txn.fallback.as_ref().map(|f| f.type_name.clone()),
        timeline: events.iter().map(event).collect(),
    }
}

pub fn event(e: &Event) -> EventView {
    EventView {
        event_identifier: e.event_identifier.to_string(),
        event_name: e.event_name.clone(),
        event_type: e.event_type.clone(),
        client_id: e.client_id.clone(),
        app_name: e.app_name.clone(),
        transaction_id: e.transaction_id.map(|t| t.to_string()),
        user_id: e.user_id.clone(),
        client_ip: e.client_ip.clone(),
        user_agent: e.user_agent.clone(),
        detail: e.detail.clone(),
        occurred: e.occurred,
    }
}

pub fn dead_letter(d: &DeadLetter) -> DeadLetterView {
    DeadLetterView {
        id: d.id.to_string(),
        transaction_id: d.transaction_id.to_string(),
        callback_uri: d.callback_uri.clone(),
        tries: d.tries,
        last_error: d.last_error.clone(),
        created_at: d.created_at,
    }
}

/// Every digit but the last 3 replaced by `*` (`+31612345678` → `+********678`).
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    phone
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 3 <= digits { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Method;
    use crate::test_util;

    #[test]
    fn phones_show_their_last_three_digits() {
        assert_eq!(mask_phone("+31612345678"), "+********678");
        assert_eq!(mask_phone("12"), "12");
    }

    #[test]
    fn a_detail_carries_no_code() {
        let mut t = test_util::sms_txn(3, 1, 0);
        t.otp_sha256 = Some("secret-hash".into());
        let d = detail(&t, Vec::new());
        let json = serde_json::to_string(&d).unwrap();
        assert!(!json.contains("123456"), "{json}");
        assert!(!json.contains("secret-hash"), "{json}");
        assert!(!json.contains("31612345678"), "{json}");
        assert_eq!(d.phone_number_masked.as_deref(), Some("+********678"));
        assert_eq!(d.max_authentication_attempts, Some(3));
        assert_eq!(summary(&test_util::txn(Method::Push)).state, "sending");
    }
}
