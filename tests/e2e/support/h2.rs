//! Just enough HTTP/2 (h2c, prior knowledge) by hand to watch a connection's life from the
//! client side: frames as they arrive, pings answered, GOAWAY and the close seen as such — which
//! a pooling client library would hide.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn ends_stream(&self) -> bool {
        self.flags & END_STREAM != 0
    }
}

/// One h2c connection.
pub struct H2 {
    stream: TcpStream,
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

impl H2 {
    /// Connects and sends the preface and an empty SETTINGS frame.
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        stream.write_all(&hello).await.expect("send preface");
        Self { stream }
    }

    /// `GET path` on stream `id` (odd), headers HPACK-encoded without Huffman or indexing.
    pub async fn get(&mut self, id: u32, path: &str) {
        let mut block = vec![0x82, 0x86]; // :method GET, :scheme http (static table)
        for (index, value) in [(4u8, path), (1u8, "127.0.0.1")] {
            // Literal without indexing, name from the static table (:path = 4, :authority = 1).
            block.push(index);
            block.push(value.len() as u8);
            block.extend_from_slice(value.as_bytes());
        }
        let bytes = frame(HEADERS, END_HEADERS | END_STREAM, id, &block);
        self.stream.write_all(&bytes).await.expect("send HEADERS");
    }

    /// The next frame, answering SETTINGS and PING on the way (they are returned too). `None`
    /// when the server closed the connection.
    pub async fn next(&mut self) -> Option<Frame> {
        let mut head = [0u8; 9];
        self.stream.read_exact(&mut head).await.ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload).await.ok()?;
        let f = Frame {
            kind: head[3],
            flags: head[4],
            stream,
            payload,
        };
        let reply = match f.kind {
            SETTINGS if f.flags & ACK == 0 => Some(frame(SETTINGS, ACK, 0, &[])),
            PING if f.flags & ACK == 0 => Some(frame(PING, ACK, 0, &f.payload)),
            _ => None,
        };
        if let Some(reply) = reply {
            // The server may be closing: a failed write shows up as the next read's end.
            let _ = self.stream.write_all(&reply).await;
        }
        Some(f)
    }

    /// Reads until stream `id` ended (its HEADERS or DATA with END_STREAM).
    pub async fn response(&mut self, id: u32) -> Vec<Frame> {
        let mut seen = Vec::new();
        while let Some(f) = self.next().await {
            let done = f.stream == id && matches!(f.kind, HEADERS | DATA) && f.ends_stream();
            seen.push(f);
            if done {
                return seen;
            }
        }
        panic!("connection closed before stream {id} ended: {seen:?}");
    }

    /// Reads until the server closes the connection; returns the kinds of the frames seen.
    pub async fn until_closed(&mut self) -> Vec<u8> {
        let mut kinds = Vec::new();
        while let Some(f) = self.next().await {
            kinds.push(f.kind);
        }
        kinds
    }
}
