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

/// A small pcap in the given variant with four frames of different sizes,
/// one cut by a snapshot length, none whose header lies (see
/// `capture_damage.rs` for those).
pub fn sample_pcap(big: bool, nanos: bool, link: u32) -> Pcap {
    let mut p = Pcap::new(big, nanos, link);
    let frac = |us: u32| if nanos { us * 1000 + 7 } else { us };
    p.record(1_700_000_000, frac(1), &payload(1, 60), 60);
    p.record(1_700_000_001, frac(999_999), &payload(2, 1), 1514);
    // Earlier than the frame before it: files need not be in time order.
    p.record(1_700_000_001, frac(123_456), &payload(3, 2), 2);
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

/// TCP flag bits for [`eth_ipv4_tcp`].
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// One Ethernet / IPv4 / TCP frame (no options) written into `buf` (cleared
/// first). The IPv4 and TCP checksums are left zero: the analyzer does not
/// verify them, and building millions of frames must be cheap. The IPv4
/// total length is `40 + payload.len()` (at most 65,495 payload bytes).
#[allow(clippy::too_many_arguments)]
pub fn eth_ipv4_tcp(
    buf: &mut Vec<u8>,
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: &[u8],
) {
    assert!(
        payload.len() <= 65_495,
        "an IPv4 packet holds at most 65,495 TCP payload bytes"
    );
    buf.clear();
    // Ethernet II: destination, source, ethertype IPv4.
    buf.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    // IPv4: version 4, IHL 5, total length, id 0, DF, TTL 64, protocol TCP, checksum 0.
    let total = (40 + payload.len()) as u16;
    buf.extend_from_slice(&[0x45, 0]);
    buf.extend_from_slice(&total.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    buf.extend_from_slice(&src.0);
    buf.extend_from_slice(&dst.0);
    // TCP: ports, seq, ack, data offset 5, flags, window, checksum 0, urgent 0.
    buf.extend_from_slice(&src.1.to_be_bytes());
    buf.extend_from_slice(&dst.1.to_be_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&ack.to_be_bytes());
    buf.extend_from_slice(&[0x50, flags]);
    buf.extend_from_slice(&window.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.extend_from_slice(payload);
}

/// Where generated frames go: each call is one frame, stamped with the
/// sink's clock, and returns its (1-based, Wireshark) frame number.
pub trait FrameSink {
    fn frame(&mut self, data: &[u8]) -> u64;
    /// Microseconds since the start of the capture.
    fn now_us(&mut self) -> &mut u64;
    /// Lets capture time pass.
    fn wait_us(&mut self, us: u64) {
        *self.now_us() += us;
    }
}

/// Capture time of the first frame of generated captures (2027-01-15).
pub const STREAM_START_SECS: u64 = 1_800_000_000;

/// A classic pcap (microseconds, little endian) written record by record, for
/// captures far too large to hold in memory. Every record advances the clock
/// by `step_us`.
pub struct PcapStream<W: Write> {
    out: W,
    pub frames: u64,
    /// Bytes written so far (file header included).
    pub bytes: u64,
    pub now_us: u64,
    pub step_us: u64,
}

impl<W: Write> PcapStream<W> {
    pub fn new(mut out: W, link: u32) -> Self {
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
        head.extend_from_slice(&2u16.to_le_bytes());
        head.extend_from_slice(&4u16.to_le_bytes());
        head.extend_from_slice(&[0; 8]);
        head.extend_from_slice(&262_144u32.to_le_bytes());
        head.extend_from_slice(&link.to_le_bytes());
        out.write_all(&head).expect("write pcap header");
        PcapStream {
            out,
            frames: 0,
            bytes: 24,
            now_us: 0,
            step_us: 1,
        }
    }

    /// A record whose header says exactly what the test wants (`incl_len` and
    /// `orig_len` may lie about `data`); returns its frame number.
    pub fn record_raw(&mut self, data: &[u8], incl_len: u32, orig_len: u32) -> u64 {
        let us = self.now_us;
        let secs = STREAM_START_SECS + us / 1_000_000;
        let mut head = [0u8; 16];
        head[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        head[4..8].copy_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        head[8..12].copy_from_slice(&incl_len.to_le_bytes());
        head[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&head).expect("write record header");
        self.out.write_all(data).expect("write record");
        self.bytes += 16 + data.len() as u64;
        self.now_us += self.step_us;
        self.frames += 1;
        self.frames
    }

    /// Flushes and hands back the writer.
    pub fn finish(mut self) -> W {
        self.out.flush().expect("flush capture");
        self.out
    }
}

impl<W: Write> FrameSink for PcapStream<W> {
    fn frame(&mut self, data: &[u8]) -> u64 {
        self.record_raw(data, data.len() as u32, data.len() as u32)
    }
    fn now_us(&mut self) -> &mut u64 {
        &mut self.now_us
    }
}

/// Frames kept in memory with their capture times, to be laid out later by
/// [`Pcap`] or [`Ng`] around records a test wants to spoil.
#[derive(Default)]
pub struct FrameList {
    pub frames: Vec<(u64, Vec<u8>)>,
    pub now_us: u64,
    pub step_us: u64,
}

impl FrameSink for FrameList {
    fn frame(&mut self, data: &[u8]) -> u64 {
        self.frames.push((self.now_us, data.to_vec()));
        self.now_us += self.step_us.max(1);
        self.frames.len() as u64
    }
    fn now_us(&mut self) -> &mut u64 {
        &mut self.now_us
    }
}
