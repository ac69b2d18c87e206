//! Inputs found by the fuzz targets in `fuzz/`, replayed through the same
//! API, with the behaviour they should have asserted.
//!
//! Frame order when the MQTT framer takes bytes back — a packet whose length
//! turned out not to be trusted is scanned again from its second byte, or a
//! resynchronisation window finds its boundary: the packets found in those
//! bytes used to be reported with the frame the bytes came from but *after*
//! events already reported for a later frame, and with the timestamp of the
//! frame being processed when they were found. The events of one direction
//! then went back in frame number (JSON lines out of capture order) and a
//! packet's `frame` and `ts` disagreed. The rule now (framer module docs):
//! held-back bytes keep their frame *and* its timestamp, and per direction
//! an event never names an earlier frame than the event before it — one
//! whose bytes came earlier is reported at that event's frame and time.

use mqtt_inspect::base::{Direction, Timestamp};
use mqtt_inspect::mqtt::{MqttConfig, MqttConnection, MqttEvent};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// The capture timestamp of frame `n` in these tests.
fn ts(n: u64) -> Timestamp {
    Timestamp::new(1_700_000_000 + n as i64, 0, 6)
}

/// One event, copied out of the callback.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    dir: Direction,
    frame: u64,
    ts: Timestamp,
    what: String,
}

fn seen(ev: &MqttEvent<'_>) -> Seen {
    let (ts, what) = match ev {
        MqttEvent::Packet(p) => (p.ts, format!("packet {}", p.packet.summary())),
        MqttEvent::Malformed(m) => (m.ts, format!("malformed: {}", m.error)),
        MqttEvent::Oversized(o) => (o.ts, format!("oversized {} {}", o.packet_type, o.length)),
        MqttEvent::Gap(g) => (g.ts, format!("gap {}", g.missing)),
        MqttEvent::Resync(r) => (r.ts, format!("resync skipped={}", r.skipped)),
        MqttEvent::Truncated(t) => (t.ts, format!("truncated {:?}", t.packet_type)),
    };
    Seen {
        dir: ev.dir(),
        frame: ev.frame(),
        ts,
        what,
    }
}

/// Feeds `(direction, bytes)` one frame each (frames 1, 2, ...), then closes.
fn run(mid_stream: bool, frames: &[(Direction, &[u8])]) -> Vec<Seen> {
    let cfg = MqttConfig::default();
    let mut conn = if mid_stream {
        MqttConnection::new_mid_stream(&cfg)
    } else {
        MqttConnection::new(&cfg)
    };
    let mut out = Vec::new();
    let mut frame = 0;
    for (dir, bytes) in frames {
        frame += 1;
        conn.on_data(*dir, frame, ts(frame), bytes, &mut |ev| out.push(seen(&ev)));
    }
    frame += 1;
    conn.on_close(frame, ts(frame), &mut |ev| out.push(seen(&ev)));
    out
}

/// Drives a connection exactly like `fuzz/fuzz_targets/mqtt_framer.rs`
/// (`[mode, cap, preview, ops...]`, one frame per op, then close).
fn replay_framer_input(data: &[u8]) -> Vec<Seen> {
    let mut out = Vec::new();
    let Some((head, mut ops)) = data.split_first_chunk::<3>() else {
        return out;
    };
    let [mode, cap, preview] = *head;
    let cfg = MqttConfig {
        payload_preview: usize::from(preview),
        max_packet_buffer: 16 << (cap % 8),
    };
    let mut conn = if mode & 1 == 1 {
        MqttConnection::new_mid_stream(&cfg)
    } else {
        MqttConnection::new(&cfg)
    };
    let mut frame = 0u64;
    while let Some((&op, rest)) = ops.split_first() {
        frame += 1;
        let dir = if op & 1 == 0 { C2S } else { S2C };
        let mut push = |ev: MqttEvent<'_>| out.push(seen(&ev));
        if (op >> 1) & 3 < 3 {
            let Some((&len, rest)) = rest.split_first() else {
                break;
            };
            let (chunk, rest) = rest.split_at(usize::from(len).min(rest.len()));
            conn.on_data(dir, frame, ts(frame), chunk, &mut push);
            ops = rest;
        } else if op & 0x80 == 0 {
            let Some((&b, rest)) = rest.split_first() else {
                break;
            };
            let missing = u64::from(b) + u64::from(op >> 3 & 0x0f) * 256;
            conn.on_gap(dir, frame, ts(frame), missing, &mut push);
            ops = rest;
        } else {
            let Some((b, rest)) = rest.split_first_chunk::<8>() else {
                break;
            };
            conn.on_gap(dir, frame, ts(frame), u64::from_le_bytes(*b), &mut push);
            ops = rest;
        }
    }
    frame += 1;
    conn.on_close(frame, ts(frame), &mut |ev| out.push(seen(&ev)));
    out
}

/// Events of each direction whose frame is lower than an earlier event's.
fn backwards(events: &[Seen]) -> Vec<(Seen, Seen)> {
    let mut bad = Vec::new();
    for dir in [C2S, S2C] {
        let mut last: Option<&Seen> = None;
        for e in events.iter().filter(|e| e.dir == dir) {
            if let Some(l) = last
                && e.frame < l.frame
            {
                bad.push((l.clone(), e.clone()));
            }
            if last.is_none_or(|l| e.frame >= l.frame) {
                last = Some(e);
            }
        }
    }
    bad
}

