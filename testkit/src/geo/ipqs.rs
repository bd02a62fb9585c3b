//! IPQualityScore's IP reputation API (`GET /api/json/ip/{key}/{ip}`), as far as Tessera reads it:
//! `success`, `message`, `country_code`, `region`, `city`, with the rest of a real answer around
//! them so a client that is too strict about it fails here too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use tessera_config::{GeoProvider, Geolocation};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::UTRECHT_IP;
use crate::DEADLINE;
use crate::http::{LoopbackServer, Recorded, Reply};

/// How the fake answers every request from now on (after the key check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpqsBehaviour {
    /// The table's location; an address not in it gets `"N/A"` everywhere, as IPQualityScore
    /// answers for addresses it cannot place.
    Normal,
    /// `200` with `"success": false` and this `message`.
    Unsuccessful(String),
    /// This status with an IPQualityScore-style error body.
    Status(u16),
    /// `200` with an HTML page.
    NotJson,
    /// `200`, `"success": true`, but no `country_code`, `region` or `city` at all.
    NoLocation,
    /// The normal answer, only after this long.
    Slow(Duration),
    /// Each new connection is closed once the request head has arrived, without an answer.
    /// (Connections already open keep being served: a client's pooled connection does not
    /// notice the switch.) Such requests are counted by [`IpqsFake::closed`], not recorded.
    Close,
}

/// One place in the fake's table (`"N/A"` or `""` for unknown fields, as the real service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub country_code: String,
    pub region: String,
    pub city: String,
}

struct State {
    key: Mutex<Option<String>>,
    table: Mutex<HashMap<String, Place>>,
    behaviour: Mutex<IpqsBehaviour>,
    /// Connections closed without an answer.
    closed: AtomicUsize,
}

/// A loopback IPQualityScore: answers `GET /{key}/{ip}` and `GET /api/json/ip/{key}/{ip}` from
/// its table, checks the key (a wrong one gets IPQualityScore's "invalid key" answer), and
/// records every request. It starts with [`IpqsFake::KEY`] and the seed's example,
/// [`UTRECHT_IP`] → NL / Provincie Utrecht / Utrecht.
///
/// Clients connect to a front door that relays each connection to the recording HTTP server,
/// or closes it when the fake is told to ([`IpqsBehaviour::Close`]).
pub struct IpqsFake {
    server: LoopbackServer,
    state: Arc<State>,
    front: SocketAddr,
    relay: JoinHandle<()>,
}

impl IpqsFake {
    /// The private key the fake expects until [`IpqsFake::set_key`] says otherwise. It holds
    /// characters that must be percent-encoded in a path.
    pub const KEY: &'static str = "ipqs-Pr1vate/key?#%";
    /// The prefix of IPQualityScore's own URL (`https://www.ipqualityscore.com/api/json/ip/`).
    pub const PREFIX: &'static str = "/api/json/ip/";

    pub async fn start() -> Self {
        let state = Arc::new(State {
            key: Mutex::new(Some(Self::KEY.to_owned())),
            table: Mutex::new(HashMap::new()),
            behaviour: Mutex::new(IpqsBehaviour::Normal),
            closed: AtomicUsize::new(0),
        });
        let server = LoopbackServer::start({
            let state = Arc::clone(&state);
            move |r, _| state.reply(r)
        })
        .await;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let front = listener.local_addr().expect("loopback address");
        let relay = tokio::spawn(relay(listener, server.addr(), Arc::clone(&state)));
        let fake = Self {
            server,
            state,
            front,
            relay,
        };
        fake.place(UTRECHT_IP, "NL", "Provincie Utrecht", "Utrecht");
        fake
    }

    /// `http://127.0.0.1:<port>/api/json/ip/`, IPQualityScore's form (ends with `/`).
    pub fn url(&self) -> String {
        format!("http://{}{}", self.front, Self::PREFIX)
    }

    /// `http://127.0.0.1:<port>/`, for a compatible service without the prefix.
    pub fn root_url(&self) -> String {
        format!("http://{}/", self.front)
    }

    pub fn port(&self) -> u16 {
        self.front.port()
    }

    /// `[geolocation]` on, provider `http`, pointing here with the fake's key.
    pub fn config(&self) -> Geolocation {
        let key = self.state.key.lock().clone().unwrap_or_default();
        Geolocation {
            enabled: true,
            provider: GeoProvider::Http,
            url: self.url(),
            private_key: key,
            ..Geolocation::default()
        }
    }

    /// The key requests must carry; `None`: no key, the path is `/{ip}` (a compatible service
    /// that takes none).
    pub fn set_key(&self, key: Option<&str>) {
        *self.state.key.lock() = key.map(str::to_owned);
    }

