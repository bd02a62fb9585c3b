//! Server-Sent Events, parsed by hand (the format is four line kinds): `event:` names the
//! record, `data:` lines carry it, a blank line ends it, `:` starts a comment (keep-alives).
//! Lines are bounded so a hostile or broken server cannot grow the buffer without end.

use tessera_config::admin::{Dropped, EventView, TransactionSummary, stream};

use crate::error::{Error, Result};

/// The longest line accepted (a transaction or event record is well under 4 KiB).
pub const MAX_LINE: usize = 64 * 1024;

/// One dispatched SSE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `message` when the server named none (the SSE default).
    pub event: String,
    pub data: String,
}

/// Incremental parser: feed it bytes as they arrive, take whole messages out.
#[derive(Debug)]
pub struct Parser {
    line: Vec<u8>,
    event: Option<String>,
    data: Option<String>,
    max_line: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new(MAX_LINE)
    }
}

impl Parser {
    pub fn new(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            event: None,
            data: None,
            max_line,
        }
    }

    /// Consumes `chunk`; returns the messages it completed. A line over the bound is an
    /// error: the caller drops the connection.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        for &b in chunk {
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if let Some(m) = self.line_done(&line) {
                    out.push(m);
                }
            } else {
                if self.line.len() >= self.max_line {
                    self.line.clear();
                    return Err(Error::TooLarge(format!(
                        "a stream line over {} bytes",
                        self.max_line
                    )));
                }
                self.line.push(b);
            }
        }
        Ok(out)
    }

    fn line_done(&mut self, line: &[u8]) -> Option<Message> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            return data.map(|data| Message {
                event: event.unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            // `id` and `retry` are not used by this server; unknown fields are ignored (spec).
            _ => {}
        }
        None
    }
}

/// A `/stream` record (API.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Transaction(TransactionSummary),
    Event(EventView),
    /// The server is closing this subscriber; it missed records.
    Dropped(Dropped),
}

impl Record {
    /// Decodes a message; `Ok(None)` for event names this client does not know.
    pub fn decode(m: &Message) -> Result<Option<Record>> {
        let bad = |e: serde_json::Error| Error::Decode(format!("stream `{}`: {e}", m.event));
        Ok(Some(match m.event.as_str() {
            stream::TRANSACTION => Record::Transaction(serde_json::from_str(&m.data).map_err(bad)?),
            stream::EVENT => Record::Event(serde_json::from_str(&m.data).map_err(bad)?),
            stream::DROPPED => Record::Dropped(serde_json::from_str(&m.data).map_err(bad)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_across_chunks_and_crlf() {
        let mut p = Parser::default();
        assert!(p.feed(b": keep-alive\n\nevent: dro").unwrap().is_empty());
        let got = p
            .feed(b"pped\r\ndata: {\"reason\":\"slow\",\r\ndata:\"missed\":3}\r\n\r\ndata: x\n\n")
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].event, "dropped");
        assert_eq!(got[0].data, "{\"reason\":\"slow\",\n\"missed\":3}");
        assert_eq!(
            Record::decode(&got[0]).unwrap(),
            Some(Record::Dropped(Dropped {
                reason: "slow".into(),
                missed: 3
            }))
        );
        assert_eq!(got[1].event, "message");
        assert_eq!(Record::decode(&got[1]).unwrap(), None);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut p = Parser::new(16);
        assert!(p.feed(b"data: 0123456789").is_ok());
        assert!(matches!(p.feed(b"abcdef"), Err(Error::TooLarge(_))));
    }

    #[test]
    fn a_bad_record_is_a_decode_error() {
        let m = Message {
            event: "transaction".into(),
            data: "{".into(),
        };
        assert!(matches!(Record::decode(&m), Err(Error::Decode(_))));
    }
}
