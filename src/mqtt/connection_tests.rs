//! Framing, resynchronisation, version inference and topic aliases, driven
//! through [`MqttConnection`] with hand-written byte streams.

use super::*;
use crate::mqtt::types::Publish;
use xxhash_rust::xxh3::xxh3_64;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// An owned record of an event, for assertions.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Packet {
        dir: Direction,
        frame: u64,
        start: u64,
        summary: String,
        rules: Vec<&'static str>,
        version: ProtocolVersion,
    },
    Malformed {
        frame: u64,
        text: String,
    },
    Oversized {
        packet_type: PacketType,
        length: u32,
    },
    Gap {
        missing: u64,
        lost: Option<PacketType>,
        resync: bool,
    },
    Resync {
        skipped: u64,
        cause: ResyncCause,
        resumed: bool,
    },
    Truncated {
        packet_type: Option<PacketType>,
        length: Option<u32>,
        received: u64,
    },
}

fn record(ev: MqttEvent<'_>) -> Ev {
    match ev {
        MqttEvent::Packet(p) => Ev::Packet {
            dir: p.dir,
            frame: p.frame,
            start: p.start_frame,
            summary: p.packet.summary(),
            rules: p.violations.iter().map(|v| v.rule.as_str()).collect(),
            version: p.version,
        },
        MqttEvent::Malformed(m) => Ev::Malformed {
            frame: m.frame,
            text: m.error.to_string(),
        },
        MqttEvent::Oversized(o) => Ev::Oversized {
            packet_type: o.packet_type,
            length: o.length,
        },
        MqttEvent::Gap(g) => Ev::Gap {
            missing: g.missing,
            lost: g.lost,
            resync: g.resync,
        },
        MqttEvent::Resync(r) => Ev::Resync {
            skipped: r.skipped,
            cause: r.cause,
            resumed: r.resumed,
        },
        MqttEvent::Truncated(t) => Ev::Truncated {
            packet_type: t.packet_type,
            length: t.length,
            received: t.received,
        },
    }
}

struct Rig {
    conn: MqttConnection,
    events: Vec<Ev>,
}

impl Rig {
    fn new() -> Self {
        Rig {
            conn: MqttConnection::new(&MqttConfig::default()),
            events: Vec::new(),
        }
    }

    fn with(conn: MqttConnection) -> Self {
        Rig {
            conn,
            events: Vec::new(),
        }
    }

    fn data(&mut self, dir: Direction, frame: u64, bytes: &[u8]) {
        let events = &mut self.events;
        self.conn
            .on_data(dir, frame, Timestamp::default(), bytes, &mut |e| {
                events.push(record(e))
            });
    }

    fn gap(&mut self, dir: Direction, frame: u64, missing: u64) {
        let events = &mut self.events;
        self.conn
            .on_gap(dir, frame, Timestamp::default(), missing, &mut |e| {
                events.push(record(e))
            });
    }

    fn close(&mut self, frame: u64) {
        let events = &mut self.events;
        self.conn
            .on_close(frame, Timestamp::default(), &mut |e| events.push(record(e)));
    }

    fn summaries(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| {
                if let Ev::Packet { summary, .. } = e {
                    Some(summary.clone())
                } else {
                    None
                }
            })
            .collect()
    }
}

fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
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
    out.extend_from_slice(body);
    out
}

fn s(text: &str) -> Vec<u8> {
    let mut v = (text.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(text.as_bytes());
    v
}

fn connect(level: u8) -> Vec<u8> {
    let name = if level == 3 { "MQIsdp" } else { "MQTT" };
    let mut body = [s(name), vec![level, 0x02, 0, 30]].concat();
    if level == 5 {
        body.push(0);
    }
    body.extend(s("dev"));
    pkt(0x10, &body)
}

/// PUBLISH 3.1.1, QoS 1.
fn publish311(id: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
    pkt(
        0x32,
        &[s(topic), id.to_be_bytes().to_vec(), payload.to_vec()].concat(),
    )
}

/// PUBLISH 5.0, QoS 0, with a property block.
fn publish5(topic: &str, props: &[u8], payload: &[u8]) -> Vec<u8> {
    pkt(
        0x30,
        &[
            s(topic),
            vec![props.len() as u8],
            props.to_vec(),
            payload.to_vec(),
        ]
        .concat(),
    )
}

/// A 3.1.1 stream: CONNECT, two PUBLISHes, PINGREQ, DISCONNECT.
fn stream311() -> Vec<u8> {
    [
        connect(4),
        publish311(1, "a/b", b"one"),
        publish311(2, "c", b"two-two"),
        vec![0xc0, 0x00],
        vec![0xe0, 0x00],
    ]
    .concat()
}

const STREAM311: [&str; 5] = [
    "CONNECT v3.1.1 \"dev\" ka=30 clean",
    "PUBLISH q1 id=1 \"a/b\" 3B",
    "PUBLISH q1 id=2 \"c\" 7B",
    "PINGREQ",
    "DISCONNECT",
];

#[test]
fn many_packets_in_one_slice() {
    let mut rig = Rig::new();
    rig.data(C2S, 7, &stream311());
    assert_eq!(rig.summaries(), STREAM311);
    assert!(rig.events.iter().all(|e| matches!(
        e,
        Ev::Packet {
            frame: 7,
            start: 7,
            ..
        }
    )));
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V311));
    assert!(!rig.conn.version_inferred());
}

