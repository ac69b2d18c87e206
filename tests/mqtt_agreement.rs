//! Our MQTT decode agrees with Wireshark's on every capture we have (the
//! corpus in `../shared/corpus` and our `samples/`): for every packet, the
//! frame that completed it, the connection (tshark's `tcp.stream` is our
//! connection id), direction, type, QoS, DUP, retain, packet id, topic and
//! remaining length.
//!
//! Where tshark is wrong, the frame is listed in [`TSHARK_WRONG`] with the
//! reason, and a test below proves the reason from the bytes.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
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
    len: u64,
    /// Ours only: the packet did not decode (only where/what/length are comparable).
    malformed: bool,
}

/// Frames where tshark's decode is demonstrably wrong: (capture file name, frame, why).
const TSHARK_WRONG: &[(&str, u64, &str)] = &[(
    "malformed_packet.pcap",
    11,
    "the bytes are 0x30 (PUBLISH) and a remaining length of five bytes ff ff ff ff 7f; \
     tshark calls it a PUBCOMP of length 0 (proved in tshark_misnames_a_malformed_publish)",
)];

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
                len: p["len"].as_u64().unwrap(),
                malformed: false,
            }
        })
        .collect()
}

fn our_pdus(lines: &[Value]) -> Vec<Pdu> {
    lines
        .iter()
        .filter(|l| l["type"] == "packet")
        .map(|l| {
            let m = &l["mqtt"];
            let kind = m["type"].as_str().unwrap_or("?").to_string();
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
            // QoS/DUP/retain are bits of the fixed header's flags; tshark shows them
            // for PUBLISH, and for every packet of MQTT 3.1 (where the spec gave
            // SUBSCRIBE, UNSUBSCRIBE and PUBREL a QoS of 1 in those bits).
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
                len: m["length"].as_u64().unwrap_or(0),
                malformed: m.get("malformed").is_some(),
            }
        })
        .collect()
}

/// Compares field by field where tshark has a value (it leaves QoS/DUP/retain
/// out of packets other than PUBLISH, and the topic out of what it cannot decode).
fn same(t: &Pdu, o: &Pdu) -> bool {
    if o.malformed {
        // We do not claim fields of a packet that did not decode; tshark shows
        // what it read before giving up.
        return t.frame == o.frame
            && t.conn == o.conn
            && t.direction == o.direction
            && t.kind == o.kind
            && t.len == o.len;
    }
    t.frame == o.frame
        && t.conn == o.conn
        && t.direction == o.direction
        && t.kind == o.kind
        && (t.qos.is_none() || t.qos == o.qos)
        && (t.dup.is_none() || t.dup == o.dup)
        && (t.retain.is_none() || t.retain == o.retain)
        && t.packet_id == o.packet_id
        && (t.topics.is_empty() || t.topics == o.topics)
        && t.len == o.len
}

fn check(cap: &Path) -> (usize, Vec<String>) {
    let name = cap.file_name().unwrap().to_str().unwrap();
    let wrong: Vec<u64> = TSHARK_WRONG
        .iter()
        .filter(|(c, _, _)| *c == name)
        .map(|(_, f, _)| *f)
        .collect();
    let truth = read_json(&truth_path(cap));
    let want: Vec<Pdu> = truth_pdus(&truth)
        .into_iter()
        .filter(|p| !wrong.contains(&p.frame))
        .collect();
    let got: Vec<Pdu> = our_pdus(&analyze_jsonl(&[cap.to_str().unwrap()]))
        .into_iter()
        .filter(|p| !wrong.contains(&p.frame))
        .collect();
    // group by frame: the packets a frame completed, in order
    let by_frame = |v: &[Pdu]| {
        let mut m: BTreeMap<u64, Vec<Pdu>> = BTreeMap::new();
        for p in v {
            m.entry(p.frame).or_default().push(p.clone());
        }
        m
    };
    let (w, g) = (by_frame(&want), by_frame(&got));
    let mut problems = Vec::new();
    let frames: std::collections::BTreeSet<u64> = w.keys().chain(g.keys()).copied().collect();
    for f in frames {
        let empty = Vec::new();
        let (tw, og) = (w.get(&f).unwrap_or(&empty), g.get(&f).unwrap_or(&empty));
        let ok = tw.len() == og.len() && tw.iter().zip(og).all(|(t, o)| same(t, o));
        if !ok {
            problems.push(format!(
                "{name} frame {f}:\n   tshark {tw:?}\n   ours   {og:?}"
            ));
        }
    }
    (want.len(), problems)
}

fn check_all(dir: &Path, at_least: usize) {
    let caps = captures_with_truth(dir);
    assert!(
        caps.len() >= at_least,
        "expected at least {at_least} captures in {}, found {caps:?}",
        dir.display()
    );
    let mut problems = Vec::new();
    let mut compared = 0;
    for c in &caps {
        let (n, p) = check(c);
        compared += n;
        problems.extend(p);
    }
    assert!(compared > 0, "no packets compared");
    assert!(
        problems.is_empty(),
        "{} disagreements with tshark:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn packets_agree_with_tshark_on_the_corpus() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    check_all(&dir, 2);
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
    use mqtt_inspect::capture::open_captures;
    use mqtt_inspect::netdecode::{Decoded, decode};
    let cap = root().join("samples/faults/malformed_packet.pcap");
    let mut reader = open_captures(&[cap.to_str().unwrap().to_string()]).unwrap();
    let mut payload = None;
    while let Some(frame) = reader.next_frame() {
        if frame.index == 11 {
            if let Decoded::Tcp(seg) = decode(&frame) {
                payload = Some(seg.payload.to_vec());
            }
            break;
        }
    }
    let p = payload.expect("frame 11 is a TCP segment");
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
