//! What a format parser hands the reader: one record's facts, or why the file cannot go on.

use super::LinkType;
use super::input::Span;
use super::notes::{Notes, Oddity};
use crate::base::Timestamp;
use std::fmt;
use std::io;

/// Captured bytes no capture tool writes for one packet (libpcap's and
/// Wireshark's largest standard snapshot length). A record claiming more is
/// corruption, and capping it keeps a streaming buffer's memory bounded.
pub(crate) const MAX_PACKET: u32 = 262_144;

/// Largest original (on-the-wire) length believed. Unlike the captured
/// length it costs no memory, and real packets can be far longer than any
/// snapshot length: Linux hands captures GRO/GSO super-packets of 64 KiB, or
/// several hundred KiB with BIG TCP, and USB captures see large transfers.
/// Nothing comes near 16 MiB, 64 times the largest snapshot length, so a
/// record claiming more (0xFFFFFFFF above all) lies.
pub(crate) const MAX_ORIG_LEN: u32 = 16 * 1024 * 1024;

/// One record, located but not yet borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: Span,
    /// The original length to report: never below `data.len()` (see [`orig_len`]).
    pub orig_len: u32,
}

/// The original length to report for a record of `captured` bytes whose
/// header claims `claimed`, noting (once per file per kind) a header that lies.
///
/// The captured length is the one to trust for the data: the format's own
/// framing (pcap's next record header, pcapng's block length) has already
/// been checked against it, so the bytes are really there. The original
/// length is only a claim about the wire, and a lying one is replaced by the
/// captured length, the only length known to be true, so that every frame
/// keeps `data.len() <= orig_len`:
///
/// - above [`MAX_ORIG_LEN`] (0xFFFFFFFF above all): the captured length;
/// - captured length 0: the frame is empty but still a frame (Wireshark
///   numbers it), with the original length as claimed;
/// - 0 with bytes captured, or below the captured length: the captured length.
///
/// `what` names the record for the warning (`a pcap record`, `an Enhanced
/// Packet block`).
pub(crate) fn orig_len(
    captured: u32,
    claimed: u32,
    what: impl fmt::Display,
    notes: &mut Notes,
) -> u32 {
    let frame = notes.next_frame;
    if claimed > MAX_ORIG_LEN {
        let hex = if claimed == u32::MAX {
            " (0xFFFFFFFF)"
        } else {
            ""
        };
        notes.note(Oddity::OrigLenImpossible, || {
            format!(
                "frame {frame} ({what}) claims an original length of {claimed} bytes{hex}, \
                 more than any packet can have (at most {MAX_ORIG_LEN} is believed); \
                 its original length is taken as its {captured} captured bytes"
            )
        });
        captured
    } else if captured == 0 {
        notes.note(Oddity::NoCapturedBytes, || {
            format!(
                "frame {frame} ({what}) has no captured bytes (captured length 0, original \
                 length {claimed}); it is kept as an empty frame, so that frame numbers stay \
                 Wireshark's"
            )
        });
        claimed
    } else if claimed == 0 {
        notes.note(Oddity::OrigLenZero, || {
            format!(
                "frame {frame} ({what}) claims an original length of 0 bytes, but {captured} \
                 bytes were captured; the captured bytes are kept and its original length \
                 taken as {captured}"
            )
        });
        captured
    } else if claimed < captured {
        notes.note(Oddity::OrigLenBelowCaptured, || {
            format!(
                "frame {frame} ({what}) claims an original length of {claimed} bytes, fewer \
                 than the {captured} captured; the captured bytes are kept and its original \
                 length taken as {captured}"
            )
        });
        captured
    } else {
        claimed
    }
}

/// Damage that ends the reading of one file.
#[derive(Debug)]
pub(crate) struct Damage {
    /// Byte offset of the record or block where it was found.
    pub offset: u64,
    pub problem: Problem,
}

#[derive(Debug)]
pub(crate) enum Problem {
    /// The input ended inside a record.
    CutShort {
        what: String,
        have: usize,
        need: u64,
    },
    /// A length or field no real capture has.
    Impossible(String),
    /// A pcapng block whose closing length differs from its opening one.
    LyingLength {
        block: BlockName,
        declared: u32,
        trailer: u32,
    },
    /// The bytes could not be read (I/O error, corrupt gzip data).
    Read(io::Error),
}

impl Damage {
    pub fn cut_short(offset: u64, what: impl Into<String>, have: usize, need: u64) -> Self {
        Damage {
            offset,
            problem: Problem::CutShort {
                what: what.into(),
                have,
                need,
            },
        }
    }

    pub fn impossible(offset: u64, message: String) -> Self {
        Damage {
            offset,
            problem: Problem::Impossible(message),
        }
    }

    pub fn read(offset: u64, error: io::Error) -> Self {
        Damage {
            offset,
            problem: Problem::Read(error),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CutShort { what, have, need } => write!(
                f,
                "the file ends inside {what} ({have} of its {need} bytes are there)"
            ),
            Problem::Impossible(message) => f.write_str(message),
            Problem::LyingLength {
                block,
                declared,
                trailer,
            } => write!(
                f,
                "lying block length: a pcapng {block} block says it is {declared} bytes long \
                 but repeats {trailer} at its end, so where the next block starts is unknown"
            ),
            Problem::Read(error) => write!(f, "read error: {error}"),
        }
    }
}

/// A pcapng packet block, named for a warning about its record: `a pcapng
/// Enhanced Packet block` (built only when the warning is).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketBlock(pub BlockName);

impl fmt::Display for PacketBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a pcapng {} block", self.0)
    }
}

/// A pcapng block type, printed by name for warnings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockName(pub u32);

impl fmt::Display for BlockName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0x0A0D_0D0A => "Section Header",
            0x0000_0001 => "Interface Description",
            0x0000_0002 => "(obsolete) Packet",
            0x0000_0003 => "Simple Packet",
            0x0000_0004 => "Name Resolution",
            0x0000_0005 => "Interface Statistics",
            0x0000_0006 => "Enhanced Packet",
            0x0000_0009 => "systemd Journal Export",
            0x0000_000A => "Decryption Secrets",
            0x0000_0BAD | 0x4000_0BAD => "Custom",
            other => return write!(f, "type-0x{other:08x}"),
        };
        f.write_str(name)
    }
}
