//! What sources yield and link decoding hands on: frames, TCP segments,
//! and the frame reference every later event carries.

use super::{Endpoint, Timestamp};
use std::fmt;

/// A frame reference: the frame's number (1-based, over all input files,
/// Wireshark's numbering) and its capture time. Every event names the
/// frame its bytes came from and carries that frame's time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct At {
    pub frame: u64,
    pub ts: Timestamp,
}

/// The link-layer header type of a frame, as numbered by tcpdump.org's LINKTYPE_ list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The libpcap DLT name (`EN10MB`, `LINUX_SLL2`, ...), as tcpdump and the JSON report spell it.
    pub fn name(&self) -> String {
        match *self {
            LinkType::NULL => "NULL".into(),
            LinkType::ETHERNET => "EN10MB".into(),
            LinkType::RAW => "RAW".into(),
            LinkType::LOOP => "LOOP".into(),
            LinkType::LINUX_SLL => "LINUX_SLL".into(),
            LinkType::IPV4 => "IPV4".into(),
            LinkType::IPV6 => "IPV6".into(),
            LinkType::LINUX_SLL2 => "LINUX_SLL2".into(),
            LinkType(n) => format!("LINKTYPE_{n}"),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One captured record, borrowed from the reader until the next one is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based number over all records of all input files (Wireshark's frame number).
    pub index: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes (possibly fewer than `orig_len` when a snaplen cut them).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
}

/// The TCP flag bits reassembly cares about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A TCP segment, its payload borrowed from the frame (no copy).
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub frame: u64,
    pub ts: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Payload bytes that were captured.
    pub payload: &'a [u8],
    /// Payload bytes the IP header says were on the wire but the capture cut off (snaplen).
    pub missing: u32,
}

impl Segment<'_> {
    /// Sequence space the payload covers on the wire (captured + cut off).
    pub fn wire_len(&self) -> u32 {
        (self.payload.len() as u32).saturating_add(self.missing)
    }
}
