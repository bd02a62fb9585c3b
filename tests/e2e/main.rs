//! End-to-end tests of the `tessera` binary, one test binary so that [`support`] compiles once.
//! Each module is one area of the wire contract (API.md); the harness lives in [`support`].

mod support;
mod tui_smoke;

mod admin_config;
mod admin_stream;
mod auth;
mod callbacks;
mod config_cli;
mod connections;
mod context;
mod deploy;
mod device_security;
mod enrollment;
mod events;
mod garbage;
mod gateways;
mod gpg_device;
mod lifecycle;
mod loadtest_smoke;
mod management;
mod ops;
mod prometheus;
mod proxy;
mod push_fallback;
mod push_garbage;
mod push_methods;
mod push_providers;
mod push_races;
mod rate_limits;
mod redis_cluster;
mod redis_crash;
mod redis_nodes;
mod redis_otp;
mod redis_outage;
mod redis_store;
mod schemathesis;
mod shutdown;
mod sms_flow;
mod start_rules;
mod startup_errors;
