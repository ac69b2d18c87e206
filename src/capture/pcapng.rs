//! The pcapng file format: a sequence of self-describing blocks.
//!
//! Each block is `type, total length, body, total length again`. A Section
//! Header Block (SHB) sets the byte order and starts a section; Interface
//! Description Blocks (IDB) number the section's interfaces (link type,
//! timestamp unit); packets arrive in Enhanced (EPB), Simple (SPB) or
//! obsolete Packet Blocks (OPB). Every other block is skipped by its length,
//! which is checked against the copy at the block's end, so a file whose
//! lengths lie is stopped rather than read as garbage.

use super::LinkType;
use super::endian::Endian;
use super::input::Input;
use super::notes::{Notes, Oddity};
use super::record::{self, BlockName, Damage, MAX_PACKET, PacketBlock, Problem, Record};
use super::resolution::Resolution;
use crate::base::Timestamp;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const OPB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
/// systemd Journal Export Block: not a packet, but Wireshark numbers it as a frame.
const SJEB: u32 = 0x0000_0009;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Bytes needed to recognise a pcapng file and its version.
pub(crate) const SNIFF_LEN: usize = 16;

/// Largest block read whole into memory (packet, interface and section blocks
/// and small unknown ones); larger unknown blocks are skipped without buffering.
/// A packet never needs more than `MAX_PACKET` plus generous room for options,
/// so a packet block beyond this is corruption, and streaming memory stays bounded.
const MAX_BUFFERED_BLOCK: u32 = 2 * 1024 * 1024;

/// Interfaces one section may describe. Each costs memory for as long as
/// the section lasts, and real captures have a handful (one per capture
/// device); the obsolete Packet block numbers interfaces with 16 bits, so
/// 65,536 is the most any tool was ever meant to write. A section that
/// describes more is corruption (or an attempt to exhaust memory with
/// 20-byte blocks) and ends the file.
const MAX_INTERFACES: usize = 65_536;

const IDB_OPT_TSRESOL: u16 = 9;
const IDB_OPT_TSOFFSET: u16 = 14;

/// Whether `head` starts with a pcapng Section Header Block type.
pub(crate) fn sniff(head: &[u8]) -> bool {
    Endian::Little.u32(head, 0) == Some(SHB)
}

/// Checks the first section header's byte-order magic and version (first
/// [`SNIFF_LEN`] bytes); the error explains why this is no pcapng file after all.
pub(crate) fn check_start(head: &[u8]) -> Result<(), String> {
    if head.len() < SNIFF_LEN {
        return Err(format!(
            "pcapng block type, but the Section Header block is cut short at {} bytes",
            head.len()
        ));
    }
    let endian = byte_order(head).ok_or_else(|| {
        format!(
            "pcapng block type, but the byte-order magic 0x{:08x} is not 1a2b3c4d in either order",
            Endian::Big.u32(head, 8).unwrap_or(0)
        )
    })?;
    let (major, minor) = version(endian, head);
    if major != 1 {
        return Err(format!("pcapng version {major}.{minor} is not supported"));
    }
    Ok(())
}

fn byte_order(shb: &[u8]) -> Option<Endian> {
    let magic = Endian::Little.u32(shb, 8)?;
    if magic == BYTE_ORDER_MAGIC {
        Some(Endian::Little)
    } else if magic.swap_bytes() == BYTE_ORDER_MAGIC {
        Some(Endian::Big)
    } else {
        None
    }
}

fn version(endian: Endian, shb: &[u8]) -> (u16, u16) {
    (
        endian.u16(shb, 12).unwrap_or(0),
        endian.u16(shb, 14).unwrap_or(0),
    )
}

/// Smallest legal total length of each block type.
fn min_block_len(block_type: u32) -> u32 {
    match block_type {
        SHB => 28,
        IDB => 20,
        EPB | OPB => 32,
        SPB => 16,
        _ => 12,
    }
}

/// What an Interface Description Block says about its frames.
#[derive(Debug, Clone)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    resolution: Resolution,
    offset_secs: i64,
}

/// Where a packet block's frame lies inside the block, and its facts.
struct PacketFacts {
    ts: Timestamp,
    link: LinkType,
    data_offset: usize,
    captured: usize,
    orig_len: u32,
}

/// The state of one pcapng file being read.
#[derive(Debug)]
pub(crate) struct Pcapng {
    endian: Endian,
    interfaces: Vec<Interface>,
}

impl Pcapng {
    pub fn new() -> Self {
        Pcapng {
            endian: Endian::Little,
            interfaces: Vec::new(),
        }
    }

