//! Routing a request to its transaction: the shard owning the id, the actor there (built from
//! the store when there is none), and the request handed to it (API.md's `503` when a mailbox
//! is full).

use std::sync::Arc;

use actix::dev::ToEnvelope;
use actix::prelude::*;
use tokio::sync::oneshot;

use super::Engine;
use crate::error::{Error, Result};
use crate::model::{Transaction, TxnId};
use crate::txn::actor::TransactionActor;
use crate::txn::shard::{Borrow, Bounce, Forward, Lookup, MakeRequest, Shard};

impl Engine {
    pub(super) fn shard(&self, id: TxnId) -> &Addr<Shard> {
        &self.inner.shards[id.shard(self.inner.shards.len())]
    }

    pub(super) async fn read(&self, id: TxnId) -> Result<Arc<Transaction>> {
        self.inner
            .svc
            .store
            .get(id)
            .await?
            .ok_or(Error::UnknownTransaction)
    }

    pub(super) async fn actor(&self, id: TxnId) -> Result<Option<Addr<TransactionActor>>> {
        let (tx, rx) = oneshot::channel();
        self.shard(id)
            .try_send(Lookup { id, reply: tx })
            .map_err(refused)?;
        rx.await.map_err(|_| Error::Overloaded)
    }

    /// The actor of a transaction read as pending: the one here, or one built from the record
    /// (another node's transaction, or this node's while its actor is being rebuilt).
    pub(super) async fn actor_for(
        &self,
        txn: &Arc<Transaction>,
    ) -> Result<Option<Addr<TransactionActor>>> {
        if let Some(addr) = self.actor(txn.id).await? {
            return Ok(Some(addr));
        }
        if txn.is_final() {
            return Ok(None);
        }
        let (tx, rx) = oneshot::channel();
        self.shard(txn.id)
            .try_send(Borrow {
                txn: txn.clone(),
                reply: tx,
            })
            .map_err(refused)?;
        rx.await.map_err(|_| Error::Overloaded)
    }

    /// Sends a request to the transaction's actor. `Ok(None)`: the transaction exists but has
    /// finished (its actor is gone).
    ///
    /// The request goes to the owning shard, which hands it to the actor in its own thread
    /// ([`Forward`]): a request served on another core crosses threads once each way. Only when
    /// the shard has no live actor for it (another node's transaction, one being rebuilt, a
    /// finished one) does it come back, unbuilt, to be routed through the store.
    pub(super) async fn ask<M, R>(
        &self,
        id: TxnId,
        make: impl FnOnce(oneshot::Sender<R>) -> M + Send + 'static,
    ) -> Result<Option<R>>
    where
        M: Message<Result = ()> + Send + 'static,
        R: Send + 'static,
        TransactionActor: Handler<M>,
        <TransactionActor as Actor>::Context: ToEnvelope<TransactionActor, M>,
    {
        let (tx, rx) = oneshot::channel();
        let (bounce_tx, mut bounce_rx) = oneshot::channel();
        self.shard(id)
            .try_send(Forward {
                id,
                make: Box::new(make),
                reply: tx,
                bounce: bounce_tx,
            })
            .map_err(refused)?;
        if let Ok(r) = rx.await {
            return Ok(Some(r));
        }
        match bounce_rx.try_recv() {
            Ok(Bounce::NotHere(make)) => self.ask_slowly(id, make).await,
            Ok(Bounce::Full) => Err(mailbox_full()),
            // The actor stopped while the request waited in its mailbox.
            Err(_) => self.stopped_with_request(id).await,
        }
    }

    /// [`Engine::ask`] for a transaction without a live actor on its shard: read from the
    /// store, an actor built (or borrowed) for it, then the request.
    async fn ask_slowly<M, R>(&self, id: TxnId, make: MakeRequest<M, R>) -> Result<Option<R>>
    where
        M: Message<Result = ()> + Send + 'static,
        R: Send + 'static,
        TransactionActor: Handler<M>,
        <TransactionActor as Actor>::Context: ToEnvelope<TransactionActor, M>,
    {
        let txn = self.read(id).await?;
        let Some(mut addr) = self.actor_for(&txn).await? else {
            return Ok(None);
        };
        let (tx, rx) = oneshot::channel();
        let mut msg = make(tx);
        let mut sent_again = false;
        loop {
            match addr.try_send(msg) {
                Ok(()) => break,
                Err(SendError::Full(_)) => return Err(mailbox_full()),
                // The actor stopped after the lookup: the transaction became final, or (a
                // shared store) its actor stepped aside for another node's change — then the
                // request goes to a new one, once.
                Err(SendError::Closed(back)) => {
                    let txn = self.read(id).await?;
                    let again = if sent_again {
                        None
                    } else {
                        self.actor_for(&txn).await?
                    };
                    match again {
                        Some(next) => (addr, msg, sent_again) = (next, back, true),
                        None if txn.is_final() => return Ok(None),
                        None => return Err(Error::Overloaded),
                    }
                }
            }
        }
        match rx.await {
            Ok(r) => Ok(Some(r)),
            Err(_) => self.stopped_with_request(id).await,
        }
    }

    /// The actor stopped while a request waited in its mailbox: it finished (the store says
    /// so), or it was stopped idle and the request must be asked again.
    async fn stopped_with_request<R>(&self, id: TxnId) -> Result<Option<R>> {
        if self.read(id).await?.is_final() {
            Ok(None)
        } else {
            Err(Error::Overloaded)
        }
    }
}

/// A transaction's (or a shard's) mailbox is full: the request is refused (`503`), and counted.
pub(super) fn mailbox_full() -> Error {
    crate::telemetry::mailbox_rejected();
    Error::Overloaded
}

/// A message a shard did not take: its mailbox was full (counted, see [`mailbox_full`]) or it
/// stopped.
pub(super) fn refused<M>(e: SendError<M>) -> Error {
    match e {
        SendError::Full(_) => mailbox_full(),
        SendError::Closed(_) => Error::Overloaded,
    }
}