#[test]
fn every_split_point_and_byte_by_byte() {
    let bytes = stream311();
    for cut in 0..=bytes.len() {
        let mut rig = Rig::new();
        rig.data(C2S, 1, &bytes[..cut]);
        rig.data(C2S, 2, &bytes[cut..]);
        assert_eq!(rig.summaries(), STREAM311, "cut at {cut}");
    }
    let mut rig = Rig::new();
    for (n, b) in bytes.iter().enumerate() {
        rig.data(C2S, n as u64 + 1, std::slice::from_ref(b));
    }
    assert_eq!(rig.summaries(), STREAM311);
    // Each packet belongs to the frame of its last byte and starts at its first.
    let mut end = 0;
    let lens = [connect(4).len(), 12, 14, 2, 2].map(|n| n as u64);
    for (e, len) in rig.events.iter().zip(lens) {
        let Ev::Packet { frame, start, .. } = e else {
            panic!()
        };
        assert_eq!((*start, *frame), (end + 1, end + len));
        end += len;
    }
}

#[test]
fn remaining_length_cut_between_segments() {
    // A PUBLISH of 200 bytes has a 2-byte remaining length (0xc8 0x01).
    let p = publish311(3, "t", &[b'x'; 195]);
    assert_eq!(&p[..3], &[0x32, 0xc8, 0x01]);
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &p[..2]);
    rig.data(C2S, 3, &p[2..]);
    assert_eq!(rig.summaries()[1], "PUBLISH q1 id=3 \"t\" 195B");
}

#[test]
fn whole_packets_borrow_from_the_input() {
    let bytes = stream311();
    let mut conn = MqttConnection::new(&MqttConfig::default());
    let range = bytes.as_ptr_range();
    let mut topics_in_input = 0;
    conn.on_data(C2S, 1, Timestamp::default(), &bytes, &mut |e| {
        if let MqttEvent::Packet(p) = e
            && let Packet::Publish(pb) = p.packet
        {
            assert!(range.contains(&pb.topic.as_ptr()), "topic was copied");
            assert!(
                range.contains(&pb.payload_preview.as_ptr()),
                "payload was copied"
            );
            topics_in_input += 1;
        }
    });
    assert_eq!(topics_in_input, 2);
}

/// Payload bytes that are not all alike, so that a hash over the wrong bytes shows.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn publish_of(rig: &Rig) -> Vec<String> {
    rig.summaries()
        .into_iter()
        .filter(|s| s.starts_with("PUBLISH"))
        .collect()
}

#[test]
fn large_publish_is_streamed_not_buffered() {
    let body = payload(3_000_000);
    let p = publish311(9, "big/one", &body);
    let mut conn = MqttConnection::new(&MqttConfig::default());
    let mut seen: Vec<(u64, u32, u64, Vec<u8>)> = Vec::new();
    let mut max_buffered = 0;
    let mut late_buffered = 0;
    conn.on_data(C2S, 1, Timestamp::default(), &connect(4), &mut |_| {});
    for (n, chunk) in p.chunks(1460).enumerate() {
        conn.on_data(C2S, n as u64 + 2, Timestamp::default(), chunk, &mut |e| {
            if let MqttEvent::Packet(ev) = e
                && let Packet::Publish(pb) = ev.packet
            {
                seen.push((
                    ev.frame,
                    pb.payload_len,
                    pb.payload_hash(),
                    pb.payload_preview.to_vec(),
                ));
            }
        });
        max_buffered = max_buffered.max(conn.buffered_bytes());
        if n > 100 {
            late_buffered = late_buffered.max(conn.buffered_bytes());
        }
    }
    let chunks = p.len().div_ceil(1460) as u64;
    assert_eq!(seen.len(), 1);
    let (frame, len, hash, preview) = &seen[0];
    assert_eq!(*frame, chunks + 1, "emitted at the frame that completed it");
    assert_eq!(*len, 3_000_000);
    assert_eq!(*hash, xxh3_64(&body));
    assert_eq!(preview.as_slice(), &body[..64]);
    // The first 64 KiB are kept while the peer may still disprove the
    // length (a Vec may reserve up to twice what it holds); past them only
    // the prefix is.
    assert!(
        max_buffered <= 2 * 64 * 1024,
        "buffered {max_buffered} bytes"
    );
    assert!(late_buffered < 4096, "buffered {late_buffered} bytes");
}

/// Streams `bytes` on `dir` in 1000-byte pieces; returns (hash, topic, version) of PUBLISHes.
fn stream_publish(
    rig: &mut Rig,
    dir: Direction,
    bytes: &[u8],
) -> Vec<(u64, String, ProtocolVersion)> {
    let mut seen = Vec::new();
    for chunk in bytes.chunks(1000) {
        rig.conn
            .on_data(dir, 1, Timestamp::default(), chunk, &mut |e| {
                if let MqttEvent::Packet(ev) = e
                    && let Packet::Publish(pb) = ev.packet
                {
                    seen.push((pb.payload_hash(), pb.topic_name().to_string(), ev.version));
                }
            });
    }
    seen
}

