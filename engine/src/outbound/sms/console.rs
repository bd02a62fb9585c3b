//! The console gateway (embedded default): prints each SMS to stdout as one line, so a demo or a
//! developer reads the code there without any SMS provider.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{SmsGateway, SmsMessage};

pub struct ConsoleGateway {
    name: String,
    sent: AtomicU64,
}

impl ConsoleGateway {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            sent: AtomicU64::new(0),
        }
    }

    /// How many messages this gateway printed.
    #[cfg(test)]
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// `SMS to <to> from <sender or '-'>: <body>`. Line breaks and other control characters become
/// spaces: one SMS is one line, and a crafted message cannot forge extra log lines.
pub(crate) fn line(msg: &SmsMessage) -> String {
    let flat = |s: &str| s.replace(|c: char| c.is_control(), " ");
    format!(
        "SMS to {} from {}: {}",
        flat(&msg.to),
        flat(msg.sender_id.as_deref().unwrap_or("-")),
        flat(&msg.body)
    )
}

#[async_trait]
impl SmsGateway for ConsoleGateway {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, msg: &SmsMessage) -> Result<(), String> {
        // writeln! on a locked handle rather than println!: a closed stdout is an error to fail
        // over from, not a panic.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", line(msg))
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
