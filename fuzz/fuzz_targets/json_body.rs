//! `json_body`: request bodies through the portal, management and device decoders
//! (`tessera_api::fuzzing::json_body`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_api::fuzzing::json_body(data));