#[test]
fn large_publish_with_unknown_version_keeps_both_hashes() {
    // Mid-stream, no CONNECT: this 5.0 PUBLISH (properties: Topic Alias 1)
    // also reads as a valid 3.1.1 PUBLISH whose payload starts with the
    // property bytes. Without evidence the 3.1.1 reading is reported ...
    let body = payload(100_000);
    let p = publish5("v5/topic", &[0x23, 0, 1], &body);
    let mut rig = Rig::with(MqttConnection::new_mid_stream(&MqttConfig::default()));
    let as311 = [&[3u8, 0x23, 0, 1][..], &body].concat();
    assert_eq!(
        stream_publish(&mut rig, C2S, &p),
        vec![(xxh3_64(&as311), "v5/topic".into(), ProtocolVersion::V311)]
    );
    // ... once a reason code shows 5.0, the same bytes read as 5.0, with
    // the hash of the real payload, although the framer still streams both.
    rig.data(S2C, 2, &[0x40, 0x03, 0x00, 0x01, 0x10]);
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V5));
    assert!(rig.conn.version_inferred());
    assert_eq!(
        stream_publish(&mut rig, C2S, &p),
        vec![(xxh3_64(&body), "v5/topic".into(), ProtocolVersion::V5)]
    );
}

#[test]
fn gap_inside_a_streamed_payload_completes_the_packet() {
    let body = payload(10_000);
    let p = publish311(4, "g", &body);
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &p[..3000]);
    rig.gap(C2S, 3, 2000);
    rig.data(C2S, 4, &p[5000..]);
    rig.data(C2S, 5, &[0xc0, 0x00]);
    assert_eq!(
        rig.events[1],
        Ev::Gap {
            missing: 2000,
            lost: None,
            resync: false
        }
    );
    assert_eq!(
        publish_of(&rig),
        vec!["PUBLISH q1 id=4 \"g\" 10000B (2000 bytes not captured)"]
    );
    assert!(matches!(&rig.events[2], Ev::Packet { frame: 4, .. }));
    assert_eq!(rig.summaries().last().unwrap(), "PINGREQ");
}

#[test]
fn gap_reaching_the_end_of_a_streamed_payload() {
    let p = publish311(4, "g", &payload(10_000));
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &p[..3000]);
    // Exactly to the end of the PUBLISH: the next packet starts right after.
    rig.gap(C2S, 3, (p.len() - 3000) as u64);
    rig.data(C2S, 4, &[0xc0, 0x00]);
    assert_eq!(
        rig.summaries()[1..],
        [
            "PUBLISH q1 id=4 \"g\" 10000B (7008 bytes not captured)",
            "PINGREQ"
        ]
    );
    // Beyond the end: the PUBLISH completes, then decoding resynchronises.
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &p[..3000]);
    rig.gap(C2S, 3, (p.len() - 3000 + 50) as u64);
    rig.data(
        C2S,
        4,
        &[&[0x41u8; 30][..], &publish311(5, "after", b"x")].concat(),
    );
    let s = rig.summaries();
    assert_eq!(s.len(), 3, "{:?}", rig.events);
    assert_eq!(s[2], "PUBLISH q1 id=5 \"after\" 1B");
    assert!(rig.events.contains(&Ev::Gap {
        missing: 7058,
        lost: None,
        resync: true
    }));
    assert!(rig.events.contains(&Ev::Resync {
        skipped: 30,
        cause: ResyncCause::Gap,
        resumed: true
    }));
}

#[test]
fn gap_in_a_small_packet_loses_it_but_keeps_framing() {
    // SUBSCRIBE of 14 bytes; 5 bytes arrive, 4 are missing, the rest arrives.
    let sub = pkt(0x82, &[vec![0, 1], s("a/b/c/d"), vec![1]].concat());
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &sub[..5]);
    rig.gap(C2S, 3, 4);
    rig.data(C2S, 4, &[&sub[9..], &[0xc0, 0x00][..]].concat());
    assert_eq!(
        rig.events[1],
        Ev::Gap {
            missing: 4,
            lost: Some(PacketType::Subscribe),
            resync: false
        }
    );
    assert_eq!(
        rig.summaries(),
        vec!["CONNECT v3.1.1 \"dev\" ka=30 clean", "PINGREQ"]
    );
    assert_eq!(rig.events.len(), 3, "no resync needed: {:?}", rig.events);
}

#[test]
fn gap_at_a_boundary_resyncs() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.gap(C2S, 2, 100);
    // The capture resumes inside some packet: 6 bytes of its tail, then packets.
    rig.data(
        C2S,
        3,
        &[&b"ZZZZZZ"[..], &publish311(7, "x", b"1"), &[0xc0, 0x00]].concat(),
    );
    assert_eq!(
        rig.events[1],
        Ev::Gap {
            missing: 100,
            lost: None,
            resync: true
        }
    );
    assert_eq!(
        rig.events[2],
        Ev::Resync {
            skipped: 6,
            cause: ResyncCause::Gap,
            resumed: true
        }
    );
    assert_eq!(
        rig.summaries()[1..],
        ["PUBLISH q1 id=7 \"x\" 1B", "PINGREQ"]
    );
}

