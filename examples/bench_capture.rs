//! Writes a synthetic broker capture for benchmarks: many client
//! connections to one broker, each with a TCP handshake, CONNECT/CONNACK,
//! a SUBSCRIBE, then PUBLISHes at QoS 0, 1 and 2 (payloads of a few hundred
//! bytes) in both directions with their acknowledgements, PINGs, and a
//! DISCONNECT and FIN at the end. Deterministic for a given size.
//!
//! ```text
//! cargo run --release --example bench_capture -- /tmp/bench-1g.pcap 1000   # about 1000 MB
//! ```
//!
//! Checksums are zero (neither this tool nor Wireshark's defaults verify them).

use std::io::{BufWriter, Write};

/// Connections open at once; a connection runs for this many exchanges.
const CONCURRENT: u32 = 2000;
const EXCHANGES_PER_CONNECTION: u32 = 120;

struct Writer<W: Write> {
    out: W,
    bytes: u64,
    frames: u64,
    us: u64,
}

impl<W: Write> Writer<W> {
    fn frame(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.us += 7;
        let secs = 1_790_000_000 + self.us / 1_000_000;
        let micros = self.us % 1_000_000;
        let len = data.len() as u32;
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(micros as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(data)?;
        self.bytes += 16 + data.len() as u64;
        self.frames += 1;
        Ok(())
    }
}

/// One TCP connection's state: addresses and sequence numbers.
struct Conn {
    client: [u8; 4],
    port: u16,
    c_seq: u32,
    s_seq: u32,
    next_id: u16,
    broker_id: u16,
    exchanges: u32,
}

const BROKER: [u8; 4] = [10, 0, 0, 1];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;
const FIN_ACK: u8 = 0x11;
const SYN_ACK: u8 = 0x12;

// One argument per TCP header field reads better than a struct built for each call.
#[allow(clippy::too_many_arguments)]
fn segment(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(54 + payload.len());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![first];
    remaining_length(body.len(), &mut p);
    p.extend_from_slice(body);
    p
}

fn publish(qos: u8, id: u16, topic: &str, payload_len: usize, seed: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    let text = format!("{{\"device\":{seed},\"reading\":[");
    body.extend_from_slice(text.as_bytes());
    while body.len() < payload_len {
        body.extend_from_slice(b"21.5,");
    }
    body.extend_from_slice(b"0]}");
    packet(0x30 | (qos << 1), &body)
}

impl Conn {
    fn new(n: u32) -> Conn {
        Conn {
            client: [10, 1 + (n >> 16) as u8, (n >> 8) as u8, n as u8],
            port: 20_000 + (n % 40_000) as u16,
            c_seq: 1_000 + n.wrapping_mul(7919),
            s_seq: 5_000 + n.wrapping_mul(104_729),
            next_id: 1,
            broker_id: 1,
            exchanges: 0,
        }
    }

    fn c2s<W: Write>(
        &mut self,
        w: &mut Writer<W>,
        flags: u8,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let f = segment(
            self.client,
            BROKER,
            self.port,
            1883,
            self.c_seq,
            self.s_seq,
            flags,
            payload,
        );
        self.c_seq = self.c_seq.wrapping_add(payload.len() as u32);
        w.frame(&f)
    }

    fn s2c<W: Write>(
        &mut self,
        w: &mut Writer<W>,
        flags: u8,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let f = segment(
            BROKER,
            self.client,
            1883,
            self.port,
            self.s_seq,
            self.c_seq,
            flags,
            payload,
        );
        self.s_seq = self.s_seq.wrapping_add(payload.len() as u32);
        w.frame(&f)
    }

    fn open<W: Write>(&mut self, w: &mut Writer<W>, n: u32) -> std::io::Result<()> {
        let f = segment(
            self.client,
            BROKER,
            self.port,
            1883,
            self.c_seq,
            0,
            SYN,
            &[],
        );
        w.frame(&f)?;
        self.c_seq = self.c_seq.wrapping_add(1);
        let f = segment(
            BROKER,
            self.client,
            1883,
            self.port,
            self.s_seq,
            self.c_seq,
            SYN_ACK,
            &[],
        );
        w.frame(&f)?;
        self.s_seq = self.s_seq.wrapping_add(1);
        self.c2s(w, ACK, &[])?;
        let id = format!("sensor-{n}");
        let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
        body.extend_from_slice(&(id.len() as u16).to_be_bytes());
        body.extend_from_slice(id.as_bytes());
        self.c2s(w, PSH_ACK, &packet(0x10, &body))?;
        self.s2c(w, PSH_ACK, &[0x20, 2, 0, 0])?;
        let filter = format!("cmd/{n}/#");
        let mut sub = vec![0, 1];
        sub.extend_from_slice(&(filter.len() as u16).to_be_bytes());
        sub.extend_from_slice(filter.as_bytes());
        sub.push(1);
        self.c2s(w, PSH_ACK, &packet(0x82, &sub))?;
        self.s2c(w, PSH_ACK, &[0x90, 3, 0, 1, 1])
    }

