//! The Community ID (version 1) of a connection: the flow hash that Zeek,
//! Suricata, Wireshark and Elastic can print, so that a finding of this
//! tool is found in their records by one string comparison instead of a
//! join on addresses and ports.
//!
//! Version 1, seed 0: SHA-1 over `seed (2 bytes) . lower address . higher
//! address . protocol (1 byte) . 0 . lower port . higher port`, all in
//! network byte order, where "lower" is the endpoint whose (address, port)
//! is numerically smaller; then `"1:"` and the digest in standard base64
//! with padding. An IPv4 address is 4 bytes, IPv6 16; a connection between
//! an IPv4 and an IPv6 endpoint cannot exist, and orders IPv4 first.

use super::Endpoint;
use std::fmt;
use std::net::IpAddr;

/// IP protocol number of TCP.
pub const TCP: u8 = 6;

/// `"1:"` and 28 base64 characters: kept inline (a connection's findings
/// and flows all print it, so it is computed once per connection).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommunityId([u8; 30]);

impl CommunityId {
    /// The Community ID of the flow between `a` and `b` (either order: the
    /// hash has no direction) over IP protocol `proto`, seed 0.
    pub fn new(a: Endpoint, b: Endpoint, proto: u8) -> Self {
        let (lo, hi) = if key(&a) <= key(&b) { (a, b) } else { (b, a) };
        let mut h = sha1_smol::Sha1::new();
        h.update(&0u16.to_be_bytes());
        for ep in [lo, hi] {
            match ep.ip {
                IpAddr::V4(ip) => h.update(&ip.octets()),
                IpAddr::V6(ip) => h.update(&ip.octets()),
            }
        }
        h.update(&[proto, 0]);
        h.update(&lo.port.to_be_bytes());
        h.update(&hi.port.to_be_bytes());
        let digest = h.digest().bytes();
        let mut out = [0u8; 30];
        out[0] = b'1';
        out[1] = b':';
        base64(&digest, &mut out[2..]);
        CommunityId(out)
    }

    /// Of a TCP connection.
    pub fn tcp(client: Endpoint, server: Endpoint) -> Self {
        Self::new(client, server, TCP)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the buffer.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// The order the spec compares endpoints in: address bytes (network
/// order), then port. IPv4 sorts before IPv6 (their byte strings differ
/// in length; the spec never compares the two).
fn key(e: &Endpoint) -> (u8, [u8; 16], u16) {
    match e.ip {
        IpAddr::V4(ip) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&ip.octets());
            (4, b, e.port)
        }
        IpAddr::V6(ip) => (6, ip.octets(), e.port),
    }
}

/// Standard base64 with padding of a 20-byte digest into 28 characters.
/// Written here: twenty lines are less than a dependency for one fixed
/// input size.
fn base64(data: &[u8; 20], out: &mut [u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    let mut o = 0;
    for chunk in data.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).map_or(0, |&b| u32::from(b));
        let b2 = chunk.get(2).map_or(0, |&b| u32::from(b));
        let n = (b0 << 16) | (b1 << 8) | b2;
        let quad = [
            sym(n >> 18),
            sym(n >> 12),
            if chunk.len() > 1 { sym(n >> 6) } else { b'=' },
            if chunk.len() > 2 { sym(n) } else { b'=' },
        ];
        if let Some(slot) = out.get_mut(o..o + 4) {
            slot.copy_from_slice(&quad);
        }
        o += 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.parse().unwrap(),
            port,
        }
    }

    /// Vectors of the spec's baseline (`baseline/baseline_deflt.json`,
    /// seed 0), both orders of each flow.
    #[test]
    fn matches_the_spec_baseline() {
        let cases = [
            (
                6,
                ep("128.232.110.120", 34855),
                ep("66.35.250.204", 80),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                ep("2001:470:e5bf:dead:4957:2174:e82c:4887", 63943),
                ep("2607:f8b0:400c:c03::1a", 25),
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                17,
                ep("192.168.1.52", 54585),
                ep("8.8.8.8", 53),
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                132,
                ep("192.168.170.8", 7),
                ep("192.168.170.56", 7),
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
        ];
        for (proto, a, b, want) in cases {
            assert_eq!(CommunityId::new(a, b, proto).as_str(), want, "{a} {b}");
            assert_eq!(CommunityId::new(b, a, proto).as_str(), want, "{b} {a}");
        }
    }

    #[test]
    fn same_address_ordered_by_port() {
        let a = ep("10.0.0.1", 1883);
        let b = ep("10.0.0.1", 50000);
        assert_eq!(CommunityId::tcp(a, b), CommunityId::tcp(b, a));
        assert_ne!(
            CommunityId::tcp(a, b),
            CommunityId::tcp(a, ep("10.0.0.1", 50001))
        );
    }

    #[test]
    fn base64_of_known_bytes() {
        let mut out = [0u8; 28];
        base64(&[0xff; 20], &mut out);
        assert_eq!(&out, b"//////////////////////////8=");
        base64(&[0; 20], &mut out);
        assert_eq!(&out, b"AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    }
}