#[test]
fn gap_in_the_middle_of_a_packet_header() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &[0x32]);
    rig.gap(C2S, 3, 10);
    rig.data(
        C2S,
        4,
        &[&[0x01, 0x02][..], &publish311(8, "y", b"")].concat(),
    );
    assert_eq!(
        rig.events[1],
        Ev::Gap {
            missing: 10,
            lost: Some(PacketType::Publish),
            resync: true
        }
    );
    assert_eq!(rig.summaries()[1..], ["PUBLISH q1 id=8 \"y\" 0B"]);
}

#[test]
fn garbage_between_packets() {
    let mut rig = Rig::new();
    let garbage = [0x00u8, 0xff, 0x13, 0x37, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef];
    rig.data(
        C2S,
        1,
        &[
            connect(4),
            publish311(1, "a", b"1"),
            garbage.to_vec(),
            publish311(2, "b", b"2"),
        ]
        .concat(),
    );
    rig.data(C2S, 2, &[0xc0, 0x00]);
    assert_eq!(
        rig.summaries()[1..],
        [
            "PUBLISH q1 id=1 \"a\" 1B",
            "PUBLISH q1 id=2 \"b\" 1B",
            "PINGREQ"
        ]
    );
    assert_eq!(
        rig.events[2],
        Ev::Malformed {
            frame: 1,
            text: "packet type 0 is reserved (at offset 0)".into()
        }
    );
    assert_eq!(
        rig.events[3],
        Ev::Resync {
            skipped: 9,
            cause: ResyncCause::Malformed,
            resumed: true
        }
    );
}

#[test]
fn five_byte_remaining_length_then_valid_packets() {
    let mut rig = Rig::new();
    let bad = [0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00];
    rig.data(
        C2S,
        1,
        &[connect(4), bad.to_vec(), publish311(3, "c", b"ok")].concat(),
    );
    assert!(
        matches!(&rig.events[1], Ev::Malformed { text, .. } if text.starts_with("remaining length uses 5 bytes"))
    );
    assert_eq!(rig.summaries()[1..], ["PUBLISH q1 id=3 \"c\" 2B"]);
    // Split inside the bad length field as well.
    let mut rig = Rig::new();
    rig.data(C2S, 1, &[connect(4), bad[..3].to_vec()].concat());
    rig.data(
        C2S,
        2,
        &[bad[3..].to_vec(), publish311(3, "c", b"ok")].concat(),
    );
    assert_eq!(rig.summaries()[1..], ["PUBLISH q1 id=3 \"c\" 2B"]);
}

#[test]
fn malformed_body_then_next_packet() {
    // PUBLISH whose topic is not UTF-8; its length is known, so the next
    // packet is found right after it without a resync event.
    let mut rig = Rig::new();
    let bad = pkt(0x30, &[0x00, 0x02, 0xc3, 0x28, b'p']);
    rig.data(C2S, 1, &[connect(4), bad, publish311(4, "d", b"")].concat());
    assert_eq!(
        rig.events[1],
        Ev::Malformed {
            frame: 1,
            text: "topic not valid UTF-8 (at offset 2 of 7)".into()
        }
    );
    assert_eq!(rig.summaries()[1..], ["PUBLISH q1 id=4 \"d\" 0B"]);
    assert_eq!(rig.events.len(), 3);
}

#[test]
fn mid_stream_start_skips_to_the_first_boundary() {
    let mut rig = Rig::with(MqttConnection::new_mid_stream(&MqttConfig::default()));
    let tail_of_something = [0x61, 0x62, 0x63, 0xff, 0x10];
    rig.data(
        C2S,
        1,
        &[
            &tail_of_something[..],
            &publish311(5, "m", b"hello"),
            &[0xc0, 0x00],
        ]
        .concat(),
    );
    assert_eq!(
        rig.events[0],
        Ev::Resync {
            skipped: 5,
            cause: ResyncCause::MidStream,
            resumed: true
        }
    );
    assert_eq!(rig.summaries(), ["PUBLISH q1 id=5 \"m\" 5B", "PINGREQ"]);
}

/// An event as (kind, frame, start frame, timestamp), for the frame rules.
fn placed(ev: &MqttEvent<'_>) -> (&'static str, u64, u64, Timestamp) {
    match ev {
        MqttEvent::Packet(p) => ("packet", p.frame, p.start_frame, p.ts),
        MqttEvent::Malformed(m) => ("malformed", m.frame, m.start_frame, m.ts),
        MqttEvent::Oversized(o) => ("oversized", o.frame, o.start_frame, o.ts),
        MqttEvent::Gap(g) => ("gap", g.frame, g.frame, g.ts),
        MqttEvent::Resync(r) => ("resync", r.frame, r.frame, r.ts),
        MqttEvent::Truncated(t) => ("truncated", t.frame, t.start_frame, t.ts),
    }
}

/// A distinct timestamp per frame.
fn at(n: u64) -> Timestamp {
    Timestamp::new(1_600_000_000 + n as i64, 250_000, 6)
}