/// Packet events whose timestamp is not the one of their frame.
fn wrong_ts(events: &[Seen]) -> Vec<Seen> {
    events
        .iter()
        .filter(|e| e.what.starts_with("packet") && e.ts != ts(e.frame))
        .cloned()
        .collect()
}

fn packets(events: &[Seen]) -> Vec<(u64, &str)> {
    events
        .iter()
        .filter_map(|e| e.what.strip_prefix("packet ").map(|w| (e.frame, w)))
        .collect()
}

/// A SUBSCRIBE whose header (frame 1) looks right but whose filter length,
/// arriving in frame 2, runs past its end; frame 2 also carries a PINGREQ
/// and a DISCONNECT inside the SUBSCRIBE's claimed length, frame 3 the
/// SUBSCRIBE's last two bytes.
const UNTRUSTED_LENGTH: [(Direction, &[u8]); 3] = [
    (C2S, &[0x82, 0x0a, 0x00]),
    (C2S, &[0x01, 0x01, 0x00, 0xc0, 0x00, 0xe0, 0x00]),
    (C2S, &[0x00, 0x00]),
];

#[test]
fn untrusted_length_packets_found_again_are_reported() {
    // No panic, the SUBSCRIBE is malformed, and the two packets inside its
    // claimed length are found by the rescan. Their bytes came in frame 2,
    // but the SUBSCRIBE's length can only be judged once it is complete
    // (frame 3), and its malformed event comes first: so as not to go back
    // in frame after it, they are reported at frame 3, with frame 3's
    // timestamp (frame and time always belong together).
    let events = run(false, &UNTRUSTED_LENGTH);
    assert!(
        events
            .iter()
            .any(|e| e.frame == 3 && e.what.contains("topic filter length 256")),
        "{events:#?}"
    );
    assert_eq!(
        packets(&events),
        [(3, "PINGREQ"), (3, "DISCONNECT")],
        "{events:#?}"
    );
}

/// PINGREQ and DISCONNECT (bytes of frame 2) used to be reported after the
/// malformed SUBSCRIBE (frame 3) and a resync event (frame 4).
#[test]
fn untrusted_length_rescan_keeps_frame_order() {
    let events = run(false, &UNTRUSTED_LENGTH);
    let bad = backwards(&events);
    assert!(
        bad.is_empty(),
        "events go back in frame: {bad:#?}\nall: {events:#?}"
    );
}

/// The recovered packets of frame 2 used to carry the timestamp of frame 4
/// (the close, when the scan found them).
#[test]
fn untrusted_length_rescan_packets_keep_their_timestamp() {
    let events = run(false, &UNTRUSTED_LENGTH);
    let bad = wrong_ts(&events);
    assert!(bad.is_empty(), "packets with another frame's ts: {bad:#?}");
}

/// Picked up mid-stream, the server sends `20 20 e0 00` in frame 1: a
/// CONNACK header claiming 32 bytes that never come, then a DISCONNECT.
/// The scan settles only at close (frame 2).
const MIDSTREAM_WINDOW: [(Direction, &[u8]); 1] = [(S2C, &[0x20, 0x20, 0xe0, 0x00])];

#[test]
fn midstream_window_packet_is_found_at_close() {
    let events = run(true, &MIDSTREAM_WINDOW);
    assert_eq!(packets(&events), [(1, "DISCONNECT")], "{events:#?}");
}

/// The resync event used to name frame 2 (the close, which concluded the
/// scan) and the DISCONNECT that follows it frame 1, with frame 2's
/// timestamp. The resync is now reported where decoding resumed: frame 1.
#[test]
fn midstream_window_keeps_frame_order_and_timestamp() {
    let events = run(true, &MIDSTREAM_WINDOW);
    let bad = backwards(&events);
    assert!(bad.is_empty(), "events go back in frame: {bad:#?}");
    let bad = wrong_ts(&events);
    assert!(bad.is_empty(), "packets with another frame's ts: {bad:#?}");
}

/// The resync names the frame where decoding resumed (the DISCONNECT's),
/// not the close that concluded the scan.
#[test]
fn midstream_window_resync_is_reported_where_decoding_resumed() {
    let events = run(true, &MIDSTREAM_WINDOW);
    let got: Vec<(u64, Timestamp, &str)> = events
        .iter()
        .map(|e| (e.frame, e.ts, e.what.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, ts(1), "resync skipped=2"),
            (1, ts(1), "packet DISCONNECT")
        ],
        "{events:#?}"
    );
}

/// The input `cargo fuzz run mqtt_framer` first stopped at (minimised): the
/// same mid-stream case as above in the fuzz target's byte layout.
#[test]
fn fuzz_mqtt_framer_minimised_frame_order() {
    let input = b"alvev  \xe0\x00";
    let events = replay_framer_input(input);
    assert_eq!(packets(&events), [(1, "DISCONNECT")], "{events:#?}");
    let bad = backwards(&events);
    assert!(bad.is_empty(), "events go back in frame: {bad:#?}");
}
