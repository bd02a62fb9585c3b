//! Transactions: the pure state machine and the actors that drive it.

pub mod actor;
pub mod code_key;
pub mod machine;
pub mod manager;
pub mod services;
pub mod shard;
pub mod start;
