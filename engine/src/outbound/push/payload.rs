//! The exact bodies the providers carry (API.md §4): FCM data message and APNs payload.

use serde_json::{Value, json};

use super::PushNotice;

/// The `og_*` keys the app reads.
pub fn og_fields(n: &PushNotice) -> Value {
    json!({
        "og_transaction_id": n.transaction_id.to_string(),
        "og_profile_id": n.profile_id,
        "og_message": n.message,
    })
}

/// FCM data message: `{"content": "<JSON string with og_* keys>"}`.
pub fn fcm_data(n: &PushNotice) -> Value {
    json!({ "content": og_fields(n).to_string() })
}

/// APNs: `{"aps": {"alert": <message>, "badge"?: n}, "og_transaction_id", "og_profile_id"}`.
pub fn apns(n: &PushNotice) -> Value {
    let mut aps = json!({ "alert": n.message });
    if let Some(badge) = n.badge {
        aps["badge"] = json!(badge);
    }
    json!({
        "aps": aps,
        "og_transaction_id": n.transaction_id.to_string(),
        "og_profile_id": n.profile_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TxnId;

    fn notice(badge: Option<u32>) -> PushNotice {
        PushNotice {
            transaction_id: TxnId::random(),
            profile_id: "P1".into(),
            message: "Log in?".into(),
            badge,
            ttl_ms: 1000,
        }
    }

    #[test]
    fn fcm_content_is_a_json_string_with_og_keys() {
        let n = notice(None);
        let body = fcm_data(&n);
        let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
        assert_eq!(content["og_transaction_id"], n.transaction_id.to_string());
        assert_eq!(content["og_profile_id"], "P1");
        assert_eq!(content["og_message"], "Log in?");
    }

    #[test]
    fn apns_payload_has_alert_badge_and_ids() {
        let n = notice(Some(2));
        let body = apns(&n);
        assert_eq!(body["aps"]["alert"], "Log in?");
        assert_eq!(body["aps"]["badge"], 2);
        assert_eq!(body["og_profile_id"], "P1");
        assert!(apns(&notice(None))["aps"].get("badge").is_none());
    }
}
