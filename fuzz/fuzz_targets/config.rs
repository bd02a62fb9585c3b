//! `config`: arbitrary text as a configuration file, through `tessera_config::load_str`
//! (`tessera_config::fuzzing::config`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_config::fuzzing::config(data));
