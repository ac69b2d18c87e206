//! Our MQTT decode agrees with Wireshark's on every capture we have: the
//! corpus in `../shared/corpus` (`generated/`, the 26 captures of other
//! projects in `wild/`, the 39 of `suricata-verify/`) and our `samples/`.
//! For every packet: the frame that completed it, the connection (tshark's
//! `tcp.stream` is our connection id), direction, type, QoS, DUP, retain,
//! packet id, topic(s) and remaining length.
//!
//! mqtt-inspect runs with **no `--port`**: tshark's truth was made with
//! `-d tcp.port==P,mqtt` for the capture's MQTT port (17501 for nDPI's
//! coap_mqtt, 1337 for alivcor's, else 1883); content detection must find
//! the same MQTT without being told.
//!
//! Where tshark is wrong, the frame is listed in [`TSHARK_WRONG`] with the
//! reason, and a test below proves the reason from the bytes. Nothing else
//! is excused: a difference that is our bug stays a failure until it is
//! fixed. Differences of representation (not of fact) are mapped in
//! [`our_pdus`] and listed there.
//!
//! MQTT that tshark found inside TLS or WebSocket (the `ws_*`, `tls1*_keylog`
//! and `wss_keylog` samples, `packets[].layers` in their truth) is compared
//! the same way, frame by frame: mqtt-inspect runs with `--tls-keylog X.keys`
//! where the truth's tshark ran with `-o tls.keylog_file:X.keys`, and the
//! WebSocket truth is tshark's own WebSocket → MQTT decode (with the
//! `mqtt_ws.lua` registration). Packets tshark decodes from a frame it
//! cannot have decoded right (`packets_untrusted`) are in neither list.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::Path;

/// One packet, as both decoders can describe it.
#[derive(Debug, Clone, PartialEq)]
struct Pdu {
    frame: u64,
    conn: u64,
    direction: String,
    kind: String,
    qos: Option<u64>,
    dup: Option<bool>,
    retain: Option<bool>,
    packet_id: Option<u64>,
    topics: Vec<String>,
    /// Remaining length; `None` where our JSON has `null`.
    len: Option<u64>,
    /// Ours only: the packet did not decode (only where/what/length are comparable).
    malformed: bool,
}

/// Frames where tshark's decode is demonstrably wrong: (capture, frame, why).
/// Those frames are left out on both sides; an entry whose frame shows no
/// difference any more is reported as stale.
const TSHARK_WRONG: &[(&str, u64, &str)] = &[
    (
        "samples/faults/malformed_packet.pcap",
        11,
        "the bytes are 0x30 (PUBLISH) and a remaining length of five bytes ff ff ff ff 7f; \
         tshark calls it a PUBCOMP of length 0 (proved in tshark_misnames_a_malformed_publish)",
    ),
    (
        "samples/ws_frames.pcap",
        25,
        "the QoS 1 PUBLISH raw/split (id 2) is cut over three WebSocket binary messages \
         (frames 19, 22, 25); tshark dissects each message as if a packet started in it and \
         finds none here (proved in tshark_cannot_join_a_packet_over_websocket_messages)",
    ),
    (
        "samples/ws_deflate.pcap",
        32,
        "frame 32's compressed WebSocket message inflates to the first part of the broker's \
         80,000-byte PUBLISH (id 3), whose rest is in frame 35's message; tshark reports a \
         PUBLISH here from that part alone, we report it at 35 where it completes \
         (proved in tshark_cannot_join_a_compressed_packet_over_websocket_messages)",
    ),
    (
        "samples/ws_deflate.pcap",
        35,
        "the broker's compressed 80,000-byte delivery (PUBLISH id 3) spans two WebSocket \
         messages (frames 32 and 35), the second also holds PUBACK id 4; tshark inflates each \
         message right but parses it as if a packet started there: garbage PDUs \
         (proved in tshark_cannot_join_a_compressed_packet_over_websocket_messages)",
    ),
];

fn truth_pdus(truth: &Value) -> Vec<Pdu> {
    truth["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let topics = match p.get("topics").and_then(Value::as_array) {
                Some(list) => list
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect(),
                None => p["topic"]
                    .as_str()
                    .map(|t| vec![t.to_string()])
                    .unwrap_or_default(),
            };
            Pdu {
                frame: p["frame"].as_u64().unwrap(),
                conn: p["stream"].as_u64().unwrap(),
                direction: p["direction"].as_str().unwrap().to_string(),
                kind: p["type"].as_str().unwrap().to_string(),
                qos: p["qos"].as_u64(),
                dup: p["dup"].as_bool(),
                retain: p["retain"].as_bool(),
                packet_id: p["packet_id"].as_u64(),
                topics,
                len: p["len"].as_u64(),
                malformed: false,
            }
        })
        .collect()
}

