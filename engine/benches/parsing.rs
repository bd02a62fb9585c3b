//! Per-request cost of reading a portal's start request body, release build: `cargo bench -p
//! tessera-engine --bench parsing`. The API's own body module is private, so this times the
//! path it takes with the same crates — form (`application/x-www-form-urlencoded`) or JSON into
//! a field map, the map into the typed request — against decoding straight into the type.
//! `StartBody` mirrors `tessera_api::wire::StartParams` (every field an optional string).

use serde::Deserialize;
use serde_json::{Map, Value};

mod timing;
use timing::time;

/// A typical v4 start: SMS with a phone number, a callback and requester context.
const FORM: &str = "type=sms_login&user_id=alice%40example.com&phone_number=%2B31612345678&callback_uri=https%3A%2F%2Fportal.example.com%2Fcallback&message=Your+code+is+%7Bcode%7D&language_code=en&ip_address=203.0.113.7&user_agent=Mozilla%2F5.0+%28X11%3B+Linux+x86_64%29+Firefox%2F128.0";
const JSON: &str = r#"{"type":"sms_login","user_id":"alice@example.com","phone_number":"+31612345678","callback_uri":"https://portal.example.com/callback","message":"Your code is {code}","language_code":"en","ip_address":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}"#;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(dead_code)] // read through black_box only
struct StartBody {
    #[serde(rename = "type")]
    type_name: Option<String>,
    user_id: Option<String>,
    device_id: Option<String>,
    app_id: Option<String>,
    callback_uri: Option<String>,
    message: Option<String>,
    secure_message: Option<String>,
    signing_data: Option<String>,
    phone_number: Option<String>,
    language_code: Option<String>,
    ip_address: Option<String>,
    user_agent: Option<String>,
}

/// Form → field map (first of repeated names wins), as the API reads forms and queries.
fn form_fields(body: &[u8]) -> Map<String, Value> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut map = Map::new();
    for (k, v) in pairs {
        map.entry(k).or_insert(Value::String(v));
    }
    map
}

/// Field map → typed request: the map is cloned into a `Value`, as the API does per request.
fn typed(fields: &Map<String, Value>) -> StartBody {
    serde_json::from_value(Value::Object(fields.clone())).unwrap_or_default()
}

fn main() {
    let form = FORM.as_bytes();
    let json = JSON.as_bytes();
    println!("form body {} B, JSON body {} B", form.len(), json.len());

    time("form → fields", 1_000, 1_000, || form_fields(form));
    time(
        "form → fields → StartBody (API path)",
        1_000,
        1_000,
        || typed(&form_fields(form)),
    );
    time(
        "form → StartBody (serde_urlencoded)",
        1_000,
        1_000,
        || serde_urlencoded::from_bytes::<StartBody>(form),
    );
    time(
        "JSON → fields → StartBody (API path)",
        1_000,
        1_000,
        || match serde_json::from_slice::<Value>(json) {
            Ok(Value::Object(map)) => typed(&map),
            _ => StartBody::default(),
        },
    );
    time("JSON → StartBody (serde_json)", 1_000, 1_000, || {
        serde_json::from_slice::<StartBody>(json)
    });
}
