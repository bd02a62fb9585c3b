//! `device_answer`: the armored, signed and encrypted body of
//! `POST /device/v1/transactions/{id}/answer`, through the engine's decrypt, verify and decode
//! (`tessera_engine::fuzzing::device_answer`), with the fixed keys of `fuzz/keys/` (the seeds in
//! `corpus/device_answer/` are encrypted and signed with them).
#![no_main]

use std::sync::LazyLock;

use tessera_engine::fuzzing::{AnswerKeys, device_answer};

static KEYS: LazyLock<AnswerKeys> = LazyLock::new(|| {
    AnswerKeys::from_armor(
        include_str!("../keys/server.secret.asc"),
        include_str!("../keys/device.public.asc"),
    )
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| device_answer(data, &KEYS));