    /// The next packet, skipping every other block; `Ok(None)` at a clean end of file.
    /// `prev_ts` stands in for the timestamp a Simple Packet Block does not have.
    /// Problems that do not stop the file (an unusable option, a packet
    /// block's lengths that lie but still frame it) go to `notes`.
    pub fn next(
        &mut self,
        input: &mut Input,
        prev_ts: Option<Timestamp>,
        notes: &mut Notes,
    ) -> Result<Option<Record>, Damage> {
        loop {
            let offset = input.offset();
            let head = input.request(12).map_err(|e| Damage::read(offset, e))?;
            if head.is_empty() {
                return Ok(None);
            }
            if Endian::Little.u32(head, 0) == Some(SHB) {
                // A new section may switch byte order: read it before the length.
                if head.len() < 12 {
                    return Err(Damage::cut_short(
                        offset,
                        "a pcapng Section Header block",
                        head.len(),
                        12,
                    ));
                }
                self.endian = byte_order(head).ok_or_else(|| {
                    Damage::impossible(
                        offset,
                        "a pcapng Section Header block with an unknown byte-order magic".into(),
                    )
                })?;
            }
            let e = self.endian;
            let (Some(block_type), Some(len)) = (e.u32(head, 0), e.u32(head, 4)) else {
                return Err(Damage::cut_short(
                    offset,
                    "a pcapng block header",
                    head.len(),
                    8,
                ));
            };
            let name = BlockName(block_type);
            let min = min_block_len(block_type);
            if !len.is_multiple_of(4) || len < min {
                return Err(Damage::impossible(
                    offset,
                    format!(
                        "impossible block length: a pcapng {name} block cannot be {len} bytes \
                         long (it must be a multiple of 4 and at least {min})"
                    ),
                ));
            }
            if block_type == SJEB {
                notes.note(Oddity::JournalExportBlock, || {
                    format!(
                        "a systemd Journal Export block at byte {offset} is skipped; Wireshark \
                         numbers such blocks as frames, so from here on its frame numbers are \
                         higher"
                    )
                });
            }
            let needed = matches!(block_type, SHB | IDB | EPB | SPB | OPB);
            if len > MAX_BUFFERED_BLOCK {
                if needed {
                    return Err(Damage::impossible(
                        offset,
                        format!(
                            "impossible block length: a pcapng {name} block of {len} bytes \
                             (a packet is at most {MAX_PACKET} bytes)"
                        ),
                    ));
                }
                skip_block(input, e, name, len)?;
                continue;
            }
            // len <= MAX_BUFFERED_BLOCK, so it fits a usize everywhere.
            let total = len as usize;
            let block = input.request(total).map_err(|e| Damage::read(offset, e))?;
            if block.len() < total {
                return Err(Damage::cut_short(
                    offset,
                    format!("a pcapng {name} block"),
                    block.len(),
                    u64::from(len),
                ));
            }
            let trailer = e.u32(block, total - 4).unwrap_or(0);
            if trailer != len {
                return Err(Damage {
                    offset,
                    problem: Problem::LyingLength {
                        block: name,
                        declared: len,
                        trailer,
                    },
                });
            }
            let facts = match block_type {
                SHB => {
                    self.start_section(block)
                        .map_err(|m| Damage::impossible(offset, m))?;
                    None
                }
                IDB => {
                    self.add_interface(block, notes)
                        .map_err(|m| Damage::impossible(offset, m))?;
                    None
                }
                EPB | OPB | SPB => Some(
                    self.packet(block_type, block, prev_ts, notes)
                        .map_err(|m| Damage::impossible(offset, m))?,
                ),
                _ => None,
            };
            let span = input.consume(total);
            if let Some(p) = facts {
                return Ok(Some(Record {
                    ts: p.ts,
                    link: p.link,
                    data: span.sub(p.data_offset, p.captured),
                    orig_len: p.orig_len,
                }));
            }
        }
    }

    fn start_section(&mut self, block: &[u8]) -> Result<(), String> {
        let (major, minor) = version(self.endian, block);
        if major != 1 {
            return Err(format!(
                "a new pcapng section has version {major}.{minor}, which is not supported"
            ));
        }
        self.interfaces.clear();
        Ok(())
    }

