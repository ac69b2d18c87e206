//! Link and network decoding: frame bytes → TCP segment.
//!
//! etherparse does the Ethernet / VLAN / IPv4 / IPv6 / TCP work. It has no
//! Linux cooked v2 (SLL2) or BSD loopback (NULL / LOOP) header, and we read
//! SLL v1 ourselves too, so those few header bytes are skipped here and the
//! rest is handed to etherparse by ethertype or as raw IP. Decoding is
//! "lax": a frame cut short by the snaplen still yields its TCP header and
//! the payload bytes that were captured, and says how many were not
//! (`missing`), so reassembly can report a gap instead of losing the frame.

use crate::base::{Endpoint, Frame, LinkType, Segment, TcpFlags};
use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::fmt;
use std::net::IpAddr;

/// What a frame turned out to be.
#[derive(Debug)]
pub enum Decoded<'a> {
    Tcp(Segment<'a>),
    /// IP without TCP (UDP, ICMP, ...), or no IP at all (ARP, LLDP, ...).
    NotTcp,
    /// An IP fragment: counted, not reassembled (MQTT stacks do not fragment TCP).
    Fragment,
    /// Bytes that do not decode as the link type claims.
    Undecodable(Undecodable),
}

/// Why a frame did not decode down to TCP (typed, so that a capture full
/// of them costs no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Undecodable {
    /// The link-layer header (Ethernet, cooked, loopback) is cut short or invalid.
    LinkHeader(LinkType),
    /// A link type this tool does not read.
    UnsupportedLink(LinkType),
    /// The IP header is cut short or invalid.
    IpHeader,
    /// The TCP header is cut short or invalid.
    TcpHeader,
    /// A frame with no bytes.
    Empty,
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undecodable::LinkHeader(l) => write!(f, "{l} header cut short or invalid"),
            Undecodable::UnsupportedLink(l) => write!(f, "unsupported link type {l}"),
            Undecodable::IpHeader => f.write_str("IP header cut short or invalid"),
            Undecodable::TcpHeader => f.write_str("TCP header cut short or invalid"),
            Undecodable::Empty => f.write_str("empty frame"),
        }
    }
}

/// Per-frame counters for the `capture` object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub tcp_segments: u64,
    pub non_tcp_frames: u64,
    pub undecodable_frames: u64,
    pub ip_fragments: u64,
}

impl NetCounters {
    /// Counts one decode result.
    pub fn count(&mut self, d: &Decoded<'_>) {
        match d {
            Decoded::Tcp(_) => self.tcp_segments += 1,
            Decoded::NotTcp => self.non_tcp_frames += 1,
            Decoded::Fragment => self.ip_fragments += 1,
            Decoded::Undecodable(_) => self.undecodable_frames += 1,
        }
    }
}

const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
const NULL_HEADER_LEN: usize = 4;

/// Decodes one frame down to its TCP segment.
pub fn decode<'a>(frame: &Frame<'a>) -> Decoded<'a> {
    let data = frame.data;
    let sliced = match frame.link {
        LinkType::ETHERNET => match LaxSlicedPacket::from_ethernet(data) {
            Ok(p) => p,
            Err(_) => return Decoded::Undecodable(Undecodable::LinkHeader(frame.link)),
        },
        LinkType::LINUX_SLL => {
            let Some((proto, rest)) = cooked_header(data, SLL_HEADER_LEN, 14) else {
                return Decoded::Undecodable(Undecodable::LinkHeader(frame.link));
            };
            LaxSlicedPacket::from_ether_type(EtherType(proto), rest)
        }
        LinkType::LINUX_SLL2 => {
            let Some((proto, rest)) = cooked_header(data, SLL2_HEADER_LEN, 0) else {
                return Decoded::Undecodable(Undecodable::LinkHeader(frame.link));
            };
            LaxSlicedPacket::from_ether_type(EtherType(proto), rest)
        }
        LinkType::NULL | LinkType::LOOP => {
            let Some(rest) = data.get(NULL_HEADER_LEN..) else {
                return Decoded::Undecodable(Undecodable::LinkHeader(frame.link));
            };
            match from_ip(rest) {
                Ok(p) => p,
                Err(d) => return d,
            }
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => match from_ip(data) {
            Ok(p) => p,
            Err(d) => return d,
        },
        other => return Decoded::Undecodable(Undecodable::UnsupportedLink(other)),
    };
    segment_of(frame, &sliced)
}

/// Reads the ethertype of a cooked header at `proto_at` and returns it with the bytes after the header.
fn cooked_header(data: &[u8], header_len: usize, proto_at: usize) -> Option<(u16, &[u8])> {
    let proto = data.get(proto_at..proto_at + 2)?;
    let rest = data.get(header_len..)?;
    Some((u16::from_be_bytes([proto[0], proto[1]]), rest))
}