    fn id(&mut self) -> u16 {
        let id = self.next_id;
        self.next_id = if id == u16::MAX { 1 } else { id + 1 };
        id
    }

    /// One exchange: the client publishes (QoS by turn), the broker sometimes delivers.
    fn exchange<W: Write>(&mut self, w: &mut Writer<W>, n: u32) -> std::io::Result<()> {
        let k = self.exchanges;
        self.exchanges += 1;
        let qos = [0u8, 1, 1, 0, 2, 1][(k % 6) as usize];
        let id = self.id();
        let topic = format!("site/{}/sensor/{n}/temp", n % 50);
        let len = 700 + ((n + k) % 5) as usize * 80;
        self.c2s(w, PSH_ACK, &publish(qos, id, &topic, len, n))?;
        let [hi, lo] = id.to_be_bytes();
        match qos {
            1 => self.s2c(w, PSH_ACK, &[0x40, 2, hi, lo])?,
            2 => {
                self.s2c(w, PSH_ACK, &[0x50, 2, hi, lo])?;
                self.c2s(w, PSH_ACK, &[0x62, 2, hi, lo])?;
                self.s2c(w, PSH_ACK, &[0x70, 2, hi, lo])?;
            }
            _ => self.s2c(w, ACK, &[])?,
        }
        if k.is_multiple_of(4) {
            // A command from the broker at QoS 1.
            let bid = self.broker_id;
            self.broker_id = self.broker_id.wrapping_add(1).max(1);
            self.s2c(
                w,
                PSH_ACK,
                &publish(1, bid, &format!("cmd/{n}/set"), 400, n),
            )?;
            let [hi, lo] = bid.to_be_bytes();
            self.c2s(w, PSH_ACK, &[0x40, 2, hi, lo])?;
        }
        if k % 30 == 29 {
            self.c2s(w, PSH_ACK, &[0xc0, 0])?;
            self.s2c(w, PSH_ACK, &[0xd0, 0])?;
        }
        Ok(())
    }

    fn close<W: Write>(&mut self, w: &mut Writer<W>) -> std::io::Result<()> {
        self.c2s(w, PSH_ACK, &[0xe0, 0])?;
        self.c2s(w, FIN_ACK, &[])?;
        self.c_seq = self.c_seq.wrapping_add(1);
        self.s2c(w, FIN_ACK, &[])?;
        self.s_seq = self.s_seq.wrapping_add(1);
        self.c2s(w, ACK, &[])
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [output, megabytes] = args.as_slice() else {
        eprintln!("usage: bench_capture OUTPUT.pcap MEGABYTES");
        std::process::exit(2);
    };
    let target: u64 = megabytes.parse::<u64>()? * 1_000_000;
    let file = std::fs::File::create(output)?;
    let mut w = Writer {
        out: BufWriter::with_capacity(1 << 20, file),
        bytes: 24,
        frames: 0,
        us: 0,
    };
    w.out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    w.out.write_all(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0])?;
    w.out.write_all(&65_535u32.to_le_bytes())?;
    w.out.write_all(&1u32.to_le_bytes())?;
    let mut next = 0u32;
    let mut open: Vec<(u32, Conn)> = Vec::new();
    while w.bytes < target {
        while open.len() < CONCURRENT as usize {
            let mut c = Conn::new(next);
            c.open(&mut w, next)?;
            open.push((next, c));
            next += 1;
        }
        let mut i = 0;
        while i < open.len() && w.bytes < target {
            let (n, c) = &mut open[i];
            c.exchange(&mut w, *n)?;
            if c.exchanges >= EXCHANGES_PER_CONNECTION {
                c.close(&mut w)?;
                open.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
    for (_, c) in open.iter_mut() {
        c.close(&mut w)?;
    }
    w.out.flush()?;
    eprintln!(
        "{output}: {} frames, {} bytes, {} connections",
        w.frames, w.bytes, next
    );
    Ok(())
}