#[test]
fn scan_window_bytes_keep_their_frame_and_timestamp() {
    // Picked up mid-stream: a stray byte, then a PUBLISH whose payload ends
    // in frame 2, followed by a PINGREQ. The boundary (frame 1) is only
    // confirmed when frame 2 arrives: the resync names frame 1, where
    // decoding resumed, and each packet the frame that completed it, with
    // that frame's timestamp.
    let mut conn = MqttConnection::new_mid_stream(&MqttConfig::default());
    let publish = pkt(0x30, &[0x00, 0x01, b'a', b'h', b'i']);
    let mut seen = Vec::new();
    let mut out = |ev: MqttEvent<'_>| seen.push(placed(&ev));
    let first = [&[0xff][..], &publish[..5]].concat();
    conn.on_data(C2S, 1, at(1), &first, &mut out);
    let second = [&publish[5..], &[0xc0, 0x00][..]].concat();
    conn.on_data(C2S, 2, at(2), &second, &mut out);
    conn.on_close(3, at(3), &mut out);
    assert_eq!(
        seen,
        [
            ("resync", 1, 1, at(1)),
            ("packet", 2, 1, at(2)),
            ("packet", 2, 2, at(2)),
        ]
    );
}

#[test]
fn packets_found_again_are_not_reported_before_what_came_first() {
    // A SUBSCRIBE (frames 1-3) whose filter length runs past its end: only
    // when it is complete (frame 3) is it malformed with a length not to
    // be trusted, and its bytes are scanned again. The PINGREQ and
    // DISCONNECT inside them came in frame 2 but are reported after the
    // malformed SUBSCRIBE, so at frame 3 with frame 3's timestamp (their
    // start frame stays 2), and so is the resync before them.
    let mut conn = MqttConnection::new(&MqttConfig::default());
    let mut seen = Vec::new();
    let mut out = |ev: MqttEvent<'_>| seen.push(placed(&ev));
    conn.on_data(C2S, 1, at(1), &[0x82, 0x0a, 0x00], &mut out);
    let second = [0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00];
    conn.on_data(C2S, 2, at(2), &second, &mut out);
    conn.on_data(C2S, 3, at(3), &[0x00, 0x00], &mut out);
    conn.on_data(C2S, 4, at(4), &[0xc0, 0x00], &mut out);
    assert_eq!(
        seen,
        [
            ("malformed", 3, 1, at(3)),
            ("resync", 3, 3, at(3)),
            ("packet", 3, 2, at(3)),
            ("packet", 3, 2, at(3)),
            // The SUBSCRIBE's last two bytes, then the next clean packet.
            ("malformed", 3, 3, at(3)),
            ("resync", 4, 4, at(4)),
            ("packet", 4, 4, at(4)),
        ]
    );
}

#[test]
fn bytes_taken_back_are_scanned_before_the_next_slice() {
    // The same SUBSCRIBE, then a gap: the packets inside its claimed length
    // are found as soon as it is complete, not lost with the scan window
    // when the gap comes.
    let mut rig = Rig::new();
    rig.data(C2S, 1, &[0x82, 0x0a, 0x00]);
    rig.data(C2S, 2, &[0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00]);
    rig.data(C2S, 3, &[0x00, 0x00]);
    assert_eq!(
        rig.summaries(),
        ["PINGREQ", "DISCONNECT"],
        "{:?}",
        rig.events
    );
    rig.gap(C2S, 4, 10);
    assert_eq!(
        rig.summaries(),
        ["PINGREQ", "DISCONNECT"],
        "{:?}",
        rig.events
    );
    assert!(
        matches!(rig.events.last(), Some(Ev::Gap { missing: 10, .. })),
        "{:?}",
        rig.events
    );
}

#[test]
fn scan_window_is_concluded_by_a_gap() {
    // Picked up mid-stream: a CONNACK header claiming 32 bytes, then a
    // DISCONNECT, all in frame 1. The CONNACK waits for its bytes; a gap
    // means they will not come, so the DISCONNECT is found (at frame 1),
    // as it would be at the end of the stream.
    let mut conn = MqttConnection::new_mid_stream(&MqttConfig::default());
    let mut seen = Vec::new();
    conn.on_data(S2C, 1, at(1), &[0x20, 0x20, 0xe0, 0x00], &mut |ev| {
        seen.push(placed(&ev))
    });
    assert!(seen.is_empty(), "{seen:?}");
    conn.on_gap(S2C, 2, at(2), 100, &mut |ev| seen.push(placed(&ev)));
    assert_eq!(
        seen,
        [
            ("resync", 1, 1, at(1)),
            ("packet", 1, 1, at(1)),
            ("gap", 2, 2, at(2)),
        ]
    );
}

#[test]
fn malformed_header_names_the_frame_it_started_in() {
    // A fixed header begun in frame 1 whose remaining length turns out to
    // use 5 bytes in frame 2.
    let mut conn = MqttConnection::new(&MqttConfig::default());
    let mut seen = Vec::new();
    let mut out = |ev: MqttEvent<'_>| seen.push(placed(&ev));
    conn.on_data(C2S, 1, at(1), &[0x30, 0xff], &mut out);
    conn.on_data(C2S, 2, at(2), &[0xff, 0xff, 0xff, 0x01], &mut out);
    assert_eq!(seen.first(), Some(&("malformed", 2, 1, at(2))), "{seen:?}");
}

