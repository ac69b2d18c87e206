//! Builders that write pcap / pcapng bytes in code, so tests know every byte
//! of the capture they read and what each frame must come out as.
#![allow(dead_code)]

use mqtt_inspect::base::LinkType;
use mqtt_inspect::capture::CaptureReader;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What one frame must look like after reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    pub secs: i64,
    pub nanos: u32,
    pub digits: u8,
    pub link: LinkType,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// A frame as read, owned, to compare with [`Want`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub index: u64,
    pub want: Want,
}

/// Reads every frame, checking nothing yet.
pub fn read_all(reader: &mut CaptureReader) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(f) = reader.next_frame() {
        out.push(Got {
            index: f.index,
            want: Want {
                secs: f.ts.secs,
                nanos: f.ts.nanos,
                digits: f.ts.digits,
                link: f.link,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            },
        });
    }
    out
}

/// Asserts frames are exactly `want`, numbered from `first_index`.
pub fn assert_frames(got: &[Got], want: &[Want], first_index: u64) {
    assert_eq!(got.len(), want.len(), "frame count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.index, first_index + i as u64, "index of frame #{i}");
        assert_eq!(&g.want, w, "frame {}", g.index);
    }
}

pub fn payload(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

/// A classic pcap file in one of its four variants.
pub struct Pcap {
    pub big: bool,
    pub nanos: bool,
    pub link: u32,
    pub bytes: Vec<u8>,
    pub frames: Vec<Want>,
    /// File offset just after each record (a cut there loses no frame).
    pub ends: Vec<usize>,
}

impl Pcap {
    pub fn new(big: bool, nanos: bool, link: u32) -> Self {
        let mut p = Pcap {
            big,
            nanos,
            link,
            bytes: Vec::new(),
            frames: Vec::new(),
            ends: Vec::new(),
        };
        let magic = if nanos { 0xA1B2_3C4Du32 } else { 0xA1B2_C3D4 };
        p.u32(magic);
        p.u16(2);
        p.u16(4);
        p.u32(0); // thiszone
        p.u32(0); // sigfigs
        p.u32(65535); // snaplen
        p.u32(link);
        p
    }

    pub fn u16(&mut self, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    pub fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    /// A record; `frac` is µs or ns as the variant says.
    pub fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> &mut Self {
        self.record_header(secs, frac, data.len() as u32, orig_len);
        self.bytes.extend_from_slice(data);
        self.ends.push(self.bytes.len());
        self.frames.push(Want {
            secs: secs.into(),
            nanos: if self.nanos { frac } else { frac * 1000 },
            digits: if self.nanos { 9 } else { 6 },
            link: LinkType(self.link),
            data: data.to_vec(),
            orig_len,
        });
        self
    }

    /// Only a record header, with whatever lengths a test wants to lie about.
    pub fn record_header(&mut self, secs: u32, frac: u32, incl_len: u32, orig_len: u32) {
        self.u32(secs);
        self.u32(frac);
        self.u32(incl_len);
        self.u32(orig_len);
    }
}

/// A small pcap in the given variant with three frames of different sizes.
pub fn sample_pcap(big: bool, nanos: bool, link: u32) -> Pcap {
    let mut p = Pcap::new(big, nanos, link);
    let frac = |us: u32| if nanos { us * 1000 + 7 } else { us };
    p.record(1_700_000_000, frac(1), &payload(1, 60), 60);
    p.record(1_700_000_001, frac(999_999), &payload(2, 1), 1514);
    p.record(1_700_000_001, frac(123_456), &payload(3, 0), 0);
    p.record(4_000_000_000, frac(5), &payload(4, 33), 33);
    p
}

pub const SHB: u32 = 0x0A0D_0D0A;
pub const IDB: u32 = 1;
pub const OPB: u32 = 2;
pub const SPB: u32 = 3;
pub const NRB: u32 = 4;
pub const ISB: u32 = 5;
pub const EPB: u32 = 6;

/// A pcapng file written block by block.
pub struct Ng {
    pub big: bool,
    pub bytes: Vec<u8>,
    pub frames: Vec<Want>,
    /// File offset just after every block.
    pub ends: Vec<usize>,
    /// File offset just after each frame's block.
    pub frame_ends: Vec<usize>,
    /// Link type of each interface of the current section.
    links: Vec<LinkType>,
}

impl Ng {
    pub fn new() -> Self {
        Ng {
            big: false,
            bytes: Vec::new(),
            frames: Vec::new(),
            ends: Vec::new(),
            frame_ends: Vec::new(),
            links: Vec::new(),
        }
    }

    pub fn e16(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    pub fn e32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    pub fn e64(&self, v: u64) -> [u8; 8] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Any block: type, length, body padded to 4 bytes, length again.
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        self.block_with_lengths(block_type, body, len, len)
    }

    /// A block whose leading and trailing lengths are whatever the test says.
    pub fn block_with_lengths(
        &mut self,
        block_type: u32,
        body: &[u8],
        len: u32,
        trailer: u32,
    ) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let head = [self.e32(block_type), self.e32(len)].concat();
        self.bytes.extend_from_slice(&head);
        self.bytes.extend_from_slice(body);
        self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
        let t = self.e32(trailer);
        self.bytes.extend_from_slice(&t);
        self.ends.push(self.bytes.len());
        self
    }

    pub fn shb(&mut self, big: bool) -> &mut Self {
        self.big = big;
        self.links.clear();
        let mut body = self.e32(0x1A2B_3C4D).to_vec();
        body.extend_from_slice(&self.e16(1));
        body.extend_from_slice(&self.e16(0));
        body.extend_from_slice(&self.e64(u64::MAX)); // section length unknown
        // An shb_userappl option, to prove options are stepped over.
        body.extend_from_slice(&self.e16(4));
        body.extend_from_slice(&self.e16(5));
        body.extend_from_slice(b"tests\0\0\0");
        body.extend_from_slice(&[0; 4]); // opt_endofopt
        self.block(SHB, &body)
    }

    /// An interface; options are (code, value) pairs.
    pub fn idb(&mut self, link: u16, snaplen: u32, options: &[(u16, Vec<u8>)]) -> &mut Self {
        self.links.push(LinkType(link.into()));
        let mut body = self.e16(link).to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.e32(snaplen));
        for (code, value) in options {
            body.extend_from_slice(&self.e16(*code));
            body.extend_from_slice(&self.e16(value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        if !options.is_empty() {
            body.extend_from_slice(&[0; 4]);
        }
        self.block(IDB, &body)
    }

    fn want(&mut self, iface: usize, ts: (i64, u32, u8), data: &[u8], orig_len: u32) {
        self.frame_ends.push(self.bytes.len());
        self.frames.push(Want {
            secs: ts.0,
            nanos: ts.1,
            digits: ts.2,
            link: self.links.get(iface).copied().unwrap_or(LinkType(u32::MAX)),
            data: data.to_vec(),
            orig_len,
        });
    }

    /// An Enhanced Packet Block; `ts` is what the reader must make of `ticks`.
    pub fn epb(
        &mut self,
        iface: u32,
        ticks: u64,
        data: &[u8],
        orig_len: u32,
        ts: (i64, u32, u8),
    ) -> &mut Self {
        let mut body = self.e32(iface).to_vec();
        body.extend_from_slice(&self.e32((ticks >> 32) as u32));
        body.extend_from_slice(&self.e32(ticks as u32));
        body.extend_from_slice(&self.e32(data.len() as u32));
        body.extend_from_slice(&self.e32(orig_len));
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        // An epb_flags option.
        body.extend_from_slice(&self.e16(2));
        body.extend_from_slice(&self.e16(4));
        body.extend_from_slice(&self.e32(1));
        body.extend_from_slice(&[0; 4]);
        self.block(EPB, &body);
        self.want(iface as usize, ts, data, orig_len);
        self
    }

    /// An obsolete Packet Block.
    pub fn opb(
        &mut self,
        iface: u16,
        ticks: u64,
        data: &[u8],
        orig_len: u32,
        ts: (i64, u32, u8),
    ) -> &mut Self {
        let mut body = self.e16(iface).to_vec();
        body.extend_from_slice(&self.e16(0)); // drops
        body.extend_from_slice(&self.e32((ticks >> 32) as u32));
        body.extend_from_slice(&self.e32(ticks as u32));
        body.extend_from_slice(&self.e32(data.len() as u32));
        body.extend_from_slice(&self.e32(orig_len));
        body.extend_from_slice(data);
        self.block(OPB, &body);
        self.want(iface.into(), ts, data, orig_len);
        self
    }

    /// A Simple Packet Block carrying `stored` bytes of a packet `orig_len` long;
    /// the reader must give it timestamp `ts`.
    pub fn spb(&mut self, stored: &[u8], orig_len: u32, ts: (i64, u32, u8)) -> &mut Self {
        let mut body = self.e32(orig_len).to_vec();
        body.extend_from_slice(stored);
        self.block(SPB, &body);
        let captured = stored.len().min(orig_len as usize);
        let data = stored[..captured].to_vec();
        self.want(0, ts, &data, orig_len);
        self
    }
}

impl Default for Ng {
    fn default() -> Self {
        Ng::new()
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Writes `bytes` to `dir/name` and returns the path as the CLI would pass it.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// A reader that hands out at most `chunk` bytes per call and is interrupted
/// every third call: the worst a pipe may legally do.
pub struct Trickle {
    data: io::Cursor<Vec<u8>>,
    chunk: usize,
    calls: u32,
}

impl Trickle {
    pub fn new(data: Vec<u8>, chunk: usize) -> Self {
        Trickle {
            data: io::Cursor::new(data),
            chunk,
            calls: 0,
        }
    }
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.chunk);
        self.data.read(&mut buf[..n])
    }
}

/// A pcapng exercising every block kind: two sections in opposite byte
/// orders, three interfaces with µs, ns and 2^-10 s (+100 s offset)
/// timestamps and different link types, EPB, SPB, OPB and blocks to skip.
pub fn sample_pcapng(big: bool) -> Ng {
    let mut ng = Ng::new();
    ng.shb(big);
    ng.idb(1, 8, &[]);
    ng.idb(276, 0, &[(9, vec![9])]);
    ng.block(
        NRB,
        &[1, 0, 8, 0, 127, 0, 0, 1, b'l', b'o', 0, 0, 0, 0, 0, 0],
    );
    ng.epb(
        0,
        1_700_000_000_000_001,
        &payload(10, 6),
        6,
        (1_700_000_000, 1_000, 6),
    );
    // Interface 0 has snaplen 8: a 20-byte packet is stored as 8 bytes.
    ng.spb(&payload(11, 8), 20, (1_700_000_000, 1_000, 6));
    ng.spb(&payload(12, 5), 5, (1_700_000_000, 1_000, 6));
    ng.epb(
        1,
        1_700_000_000_123_456_789,
        &payload(13, 40),
        1500,
        (1_700_000_000, 123_456_789, 9),
    );
    ng.block(ISB, &[0; 20]);
    let offset = ng.e64(100).to_vec();
    ng.idb(101, 0, &[(9, vec![0x80 | 10]), (14, offset)]);
    ng.epb(2, 5 * 1024 + 512, &payload(14, 3), 3, (105, 500_000_000, 4));
    ng.opb(
        1,
        2_000_000_000_000_000_001,
        &payload(15, 7),
        9,
        (2_000_000_000, 1, 9),
    );
    ng.block(0x4000_0BAD, &[0, 0, 0x7e, 0x2a, 1, 2, 3]);
    ng.block(0x0000_000A, &[0x4b, 0x53, 0x4c, 0x54, 0, 0, 0, 0]);
    ng.block(0x1234_5678, &payload(16, 9));
    ng.shb(!big);
    ng.idb(228, 0, &[]);
    ng.epb(0, 1_234_567, &payload(17, 20), 20, (1, 234_567_000, 6));
    ng.spb(&payload(18, 4), 4, (1, 234_567_000, 6));
    ng
}

/// Everything a reader produced, gathered on another thread so that a reader
/// that never finishes fails the test instead of hanging it.
pub struct Outcome {
    pub frames: Vec<Got>,
    pub warnings: Vec<mqtt_inspect::base::Warning>,
    pub info: mqtt_inspect::capture::CaptureInfo,
}

pub fn read_within(mut reader: CaptureReader, secs: u64) -> Outcome {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let frames = read_all(&mut reader);
        let warnings = reader.take_warnings();
        let _ = tx.send(Outcome {
            frames,
            warnings,
            info: reader.info().clone(),
        });
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("the reader finished in time (no endless loop, no panic)")
}
