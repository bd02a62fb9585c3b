//! The `log` provider: writes the payload a real provider would carry, one line per push, to
//! stdout — what the embedded default runs with, and what a developer reads.

use std::io::Write;

use async_trait::async_trait;
use tessera_config::Platform;

use super::{PushError, PushNotice, PushProvider, PushTarget, payload};

pub struct LogProvider {
    name: String,
}

impl LogProvider {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }
}

#[async_trait]
impl PushProvider for LogProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, target: &PushTarget, notice: &PushNotice) -> Result<(), PushError> {
        let (service, body) = match target.platform {
            Platform::Android => ("fcm", payload::fcm_data(notice)),
            Platform::Ios => ("apns", payload::apns(notice)),
        };
        // The push token is a credential of sorts: show the device, not the token.
        let line = format!(
            "PUSH to {} via {} ({service}): {body}\n",
            target.device_id, self.name
        );
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
        Ok(())
    }
}