/// Our `packet` events as [`Pdu`]s. Differences of representation, mapped
/// here so that only differences of fact remain:
///
/// - packet type: our JSON has `"type": null` for a reserved packet type (it
///   has no name); tshark's truth writes the number. Type 0 is the only type
///   reserved in both 3.1.1 and 5.0, so our `null` is written `"0"`.
/// - QoS/DUP/retain are bits of the fixed header's flags; tshark shows them
///   only for PUBLISH (and for every packet of MQTT 3.1), so they are
///   compared only where tshark has them ([`diff`]).
fn our_pdus(lines: &[Value]) -> Vec<Pdu> {
    lines
        .iter()
        .filter(|l| l["type"] == "packet")
        .map(|l| {
            let m = &l["mqtt"];
            let kind = match &m["type"] {
                Value::Null => "0".to_string(),
                t => t.as_str().unwrap_or("?").to_string(),
            };
            let topics = match kind.as_str() {
                "SUBSCRIBE" => m["topics"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|t| t["filter"].as_str().unwrap().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                "UNSUBSCRIBE" => m["topics"]
                    .as_array()
                    .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
                _ => m["topic"]
                    .as_str()
                    .map(|t| vec![t.to_string()])
                    .unwrap_or_default(),
            };
            let flags = m["flags"].as_u64().unwrap_or(0);
            Pdu {
                frame: l["frame"].as_u64().unwrap(),
                conn: l["connection"].as_u64().unwrap(),
                direction: l["direction"].as_str().unwrap().to_string(),
                kind,
                qos: Some((flags >> 1) & 3),
                dup: Some(flags & 8 != 0),
                retain: Some(flags & 1 != 0),
                packet_id: m["packet_id"].as_u64(),
                topics,
                len: m["length"].as_u64(),
                malformed: m.get("malformed").is_some(),
            }
        })
        .collect()
}

/// The fields in which two packets of the same frame differ: (field, ours,
/// tshark's). Compared where tshark has a value (it leaves QoS/DUP/retain out
/// of packets other than PUBLISH, and the topic out of what it cannot
/// decode); for a packet we call malformed, only where/what/length (we do
/// not claim the fields of a packet that did not decode; tshark shows what
/// it read before giving up).
fn diff(t: &Pdu, o: &Pdu) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    fn add<T: PartialEq + Debug>(
        out: &mut Vec<(&'static str, String, String)>,
        field: &'static str,
        ours: &T,
        theirs: &T,
    ) {
        if ours != theirs {
            out.push((field, format!("{ours:?}"), format!("{theirs:?}")));
        }
    }
    add(&mut out, "connection", &o.conn, &t.conn);
    add(&mut out, "direction", &o.direction, &t.direction);
    add(&mut out, "type", &o.kind, &t.kind);
    add(&mut out, "remaining length", &o.len, &t.len);
    if o.malformed {
        return out;
    }
    if t.qos.is_some() {
        add(&mut out, "qos", &o.qos, &t.qos);
    }
    if t.dup.is_some() {
        add(&mut out, "dup", &o.dup, &t.dup);
    }
    if t.retain.is_some() {
        add(&mut out, "retain", &o.retain, &t.retain);
    }
    add(&mut out, "packet id", &o.packet_id, &t.packet_id);
    if !t.topics.is_empty() {
        add(&mut out, "topics", &o.topics, &t.topics);
    }
    out
}

/// `TYPE(conn N, dir, id)` for a line that lists the packets of a frame.
fn brief(v: &[Pdu]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|p| {
            let dir = if p.direction == "client_to_server" {
                "c→s"
            } else {
                "s→c"
            };
            match p.packet_id {
                Some(id) => format!("{} conn {} {dir} id {id}", p.kind, p.conn),
                None => format!("{} conn {} {dir}", p.kind, p.conn),
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn by_frame(v: &[Pdu]) -> BTreeMap<u64, Vec<Pdu>> {
    let mut m: BTreeMap<u64, Vec<Pdu>> = BTreeMap::new();
    for p in v {
        m.entry(p.frame).or_default().push(p.clone());
    }
    m
}

/// Compares one capture: (packets tshark has, one line per difference).
fn check(cap: &Path) -> (usize, Vec<String>) {
    let name = capture_name(cap);
    let wrong: BTreeSet<u64> = TSHARK_WRONG
        .iter()
        .filter(|(c, _, _)| *c == name)
        .map(|(_, f, _)| *f)
        .collect();
    let truth = read_json(&truth_path(cap));
    let want = by_frame(&truth_pdus(&truth));
    let args = capture_args(cap);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let got = by_frame(&our_pdus(&analyze_jsonl(&args)));
    let empty = Vec::new();
    let mut lines = Vec::new();
    let mut fields: BTreeMap<&str, usize> = BTreeMap::new();
    let frames: BTreeSet<u64> = want.keys().chain(got.keys()).copied().collect();
    for f in frames {
        let (tw, og) = (
            want.get(&f).unwrap_or(&empty),
            got.get(&f).unwrap_or(&empty),
        );
        let mut here = Vec::new();
        if tw.len() != og.len() {
            *fields.entry("packets in the frame").or_default() += 1;
            here.push(format!(
                "{name} frame {f}: packets: ours {} vs tshark {}",
                brief(og),
                brief(tw)
            ));
        } else {
            for (i, (t, o)) in tw.iter().zip(og).enumerate() {
                let which = if tw.len() > 1 {
                    format!(" packet {} of {}", i + 1, tw.len())
                } else {
                    String::new()
                };
                for (field, ours, theirs) in diff(t, o) {
                    *fields.entry(field).or_default() += 1;
                    here.push(format!(
                        "{name} frame {f}{which} ({}): {field}: ours {ours} vs tshark {theirs}",
                        t.kind
                    ));
                }
            }
        }
        if wrong.contains(&f) {
            if here.is_empty() {
                lines.push(format!(
                    "{name} frame {f}: listed in TSHARK_WRONG but ours and tshark agree: remove the entry"
                ));
            }
            continue;
        }
        lines.extend(here);
    }
    for w in &wrong {
        if !want.contains_key(w) && !got.contains_key(w) {
            lines.push(format!(
                "{name} frame {w}: listed in TSHARK_WRONG but neither side has a packet there"
            ));
        }
    }
    if lines.len() > LINES_PER_CAPTURE {
        let more = lines.len() - LINES_PER_CAPTURE;
        lines.truncate(LINES_PER_CAPTURE);
        lines.push(format!(
            "{name}: ... {more} more lines; differences by field in this capture: {fields:?}"
        ));
    }
    (want.values().map(Vec::len).sum(), lines)
}

/// Every capture with a truth file under `dir`, at least `at_least` of them.
fn check_all(dir: &Path, at_least: usize) {
    let caps = captures_with_truth(dir);
    assert!(
        caps.len() >= at_least,
        "expected at least {at_least} captures in {}, found {caps:?}",
        dir.display()
    );
    let names: BTreeSet<String> = caps.iter().map(|c| capture_name(c)).collect();
    let mut problems = Vec::new();
    let prefix = capture_name(&dir.join("x"));
    let prefix = prefix.trim_end_matches('x');
    for (c, _, _) in TSHARK_WRONG {
        if c.starts_with(prefix) && !names.contains(*c) {
            problems.push(format!("{c}: listed in TSHARK_WRONG but not found"));
        }
    }
    let mut compared = 0;
    let mut failing = 0;
    for c in &caps {
        let (n, p) = check(c);
        compared += n;
        failing += usize::from(!p.is_empty());
        problems.extend(p);
    }
    assert!(compared > 0, "no packets compared");
    assert!(
        problems.is_empty(),
        "MQTT packets: {failing} of {} captures disagree with tshark (lines: capture frame: field: ours vs tshark):\n{}",
        caps.len(),
        problems.join("\n")
    );
}

#[test]
fn packets_agree_with_tshark_on_the_generated_corpus() {
    let Some(dir) = corpus_subdir("generated") else {
        return;
    };
    check_all(&dir, 2);
}

#[test]
fn packets_agree_with_tshark_on_the_wild_captures() {
    let Some(dir) = corpus_subdir("wild") else {
        return;
    };
    check_all(&dir, 26);
}

#[test]
fn packets_agree_with_tshark_on_the_suricata_verify_captures() {
    let Some(dir) = corpus_subdir("suricata-verify") else {
        return;
    };
    check_all(&dir, 39);
}

#[test]
fn packets_agree_with_tshark_on_the_samples() {
    check_all(&root().join("samples"), 10);
}

#[test]
#[ignore = "needs fresh recordings: scripts/ci/fresh_recordings.sh"]
fn packets_agree_with_tshark_on_fresh_recordings() {
    check_all(&fresh_dir(), 4);
}

/// The frame tshark calls "PUBCOMP, length 0" holds a PUBLISH whose remaining
/// length field uses five bytes: malformed by MQTT-2.2.3 (at most four).
#[test]
fn tshark_misnames_a_malformed_publish() {
    let cap = root().join("samples/faults/malformed_packet.pcap");
    let segs = tcp_segments(&cap);
    let p = &segment(&segs, 11).payload;
    assert_eq!(
        p[0] >> 4,
        3,
        "packet type nibble is 3 = PUBLISH (PUBCOMP would be 7)"
    );
    assert!(
        p[1..5].iter().all(|b| b & 0x80 != 0),
        "four continuation bytes: {:02x?}",
        &p[..6]
    );
    let truth = read_json(&truth_path(&cap));
    let theirs: Vec<&Value> = truth["packets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["frame"] == 11)
        .collect();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["type"], "PUBCOMP", "what tshark says");
    assert_eq!(theirs[0]["len"], 0);
    let lines = analyze_jsonl(&[cap.to_str().unwrap()]);
    let ours = lines
        .iter()
        .find(|l| l["type"] == "packet" && l["frame"] == 11)
        .expect("a packet event at frame 11");
    assert_eq!(ours["mqtt"]["type"], "PUBLISH");
    assert!(
        ours["mqtt"]["malformed"]
            .as_str()
            .unwrap()
            .contains("5 bytes"),
        "{ours}"
    );
}

/// ws_frames' frames 19, 22 and 25 are three masked binary WebSocket
/// messages whose payloads, joined, are one QoS 1 PUBLISH: its fixed header
/// starts in frame 19 and its remaining length ends in frame 25. tshark has
/// no packet at 25 (MQTT-6.0.0-2 lets a packet span WebSocket frames; its
/// dissector starts a packet at every message); we decode it there.
#[test]
fn tshark_cannot_join_a_packet_over_websocket_messages() {
    let cap = root().join("samples/ws_frames.pcap");
    let segs = tcp_segments(&cap);
    // The client's stream from frame 19 to frame 25 (one connection).
    let client = segment(&segs, 19).src.clone();
    let stream: Vec<u8> = segs
        .iter()
        .filter(|s| (19..=25).contains(&s.frame) && s.src == client)
        .flat_map(|s| s.payload.clone())
        .collect();
    let mut joined = Vec::new();
    let mut rest = &stream[..];
    for n in 0..3 {
        assert_eq!(rest[0], 0x82, "message {n}: FIN + binary");
        assert!(rest[1] & 0x80 != 0, "message {n}: masked");
        let (len, at) = match rest[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            n => (usize::from(n), 2),
        };
        let key = rest[at..at + 4].to_vec();
        let body = &rest[at + 4..at + 4 + len];
        joined.extend(body.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        rest = &rest[at + 4 + len..];
    }
    assert!(
        rest.is_empty(),
        "the three messages are all the client sent in frames 19–25"
    );
    assert_eq!(joined[0], 0x32, "PUBLISH, QoS 1");
    let remaining = usize::from(joined[1] & 0x7f) | (usize::from(joined[2]) << 7);
    assert!(
        joined[1] & 0x80 != 0 && joined[2] & 0x80 == 0,
        "2-byte remaining length"
    );
    assert_eq!(
        3 + remaining,
        joined.len(),
        "the three messages hold exactly the packet"
    );
    let topic_len = usize::from(u16::from_be_bytes([joined[3], joined[4]]));
    assert_eq!(&joined[5..5 + topic_len], b"raw/split");
    let id = u16::from_be_bytes([joined[5 + topic_len], joined[6 + topic_len]]);
    let truth = read_json(&truth_path(&cap));
    assert!(
        truth["packets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["frame"] != 25),
        "tshark has no trusted packet at frame 25"
    );
    let lines = analyze_jsonl(&[cap.to_str().unwrap()]);
    let ours = lines
        .iter()
        .find(|l| l["type"] == "packet" && l["frame"] == 25)
        .expect("our packet at frame 25");
    assert_eq!(ours["mqtt"]["type"], "PUBLISH");
    assert_eq!(ours["mqtt"]["packet_id"], u64::from(id));
    assert_eq!(ours["mqtt"]["topic"], "raw/split");
    assert_eq!(ours["mqtt"]["length"], remaining as u64);
}

/// ws_deflate's broker → client messages, inflated in order with one raw
/// inflater (permessage-deflate with context takeover, RFC 7692 7.2.2: the
/// `00 00 ff ff` tail added back): the messages that end in frames 32 and
/// 35 join into one PUBLISH of 80,000 payload bytes followed by PUBACK id 4
/// — a packet across two messages, which tshark does not join.
#[test]
fn tshark_cannot_join_a_compressed_packet_over_websocket_messages() {
    let cap = root().join("samples/ws_deflate.pcap");
    let segs = tcp_segments(&cap);
    let client = segment(&segs, 10).src.clone();
    // the server's stream of connection 0, with the frame each byte came from
    let mut stream = Vec::new();
    let mut frame_of = Vec::new();
    for s in segs
        .iter()
        .filter(|s| s.dst == client && !s.payload.is_empty())
    {
        stream.extend_from_slice(&s.payload);
        frame_of.extend(std::iter::repeat_n(s.frame, s.payload.len()));
    }
    let head = stream.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(stream.starts_with(b"HTTP/1.1 101"));
    let mut z = flate2::Decompress::new(false);
    let mut at = head;
    let mut messages: Vec<(u64, Vec<u8>)> = Vec::new();
    while at + 2 <= stream.len() {
        let (b0, b1) = (stream[at], stream[at + 1]);
        assert_eq!(b1 & 0x80, 0, "server frames are not masked");
        let (len, hdr) = match b1 & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([stream[at + 2], stream[at + 3]])),
                4,
            ),
            127 => (
                u64::from_be_bytes(stream[at + 2..at + 10].try_into().unwrap()) as usize,
                10,
            ),
            n => (usize::from(n), 2),
        };
        let body = &stream[at + hdr..at + hdr + len];
        let end_frame = frame_of[at + hdr + len - 1];
        at += hdr + len;
        if b0 & 0x0f != 2 {
            continue; // close
        }
        assert_eq!(
            b0 & 0xf0,
            0xc0,
            "FIN and RSV1: one compressed message per frame"
        );
        let mut input = body.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(200_000);
        z.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        messages.push((end_frame, out));
    }
    let i = messages
        .iter()
        .position(|(f, _)| *f == 32)
        .expect("a message ending in frame 32");
    assert_eq!(messages[i + 1].0, 35, "the next message ends in frame 35");
    let first = &messages[i].1;
    let joined: Vec<u8> = [first.clone(), messages[i + 1].1.clone()].concat();
    assert_eq!(joined[0], 0x32, "PUBLISH QoS 1");
    let (mut remaining, mut k) = (0usize, 1);
    while joined[k] & 0x80 != 0 {
        remaining |= usize::from(joined[k] & 0x7f) << (7 * (k - 1));
        k += 1;
    }
    remaining |= usize::from(joined[k]) << (7 * (k - 1));
    let end = k + 1 + remaining;
    assert!(
        first.len() < end,
        "the PUBLISH does not fit in the first message"
    );
    assert_eq!(&joined[k + 1..k + 3], &[0, 11], "topic length 11");
    assert_eq!(&joined[k + 3..k + 14], b"deflate/big");
    assert_eq!(remaining, 2 + 11 + 2 + 80_000);
    assert_eq!(
        &joined[end..],
        &[0x40, 2, 0, 4],
        "then PUBACK id 4, and nothing else"
    );
    let truth = read_json(&truth_path(&cap));
    let at_32: Vec<&Value> = truth["packets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["frame"] == 32)
        .collect();
    assert_eq!(at_32.len(), 1, "tshark's one packet at frame 32");
    assert_eq!(at_32[0]["type"], "PUBLISH", "what tshark says");
    assert_eq!(at_32[0]["len"], remaining as u64, "from the header alone");
    let lines = analyze_jsonl(&[cap.to_str().unwrap()]);
    assert!(
        !lines
            .iter()
            .any(|l| l["type"] == "packet" && l["frame"] == 32),
        "the packet is not complete at frame 32"
    );
    let ours: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "packet" && l["frame"] == 35)
        .collect();
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours[0]["mqtt"]["type"], "PUBLISH");
    assert_eq!(ours[0]["mqtt"]["length"], remaining as u64);
    assert_eq!(ours[1]["mqtt"]["type"], "PUBACK");
    assert_eq!(ours[1]["mqtt"]["packet_id"], 4);
}
