//! The API end to end, in memory against an in-place engine (plus a few tests over a real socket).

mod auth;
mod bodies;
mod events;
mod ops;
mod sms;
mod socket;
mod start;
mod transactions;
mod versions;
