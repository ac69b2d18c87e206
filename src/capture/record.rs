//! What a format parser hands the reader: one record's facts, or why the file cannot go on.

use super::LinkType;
use super::input::Span;
use crate::base::Timestamp;
use std::fmt;
use std::io;

/// Captured bytes no capture tool writes for one packet (libpcap's and
/// Wireshark's largest standard snapshot length). A record claiming more is
/// corruption, and capping it keeps a streaming buffer's memory bounded.
pub(crate) const MAX_PACKET: u32 = 262_144;

/// One record, located but not yet borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: Span,
    pub orig_len: u32,
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