#[test]
fn truncated_at_close() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &publish311(6, "t", b"abcdef")[..5]);
    rig.data(S2C, 3, &[0x20]);
    rig.close(4);
    assert_eq!(
        rig.events[1..],
        [
            Ev::Truncated {
                packet_type: Some(PacketType::Publish),
                length: Some(11),
                received: 5
            },
            Ev::Truncated {
                packet_type: Some(PacketType::Connack),
                length: None,
                received: 1
            },
        ]
    );
}

#[test]
fn oversized_packet_is_skipped_by_length() {
    let cfg = MqttConfig {
        payload_preview: 64,
        max_packet_buffer: 100,
    };
    let mut rig = Rig::with(MqttConnection::new(&cfg));
    let sub = pkt(0x82, &[vec![0, 1], s(&"x".repeat(200)), vec![0]].concat());
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &sub[..50]);
    rig.data(C2S, 3, &[&sub[50..], &[0xc0, 0x00][..]].concat());
    assert_eq!(
        rig.events[1],
        Ev::Oversized {
            packet_type: PacketType::Subscribe,
            length: 205
        }
    );
    assert_eq!(rig.summaries()[1..], ["PINGREQ"]);
    // The same packet inside one slice needs no buffer and is decoded.
    let mut rig = Rig::with(MqttConnection::new(&cfg));
    rig.data(C2S, 1, &[connect(4), sub].concat());
    assert_eq!(rig.summaries().len(), 2);
}

#[test]
fn connect_version_governs_both_directions() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(5));
    // PUBACK with reason code 0x10 and no properties.
    rig.data(S2C, 2, &[0x40, 0x03, 0x00, 0x01, 0x10]);
    assert_eq!(
        rig.summaries()[1],
        "PUBACK id=1 rc=0x10 No matching subscribers"
    );
    assert!(
        matches!(&rig.events[1], Ev::Packet { rules, version: ProtocolVersion::V5, .. } if rules.is_empty())
    );
    // A 3.1 CONNECT: SUBSCRIBE with DUP is fine.
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(3));
    rig.data(C2S, 2, &pkt(0x8a, &[vec![0, 1], s("a"), vec![0]].concat()));
    assert!(
        matches!(&rig.events[1], Ev::Packet { rules, version: ProtocolVersion::V31, .. } if rules.is_empty())
    );
}

#[test]
fn infers_5_from_a_reason_code() {
    let mut rig = Rig::with(MqttConnection::new_mid_stream(&MqttConfig::default()));
    // PINGRESP says nothing about the version.
    rig.data(S2C, 1, &[0xd0, 0x00]);
    assert_eq!(rig.conn.version(), None);
    rig.data(S2C, 2, &[0x40, 0x03, 0x00, 0x01, 0x10]);
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V5));
    assert!(rig.conn.version_inferred());
    assert_eq!(
        rig.summaries()[1],
        "PUBACK id=1 rc=0x10 No matching subscribers"
    );
    // The other direction now decodes PUBLISH properties.
    rig.data(C2S, 3, &publish5("p", &[0x01, 0x01], b"text"));
    assert!(
        matches!(&rig.events.last().unwrap(), Ev::Packet { rules, version: ProtocolVersion::V5, .. } if rules.is_empty())
    );
}

#[test]
fn infers_311_from_a_publish() {
    let mut rig = Rig::with(MqttConnection::new_mid_stream(&MqttConfig::default()));
    // As 5.0, "hello" would start with a property length of 'h' = 104 bytes.
    rig.data(C2S, 1, &publish311(1, "t", b"hello"));
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V311));
    assert!(rig.conn.version_inferred());
    // A later CONNECT replaces the guess.
    rig.data(C2S, 2, &connect(5));
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V5));
    assert!(!rig.conn.version_inferred());
}

#[test]
fn inference_needs_more_evidence_to_change_its_mind() {
    let mut rig = Rig::with(MqttConnection::new_mid_stream(&MqttConfig::default()));
    rig.data(C2S, 1, &publish311(1, "t", b"hello"));
    rig.data(C2S, 2, &publish311(2, "t", b"world"));
    // One 5.0-looking ack against two 3.1.1 PUBLISHes: stays 3.1.1.
    rig.data(S2C, 3, &[0x40, 0x03, 0x00, 0x01, 0x10]);
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V311));
    rig.data(S2C, 4, &[0x40, 0x03, 0x00, 0x02, 0x10]);
    rig.data(S2C, 5, &[0x40, 0x03, 0x00, 0x03, 0x10]);
    assert_eq!(rig.conn.version(), Some(ProtocolVersion::V5));
}

/// CONNECT 5.0 announcing Topic Alias Maximum `max` (for the server's aliases).
fn connect5_alias_max(max: u16) -> Vec<u8> {
    let mut body = [s("MQTT"), vec![5, 0x02, 0, 30, 3, 0x22]].concat();
    body.extend(max.to_be_bytes());
    body.extend(s("dev"));
    pkt(0x10, &body)
}

