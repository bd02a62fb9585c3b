//! Per-operation cost of the OpenPGP layer, release build: `cargo bench -p tessera-engine --bench
//! crypto`. Plain std timing (no bench framework): the numbers size key caching and per-enrollment
//! keys, they are not a regression gate.
#![allow(clippy::disallowed_types)] // std's Instant is fine outside engine code

use std::time::{Duration, Instant};

use tessera_engine::crypto::{
    DeviceKey, DeviceKeyPair, PublicKey, ServerKey, open_from_device, open_from_server,
    seal_for_device, seal_for_server, sign_detached, verify_detached,
};

/// A transaction document of typical size (~300 bytes of JSON).
const DOC: &[u8] = br#"{"transaction_id":"6f1c2a0e-8f4b-4a51-9d2e-3b7c1e5a9f00","type":"push","method":"push","message":"Log in to Example Bank from Firefox on Linux, Amsterdam?","signing_data":"login:6f1c2a0e","number_choices":[12,47,83],"timestamp":1767225600000,"time_to_live":120000}"#;

fn time<T>(name: &str, iterations: u32, mut op: impl FnMut() -> T) {
    for _ in 0..iterations / 10 {
        std::hint::black_box(op());
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(op());
            start.elapsed()
        })
        .collect();
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / iterations;
    let p50 = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    println!("{name:<32} mean {mean:>10.1?}  p50 {p50:>10.1?}  p99 {p99:>10.1?}  (n={iterations})");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ServerKey::generate()?;
    let device = DeviceKeyPair::generate()?;
    let device_key = DeviceKey::parse(device.public_armored())?;
    let server_public = PublicKey::parse(server.public_armored())?;
    let to_device = seal_for_device(DOC, &device_key, &server)?;
    let answer = seal_for_server(DOC, &server_public, &device)?;
    let signature = sign_detached(DOC, &device)?;
    let saved = server.to_armored_secret()?;
    println!("plaintext {} B, sealed {} B", DOC.len(), to_device.len());

    time("ServerKey::generate", 500, ServerKey::generate);
    time("DeviceKey::parse", 2000, || {
        DeviceKey::parse(device.public_armored())
    });
    time("ServerKey::from_armored_secret", 2000, || {
        ServerKey::from_armored_secret(&saved)
    });
    time("seal_for_device", 2000, || {
        seal_for_device(DOC, &device_key, &server)
    });
    time("open_from_device", 2000, || {
        open_from_device(&answer, &server, &device_key)
    });
    time("open_from_server", 2000, || {
        open_from_server(&to_device, &device, &server_public)
    });
    time("sign_detached", 2000, || sign_detached(DOC, &device));
    time("verify_detached", 2000, || {
        verify_detached(&signature, DOC, &device_key)
    });
    Ok(())
}