    /// Reads an Interface Description block into the section's table; the
    /// error is a table already full ([`MAX_INTERFACES`]).
    fn add_interface(&mut self, block: &[u8], notes: &mut Notes) -> Result<(), String> {
        let id = self.interfaces.len();
        if id >= MAX_INTERFACES {
            return Err(format!(
                "a pcapng section describes more than {MAX_INTERFACES} interfaces, \
                 more than any capture tool writes"
            ));
        }
        let e = self.endian;
        let mut interface = Interface {
            link: LinkType(u32::from(e.u16(block, 8).unwrap_or(0))),
            snaplen: e.u32(block, 12).unwrap_or(0),
            resolution: Resolution::MICROS,
            offset_secs: 0,
        };
        let options_end = block.len().saturating_sub(4);
        let mut pos = 16usize;
        while pos.saturating_add(4) <= options_end {
            let (Some(code), Some(len)) = (e.u16(block, pos), e.u16(block, pos + 2)) else {
                break;
            };
            if code == 0 {
                break;
            }
            let start = pos + 4;
            let end = start + usize::from(len);
            let Some(value) = block.get(start..end).filter(|_| end <= options_end) else {
                notes.note(Oddity::OptionOverrun, || {
                    format!(
                        "interface {id}: an option runs past the end of its block; \
                         the rest of its options are ignored"
                    )
                });
                break;
            };
            match code {
                IDB_OPT_TSRESOL => match value.first().copied().map(Resolution::from_tsresol) {
                    Some(Some(resolution)) => interface.resolution = resolution,
                    _ => notes.note(Oddity::UnusableTsresol, || {
                        format!(
                            "interface {id}: unusable timestamp resolution (if_tsresol {:?}); \
                             assuming microseconds",
                            value.first()
                        )
                    }),
                },
                IDB_OPT_TSOFFSET => {
                    if let Some(secs) = e.u64(value, 0) {
                        interface.offset_secs = secs as i64;
                    }
                }
                _ => {}
            }
            // Option values are padded to 4 bytes.
            pos = end.saturating_add(3) & !3;
        }
        self.interfaces.push(interface);
        Ok(())
    }

    fn packet(
        &self,
        block_type: u32,
        block: &[u8],
        prev_ts: Option<Timestamp>,
        notes: &mut Notes,
    ) -> Result<PacketFacts, String> {
        let e = self.endian;
        let len = block.len();
        let name = BlockName(block_type);
        let (interface_id, ts_ticks, captured, orig_len, data_offset) = if block_type == SPB {
            let orig_len = e.u32(block, 8).unwrap_or(0);
            let room = (len - 16) as u64;
            let mut captured = u64::from(orig_len).min(room);
            if let Some(snaplen) = self.interfaces.first().map(|i| i.snaplen)
                && snaplen != 0
            {
                captured = captured.min(u64::from(snaplen));
            }
            (0, None, captured, orig_len, 12)
        } else {
            let interface_id = if block_type == OPB {
                e.u16(block, 8).map(u32::from)
            } else {
                e.u32(block, 8)
            };
            let ticks = match (e.u32(block, 12), e.u32(block, 16)) {
                (Some(hi), Some(lo)) => Some((u64::from(hi) << 32) | u64::from(lo)),
                _ => None,
            };
            (
                interface_id.unwrap_or(0),
                ticks,
                u64::from(e.u32(block, 20).unwrap_or(0)),
                e.u32(block, 24).unwrap_or(0),
                28,
            )
        };
        if captured > u64::from(MAX_PACKET) {
            return Err(format!(
                "impossible record length: a pcapng {name} block claims {captured} captured \
                 bytes, more than the {MAX_PACKET} any capture tool writes"
            ));
        }
        // captured <= MAX_PACKET: no overflow.
        let captured = captured as usize;
        if data_offset + captured + 4 > len {
            return Err(format!(
                "impossible record length: a {len}-byte pcapng {name} block cannot hold \
                 the {captured} captured bytes it claims"
            ));
        }
        let Some(interface) = self.interfaces.get(interface_id as usize) else {
            return Err(format!(
                "a pcapng {name} block refers to interface {interface_id}, but its section \
                 describes only {} interface(s)",
                self.interfaces.len()
            ));
        };
        let ts = match ts_ticks {
            Some(ticks) => interface.resolution.timestamp(ticks, interface.offset_secs),
            None => prev_ts.unwrap_or_else(|| Timestamp::new(0, 0, interface.resolution.digits())),
        };
        // Checked last: a block that is damage after all is not also a note.
        // captured <= MAX_PACKET fits a u32.
        let orig_len = record::orig_len(captured as u32, orig_len, PacketBlock(name), notes);
        Ok(PacketFacts {
            ts,
            link: interface.link,
            data_offset,
            captured,
            orig_len,
        })
    }
}

/// Passes over a block too big to buffer, still checking its closing length.
fn skip_block(input: &mut Input, e: Endian, name: BlockName, len: u32) -> Result<(), Damage> {
    let offset = input.offset();
    let body = u64::from(len) - 4;
    let skipped = input.skip(body).map_err(|err| Damage::read(offset, err))?;
    let what = format!("a pcapng {name} block");
    if skipped < body {
        return Err(Damage::cut_short(
            offset,
            what,
            skipped as usize,
            len.into(),
        ));
    }
    let tail = input.request(4).map_err(|err| Damage::read(offset, err))?;
    let Some(trailer) = e.u32(tail, 0) else {
        let have = skipped as usize + tail.len();
        return Err(Damage::cut_short(offset, what, have, len.into()));
    };
    if trailer != len {
        return Err(Damage {
            offset,
            problem: Problem::LyingLength {
                block: name,
                declared: len,
                trailer,
            },
        });
    }
    input.consume(4);
    Ok(())
}
