//! The hot path allocates nothing per packet: a counting global allocator
//! watches a whole analysis of the same connections carrying 1× and 3× the
//! traffic; the difference, per extra packet, must stay at zero (a few
//! allocations for tables that grow are allowed, none per packet).

use mqtt_inspect::capture::open_captures;
use mqtt_inspect::pipeline::{Pipeline, PipelineOptions};
use mqtt_inspect::report::{JsonLines, JsonReport, RenderOptions, Sink};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

struct Counting;

thread_local! {
    /// This thread's allocations: the tests of this file run in parallel,
    /// each analysis on its own thread (one-threaded runs).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the slot may be gone while a thread is torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A capture of `conns` connections, each publishing `rounds` times at
/// QoS 0, 1 and 2 (with the acks) on its own topic, to one broker.
fn capture(conns: u16, rounds: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut us = 0u32;
    let mut frame = |out: &mut Vec<u8>,
                     src: [u8; 4],
                     dst: [u8; 4],
                     sp: u16,
                     dp: u16,
                     seq: &mut u32,
                     ack: u32,
                     flags: u8,
                     p: &[u8]| {
        us += 10;
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0];
        f.extend_from_slice(&((40 + p.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(p);
        *seq = seq.wrapping_add(p.len() as u32 + u32::from(flags & 0x03 != 0));
        out.extend_from_slice(&(1_700_000_000u32 + us / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(us % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    };
    let broker = [10, 0, 0, 1];
    let mut state: Vec<(u32, u32)> = Vec::new();
    for c in 0..conns {
        let cl = [10, 1, (c >> 8) as u8, c as u8];
        let port = 30_000 + c;
        let (mut cs, mut ss) = (100u32, 900u32);
        frame(&mut out, cl, broker, port, 1883, &mut cs, 0, 0x02, &[]);
        frame(&mut out, broker, cl, 1883, port, &mut ss, cs, 0x12, &[]);
        let connect = [
            0x10,
            13,
            0,
            4,
            b'M',
            b'Q',
            b'T',
            b'T',
            4,
            2,
            0,
            60,
            0,
            1,
            b'a' + (c % 26) as u8,
        ];
        frame(
            &mut out, cl, broker, port, 1883, &mut cs, ss, 0x18, &connect,
        );
        frame(
            &mut out,
            broker,
            cl,
            1883,
            port,
            &mut ss,
            cs,
            0x18,
            &[0x20, 2, 0, 0],
        );
        state.push((cs, ss));
    }
    for r in 0..rounds {
        for c in 0..conns {
            let cl = [10, 1, (c >> 8) as u8, c as u8];
            let port = 30_000 + c;
            let (mut cs, mut ss) = state[c as usize];
            let topic = format!("t/{c}");
            for qos in [0u8, 1, 2] {
                let id = (r * 3 + u16::from(qos)) % 60_000 + 1;
                let mut body = Vec::new();
                body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
                body.extend_from_slice(topic.as_bytes());
                if qos > 0 {
                    body.extend_from_slice(&id.to_be_bytes());
                }
                body.extend_from_slice(b"payload of a reading");
                let mut p = vec![0x30 | (qos << 1), body.len() as u8];
                p.extend_from_slice(&body);
                frame(&mut out, cl, broker, port, 1883, &mut cs, ss, 0x18, &p);
                let [hi, lo] = id.to_be_bytes();
                match qos {
                    1 => frame(
                        &mut out,
                        broker,
                        cl,
                        1883,
                        port,
                        &mut ss,
                        cs,
                        0x18,
                        &[0x40, 2, hi, lo],
                    ),
                    2 => {
                        frame(
                            &mut out,
                            broker,
                            cl,
                            1883,
                            port,
                            &mut ss,
                            cs,
                            0x18,
                            &[0x50, 2, hi, lo],
                        );
                        frame(
                            &mut out,
                            cl,
                            broker,
                            port,
                            1883,
                            &mut cs,
                            ss,
                            0x18,
                            &[0x62, 2, hi, lo],
                        );
                        frame(
                            &mut out,
                            broker,
                            cl,
                            1883,
                            port,
                            &mut ss,
                            cs,
                            0x18,
                            &[0x70, 2, hi, lo],
                        );
                    }
                    _ => {}
                }
            }
            state[c as usize] = (cs, ss);
        }
    }
    out
}

/// Allocations of a whole run over `bytes` into `sink` (the capture file
/// is written first).
fn allocations_for(bytes: &[u8], sink: &mut dyn Sink) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pcap");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    let mut reader = open_captures(&[path.to_string_lossy().into_owned()]).unwrap();
    let before = allocations();
    let summary = Pipeline::new(PipelineOptions::default())
        .run(&mut reader, sink)
        .unwrap();
    (allocations() - before, summary.packets.total)
}

/// The allocation counter is global: the tests of this file measure one
/// at a time, or each would count the other's allocations.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Allocations per packet beyond the first 1× of traffic, with `sink`.
fn extra_per_packet(sink: &mut dyn FnMut() -> Box<dyn Sink>) -> f64 {
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let (small, p1) = allocations_for(&capture(50, 40), &mut *sink());
    let (large, p3) = allocations_for(&capture(50, 120), &mut *sink());
    let extra_packets = p3 - p1;
    assert!(extra_packets > 20_000, "{extra_packets}");
    let extra = large.saturating_sub(small);
    let per_packet = extra as f64 / extra_packets as f64;
    eprintln!(
        "allocations: {small} for {p1} packets, {large} for {p3}: {extra} more for {extra_packets} more packets ({per_packet:.4} per packet)"
    );
    per_packet
}

#[test]
fn no_allocation_per_packet() {
    let per_packet = extra_per_packet(&mut || Box::new(JsonReport::new(std::io::sink())));
    assert!(per_packet < 0.01, "{per_packet:.3} allocations per packet");
}

/// Streaming every packet, flow and event as a JSON line renders on the
/// stack and into the writer: no allocation per packet either.
#[test]
fn json_lines_allocate_little_per_packet() {
    let per_packet = extra_per_packet(&mut || {
        Box::new(JsonLines::new(std::io::sink(), RenderOptions::default()))
    });
    assert!(per_packet < 0.01, "{per_packet:.3} allocations per packet");
}

/// `--html` beside the JSON: the page's timelines are fixed-size bucket
/// arrays per connection, so they too allocate nothing per packet (a
/// few times per connection, when its buckets merge).
#[test]
fn html_report_allocates_nothing_per_packet() {
    use mqtt_inspect::report::{HtmlReport, Tee};
    let per_packet = extra_per_packet(&mut || {
        Box::new(Tee {
            first: JsonReport::new(std::io::sink()),
            second: HtmlReport::new(std::io::sink(), "test"),
        })
    });
    assert!(per_packet < 0.01, "{per_packet:.3} allocations per packet");
}
