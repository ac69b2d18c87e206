//! A minimal pcapng writer for `live --write`: one section, one interface
//! (link type, snaplen, nanosecond timestamps), one Enhanced Packet Block
//! per frame. Written by hand rather than through a crate: it is four
//! fixed block layouts, the reader of the same format already lives in
//! `capture/`, and frame N of the file is frame N of the analysis.

use crate::base::{LinkType, Timestamp};
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Interface option `if_tsresol`: 10^-9 (nanoseconds).
const OPT_TSRESOL: u16 = 9;

/// Writes frames as pcapng (little-endian).
pub struct PcapngWriter<W: Write> {
    out: W,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the section header and the one interface description.
    pub fn new(mut out: W, link: LinkType, snaplen: u32, interface: &str) -> io::Result<Self> {
        // Section Header Block: no options.
        let shb_len: u32 = 28;
        out.write_all(&SHB.to_le_bytes())?;
        out.write_all(&shb_len.to_le_bytes())?;
        out.write_all(&BYTE_ORDER_MAGIC.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?; // major
        out.write_all(&0u16.to_le_bytes())?; // minor
        out.write_all(&(-1i64).to_le_bytes())?; // section length unknown
        out.write_all(&shb_len.to_le_bytes())?;
        // Interface Description Block: if_name, if_tsresol, end of options.
        let name = interface.as_bytes();
        let name = name.get(..name.len().min(255)).unwrap_or_default();
        let name_opt = 4 + name.len() + pad4(name.len());
        let tsresol_opt = 4 + 4; // one byte of value, padded
        let idb_len = (20 + name_opt + tsresol_opt + 4) as u32;
        out.write_all(&IDB.to_le_bytes())?;
        out.write_all(&idb_len.to_le_bytes())?;
        out.write_all(&(link.0 as u16).to_le_bytes())?;
        out.write_all(&0u16.to_le_bytes())?; // reserved
        out.write_all(&snaplen.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?; // if_name
        out.write_all(&(name.len() as u16).to_le_bytes())?;
        out.write_all(name)?;
        out.write_all(&[0u8; 3][..pad4(name.len())])?;
        out.write_all(&OPT_TSRESOL.to_le_bytes())?;
        out.write_all(&1u16.to_le_bytes())?;
        out.write_all(&[9u8, 0, 0, 0])?; // 10^-9
        out.write_all(&[0u8; 4])?; // opt_endofopt
        out.write_all(&idb_len.to_le_bytes())?;
        Ok(PcapngWriter { out })
    }

    /// One frame: its time, its captured bytes and its length on the wire.
    pub fn frame(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let ns = u64::try_from(ts.as_nanos()).unwrap_or(0);
        let block_len = (32 + data.len() + pad4(data.len())) as u32;
        self.out.write_all(&EPB.to_le_bytes())?;
        self.out.write_all(&block_len.to_le_bytes())?;
        self.out.write_all(&0u32.to_le_bytes())?; // interface 0
        self.out.write_all(&((ns >> 32) as u32).to_le_bytes())?;
        self.out.write_all(&(ns as u32).to_le_bytes())?;
        self.out.write_all(&(data.len() as u32).to_le_bytes())?;
        self.out.write_all(&orig_len.to_le_bytes())?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..pad4(data.len())])?;
        self.out.write_all(&block_len.to_le_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CaptureReader;

    #[test]
    fn our_reader_reads_what_it_writes() {
        let file = tempfile_path();
        {
            let out = std::fs::File::create(&file).unwrap();
            let mut w = PcapngWriter::new(out, LinkType::ETHERNET, 65535, "eth0").unwrap();
            w.frame(Timestamp::new(1_700_000_000, 123_456_789, 9), b"abcde", 60)
                .unwrap();
            w.frame(Timestamp::new(1_700_000_001, 1, 9), &[7u8; 64], 64)
                .unwrap();
            w.flush().unwrap();
        }
        let mut r = crate::capture::open_captures(&[file.to_string_lossy().into_owned()]).unwrap();
        let read = |r: &mut CaptureReader| {
            r.next_frame()
                .map(|f| (f.index, f.ts, f.link, f.data.to_vec(), f.orig_len))
        };
        let a = read(&mut r).unwrap();
        assert_eq!(a.0, 1);
        assert_eq!(a.1, Timestamp::new(1_700_000_000, 123_456_789, 9));
        assert_eq!(a.1.digits, 9);
        assert_eq!(
            (a.2, a.3.as_slice(), a.4),
            (LinkType::ETHERNET, &b"abcde"[..], 60)
        );
        let b = read(&mut r).unwrap();
        assert_eq!((b.0, b.3.len(), b.4), (2, 64, 64));
        assert!(read(&mut r).is_none());
        assert!(r.take_warnings().is_empty());
        std::fs::remove_file(file).ok();
    }

    fn tempfile_path() -> std::path::PathBuf {
        let mut p = std::env::temp_dir();
        p.push(format!("mqi-pcapng-writer-{}.pcapng", std::process::id()));
        p
    }
}
