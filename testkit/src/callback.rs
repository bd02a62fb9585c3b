//! A portal's callback endpoint (API.md §2.5).

use std::time::Duration;

use serde_json::json;
use tessera_config::CallbackConfig;

use crate::http::{Recorded, Reply};
use crate::script::ScriptedServer;

/// A portal's callback endpoint: records every delivery, answers 200 unless scripted to fail.
pub struct CallbackFake {
    server: ScriptedServer,
}

impl CallbackFake {
    pub const USERNAME: &'static str = "cbuser";
    pub const PASSWORD: &'static str = "cbpass";
    pub const SIGNING_SECRET: &'static str = "s3cret";
    pub const PATH: &'static str = "/cb";

    pub async fn start() -> Self {
        let server = ScriptedServer::start(callback_reply).await;
        Self { server }
    }

    pub fn url(&self) -> String {
        self.server.server.url(Self::PATH)
    }

    /// The callback config for this endpoint: its Basic credentials and signing secret.
    pub fn config(&self) -> CallbackConfig {
        CallbackConfig {
            url: self.url(),
            username: Self::USERNAME.into(),
            password: Self::PASSWORD.into(),
            signing_secret: Self::SIGNING_SECRET.into(),
            ..Default::default()
        }
    }

    /// The first `n` deliveries get `status`.
    pub fn fail_first(&self, n: usize, status: u16) {
        self.server.script.fail(n, status);
    }

    pub fn fail_always(&self, status: u16) {
        self.server.script.fail(usize::MAX, status);
    }

    /// The first `n` deliveries are answered (200) only after `by`.
    pub fn stall_first(&self, n: usize, by: Duration) {
        self.server.script.stall(n, by);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.server.requests()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        self.server.server.wait_for(n).await
    }

    /// Asserts that no request beyond the first `n` arrives within `window`.
    pub async fn assert_no_more_than(&self, n: usize, window: Duration) {
        let deadline = tokio::time::Instant::now() + window;
        while tokio::time::Instant::now() < deadline {
            let seen = self.requests().len();
            assert!(
                seen <= n,
                "expected at most {n} callback requests, got {seen}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn callback_reply(_req: &Recorded, failure: Option<u16>) -> Reply {
    match failure {
        Some(status) => Reply::json(status, json!({"error": "portal unavailable"})),
        None => Reply::json(200, json!({"received": true})),
    }
}
