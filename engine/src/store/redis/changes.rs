//! Change notices between nodes: the transaction SAVE script `PUBLISH`es `"<id> <version>"` on
//! `<prefix>changes` after each successful write (inside the script: no extra round trip), and
//! [`subscribe`] listens on a dedicated pub/sub connection. In a cluster a `PUBLISH` reaches
//! every node, so one connection to any seed hears every write.

use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::model::TxnId;
use crate::store::Change;

/// Changes a slow reader may leave unread before newer ones are dropped (best effort: a reader
/// that needs the state re-reads the store).
pub(super) const CHANGES_BUFFER: usize = 1024;
/// The first pause after the subscription broke or could not be made; doubled up to
/// [`MAX_BACKOFF`] while Redis stays away, back to this once a subscription was made.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long connecting and subscribing may take.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the listening task (inside the current tokio runtime) and returns what it hears.
/// `clients` are tried in turn (one standalone Redis, or a cluster's seeds). The task ends when
/// the receiver is dropped.
pub(super) fn subscribe(clients: Vec<redis::Client>, channel: String) -> mpsc::Receiver<Change> {
    let (tx, rx) = mpsc::channel(CHANGES_BUFFER);
    tokio::spawn(listen(clients, channel, tx));
    rx
}

async fn listen(clients: Vec<redis::Client>, channel: String, tx: mpsc::Sender<Change>) {
    let mut backoff = MIN_BACKOFF;
    let mut next = 0usize;
    loop {
        let Some(client) = clients.get(next % clients.len().max(1)) else {
            return;
        };
        next = next.wrapping_add(1);
        let connected = tokio::select! {
            () = tx.closed() => return,
            c = tokio::time::timeout(SUBSCRIBE_TIMEOUT, connect(client, &channel)) => c,
        };
        match connected {
            Ok(Ok(mut pubsub)) => {
                backoff = MIN_BACKOFF;
                let mut messages = pubsub.on_message();
                loop {
                    let message = tokio::select! {
                        () = tx.closed() => return,
                        m = messages.next() => m,
                    };
                    // `None`: the connection went away; reconnect below.
                    let Some(message) = message else { break };
                    let Some(change) = parse(message.get_payload_bytes()) else {
                        continue;
                    };
                    if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(change) {
                        return;
                    }
                }
                tracing::debug!("store change subscription lost; subscribing again");
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "store change subscription failed"),
            Err(_) => tracing::debug!("store change subscription timed out"),
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn connect(client: &redis::Client, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// `"<id> <version>"`, or `"<id> <version> f"` for a final state; anything else was not
/// published by us and is skipped.
fn parse(payload: &[u8]) -> Option<Change> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.split(' ');
    let id = parts.next()?.parse::<TxnId>().ok()?;
    let version = parts.next()?.parse().ok()?;
    let finished = match parts.next() {
        None => false,
        Some("f") => true,
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Change {
        id,
        version,
        finished,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_an_id_and_a_version() {
        let id = TxnId::random();
        assert_eq!(
            parse(format!("{id} 7").as_bytes()),
            Some(Change {
                id,
                version: 7,
                finished: false
            })
        );
        assert_eq!(
            parse(format!("{id} 8 f").as_bytes()),
            Some(Change {
                id,
                version: 8,
                finished: true
            })
        );
        assert_eq!(parse(format!("{id} 8 x").as_bytes()), None);
        assert_eq!(parse(format!("{id} 8 f f").as_bytes()), None);
        assert_eq!(parse(b"not-an-id 7"), None);
        assert_eq!(parse(format!("{id}").as_bytes()), None);
        assert_eq!(parse(format!("{id} x").as_bytes()), None);
    }
}
