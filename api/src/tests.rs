//! The API end to end, in memory against an in-place engine (plus a few tests over a real socket).

mod admin_config;
mod admin_ops;
mod answers;
mod auth;
mod bodies;
mod context;
mod device_flow;
mod device_security;
mod enrollment;
mod events;
mod management;
mod openapi_routes;
mod ops;
mod ownership;
mod push_enrollment;
mod rate_limits;
mod sms;
mod socket;
mod start;
mod telemetry;
mod transactions;
mod unread_body;
mod versions;
