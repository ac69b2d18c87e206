//! Builds a large capture for benchmarks from a small real one: the input's
//! conversations are replayed many times, each copy with its own client
//! address (so every copy is a separate set of TCP connections), copies
//! interleaved in groups so that many connections are open at once.
//!
//! ```text
//! cargo run --release --example synth_capture -- samples/clients_many.pcap /tmp/big.pcap 20000 200
//! ```
//!
//! Only Ethernet/IPv4 input is supported (what `samples/v311_basic.pcap` and
//! `samples/clients_many.pcap` are). Checksums are left as they were: neither
//! this tool nor Wireshark's default settings verify them.

use mqtt_inspect::base::LinkType;
use mqtt_inspect::capture::open_captures;
use std::io::{BufWriter, Write};

struct Rec {
    secs: i64,
    nanos: u32,
    data: Vec<u8>,
    orig_len: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, copies, rest @ ..] = args.as_slice() else {
        eprintln!("usage: synth_capture INPUT.pcap OUTPUT.pcap COPIES [GROUP]");
        std::process::exit(2);
    };
    let copies: u32 = copies.parse()?;
    let group: u32 = rest
        .first()
        .map(|g| g.parse())
        .transpose()?
        .unwrap_or(100)
        .max(1);

    let mut reader = open_captures(std::slice::from_ref(input))?;
    let mut recs = Vec::new();
    while let Some(f) = reader.next_frame() {
        if f.link != LinkType::ETHERNET {
            return Err(format!("frame {}: only Ethernet input is supported", f.index).into());
        }
        recs.push(Rec {
            secs: f.ts.secs,
            nanos: f.ts.nanos,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }
    let Some(first) = recs.first() else {
        return Err("empty input".into());
    };
    let t0 = first.secs as i128 * 1_000_000_000 + first.nanos as i128;
    let span = recs
        .last()
        .map_or(0, |r| r.secs as i128 * 1_000_000_000 + r.nanos as i128 - t0)
        + 1_000_000;
    let server = server_ip(&recs).ok_or("no TCP port 1883 traffic in the input")?;

    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    out.write_all(&0xa1b2_3c4du32.to_le_bytes())?; // nanosecond pcap
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&262_144u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;

    let mut written = 0u64;
    let mut g = 0;
    while g * group < copies {
        let members: Vec<u32> = (g * group..((g + 1) * group).min(copies)).collect();
        // Interleave: copy k of the group starts k × 37 µs after the group start.
        let mut events: Vec<(i128, u32, usize)> = Vec::with_capacity(members.len() * recs.len());
        for &k in &members {
            let offset = g as i128 * span + (k - g * group) as i128 * 37_000;
            for (i, r) in recs.iter().enumerate() {
                let t = r.secs as i128 * 1_000_000_000 + r.nanos as i128 + offset;
                events.push((t, k, i));
            }
        }
        events.sort_unstable();
        for (t, k, i) in events {
            let r = &recs[i];
            let mut data = r.data.clone();
            readdress(&mut data, server, k);
            let secs = t.div_euclid(1_000_000_000) as u32;
            let nanos = t.rem_euclid(1_000_000_000) as u32;
            out.write_all(&secs.to_le_bytes())?;
            out.write_all(&nanos.to_le_bytes())?;
            out.write_all(&(data.len() as u32).to_le_bytes())?;
            out.write_all(&r.orig_len.to_le_bytes())?;
            out.write_all(&data)?;
            written += 1;
        }
        g += 1;
    }
    out.flush()?;
    eprintln!(
        "{output}: {written} frames from {copies} copies of {input} ({} frames each)",
        recs.len()
    );
    Ok(())
}

/// The IPv4 address that uses TCP port 1883.
fn server_ip(recs: &[Rec]) -> Option<[u8; 4]> {
    recs.iter().find_map(|r| {
        let (ip, tcp) = ipv4_tcp(&r.data)?;
        let sport = u16::from_be_bytes([r.data[tcp], r.data[tcp + 1]]);
        let dport = u16::from_be_bytes([r.data[tcp + 2], r.data[tcp + 3]]);
        if sport == 1883 {
            r.data.get(ip + 12..ip + 16)?.try_into().ok()
        } else if dport == 1883 {
            r.data.get(ip + 16..ip + 20)?.try_into().ok()
        } else {
            None
        }
    })
}

/// Offsets of the IPv4 and TCP headers of an Ethernet frame.
fn ipv4_tcp(d: &[u8]) -> Option<(usize, usize)> {
    if d.get(12..14)? != [0x08, 0x00] || *d.get(23)? != 6 {
        return None;
    }
    let ip = 14;
    let ihl = (*d.get(ip)? & 0x0f) as usize * 4;
    d.get(ip + ihl + 4)?;
    Some((ip, ip + ihl))
}

/// Gives every client address of copy `k` the address 10.x.y.z derived from `k`.
fn readdress(d: &mut [u8], server: [u8; 4], k: u32) {
    let Some((ip, _)) = ipv4_tcp(d) else { return };
    let client = [10, (k >> 16) as u8, (k >> 8) as u8, k as u8];
    for at in [ip + 12, ip + 16] {
        if d[at..at + 4] != server {
            d[at..at + 4].copy_from_slice(&client);
        }
    }
}
