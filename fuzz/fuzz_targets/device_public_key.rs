//! `device_public_key`: the armored public key of `POST /device/v1/enrollments`, through
//! enrollment's parsing and checks (`tessera_engine::fuzzing::device_public_key`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_engine::fuzzing::device_public_key(data));
