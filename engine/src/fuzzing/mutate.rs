//! Structured mutations of armored OpenPGP for the property tests: the armor (truncated, a wrong
//! or missing CRC, junk headers) and the packets inside it (flipped bytes, huge and partial
//! length headers, dropped, repeated and nested packets). Random bytes rarely get past the armor;
//! these reach rPGP's packet parsers with input that is almost valid.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use proptest::prelude::*;

/// One change to an armored key or message.
#[derive(Debug, Clone)]
pub(super) enum Mutation {
    /// XOR one byte of the binary with a non-zero mask.
    Flip { at: usize, mask: u8 },
    /// Cut the binary short.
    Truncate { at: usize },
    /// Replace a packet's header with a five-octet length of `len` (larger or smaller than the
    /// body that follows).
    HugeLength { packet: usize, len: u32 },
    /// Replace a packet's header with a partial body length announcing `1 << exp` octets.
    PartialLength { packet: usize, exp: u8 },
    /// Repeat a packet `times` times in place.
    Repeat { packet: usize, times: usize },
    /// Drop a packet.
    Drop { packet: usize },
    /// Wrap the whole binary in `depth` uncompressed "compressed data" packets.
    Nest { depth: usize },
    /// Cut the armored text short.
    TruncateArmor { at: usize },
    /// Replace the CRC24 line with another one.
    WrongCrc { crc: [u8; 3] },
    /// Add an armor header line (`Comment:`) of `len` characters.
    Header { len: usize },
}

pub(super) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (
            any::<usize>(),
            prop_oneof![Just(u32::MAX), Just(0), any::<u32>(), 0..4096u32]
        )
            .prop_map(|(packet, len)| Mutation::HugeLength { packet, len }),
        (any::<usize>(), 0..=30u8)
            .prop_map(|(packet, exp)| Mutation::PartialLength { packet, exp }),
        (any::<usize>(), 2..64usize).prop_map(|(packet, times)| Mutation::Repeat { packet, times }),
        any::<usize>().prop_map(|packet| Mutation::Drop { packet }),
        prop_oneof![1..8usize, 8..512usize].prop_map(|depth| Mutation::Nest { depth }),
        any::<usize>().prop_map(|at| Mutation::TruncateArmor { at }),
        any::<[u8; 3]>().prop_map(|crc| Mutation::WrongCrc { crc }),
        prop_oneof![0..80usize, 1000..20_000usize].prop_map(|len| Mutation::Header { len }),
    ]
}

/// `armored` with each mutation applied in turn.
pub(super) fn apply(armored: &str, mutations: &[Mutation]) -> String {
    let mut armor = Armor::parse(armored);
    for m in mutations {
        armor.apply(m);
    }
    armor.render()
}

/// An armored block taken apart: its BEGIN/END lines, headers, binary and CRC line.
struct Armor {
    begin: String,
    end: String,
    headers: Vec<String>,
    binary: Vec<u8>,
    crc: Option<String>,
    /// Set by [`Mutation::TruncateArmor`]: the rendered text is cut here.
    cut: Option<usize>,
}

impl Armor {
    fn parse(armored: &str) -> Self {
        let lines: Vec<&str> = armored.lines().collect();
        let blank = lines
            .iter()
            .position(|l| l.trim().is_empty())
            .expect("armor");
        let last = lines.len() - 1;
        let body: Vec<&str> = lines[blank + 1..last].to_vec();
        let crc = body
            .iter()
            .find(|l| l.starts_with('='))
            .map(|l| l.to_string());
        let b64: String = body
            .iter()
            .filter(|l| !l.starts_with('='))
            .copied()
            .collect();
        Self {
            begin: lines[0].to_owned(),
            end: lines[last].to_owned(),
            headers: lines[1..blank].iter().map(|l| l.to_string()).collect(),
            binary: STANDARD.decode(b64).expect("valid armor"),
            crc,
            cut: None,
        }
    }

    fn apply(&mut self, m: &Mutation) {
        let len = self.binary.len().max(1);
        match *m {
            Mutation::Flip { at, mask } => {
                if let Some(b) = self.binary.get_mut(at % len) {
                    *b ^= mask;
                }
                // The CRC would catch a flip before the packet parser sees it: drop it (it is
                // optional) so the flip is tested where it matters.
                self.crc = None;
            }
            Mutation::Truncate { at } => {
                self.binary.truncate(at % len);
                self.crc = None;
            }
            Mutation::HugeLength { packet, len } => {
                self.edit_packet(packet, |p| p.header = new_header(p.tag, &five_octets(len)));
            }
            Mutation::PartialLength { packet, exp } => {
                self.edit_packet(packet, |p| p.header = new_header(p.tag, &[0xE0 | exp]));
            }
            Mutation::Repeat { packet, times } => {
                let mut packets = split(&self.binary);
                if !packets.is_empty() {
                    let i = packet % packets.len();
                    let copy = packets[i].clone();
                    for _ in 1..times {
                        packets.insert(i, copy.clone());
                    }
                    self.binary = join(&packets);
                    self.crc = None;
                }
            }
            Mutation::Drop { packet } => {
                let mut packets = split(&self.binary);
                if !packets.is_empty() {
                    packets.remove(packet % packets.len());
                    self.binary = join(&packets);
                    self.crc = None;
                }
            }
            Mutation::Nest { depth } => {
                for _ in 0..depth {
                    // Tag 8 (compressed data), algorithm 0 (uncompressed).
                    let mut body = vec![0u8];
                    body.extend_from_slice(&self.binary);
                    let mut packet = new_header(8, &five_octets(body.len() as u32));
                    packet.extend_from_slice(&body);
                    self.binary = packet;
                }
                self.crc = None;
            }
            Mutation::TruncateArmor { at } => self.cut = Some(at),
            Mutation::WrongCrc { crc } => {
                let wrong = format!("={}", STANDARD.encode(crc));
                if self.crc.as_deref() == Some(wrong.as_str()) {
                    return;
                }
                self.crc = Some(wrong);
            }
            Mutation::Header { len } => self.headers.push(format!("Comment: {}", "x".repeat(len))),
        }
    }

