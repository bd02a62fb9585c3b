//! The I/O side: runs the commands `update` returns, polls `/stats` every second and follows
//! `/stream`, reconnecting both with backoff. Everything comes back as an [`Action`] through
//! one bounded channel; the view never waits on any of it.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::action::{Action, Command, Fetch, FetchKind, Fetched};
use crate::backoff::Backoff;
use crate::client::AdminClient;
use crate::error::Error;
use crate::sse::Record;

/// How often the overview's numbers are read.
pub const STATS_EVERY: Duration = Duration::from_secs(1);

/// Wall time in epoch ms (the model's `now`, `retry_at`).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub struct Worker {
    client: AdminClient,
    actions: mpsc::Sender<Action>,
    /// The newest read of each kind; a newer one aborts it (newest request wins).
    reads: HashMap<FetchKind, JoinHandle<()>>,
    background: Vec<JoinHandle<()>>,
}

impl Worker {
    pub fn new(client: AdminClient, actions: mpsc::Sender<Action>) -> Self {
        Self {
            client,
            actions,
            reads: HashMap::new(),
            background: Vec::new(),
        }
    }

    /// Starts the `/stats` poll and the `/stream` follower.
    pub fn start(&mut self) {
        self.background.push(tokio::spawn(poll_stats(
            self.client.clone(),
            self.actions.clone(),
        )));
        self.background.push(tokio::spawn(follow_stream(
            self.client.clone(),
            self.actions.clone(),
        )));
    }

    /// Starts `command` in the background.
    pub fn run(&mut self, command: Command) {
        let client = self.client.clone();
        let tx = self.actions.clone();
        match command {
            Command::Fetch { generation, fetch } => {
                let kind = fetch.kind();
                let task = tokio::spawn(async move {
                    let result = read(&client, fetch).await;
                    let _ = tx
                        .send(Action::Fetched {
                            kind,
                            generation,
                            result,
                        })
                        .await;
                });
                if let Some(older) = self.reads.insert(kind, task) {
                    older.abort();
                }
            }
            Command::Cancel { id } => {
                tokio::spawn(async move {
                    let result = client.cancel(&id).await;
                    let _ = tx.send(Action::Cancelled { id, result }).await;
                });
            }
            Command::Replay { id } => {
                tokio::spawn(async move {
                    let result = client.replay(&id).await;
                    let _ = tx.send(Action::Replayed { id, result }).await;
                });
            }
            Command::Save {
                collection,
                name,
                field,
                body,
            } => {
                tokio::spawn(async move {
                    let result = client.put(collection, &name, &body).await;
                    let _ = tx
                        .send(Action::Saved {
                            collection,
                            name,
                            field,
                            sent: body,
                            result,
                        })
                        .await;
                });
            }
            Command::Quit => self.stop(),
        }
    }

    /// Stops every task this worker started.
    pub fn stop(&mut self) {
        for (_, t) in self.reads.drain() {
            t.abort();
        }
        for t in self.background.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn read(client: &AdminClient, fetch: Fetch) -> Result<Fetched, Error> {
    Ok(match fetch {
        Fetch::Transactions(q) => Fetched::Transactions(client.transactions(&q).await?),
        Fetch::Transaction(id) => Fetched::Transaction(Box::new(client.transaction(&id).await?)),
        Fetch::Events(q) => Fetched::Events(client.events(&q).await?),
        Fetch::DeadLetters => Fetched::DeadLetters(client.dead_letters().await?),
        Fetch::Config(c) => Fetched::Config(c, client.list(c).await?),
    })
}

/// `/stats` every second; after a failure, the backoff's delay instead.
pub async fn poll_stats(client: AdminClient, tx: mpsc::Sender<Action>) {
    let mut backoff = Backoff::default();
    loop {
        let (action, pause) = match client.stats().await {
            Ok(stats) => {
                backoff.reset();
                (Action::Stats(Box::new(stats)), STATS_EVERY)
            }
            Err(error) => {
                let delay = backoff.fail();
                let retry_at = now_ms() + delay.as_millis() as u64;
                let attempt = backoff.attempt();
                (
                    Action::StatsFailed {
                        error,
                        attempt,
                        retry_at,
                    },
                    delay,
                )
            }
        };
        if tx.send(action).await.is_err() {
            return;
        }
        tokio::time::sleep(pause).await;
    }
}

/// Follows `/stream`, reopening it after an error, a close or a `dropped` notice. Sending
/// waits when the model is behind: the server then drops this subscriber (never slowed by
/// it), and the reconnect re-reads the lists.
pub async fn follow_stream(client: AdminClient, tx: mpsc::Sender<Action>) {
    let mut backoff = Backoff::default();
    loop {
        let error = match client.stream().await {
            Ok(mut reader) => {
                backoff.reset();
                if tx.send(Action::StreamUp).await.is_err() {
                    return;
                }
                loop {
                    match reader.next().await {
                        Some(Ok(record)) => {
                            let dropped = matches!(record, Record::Dropped(_));
                            if tx.send(Action::Stream(Box::new(record))).await.is_err() {
                                return;
                            }
                            if dropped {
                                break Error::Connect("dropped by the server".to_owned());
                            }
                        }
                        Some(Err(e)) => break e,
                        None => break Error::Connect("the server closed the stream".to_owned()),
                    }
                }
            }
            Err(e) => e,
        };
        let delay = backoff.fail();
        let action = Action::StreamDown {
            error,
            attempt: backoff.attempt(),
            retry_at: now_ms() + delay.as_millis() as u64,
        };
        if tx.send(action).await.is_err() {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}
