//! Reading frames out of pcap / pcapng captures (plain or gzip'd, file or stdin).
//!
//! Pure Rust: no libpcap is needed to read files. A capture is read as a
//! stream of [`Frame`]s that borrow their bytes from the reader (from the
//! mmap'd file for plain files, so the hot path copies nothing). Damage in the
//! middle of a capture (a truncated last record, an impossible length) is a
//! [`Warning`](crate::base::Warning) and the end of that file, never a panic;
//! only input that cannot be read at all is a [`CaptureError`].
//!
//! The parsers are our own rather than a general-purpose crate's so that
//! every length is checked before it is trusted and every step provably
//! consumes input (no endless loop on a truncated file):
//!
//! - `open.rs`: mmap or stream, gzip by magic bytes, format recognition;
//! - `input.rs`: the two byte sources behind one "request / consume" interface;
//! - `pcap.rs`, `pcapng.rs`: one parser per format, yielding located records;
//! - `record.rs`: what a parser hands the reader, and how record-header
//!   lengths that lie are settled;
//! - `notes.rs`: oddities that do not stop a file, warned once per file per kind;
//! - `reader.rs`: several inputs as one capture, numbering, warnings, [`CaptureInfo`].

use crate::base::Timestamp;

pub use crate::base::{Frame, LinkType};

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
mod notes;
mod open;
mod pcap;
mod pcapng;
mod reader;
mod record;
mod resolution;
mod source;

pub use reader::{CaptureReader, open_captures};
pub use source::{FrameSource, Next};
