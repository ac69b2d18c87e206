//! Incremental framing of one TCP direction into MQTT packets.
//!
//! The framer sees the in-order bytes of a direction as slices of any size
//! and hands out one [`Unit`] per packet (or per problem) through a
//! callback, together with the capture frame (and timestamp) it belongs
//! to; the consumer ([`super::connection`]) decodes the packets and answers
//! with a [`Verdict`]. Three jobs, one module each:
//!
//! * [`boundary`]: the state machine — where the next packet starts, whole
//!   packets borrowed from the slice, split ones buffered (bounded) or
//!   skipped by their length, gaps inside a packet, and the rules for
//!   which frame each event names;
//! * [`publish`]: a PUBLISH split across slices, streamed — its headers
//!   and payload preview kept, the payload hashed, one digest per reading
//!   of its header while the version is not known;
//! * [`scan`]: resynchronisation — scanning for the next plausible
//!   boundary after a gap, a malformed packet or a mid-stream start (the
//!   plausibility rules themselves are [`super::resync`]'s).
//!
//! [`held`] keeps the bytes held back between slices, with the frame each
//! came in; [`evidence`] judges what the peer's packets say about a
//! streamed PUBLISH's length.
//!
//! A direction's framer never sees the other direction; the consumer
//! ([`super::connection`]) owns both and tells one framer what the other
//! decoded ([`Framer::answered`]) and which Maximum Packet Size the
//! receiver announced ([`Framer::set_limit`]).

use super::error::Malformed;
use super::header::{FixedHeader, PacketType, ProtocolVersion};
use crate::base::At;

mod boundary;
mod evidence;
mod held;
mod publish;
mod scan;
#[cfg(test)]
mod test_support;

pub(crate) use boundary::{Framer, Limit};
pub(crate) use publish::Digest;
pub use scan::ResyncCause;

/// What the framer hands to its consumer.
#[derive(Debug)]
pub(crate) enum Unit<'a> {
    /// One whole packet, fixed header included.
    Packet {
        bytes: &'a [u8],
        header: FixedHeader,
        start_frame: u64,
    },
    /// A PUBLISH whose payload was streamed: `prefix` holds the fixed header,
    /// the variable header and the start of the payload.
    StreamedPublish {
        prefix: &'a [u8],
        header: FixedHeader,
        digests: &'a [Digest],
        missing: u64,
        start_frame: u64,
    },
    /// The fixed header itself is invalid (or implausible); the framer
    /// resynchronises.
    HeaderMalformed { error: Malformed, start_frame: u64 },
    /// A non-PUBLISH packet (or PUBLISH header) larger than the buffer limit: skipped.
    Oversized {
        header: FixedHeader,
        start_frame: u64,
    },
    /// A streamed PUBLISH whose length the peer disproved: the peer's
    /// `answer` acknowledges a packet that starts `offset` bytes into it
    /// (see [`evidence`]). Its bytes from the second one are scanned again,
    /// with a packet boundary known at `offset`.
    Disproved {
        header: FixedHeader,
        offset: usize,
        answer: PacketType,
        start_frame: u64,
    },
    /// A packet whose length would be trusted without all of its bytes at
    /// hand (a streamed PUBLISH, an oversized packet) and that is larger
    /// than the receiver's Maximum Packet Size `limit`: not a packet the
    /// sender may send, so its length is not trusted and its bytes are
    /// scanned again from the second one.
    TooLarge {
        header: FixedHeader,
        limit: u32,
        start_frame: u64,
    },
    /// Bytes missing in the stream. `lost`: a partly received packet that is
    /// gone; `resync`: whether the position of the next packet is unknown.
    Gap {
        missing: u64,
        lost: Option<PacketType>,
        resync: bool,
    },
    /// Scanning for a boundary ended (`resumed`) or the stream closed first.
    Resync {
        skipped: u64,
        cause: ResyncCause,
        resumed: bool,
    },
    /// The stream ended inside a packet. `received`: its bytes that
    /// arrived, fixed header included (bytes missing from the capture not
    /// counted).
    Truncated {
        packet_type: Option<PacketType>,
        length: Option<u32>,
        received: u64,
        start_frame: u64,
    },
}

/// The consumer's answer to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Verdict {
    /// The packet did not decode: check the next boundary before trusting it.
    pub malformed: bool,
    /// The connection's protocol version if a CONNECT fixed it (an inferred
    /// version is not trusted for framing: both readings are kept).
    pub hint: Option<ProtocolVersion>,
}

/// The consumer: a unit and the capture frame (with its timestamp) it is
/// reported at.
pub(crate) type Sink<'s> = dyn FnMut(Unit<'_>, At) -> Verdict + 's;

/// The framer's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FramerConfig {
    /// Payload bytes kept of a streamed PUBLISH.
    pub preview: usize,
    /// Largest packet (or PUBLISH header and preview) buffered.
    pub max_buffer: usize,
    /// Largest packet waited for while resynchronising.
    pub window: usize,
}