    /// Puts `ip` in the table (`"N/A"` or `""` for a field the service does not know).
    pub fn place(&self, ip: &str, country_code: &str, region: &str, city: &str) {
        let place = Place {
            country_code: country_code.into(),
            region: region.into(),
            city: city.into(),
        };
        self.state.table.lock().insert(ip.to_owned(), place);
    }

    pub fn behave(&self, behaviour: IpqsBehaviour) {
        *self.state.behaviour.lock() = behaviour;
    }

    /// Every request answered (or being answered), in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Connections closed without an answer ([`IpqsBehaviour::Close`]).
    pub fn closed(&self) -> usize {
        self.state.closed.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        self.server.wait_for(n).await
    }

    /// The address (last path segment, decoded) of every request so far, in order.
    pub fn looked_up(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| segments(&r.path).pop().unwrap_or_default())
            .collect()
    }
}

impl Drop for IpqsFake {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

/// The front door: relays every connection to the HTTP server, or closes it after reading the
/// request head while the fake is told to close connections.
async fn relay(listener: TcpListener, inner: SocketAddr, state: Arc<State>) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            if *state.behaviour.lock() == IpqsBehaviour::Close {
                read_head(&mut client).await;
                state.closed.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if let Ok(mut upstream) = TcpStream::connect(inner).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
    }
}

/// Reads until the end of a request head (or 16 KiB, EOF, or [`DEADLINE`]).
async fn read_head(client: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(DEADLINE, async {
        while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
}

impl State {
    fn reply(&self, r: &Recorded) -> Reply {
        if r.method != "GET" {
            return Reply::text(405, "Method Not Allowed");
        }
        let path = r.path.strip_prefix("/api/json/ip").unwrap_or(&r.path);
        let mut segments = segments(path);
        let Some(ip) = segments.pop() else {
            return not_found();
        };
        let expected = self.key.lock().clone();
        match (expected, segments.as_slice()) {
            (None, []) => {}
            (Some(key), [given]) if *given == key => {}
            (Some(_), [_]) => return unsuccessful(INVALID_KEY),
            _ => return not_found(),
        }
        if ip.parse::<std::net::IpAddr>().is_err() {
            return unsuccessful("Invalid IPv4 address, IPv6 address or hostname.");
        }
        let behaviour = self.behaviour.lock().clone();
        match behaviour {
            IpqsBehaviour::Normal => self.located(&ip),
            IpqsBehaviour::Unsuccessful(message) => unsuccessful(&message),
            IpqsBehaviour::Status(status) => Reply::json(
                status,
                json!({"success": false, "message": "Service unavailable.", "request_id": REQUEST_ID}),
            ),
            IpqsBehaviour::NotJson => Reply::text(200, "<html><body>Cloudflare</body></html>")
                .header("content-type", "text/html"),
            IpqsBehaviour::NoLocation => Reply::json(
                200,
                json!({"success": true, "message": "Success", "fraud_score": 0, "request_id": REQUEST_ID}),
            ),
            IpqsBehaviour::Slow(by) => self.located(&ip).after(by),
            // Handled by the front door; a connection opened before the switch still gets the
            // normal answer.
            IpqsBehaviour::Close => self.located(&ip),
        }
    }

    fn located(&self, ip: &str) -> Reply {
        let unknown = Place {
            country_code: "N/A".into(),
            region: "N/A".into(),
            city: "N/A".into(),
        };
        let place = self.table.lock().get(ip).cloned().unwrap_or(unknown);
        Reply::json(200, answer(&place))
    }
}

const REQUEST_ID: &str = "4Jt3kTsPcA";
const INVALID_KEY: &str = "Invalid or unauthorized key. Please check the API key and try again.";

/// A real answer's shape (IPQualityScore's documented example, trimmed of nothing Tessera
/// might trip on).
fn answer(place: &Place) -> Value {
    json!({
        "success": true,
        "message": "Success",
        "fraud_score": 0,
        "country_code": place.country_code,
        "region": place.region,
        "city": place.city,
        "ISP": "SURFnet",
        "ASN": 1103,
        "organization": "SURFnet bv",
        "is_crawler": false,
        "timezone": "Europe/Amsterdam",
        "mobile": false,
        "host": "example.surf.nl",
        "proxy": false,
        "vpn": false,
        "tor": false,
        "active_vpn": false,
        "active_tor": false,
        "recent_abuse": false,
        "bot_status": false,
        "zip_code": "N/A",
        "latitude": 52.09,
        "longitude": 5.12,
        "request_id": REQUEST_ID,
    })
}

fn unsuccessful(message: &str) -> Reply {
    Reply::json(
        200,
        json!({"success": false, "message": message, "request_id": REQUEST_ID}),
    )
}

fn not_found() -> Reply {
    Reply::text(404, "Not Found").header("content-type", "text/html")
}

/// The non-empty path segments, percent-decoded.
fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
