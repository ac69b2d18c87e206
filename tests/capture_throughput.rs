//! Reading speed of the capture reader (ignored by default; run with
//! `cargo test --release --test capture_throughput -- --ignored --nocapture`).
//!
//! Writes multi-million-frame captures into a temporary directory (removed
//! afterwards) and reads them back through the public API.

use mqtt_inspect::capture::{CaptureReader, open_captures};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

const FRAMES: u32 = 5_000_000;
/// Frame sizes of a typical MQTT capture: bare ACKs, small control packets, publishes.
const SIZES: [usize; 4] = [66, 80, 150, 300];

fn write_pcap(path: &Path, frames: u32) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let header = [
        0xA1B2_C3D4u32.to_le_bytes(),
        [2, 0, 4, 0],
        [0; 4],
        [0; 4],
        262_144u32.to_le_bytes(),
        1u32.to_le_bytes(),
    ]
    .concat();
    out.write_all(&header).unwrap();
    let data = vec![0x5a; 1514];
    for i in 0..frames {
        let len = SIZES[i as usize % SIZES.len()];
        let rec = [
            (1_700_000_000 + i / 1000).to_le_bytes(),
            (i % 1000 * 1000).to_le_bytes(),
            (len as u32).to_le_bytes(),
            (len as u32).to_le_bytes(),
        ]
        .concat();
        out.write_all(&rec).unwrap();
        out.write_all(&data[..len]).unwrap();
    }
    out.flush().unwrap();
}

fn write_pcapng(path: &Path, frames: u32) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut shb = Vec::new();
    for v in [0x0A0D_0D0Au32, 28, 0x1A2B_3C4D, 1] {
        shb.extend_from_slice(&v.to_le_bytes());
    }
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    shb.extend_from_slice(&28u32.to_le_bytes());
    out.write_all(&shb).unwrap();
    let mut idb = Vec::new();
    for v in [1u32, 20, 1, 0] {
        idb.extend_from_slice(&v.to_le_bytes());
    }
    idb.extend_from_slice(&20u32.to_le_bytes());
    out.write_all(&idb).unwrap();
    let data = vec![0x5a; 1514];
    for i in 0..frames {
        let len = SIZES[i as usize % SIZES.len()];
        let padded = len.div_ceil(4) * 4;
        let total = (32 + padded) as u32;
        let ticks = 1_700_000_000_000_000u64 + u64::from(i) * 1000;
        for v in [
            6u32,
            total,
            0,
            (ticks >> 32) as u32,
            ticks as u32,
            len as u32,
            len as u32,
        ] {
            out.write_all(&v.to_le_bytes()).unwrap();
        }
        out.write_all(&data[..padded]).unwrap();
        out.write_all(&total.to_le_bytes()).unwrap();
    }
    out.flush().unwrap();
}

fn measure(what: &str, file_bytes: u64, mut reader: CaptureReader) {
    let start = Instant::now();
    let mut frames = 0u64;
    let mut check = 0u64;
    while let Some(f) = reader.next_frame() {
        frames += 1;
        check = check.wrapping_add(f.data.len() as u64 + u64::from(f.data[0]));
    }
    let secs = start.elapsed().as_secs_f64();
    assert!(check > 0);
    assert!(reader.take_warnings().is_empty());
    println!(
        "{what:28} {frames} frames, {:.0} MB in {secs:.3} s: {:.1} M frames/s, {:.0} MB/s",
        file_bytes as f64 / 1e6,
        frames as f64 / secs / 1e6,
        file_bytes as f64 / secs / 1e6,
    );
}

#[test]
#[ignore = "writes about 1 GB of temporary files; run in release mode"]
fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("big.pcap");
    write_pcap(&pcap, FRAMES);
    let size = std::fs::metadata(&pcap).unwrap().len();
    let name = pcap.to_string_lossy().into_owned();
    measure(
        "pcap, mmap",
        size,
        open_captures(std::slice::from_ref(&name)).unwrap(),
    );
    measure("pcap, mmap (again)", size, open_captures(&[name]).unwrap());
    let file = std::fs::File::open(&pcap).unwrap();
    measure(
        "pcap, streamed (as stdin)",
        size,
        CaptureReader::from_reader("big", file).unwrap(),
    );
    std::fs::remove_file(&pcap).unwrap();

    let ng = dir.path().join("big.pcapng");
    write_pcapng(&ng, FRAMES);
    let size = std::fs::metadata(&ng).unwrap().len();
    let name = ng.to_string_lossy().into_owned();
    measure("pcapng, mmap", size, open_captures(&[name]).unwrap());
    let file = std::fs::File::open(&ng).unwrap();
    measure(
        "pcapng, streamed",
        size,
        CaptureReader::from_reader("big", file).unwrap(),
    );
    std::fs::remove_file(&ng).unwrap();

    let small = dir.path().join("small.pcap");
    write_pcap(&small, FRAMES / 5);
    let raw = std::fs::read(&small).unwrap();
    let gz = dir.path().join("small.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&raw).unwrap();
    enc.finish().unwrap();
    let name = gz.to_string_lossy().into_owned();
    measure(
        "pcap.gz (uncompressed MB)",
        raw.len() as u64,
        open_captures(&[name]).unwrap(),
    );
}