#[test]
fn topic_aliases_are_per_direction() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect5_alias_max(10));
    // CONNACK: Topic Alias Maximum 5 for the client's aliases.
    rig.data(S2C, 2, &[0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x05]);
    rig.data(C2S, 3, &publish5("sensors/temp", &[0x23, 0, 1], b"21"));
    rig.data(C2S, 4, &publish5("", &[0x23, 0, 1], b"22"));
    // The server's alias 1 is a different table: unknown there.
    rig.data(S2C, 5, &publish5("", &[0x23, 0, 1], b"x"));
    // Alias 6 is above the server's maximum of 5.
    rig.data(C2S, 6, &publish5("other", &[0x23, 0, 6], b"y"));
    let s = rig.summaries();
    assert_eq!(s[3], "PUBLISH q0 \"sensors/temp\" (alias 1) 2B");
    assert_eq!(s[4], "PUBLISH q0 \"\" (alias 1) 1B");
    let rules: Vec<_> = rig
        .events
        .iter()
        .map(|e| {
            if let Ev::Packet { rules, .. } = e {
                rules.clone()
            } else {
                vec![]
            }
        })
        .collect();
    assert_eq!(rules[3], Vec::<&str>::new());
    assert_eq!(rules[4], vec!["3.3.2.3.4"]);
    assert_eq!(rules[5], vec!["MQTT-3.3.2-9"]);
}

#[test]
fn resolved_topic_is_the_topic_name() {
    let mut conn = MqttConnection::new(&MqttConfig::default());
    conn.on_data(
        C2S,
        1,
        Timestamp::default(),
        &connect5_alias_max(0),
        &mut |_| {},
    );
    conn.on_data(
        C2S,
        2,
        Timestamp::default(),
        &publish5("a/b", &[0x23, 0, 2], b""),
        &mut |_| {},
    );
    let mut seen = None;
    conn.on_data(
        C2S,
        3,
        Timestamp::default(),
        &publish5("", &[0x23, 0, 2], b"v"),
        &mut |e| {
            if let MqttEvent::Packet(p) = e {
                let Packet::Publish(Publish {
                    topic,
                    resolved_topic,
                    ..
                }) = p.packet
                else {
                    panic!()
                };
                assert_eq!((*topic, *resolved_topic), ("", Some("a/b")));
                if let Packet::Publish(pp) = p.packet {
                    // What the report prints as the PUBLISH's topic.
                    seen = Some((pp.topic_name().to_string(), pp.properties.topic_alias));
                }
            }
        },
    );
    assert_eq!(seen, Some(("a/b".to_string(), Some(2))));
}

#[test]
fn client_publish_with_subscription_identifier() {
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(5));
    rig.data(C2S, 2, &publish5("t", &[0x0b, 0x01], b""));
    rig.data(S2C, 3, &publish5("t", &[0x0b, 0x01], b""));
    assert!(matches!(&rig.events[1], Ev::Packet { rules, .. } if rules == &vec!["MQTT-3.3.4-6"]));
    assert!(matches!(&rig.events[2], Ev::Packet { rules, .. } if rules.is_empty()));
}

/// A 3.1.1 PUBLISH at QoS 0 declaring the largest remaining length, topic
/// "huge/len", then 250 bytes that are no packet: the hostile test's giant.
fn giant() -> Vec<u8> {
    [
        vec![0x30, 0xff, 0xff, 0xff, 0x7f],
        s("huge/len"),
        vec![0x5a; 250],
    ]
    .concat()
}

fn puback(id: u16) -> Vec<u8> {
    [vec![0x40, 0x02], id.to_be_bytes().to_vec()].concat()
}

