//! Which addresses may be looked up: only ones a provider could place. Private, loopback,
//! documentation and other special-purpose ranges (IANA's special-purpose registries) say
//! nothing about where a user is, and sending them to a third party leaks internal topology.
//!
//! `std`'s `IpAddr::is_global` is still unstable, so the ranges are written out here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges never looked up, as (network, prefix length).
const NOT_PUBLIC_V4: &[(u32, u32)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network", unspecified
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared address space (CGNAT)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2.0/24 documentation (TEST-NET-1)
    (0xc058_6300, 24), // 192.88.99.0/24 deprecated 6to4 relay anycast
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation (TEST-NET-2)
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation (TEST-NET-3)
    (0xe000_0000, 4),  // 224.0.0.0/4 multicast
    (0xf000_0000, 4),  // 240.0.0.0/4 reserved, and 255.255.255.255 broadcast
];

/// IPv6 ranges inside global unicast (`2000::/3`) never looked up.
const NOT_PUBLIC_V6: &[(u128, u32)] = &[
    (0x2001_0000 << 96, 23), // 2001::/23 IETF protocol assignments (Teredo, benchmarking...)
    (0x2001_0db8 << 96, 32), // 2001:db8::/32 documentation
    (0x2002 << 112, 16),     // 2002::/16 6to4: the IPv4 inside says more, and is often private
    (0x3fff << 112, 20),     // 3fff::/20 documentation (RFC 9637)
];

/// `2000::/3`, the only IPv6 space IANA allocates unicast addresses from.
const GLOBAL_UNICAST: (u128, u32) = (0x2000 << 112, 3);

/// `64:ff9b::/96`, NAT64's well-known prefix: the last 32 bits are an IPv4 address.
const NAT64: (u128, u32) = (0x0064_ff9b << 96, 96);

/// Whether `ip` may be sent to (or looked up in) a provider: see the module docs. IPv4-mapped
/// (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) addresses are judged as the IPv4 address
/// inside; otherwise an IPv6 address must be global unicast (`2000::/3`, the only space IANA
/// allocates from — this excludes `::`, `::1`, `fc00::/7`, `fe80::/10`, `ff00::/8`, `100::/64`
/// and every other reserved block at once) outside the special blocks in it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => v6_public(v6),
    }
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    !NOT_PUBLIC_V4
        .iter()
        .any(|&(net, len)| n >> (32 - len) == net >> (32 - len))
}

fn v6_public(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_public(v4);
    }
    let n = u128::from(ip);
    if in_v6(n, NAT64) {
        return v4_public(Ipv4Addr::from((n & 0xffff_ffff) as u32));
    }
    in_v6(n, GLOBAL_UNICAST) && !NOT_PUBLIC_V6.iter().any(|&net| in_v6(n, net))
}

fn in_v6(n: u128, (net, len): (u128, u32)) -> bool {
    n >> (128 - len) == net >> (128 - len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, bool)] = &[
            // Public IPv4.
            ("145.100.10.20", true),
            ("81.2.69.142", true),
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("192.0.1.1", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("223.255.255.255", true),
            // Not public IPv4.
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("169.254.169.254", false),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.88.99.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.251", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // Public IPv6.
            ("2001:480::1", true),
            ("2a02:d3c0::1", true),
            ("2606:4700:4700::1111", true),
            ("2001:200::1", true),
            ("3ffe::1", true),
            // Not public IPv6.
            ("::", false),
            ("::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("ff02::1", false),
            ("ff0e::1", false),
            ("2001:db8::1", false),
            ("2001:db8:ffff::1", false),
            ("100::1", false),
            ("2001::1", false),     // Teredo
            ("2001:2::1", false),   // benchmarking
            ("2001:1ff::1", false), // end of 2001::/23
            ("2002:c000:0204::1", false),
            ("3fff::1", false),
            ("4000::1", false),
            ("::1.2.3.4", false),    // IPv4-compatible, deprecated
            ("64:ff9b:1::1", false), // local-use NAT64
            // Mapped and NAT64: judged as the IPv4 inside.
            ("::ffff:145.100.10.20", true),
            ("::ffff:10.0.0.1", false),
            ("::ffff:127.0.0.1", false),
            ("64:ff9b::8.8.8.8", true),
            ("64:ff9b::192.168.0.1", false),
        ];
        for &(ip, public) in cases {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(is_public(parsed), public, "{ip}");
        }
    }
}
