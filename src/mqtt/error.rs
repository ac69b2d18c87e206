//! Why a packet could not be decoded, in words a user can act on.
//!
//! A [`Malformed`] names the packet type (when the first byte got that far),
//! the remaining length (when it was readable), the byte offset inside the
//! packet where decoding stopped, and a [`Reason`]. Values the spec merely
//! forbids are not errors: they are [`Violation`](super::types::Violation)s
//! on a decoded packet.

use super::header::{FixedHeader, PacketType};
use std::fmt;

/// What made the bytes undecodable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("remaining length uses 5 bytes (at most 4 are allowed)")]
    RemainingLengthTooLong,
    #[error("packet type 0 is reserved")]
    ReservedPacketType,
    #[error("AUTH (packet type 15) does not exist before MQTT 5.0")]
    AuthBeforeV5,
    #[error("packet ends inside the {what}")]
    Truncated { what: &'static str },
    #[error("{what} length {len} runs past the {limit}")]
    LengthPastEnd {
        what: &'static str,
        len: usize,
        limit: &'static str,
    },
    #[error("{what} not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("{what} uses more than 4 bytes")]
    VarIntTooLong { what: &'static str },
    #[error("unknown property identifier 0x{0:02x}")]
    UnknownProperty(u32),
    #[error("protocol name {name:?} with level {level} is not MQTT")]
    NotMqtt { name: String, level: u8 },
    #[error("PUBLISH header could not be framed")]
    UnframedPublish,
    /// MQTT 5: a packet larger than the Maximum Packet Size its receiver
    /// announced (the server in CONNACK for client packets, the client in
    /// CONNECT for server packets).
    #[error(
        "packet length {len} runs past the Maximum Packet Size of {limit} the {} set in its {}",
        if *to_server { "server" } else { "client" },
        if *to_server { "CONNACK" } else { "CONNECT" }
    )]
    OverMaximumPacketSize {
        len: usize,
        limit: u32,
        /// Sent by the client (the server's limit applies).
        to_server: bool,
    },
    #[error(
        "{packet} with flags 0x{flags:x} and remaining length {length} is not a plausible packet start"
    )]
    Implausible {
        packet: &'static str,
        flags: u8,
        length: u32,
    },
}

/// A packet that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// `None` when the type nibble itself is the problem (type 0).
    pub packet_type: Option<PacketType>,
    /// Low 4 bits of the first byte, when there was one.
    pub flags: Option<u8>,
    /// The remaining length, when it could be read.
    pub length: Option<u32>,
    /// Bytes of the fixed header (to print the packet's full size).
    pub header_len: Option<u8>,
    /// Offset from the first byte of the packet where decoding stopped.
    pub offset: usize,
    pub reason: Reason,
}

impl Malformed {
    /// The error for a fixed header whose length is not to be trusted.
    pub fn implausible(header: FixedHeader) -> Malformed {
        Malformed {
            packet_type: Some(header.packet_type),
            flags: Some(header.flags),
            length: Some(header.length),
            header_len: Some(header.header_len),
            offset: 0,
            reason: Reason::Implausible {
                packet: header.packet_type.as_str(),
                flags: header.flags,
                length: header.length,
            },
        }
    }

    /// The whole packet's size in bytes, when known.
    pub fn total_len(&self) -> Option<usize> {
        Some(usize::from(self.header_len?).saturating_add(self.length? as usize))
    }
}

impl fmt::Display for Malformed {
    /// `topic length 300 runs past the packet end (at offset 4 of 40)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A reserved type has no extent to speak of, whatever its length byte says.
        match self.total_len().filter(|_| self.packet_type.is_some()) {
            Some(total) => write!(
                f,
                "{} (at offset {} of {})",
                self.reason, self.offset, total
            ),
            None => write!(f, "{} (at offset {})", self.reason, self.offset),
        }
    }
}

impl std::error::Error for Malformed {}

/// The nom error type of the packet parsers: where (the remaining input) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PErr<'a> {
    pub input: &'a [u8],
    pub reason: Reason,
}

impl<'a> nom::error::ParseError<&'a [u8]> for PErr<'a> {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        PErr {
            input,
            reason: Reason::Truncated { what: "packet" },
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result type of every packet parser.
pub(crate) type PResult<'a, T> = nom::IResult<&'a [u8], T, PErr<'a>>;

/// Fails the parse at `input` for `reason`.
pub(crate) fn fail<T>(input: &[u8], reason: Reason) -> PResult<'_, T> {
    Err(nom::Err::Error(PErr { input, reason }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_offset_and_size() {
        let m = Malformed {
            packet_type: Some(PacketType::Publish),
            flags: Some(0),
            length: Some(38),
            header_len: Some(2),
            offset: 12,
            reason: Reason::LengthPastEnd {
                what: "topic",
                len: 300,
                limit: "packet end",
            },
        };
        assert_eq!(
            m.to_string(),
            "topic length 300 runs past the packet end (at offset 12 of 40)"
        );
        let m = Malformed {
            packet_type: None,
            flags: None,
            length: None,
            header_len: None,
            offset: 0,
            reason: Reason::UnknownProperty(0x7f),
        };
        assert_eq!(
            m.to_string(),
            "unknown property identifier 0x7f (at offset 0)"
        );
    }
}
