//! Writes a pcap of a scripted TCP conversation (Ethernet / IPv4), for tests
//! that need one exact exchange of MQTT bytes: the handshake, each side's
//! data with correct sequence and acknowledgement numbers, and the FINs.
#![allow(dead_code)]

use etherparse::PacketBuilder;

/// A conversation between one client and a broker on port 1883.
pub struct Conversation {
    frames: Vec<(u64, Vec<u8>)>,
    /// Microseconds since the start of the capture.
    now_us: u64,
    client_port: u16,
    client_seq: u32,
    server_seq: u32,
}

const CLIENT: [u8; 4] = [10, 9, 0, 2];
const SERVER: [u8; 4] = [10, 9, 0, 1];
const START_SECS: u64 = 1_800_000_000;

impl Conversation {
    /// Starts with the three-way handshake, 100 µs apart.
    pub fn new(client_port: u16) -> Self {
        let mut c = Conversation {
            frames: Vec::new(),
            now_us: 0,
            client_port,
            client_seq: 1000,
            server_seq: 5000,
        };
        c.segment(
            true,
            |b, cs, _| b.tcp(client_port, 1883, cs, 64000).syn(),
            &[],
        );
        c.client_seq += 1;
        c.wait_us(100);
        c.segment(
            false,
            |b, cs, ss| b.tcp(1883, client_port, ss, 64000).syn().ack(cs),
            &[],
        );
        c.server_seq += 1;
        c.wait_us(100);
        c.segment(
            true,
            |b, cs, ss| b.tcp(client_port, 1883, cs, 64000).ack(ss),
            &[],
        );
        c
    }

    /// Lets time pass.
    pub fn wait_us(&mut self, us: u64) -> &mut Self {
        self.now_us += us;
        self
    }

    /// The client sends these bytes in one segment.
    pub fn client(&mut self, bytes: &[u8]) -> &mut Self {
        let port = self.client_port;
        self.segment(
            true,
            |b, cs, ss| b.tcp(port, 1883, cs, 64000).ack(ss).psh(),
            bytes,
        );
        self.client_seq = self.client_seq.wrapping_add(bytes.len() as u32);
        self
    }

    /// The broker sends these bytes in one segment.
    pub fn server(&mut self, bytes: &[u8]) -> &mut Self {
        let port = self.client_port;
        self.segment(
            false,
            |b, cs, ss| b.tcp(1883, port, ss, 64000).ack(cs).psh(),
            bytes,
        );
        self.server_seq = self.server_seq.wrapping_add(bytes.len() as u32);
        self
    }

    /// Both sides close with FIN.
    pub fn close(&mut self) -> &mut Self {
        let port = self.client_port;
        self.segment(
            true,
            |b, cs, ss| b.tcp(port, 1883, cs, 64000).ack(ss).fin(),
            &[],
        );
        self.client_seq += 1;
        self.wait_us(50);
        self.segment(
            false,
            |b, cs, ss| b.tcp(1883, port, ss, 64000).ack(cs).fin(),
            &[],
        );
        self.server_seq += 1;
        self.wait_us(50);
        self.segment(true, |b, cs, ss| b.tcp(port, 1883, cs, 64000).ack(ss), &[]);
        self
    }

    fn segment(
        &mut self,
        from_client: bool,
        tcp: impl FnOnce(
            etherparse::PacketBuilderStep<etherparse::IpHeaders>,
            u32,
            u32,
        ) -> etherparse::PacketBuilderStep<etherparse::TcpHeader>,
        payload: &[u8],
    ) {
        let (src, dst) = if from_client {
            (CLIENT, SERVER)
        } else {
            (SERVER, CLIENT)
        };
        let ip =
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv4(src, dst, 64);
        let b = tcp(ip, self.client_seq, self.server_seq);
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("frame");
        self.frames.push((self.now_us, out));
    }

    /// Number of frames so far (the last frame's Wireshark number).
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// The capture as pcap bytes (microsecond, little endian, Ethernet).
    pub fn pcap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (us, data) in &self.frames {
            let secs = START_SECS + us / 1_000_000;
            out.extend_from_slice(&(secs as u32).to_le_bytes());
            out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    /// Writes the capture to a temporary file that lives as long as the handle.
    pub fn write(&self) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::Builder::new()
            .suffix(".pcap")
            .tempfile()
            .expect("temp file");
        f.write_all(&self.pcap()).expect("write");
        f
    }
}

/// MQTT bytes built by hand for tests (fixed header + body; lengths < 128).
pub mod mqtt {
    fn packet(first: u8, body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 128, "short packets only");
        let mut v = vec![first, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = (s.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// MQTT 3.1.1 CONNECT, clean session, with optional username and password.
    pub fn connect(
        client_id: &str,
        keepalive: u16,
        user: Option<&str>,
        password: Option<&str>,
    ) -> Vec<u8> {
        let mut flags = 0x02;
        if user.is_some() {
            flags |= 0x80;
        }
        if password.is_some() {
            flags |= 0x40;
        }
        let mut body = string("MQTT");
        body.push(4);
        body.push(flags);
        body.extend_from_slice(&keepalive.to_be_bytes());
        body.extend(string(client_id));
        if let Some(u) = user {
            body.extend(string(u));
        }
        if let Some(p) = password {
            body.extend(string(p));
        }
        packet(0x10, &body)
    }

    pub fn connack() -> Vec<u8> {
        packet(0x20, &[0, 0])
    }

    /// PUBLISH with the given flags' QoS / DUP / retain.
    pub fn publish(topic: &str, qos: u8, dup: bool, id: Option<u16>, payload: &[u8]) -> Vec<u8> {
        let mut body = string(topic);
        if let Some(id) = id {
            body.extend_from_slice(&id.to_be_bytes());
        }
        body.extend_from_slice(payload);
        packet(0x30 | (u8::from(dup) << 3) | (qos << 1), &body)
    }

    pub fn puback(id: u16) -> Vec<u8> {
        packet(0x40, &id.to_be_bytes())
    }
    pub fn pubrec(id: u16) -> Vec<u8> {
        packet(0x50, &id.to_be_bytes())
    }
    pub fn pubrel(id: u16) -> Vec<u8> {
        packet(0x62, &id.to_be_bytes())
    }
    pub fn pubcomp(id: u16) -> Vec<u8> {
        packet(0x70, &id.to_be_bytes())
    }
    pub fn pingreq() -> Vec<u8> {
        vec![0xc0, 0]
    }
    pub fn pingresp() -> Vec<u8> {
        vec![0xd0, 0]
    }
    pub fn disconnect() -> Vec<u8> {
        vec![0xe0, 0]
    }
}