/// Where (frame and direction) each packet was reported, by summary.
fn placed_packets(rig: &Rig) -> Vec<(String, Direction, u64, u64)> {
    rig.events
        .iter()
        .filter_map(|e| match e {
            Ev::Packet {
                dir,
                frame,
                start,
                summary,
                ..
            } => Some((summary.clone(), *dir, *frame, *start)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_peers_acks_disprove_a_giant_publish_and_its_packets_come_before_them() {
    let g = giant();
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(S2C, 2, &[0x20, 0x02, 0x00, 0x00]);
    rig.data(C2S, 3, &g);
    let mut frame = 3;
    for id in 1..=3 {
        rig.data(C2S, frame + 1, &publish311(id, "after/huge", b"payload"));
        rig.data(S2C, frame + 2, &puback(id));
        frame += 2;
    }
    rig.data(C2S, frame + 1, &[0xe0, 0x00]);
    rig.close(frame + 2);
    // The giant, at its own frame, with the declared length and where it
    // really ended (the first PUBLISH the server acknowledged).
    let malformed: Vec<_> = rig
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Malformed { .. }))
        .collect();
    assert_eq!(
        malformed,
        [&Ev::Malformed {
            frame: 3,
            text: format!(
                "remaining length 268435455 runs past the start of a PUBLISH the peer acknowledged with PUBACK (at offset {} of 268435460)",
                g.len()
            )
        }]
    );
    // Every PUBLISH at the frame it came in, before its PUBACK; nothing
    // truncated at the close.
    let publish = |id: u16, frame: u64| {
        (
            format!("PUBLISH q1 id={id} \"after/huge\" 7B"),
            C2S,
            frame,
            frame,
        )
    };
    let ack = |id: u16, frame: u64| (format!("PUBACK id={id}"), S2C, frame, frame);
    assert_eq!(
        placed_packets(&rig)[2..],
        [
            publish(1, 4),
            ack(1, 5),
            publish(2, 6),
            ack(2, 7),
            publish(3, 8),
            ack(3, 9),
            ("DISCONNECT".to_string(), C2S, 10, 10),
        ]
    );
    assert!(
        !rig.events.iter().any(|e| matches!(e, Ev::Truncated { .. })),
        "{:?}",
        rig.events
    );
}

#[test]
fn without_evidence_the_giant_swallows_the_stream_and_is_truncated_at_the_close() {
    let g = giant();
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &g);
    let p = publish311(1, "after/huge", b"payload");
    rig.data(C2S, 3, &p);
    // The server answers something that is not inside it.
    rig.data(S2C, 4, &puback(9));
    rig.close(5);
    assert_eq!(
        rig.events[1..],
        [
            Ev::Packet {
                dir: S2C,
                frame: 4,
                start: 4,
                summary: "PUBACK id=9".into(),
                rules: vec![],
                version: ProtocolVersion::V311,
            },
            Ev::Truncated {
                packet_type: Some(PacketType::Publish),
                length: Some(268_435_455),
                received: (g.len() + p.len()) as u64,
            },
        ]
    );
}

#[test]
fn a_pubrec_from_the_server_disproves_like_a_puback() {
    let g = giant();
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(4));
    rig.data(C2S, 2, &g);
    let p = pkt(0x34, &[s("q2"), vec![0, 7], b"x".to_vec()].concat());
    rig.data(C2S, 3, &p);
    rig.data(S2C, 4, &[0x50, 0x02, 0x00, 0x07]);
    let s = rig.summaries();
    assert_eq!(s[1..], ["PUBLISH q2 id=7 \"q2\" 1B", "PUBREC id=7"]);
}

/// CONNECT 5.0 announcing Maximum Packet Size `max` (for what the server sends).
fn connect5_max_packet(max: u32) -> Vec<u8> {
    let mut body = [s("MQTT"), vec![5, 0x02, 0, 30, 5, 0x27]].concat();
    body.extend(max.to_be_bytes());
    body.extend(s("dev"));
    pkt(0x10, &body)
}

/// CONNACK 5.0 announcing Maximum Packet Size `max` (for what the client sends).
fn connack5_max_packet(max: u32) -> Vec<u8> {
    let mut body = vec![0x00, 0x00, 5, 0x27];
    body.extend(max.to_be_bytes());
    pkt(0x20, &body)
}

#[test]
fn the_receivers_maximum_packet_size_makes_a_larger_packet_malformed() {
    let big = publish5("t", &[], &[0u8; 296]);
    assert_eq!(big.len(), 303);
    let small = publish5("t", &[], b"ok");
    let pingreq = [0xc0, 0x00];
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect5_max_packet(200));
    rig.data(S2C, 2, &connack5_max_packet(100));
    // Whole in its segment: malformed; its length is right for a PUBLISH,
    // so decoding goes on at its end.
    rig.data(C2S, 3, &[&big[..], &pingreq].concat());
    // Split: its length is not trusted, its bytes are scanned again. (It
    // is judged when its headers and 64-byte preview are in.)
    rig.data(C2S, 4, &big[..100]);
    rig.data(C2S, 5, &[&big[100..], &pingreq, &small].concat());
    // The server is held to the client's limit (200): 303 bytes is over it.
    rig.data(S2C, 6, &big[..100]);
    rig.data(S2C, 7, &[&big[100..], &small].concat());
    let malformed: Vec<_> = rig
        .events
        .iter()
        .filter_map(|e| match e {
            Ev::Malformed { frame, text } => Some((*frame, text.as_str())),
            _ => None,
        })
        .collect();
    let client = "packet length 303 runs past the Maximum Packet Size of 100 the server set in its CONNACK (at offset 100 of 303)";
    let server = "packet length 303 runs past the Maximum Packet Size of 200 the client set in its CONNECT (at offset 200 of 303)";
    assert_eq!(malformed, [(3, client), (4, client), (6, server)]);
    let s = rig.summaries();
    assert_eq!(
        s[2..],
        [
            "PINGREQ",
            "PINGREQ",
            "PUBLISH q0 \"t\" 2B",
            "PUBLISH q0 \"t\" 2B"
        ]
    );
}

#[test]
fn a_maximum_packet_size_binds_only_packets_sent_after_it() {
    // The client's PUBLISH started before the CONNACK announced the limit.
    let big = publish5("t", &[], &[0u8; 296]);
    let mut rig = Rig::new();
    rig.data(C2S, 1, &connect(5));
    rig.data(C2S, 2, &big[..50]);
    rig.data(S2C, 3, &connack5_max_packet(100));
    rig.data(C2S, 4, &big[50..]);
    let s = rig.summaries();
    assert_eq!(s.last().map(String::as_str), Some("PUBLISH q0 \"t\" 296B"));
    assert!(!rig.events.iter().any(|e| matches!(e, Ev::Malformed { .. })));
}