    fn edit_packet(&mut self, packet: usize, edit: impl FnOnce(&mut Packet)) {
        let mut packets = split(&self.binary);
        if packets.is_empty() {
            return;
        }
        let i = packet % packets.len();
        edit(&mut packets[i]);
        self.binary = join(&packets);
        self.crc = None;
    }

    fn render(&self) -> String {
        let encoded = STANDARD.encode(&self.binary);
        let mut out = String::new();
        out.push_str(&self.begin);
        out.push('\n');
        for h in &self.headers {
            out.push_str(h);
            out.push('\n');
        }
        out.push('\n');
        for chunk in encoded.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            out.push('\n');
        }
        if let Some(crc) = &self.crc {
            out.push_str(crc);
            out.push('\n');
        }
        out.push_str(&self.end);
        out.push('\n');
        match self.cut {
            Some(at) => out[..at % out.len()].to_owned(),
            None => out,
        }
    }
}

/// One packet: its header as found (kept byte for byte unless mutated) and its body.
#[derive(Debug, Clone)]
struct Packet {
    tag: u8,
    header: Vec<u8>,
    body: Vec<u8>,
}

/// The packets of `bin` (RFC 9580 §4.2, old and new format). A partial or indeterminate length,
/// or a header that does not parse, ends the split with the rest as one body.
fn split(bin: &[u8]) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut i = 0;
    while i < bin.len() {
        let b0 = bin[i];
        if b0 & 0x80 == 0 {
            break;
        }
        let (tag, header_len, body_len) = if b0 & 0x40 != 0 {
            let tag = b0 & 0x3f;
            match bin.get(i + 1).copied() {
                Some(o1 @ 0..=191) => (tag, 2, Some(o1 as usize)),
                Some(o1 @ 192..=223) => match bin.get(i + 2) {
                    Some(&o2) => (tag, 3, Some(((o1 as usize - 192) << 8) + o2 as usize + 192)),
                    None => break,
                },
                Some(255) => match bin.get(i + 2..i + 6) {
                    Some(b) => (
                        tag,
                        6,
                        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize),
                    ),
                    None => break,
                },
                Some(_) => (tag, 2, None),
                None => break,
            }
        } else {
            let tag = (b0 >> 2) & 0x0f;
            let n = match b0 & 3 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => 0,
            };
            match bin.get(i + 1..i + 1 + n) {
                Some(_) if n == 0 => (tag, 1, None),
                Some(b) => (
                    tag,
                    1 + n,
                    Some(b.iter().fold(0usize, |acc, &x| acc << 8 | x as usize)),
                ),
                None => break,
            }
        };
        let start = i + header_len;
        let end = body_len.map_or(bin.len(), |n| (start + n).min(bin.len()));
        packets.push(Packet {
            tag,
            header: bin[i..start].to_vec(),
            body: bin[start..end].to_vec(),
        });
        i = end;
    }
    if i < bin.len() {
        // Whatever did not parse rides along as an opaque last "packet".
        packets.push(Packet {
            tag: 0,
            header: Vec::new(),
            body: bin[i..].to_vec(),
        });
    }
    packets
}

fn join(packets: &[Packet]) -> Vec<u8> {
    packets
        .iter()
        .flat_map(|p| p.header.iter().chain(&p.body).copied())
        .collect()
}

fn new_header(tag: u8, length: &[u8]) -> Vec<u8> {
    let mut h = vec![0xC0 | (tag & 0x3f)];
    h.extend_from_slice(length);
    h
}

fn five_octets(len: u32) -> Vec<u8> {
    let mut l = vec![0xFF];
    l.extend_from_slice(&len.to_be_bytes());
    l
}

#[test]
fn splitting_and_joining_keeps_the_bytes() {
    let armored = include_str!("../../../fuzz/keys/device.public.asc");
    let armor = Armor::parse(armored);
    let packets = split(&armor.binary);
    // Primary key, user id, its self-signature, subkey, binding signature.
    assert_eq!(
        packets.iter().map(|p| p.tag).collect::<Vec<_>>(),
        [6, 13, 2, 14, 2]
    );
    assert_eq!(join(&packets), armor.binary);
    assert_eq!(apply(armored, &[]).trim(), armored.trim());
}
