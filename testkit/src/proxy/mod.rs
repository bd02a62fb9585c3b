//! Proxies like the ones enterprises put in front of Tessera:
//!
//! - [`ForwardProxy`]: for plain-`http` targets, takes absolute-form requests (HTTP/1.1 or h2c),
//!   insists on `Proxy-Authorization` and forwards them to the target.
//! - [`ConnectProxy`]: tunnels `CONNECT host:port` (how clients reach `https` targets) and
//!   answers any other request itself, standing in for the target.
//!
//! Both record every request as it arrived, with its `Proxy-Authorization`.

mod forward;

pub use forward::ForwardProxy;

use std::net::SocketAddr;

use crate::http::{LoopbackServer, Recorded, Reply};

/// A forward proxy that tunnels `CONNECT` and answers other requests with its responder.
pub struct ConnectProxy {
    server: LoopbackServer,
}

impl ConnectProxy {
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        let server = LoopbackServer::start_connect_proxy(respond).await;
        Self { server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request the proxy received: `CONNECT`s (with the target as `uri`) and forwarded
    /// requests.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }
}
