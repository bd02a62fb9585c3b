//! The loopback HTTP server of the outbound tests is the test kit's
//! (`tessera_testkit::http::LoopbackServer`), shared with the end-to-end tests and the load
//! harness. This name stays for the engine's own tests (`engine/*_tests.rs`) that still say
//! `TestServer`.

pub(crate) use tessera_testkit::http::{LoopbackServer as TestServer, Reply};
