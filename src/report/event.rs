//! What the pipeline tells its sinks as the capture is read.

use super::summary::ConnectionSummary;
use crate::analysis::{Finding, FlowRecord, IntervalStats};
use crate::base::{ConnId, Direction, Endpoint, Timestamp, Warning};
use crate::mqtt::{Malformed, Packet, ProtocolVersion, Violation};
use crate::tcp::CloseKind;

/// One thing that happened, in capture order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The first frame of the capture (relative times count from here).
    Start { ts: Timestamp },
    /// A capture of several input files reached the next one (before its
    /// first frame; not sent for a single input): frame `first_frame` of
    /// the capture is the file's frame 1 ([`super::FileMap`]).
    File {
        index: usize,
        name: &'a str,
        first_frame: u64,
    },
    /// A reported connection started (or was first seen, for a capture that starts mid-connection).
    ConnectionOpen {
        conn: ConnId,
        frame: u64,
        ts: Timestamp,
        client: Endpoint,
        server: Endpoint,
    },
    /// A reported connection ended (FIN, RST) or the capture ended with it
    /// open: its full record so far (the summary may not list it).
    ConnectionClose {
        conn: ConnId,
        frame: u64,
        ts: Timestamp,
        how: CloseKind,
        record: &'a ConnectionSummary,
    },
    /// An MQTT packet, at the frame that completed it.
    Packet(PacketInfo<'a>),
    /// Bytes that should have been an MQTT packet but do not decode.
    Malformed {
        conn: ConnId,
        dir: Direction,
        frame: u64,
        ts: Timestamp,
        error: &'a Malformed,
    },
    /// A QoS 1/2 flow concluded (completed or not).
    Flow(&'a FlowRecord),
    /// Something the analysis found wrong.
    Finding(&'a Finding),
    /// Something the analysis had to work around.
    Warning(&'a Warning),
    /// The figures of one `--stats-interval`, ending at `to`.
    Stats {
        to: Timestamp,
        stats: &'a IntervalStats,
    },
}

/// A decoded packet with where and when it was seen.
#[derive(Debug, Clone, Copy)]
pub struct PacketInfo<'a> {
    pub conn: ConnId,
    pub dir: Direction,
    pub frame: u64,
    pub ts: Timestamp,
    pub version: ProtocolVersion,
    pub packet: &'a Packet<'a>,
    pub violations: &'a [Violation],
}