/// Raw IP (version taken from the first nibble, which is also how the NULL header's
/// host-byte-order address family is made irrelevant).
fn from_ip(data: &[u8]) -> Result<LaxSlicedPacket<'_>, Decoded<'_>> {
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => {
            LaxSlicedPacket::from_ip(data).map_err(|_| Decoded::Undecodable(Undecodable::IpHeader))
        }
        Some(_) => Err(Decoded::NotTcp),
        None => Err(Decoded::Undecodable(Undecodable::Empty)),
    }
}

fn segment_of<'a>(frame: &Frame<'a>, p: &LaxSlicedPacket<'a>) -> Decoded<'a> {
    let Some(net) = &p.net else {
        // No network layer: either the link layer announced something else
        // (ARP, LLDP, ...) or it announced IP that did not decode.
        return match &p.stop_err {
            Some(_) => Decoded::Undecodable(Undecodable::IpHeader),
            None => Decoded::NotTcp,
        };
    };
    let (src_ip, dst_ip, ip_payload, declared_payload_len) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let declared = (h.total_len() as usize)
                .saturating_sub(h.slice().len())
                .saturating_sub(v4.extensions().auth.map_or(0, |a| a.slice().len()));
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                v4.payload(),
                declared,
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let declared =
                (h.payload_length() as usize).saturating_sub(v6.extensions().slice().len());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                v6.payload(),
                declared,
            )
        }
        LaxNetSlice::Arp(_) => return Decoded::NotTcp,
    };
    if ip_payload.fragmented {
        return Decoded::Fragment;
    }
    if ip_payload.ip_number != IpNumber::TCP {
        return Decoded::NotTcp;
    }
    let tcp = match &p.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp,
        _ => return Decoded::Undecodable(Undecodable::TcpHeader),
    };
    let payload = tcp.payload();
    let header_len = tcp.header_slice().len();
    // jumbo / TSO frames can have a 0 length field: then what we have is all there is
    let wire_payload = if declared_payload_len == 0 {
        payload.len()
    } else {
        declared_payload_len.saturating_sub(header_len)
    };
    let missing = wire_payload.saturating_sub(payload.len()) as u32;
    Decoded::Tcp(Segment {
        frame: frame.index,
        ts: frame.ts,
        src: Endpoint {
            ip: src_ip,
            port: tcp.source_port(),
        },
        dst: Endpoint {
            ip: dst_ip,
            port: tcp.destination_port(),
        },
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
        },
        window: tcp.window_size(),
        payload,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Timestamp;
    use etherparse::PacketBuilder;

    fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            index: 7,
            ts: Timestamp::new(1, 0, 6),
            link,
            data,
            orig_len: data.len() as u32,
        }
    }

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(50512, 1883, 1000, 4096)
            .ack(77)
            .psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    fn expect_tcp<'a>(d: Decoded<'a>) -> Segment<'a> {
        match d {
            Decoded::Tcp(s) => s,
            other => panic!("expected TCP, got {other:?}"),
        }
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(50512, 1883, 1000, 4096)
            .syn();
        let mut data = Vec::new();
        b.write(&mut data, b"").unwrap();
        let s = expect_tcp(decode(&frame(LinkType::ETHERNET, &data)));
        assert_eq!(s.frame, 7);
        assert_eq!(s.src.to_string(), "10.0.0.2:50512");
        assert_eq!(s.dst.to_string(), "10.0.0.1:1883");
        assert_eq!(s.seq, 1000);
        assert!(s.flags.syn && !s.flags.ack);
        assert_eq!(s.payload, b"");
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn vlan_and_qinq() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .double_vlan(10.try_into().unwrap(), 20.try_into().unwrap())
            .ipv6([1; 16], [2; 16], 64)
            .tcp(40000, 1883, 5, 100)
            .ack(9);
        let mut data = Vec::new();
        b.write(&mut data, b"\x10\x00").unwrap();
        let s = expect_tcp(decode(&frame(LinkType::ETHERNET, &data)));
        assert_eq!(s.payload, b"\x10\x00");
        assert!(matches!(s.src.ip, IpAddr::V6(_)));
    }

    #[test]
    fn sll2_header_is_skipped() {
        let mut data = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        data.extend(ipv4_tcp(b"hello"));
        let s = expect_tcp(decode(&frame(LinkType::LINUX_SLL2, &data)));
        assert_eq!(s.payload, b"hello");
        assert_eq!(s.ack, 77);
    }

    #[test]
    fn sll_v1_header_is_skipped() {
        let mut data = vec![0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        data.extend(ipv4_tcp(b"x"));
        assert_eq!(
            expect_tcp(decode(&frame(LinkType::LINUX_SLL, &data))).payload,
            b"x"
        );
    }

    #[test]
    fn bsd_null_either_byte_order() {
        for af in [[2, 0, 0, 0], [0, 0, 0, 2]] {
            let mut data = af.to_vec();
            data.extend(ipv4_tcp(b"abc"));
            assert_eq!(
                expect_tcp(decode(&frame(LinkType::NULL, &data))).payload,
                b"abc"
            );
        }
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let mut data = ipv4_tcp(b"payload");
        // Insert 4 bytes of options (NOP NOP NOP EOL): IHL 5 -> 6, total length + 4.
        data.splice(20..20, [1u8, 1, 1, 0]);
        data[0] = 0x46;
        let total = u16::from_be_bytes([data[2], data[3]]) + 4;
        data[2..4].copy_from_slice(&total.to_be_bytes());
        data[10] = 0;
        data[11] = 0; // checksum is not verified
        let s = expect_tcp(decode(&frame(LinkType::RAW, &data)));
        assert_eq!(s.payload, b"payload");
    }

    #[test]
    fn ipv6_extension_headers_are_skipped() {
        let b = PacketBuilder::ipv6([1; 16], [2; 16], 64)
            .tcp(40000, 1883, 7, 100)
            .ack(1);
        let mut plain = Vec::new();
        b.write(&mut plain, b"mqtt").unwrap();
        // Insert a hop-by-hop options header (8 bytes: next header TCP, length 0, PadN).
        let mut data = plain[..40].to_vec();
        data[6] = 0; // next header: hop-by-hop
        let payload_len = u16::from_be_bytes([data[4], data[5]]) + 8;
        data[4..6].copy_from_slice(&payload_len.to_be_bytes());
        data.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        data.extend_from_slice(&plain[40..]);
        let s = expect_tcp(decode(&frame(LinkType::IPV6, &data)));
        assert_eq!(s.payload, b"mqtt");
        assert_eq!(s.dst.port, 1883);
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn snaplen_cut_counts_missing_bytes() {
        let data = ipv4_tcp(&[0xAB; 100]);
        let cut = &data[..data.len() - 30];
        let s = expect_tcp(decode(&frame(LinkType::RAW, cut)));
        assert_eq!(s.payload.len(), 70);
        assert_eq!(s.missing, 30);
        assert_eq!(s.wire_len(), 100);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .tcp(50512, 1883, 1, 1)
            .ack(1);
        let mut data = Vec::new();
        b.write(&mut data, b"").unwrap();
        data.resize(60, 0); // minimum Ethernet frame
        let s = expect_tcp(decode(&frame(LinkType::ETHERNET, &data)));
        assert_eq!(s.payload, b"");
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn udp_arp_and_garbage() {
        let b = PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 9).udp(1, 2);
        let mut udp = Vec::new();
        b.write(&mut udp, b"x").unwrap();
        assert!(matches!(
            decode(&frame(LinkType::RAW, &udp)),
            Decoded::NotTcp
        ));
        let arp = [vec![0xff; 12], vec![0x08, 0x06], vec![0; 28]].concat();
        assert!(matches!(
            decode(&frame(LinkType::ETHERNET, &arp)),
            Decoded::NotTcp
        ));
        assert!(matches!(
            decode(&frame(LinkType::ETHERNET, &[1, 2, 3])),
            Decoded::Undecodable(_)
        ));
        assert!(matches!(
            decode(&frame(LinkType::LINUX_SLL2, &[0; 5])),
            Decoded::Undecodable(_)
        ));
        assert!(matches!(
            decode(&frame(LinkType(147), &[0; 40])),
            Decoded::Undecodable(_)
        ));
        let mut cut_tcp = ipv4_tcp(b"");
        cut_tcp.truncate(30);
        assert!(matches!(
            decode(&frame(LinkType::RAW, &cut_tcp)),
            Decoded::Undecodable(_)
        ));
    }

    #[test]
    fn fragments_are_counted_not_decoded() {
        let mut data = ipv4_tcp(b"0123456789");
        data[6] = 0x20; // more fragments
        let d = decode(&frame(LinkType::RAW, &data));
        assert!(matches!(d, Decoded::Fragment));
        let mut c = NetCounters::default();
        c.count(&d);
        assert_eq!(c.ip_fragments, 1);
    }

    #[test]
    fn every_prefix_of_a_frame_is_safe() {
        let mut data = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        data.extend(ipv4_tcp(b"some payload"));
        for link in [
            LinkType::ETHERNET,
            LinkType::LINUX_SLL2,
            LinkType::LINUX_SLL,
            LinkType::NULL,
            LinkType::RAW,
        ] {
            for n in 0..=data.len() {
                let _ = decode(&frame(link, &data[..n]));
            }
        }
    }
}
