//! Transactions: the pure state machine and the actors that drive it.

pub(crate) mod actor;
pub mod code_key;
pub mod machine;
pub(crate) mod manager;
pub(crate) mod services;
pub(crate) mod shard;
pub mod start;
