//! The classic libpcap file format: a 24-byte file header, then records of a
//! 16-byte header plus the captured bytes.
//!
//! Four variants exist: micro- or nanosecond timestamps (told apart by the
//! magic number), each in either byte order.

use super::LinkType;
use super::endian::Endian;
use super::input::Input;
use super::notes::Notes;
use super::record::{self, Damage, MAX_PACKET, Record};
use super::resolution::Resolution;
use crate::base::Timestamp;

/// Bytes in the file header.
pub(crate) const HEADER_LEN: usize = 24;
/// Bytes in each record header.
const RECORD_HEADER: usize = 16;

const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// libpcap keeps FCS information in the upper bits of the link-type field.
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// The state of one pcap file being read.
#[derive(Debug, Clone)]
pub(crate) struct Pcap {
    endian: Endian,
    resolution: Resolution,
    link: LinkType,
}

/// The byte order and timestamp unit when `head` starts with a pcap magic number.
pub(crate) fn sniff(head: &[u8]) -> Option<(Endian, Resolution)> {
    let magic = Endian::Little.u32(head, 0)?;
    match magic {
        MAGIC_MICROS => Some((Endian::Little, Resolution::MICROS)),
        MAGIC_NANOS => Some((Endian::Little, Resolution::NANOS)),
        m if m.swap_bytes() == MAGIC_MICROS => Some((Endian::Big, Resolution::MICROS)),
        m if m.swap_bytes() == MAGIC_NANOS => Some((Endian::Big, Resolution::NANOS)),
        _ => None,
    }
}

impl Pcap {
    /// Reads the file header from `head` (which starts with a pcap magic);
    /// the error explains why this cannot be a pcap file after all.
    pub fn from_header(head: &[u8]) -> Result<Pcap, String> {
        let (endian, resolution) = sniff(head).ok_or_else(|| "no pcap magic number".to_string())?;
        if head.len() < HEADER_LEN {
            return Err(format!(
                "pcap magic number, but the {HEADER_LEN}-byte file header is cut short \
                 at {} bytes",
                head.len()
            ));
        }
        let major = endian.u16(head, 4).unwrap_or(0);
        let minor = endian.u16(head, 6).unwrap_or(0);
        if major != 2 {
            return Err(format!(
                "pcap magic number, but file format version {major}.{minor} (only 2.x exists)"
            ));
        }
        let link = endian.u32(head, 20).unwrap_or(0) & LINKTYPE_MASK;
        Ok(Pcap {
            endian,
            resolution,
            link: LinkType(link),
        })
    }

    /// The next record; `Ok(None)` at a clean end of file. A record header
    /// whose lengths lie but can still be framed is a note and a frame
    /// ([`record::orig_len`]); one that cannot be framed is damage.
    pub fn next(&mut self, input: &mut Input, notes: &mut Notes) -> Result<Option<Record>, Damage> {
        let offset = input.offset();
        let head = input
            .request(RECORD_HEADER)
            .map_err(|e| Damage::read(offset, e))?;
        if head.is_empty() {
            return Ok(None);
        }
        let e = self.endian;
        let (Some(secs), Some(frac), Some(incl_len), Some(orig_len)) = (
            e.u32(head, 0),
            e.u32(head, 4),
            e.u32(head, 8),
            e.u32(head, 12),
        ) else {
            return Err(Damage::cut_short(
                offset,
                "a record header",
                head.len(),
                RECORD_HEADER as u64,
            ));
        };
        if incl_len > MAX_PACKET {
            return Err(Damage::impossible(
                offset,
                format!(
                    "impossible record length: {incl_len} captured bytes claimed, \
                     more than the {MAX_PACKET} any capture tool writes"
                ),
            ));
        }
        // incl_len <= MAX_PACKET, so this cannot overflow.
        let total = RECORD_HEADER + incl_len as usize;
        let have = input
            .request(total)
            .map_err(|e| Damage::read(offset, e))?
            .len();
        if have < total {
            return Err(Damage::cut_short(
                offset,
                "the next record",
                have,
                total as u64,
            ));
        }
        let span = input.consume(total);
        let nanos = if self.resolution == Resolution::NANOS {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        Ok(Some(Record {
            ts: Timestamp::new(i64::from(secs), nanos, self.resolution.digits()),
            link: self.link,
            data: span.sub(RECORD_HEADER, incl_len as usize),
            orig_len: record::orig_len(incl_len, orig_len, "a pcap record", notes),
        }))
    }
}
