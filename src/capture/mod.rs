//! Reading frames out of pcap / pcapng captures (plain or gzip'd, file or stdin).
//!
//! Pure Rust: no libpcap is needed to read files. A capture is read as a
//! stream of [`Frame`]s that borrow their bytes from the reader (from the
//! mmap'd file for plain files, so the hot path copies nothing). Damage in the
//! middle of a capture (a truncated last record, an impossible length) is a
//! [`Warning`](crate::warning::Warning) and the end of that file, never a panic;
//! only input that cannot be read at all is a [`CaptureError`].
//!
//! The parsers are our own rather than a general-purpose crate's so that
//! every length is checked before it is trusted and every step provably
//! consumes input (no endless loop on a truncated file):
//!
//! - `open.rs`: mmap or stream, gzip by magic bytes, format recognition;
//! - `input.rs`: the two byte sources behind one "request / consume" interface;
//! - `pcap.rs`, `pcapng.rs`: one parser per format, yielding located records;
//! - `reader.rs`: several inputs as one capture, numbering, warnings, [`CaptureInfo`].

use crate::time::Timestamp;
use std::fmt;

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

/// What the reader learned about the capture as a whole; the `capture` object of the report.
#[derive(Debug, Clone, Default)]
pub struct CaptureInfo {
    /// Input names as given on the command line (`-` for stdin).
    pub sources: Vec<String>,
    /// Records read (frames), including ones later found undecodable.
    pub frames: u64,
    /// Sum of captured bytes of all frames.
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// Every link type seen, in order of first appearance.
    pub link_types: Vec<LinkType>,
    /// A file ended inside a record or had a record that could not be real.
    pub truncated: bool,
}

/// Input that cannot be analysed at all: the run stops with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture ({detail})")]
    NotACapture { path: String, detail: String },
    /// Stdin can be read only once; a second `-` would silently read nothing.
    #[error("stdin (-) is given more than once; it can be read only once")]
    StdinTwice,
}

mod endian;
mod input;
mod open;
mod pcap;
mod pcapng;
mod reader;
mod record;
mod resolution;

pub use reader::{CaptureReader, open_captures};
