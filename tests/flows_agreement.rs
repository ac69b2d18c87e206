//! QoS flows, their latencies and the findings, on every capture we have:
//! the corpus in `../shared/corpus` (`generated/`, `wild/`,
//! `suricata-verify/`) and `samples/` outside `faults/` (whose findings
//! `report_findings` checks against `samples/faults/checks.txt`).
//!
//! Flows and latencies are cross-checked against timestamps read
//! independently: the `flows_complete` and `flows_incomplete` of each
//! `*.truth.json` pair PUBLISH and acks from tshark's decode and compute
//! latencies from tshark's `frame.time_epoch`. We must find the same
//! complete flows, with the same frames and latencies, and the same
//! incomplete ones.
//!
//! Findings: a capture must have exactly the findings [`EXPECTED_FINDINGS`]
//! lists for it (kind, direction, frames), and every capture not listed must
//! have none. Each entry says why, from the bytes, and
//! `expected_findings_are_what_the_bytes_say` checks that reason on the
//! capture. So a false finding on any capture fails, and so does a true one
//! that goes missing. Entries describe the truth, never our current output:
//! where we are wrong, the test fails until the analyzer is fixed.
//!
//! mqtt-inspect runs with no `--port` (detection must find the MQTT by
//! itself). Flows that tshark found inside TLS or WebSocket (samples
//! `ws_*`, `tls1*_keylog`, `wss_keylog`) are checked the same way, with
//! `--tls-keylog X.keys` where tshark decrypted with `X.keys`.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// tshark's epoch seconds are f64s (about 0.25 µs resolution at today's
/// dates); ours are exact. 2 µs is far below any real latency difference.
const TOLERANCE_MS: f64 = 0.002;

/// How the bytes prove a finding.
#[derive(Debug)]
enum Proof {
    /// The segment of the finding's frame starts this many sequence numbers
    /// past the end of everything its sender sent before in the capture: a
    /// hole, and this is the first segment after it.
    Gap(u32),
    /// The TCP payload of the finding's (first) frame holds these bytes at
    /// these offsets.
    Bytes(&'static [(usize, &'static [u8])]),
    /// The frame's payload starts with these bytes (the packet that wants an
    /// ack), and the server never sends one byte of TCP payload on that
    /// connection: nothing can have answered it.
    NeverAnswered(&'static [u8]),
    /// The CONNECT at `connect` has this keep alive, the client sends no
    /// payload after the finding's frame (its last packet) up to `until`
    /// (the capture's last frame: the connection was still open), and the
    /// two are more than 1.5 × the keep alive apart (MQTT-3.1.2-24).
    Silent {
        connect: u64,
        keepalive: u16,
        until: u64,
    },
}

/// A finding the bytes of a capture call for.
struct Expected {
    capture: &'static str,
    kind: &'static str,
    direction: &'static str,
    frames: &'static [u64],
    why: &'static str,
    proof: Proof,
}

const C2S: &str = "client_to_server";
const S2C: &str = "server_to_client";

const INVALID_QOS: &str = "suricata-verify/mqtt-events-invalid-qos/input.pcap";
const UNASSIGNED: &str = "suricata-verify/mqtt-events-unassigned-msgtype/input.pcap";
const UNINTRODUCED: &str = "suricata-verify/mqtt-events-unintroduced/input.pcap";
const MISSING_CONNECT: &str = "suricata-verify/mqtt-events-missing-connect/input.pcap";
const PROPLEN: &str = "suricata-verify/mqtt5-excessiveproplen/input.pcap";
const PUB_PROPS: &str = "suricata-verify/mqtt5-pub-mosquittoprops/input.pcap";
const SUB_PROPS: &str = "suricata-verify/mqtt5-sub-mosquittoprops/input.pcap";
const SYNTHETIC: &str = "wild/arkime__arkime__mqtt_synthetic.pcap";
const ROUNDTRIP: &str = "wild/deepflowio__deepflow__mqtt_roundtrip.pcap";

/// PFI 144 in the will properties of the CONNECT that both suricata-verify
/// mosquittoprops tests share (byte 95 is the will property length, 0x4b).
const WILL_PFI_144: &[(usize, &[u8])] = &[
    (0, &[0x10, 0xcc, 0x01]),
    (95, &[0x4b]),
    (124, &[0x01, 0x90]),
];
const WILL_PFI_WHY: &str = "CONNECT (10 cc 01) whose will properties (length 0x4b at byte 95) hold 01 90: \
     Payload Format Indicator 144, and only 0 and 1 exist (MQTT 5 §3.1.3.2.3)";

const WS_FRAMES: &str = "samples/ws_frames.pcap";

/// Complete flows tshark cannot see (or sees incomplete) because it does
/// not decode one of their packets: (capture, connection, direction,
/// packet id, our frames, why).
/// A flow listed by hand: (capture, connection, direction, packet id,
/// frames, why).
type ListedFlow = (
    &'static str,
    u64,
    &'static str,
    u64,
    &'static [u64],
    &'static str,
);

const TSHARK_MISSED_FLOWS: &[ListedFlow] = &[
    (
        WS_FRAMES,
        0,
        C2S,
        2,
        &[25, 30],
        "its PUBLISH spans three WebSocket messages, which tshark does not join \
         (mqtt_agreement's tshark_cannot_join_a_packet_over_websocket_messages); \
         tshark has the PUBACK (frame 30) alone",
    ),
    (
        "samples/ws_deflate.pcap",
        0,
        C2S,
        4,
        &[29, 35],
        "its PUBACK shares frame 35's WebSocket message with the end of an 80,000-byte PUBLISH \
         that spans two messages (mqtt_agreement's \
         tshark_cannot_join_a_compressed_packet_over_websocket_messages): tshark has the flow incomplete",
    ),
    (
        "samples/ws_deflate.pcap",
        0,
        S2C,
        3,
        &[35, 36],
        "the broker's 80,000-byte PUBLISH spans two WebSocket messages (frames 32 and 35), which \
         tshark does not join: it decodes the PUBLISH from the first message alone (frame 32, \
         TSHARK_MISPLACED_FLOWS), where only the start of the packet is",
    ),
];

/// Complete flows of tshark that start at a PUBLISH it decoded from a
/// frame that does not hold the whole packet (mqtt_agreement's
/// `TSHARK_WRONG`): (capture, connection, direction, packet id, tshark's
/// frames, why). Left out of the comparison; our flow of the same message
/// is in [`TSHARK_MISSED_FLOWS`]. An entry tshark's truth no longer has is
/// reported as stale.
const TSHARK_MISPLACED_FLOWS: &[ListedFlow] = &[(
    "samples/ws_deflate.pcap",
    0,
    S2C,
    3,
    &[32, 36],
    "frame 32's WebSocket message holds only the start of the 80,000-byte PUBLISH, whose rest \
     is in frame 35's (mqtt_agreement's \
     tshark_cannot_join_a_compressed_packet_over_websocket_messages); tshark reports the \
     PUBLISH at 32 anyway, so its latency runs from a frame the packet had not completed in",
)];

/// Every finding the corpus calls for. A tcp_gap is expected at the first
/// frame of its direction after the hole (the segment whose sequence number
/// shows it, tshark's "previous segment not captured").
const EXPECTED_FINDINGS: &[Expected] = &[
    // ---- samples: MQTT over WebSocket with frames placed by hand
    Expected {
        capture: WS_FRAMES,
        kind: "websocket_protocol_error",
        direction: C2S,
        frames: &[74],
        why: "conn 2: the client's frame 82 02 c0 00 is a binary frame with the mask bit clear \
              (a PINGREQ); a client must mask every frame (RFC 6455 5.1)",
        proof: Proof::Bytes(&[(0, &[0x82, 0x02, 0xc0, 0x00])]),
    },
    Expected {
        capture: WS_FRAMES,
        kind: "keepalive_exceeded",
        direction: C2S,
        frames: &[59, 62],
        why: "conn 1: keep alive 1 s (CONNECT in the WebSocket frame of frame 56); the client's last \
              packet is frame 59, then nothing until the broker's FIN (frame 62) 4.4 s later: more \
              than 1.5 s",
        proof: Proof::Silent {
            connect: 56,
            keepalive: 1,
            until: 62,
        },
    },
    // ---- samples: TLS handshakes refused by the client
    Expected {
        capture: "samples/tls_alerts.pcap",
        kind: "tls_alert",
        direction: C2S,
        frames: &[10],
        why: "conn 0 (TLS 1.2): the client's record 15 03 03 00 02 02 30 is an alert in the clear, \
              level 2 (fatal), description 48 (unknown_ca): it refused the broker's certificate",
        proof: Proof::Bytes(&[(0, &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30])]),
    },
    Expected {
        capture: "samples/tls_alerts.pcap",
        kind: "tls_alert",
        direction: C2S,
        frames: &[20],
        why: "conn 1 (TLS 1.3): the same alert record in the clear (the client has no handshake \
              write key yet when it checks the certificate)",
        proof: Proof::Bytes(&[(0, &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30])]),
    },
    // ---- suricata-verify: captures made to carry protocol violations
    Expected {
        capture: INVALID_QOS,
        kind: "invalid_qos",
        direction: C2S,
        frames: &[8],
        why: "PUBLISH whose first byte is 0x36: QoS bits 11 = QoS 3, which does not exist (MQTT-3.3.1-4)",
        proof: Proof::Bytes(&[(0, &[0x36])]),
    },
    Expected {
        capture: INVALID_QOS,
        kind: "tcp_gap",
        direction: S2C,
        frames: &[11],
        why: "the server's CONNACK (frame 6) ends at seq 1410483614, its FIN (frame 11) is at 1410483618: \
              4 bytes the capture never saw (the client's frame 9 acknowledges them)",
        proof: Proof::Gap(4),
    },
    Expected {
        capture: UNASSIGNED,
        kind: "malformed_packet",
        direction: C2S,
        frames: &[8],
        why: "first byte 0x00: packet type 0 is reserved (MQTT-2.2.1); remaining length 0x18 = 24",
        proof: Proof::Bytes(&[(0, &[0x00, 0x18])]),
    },
    Expected {
        capture: UNINTRODUCED,
        kind: "tcp_gap",
        direction: S2C,
        frames: &[6],
        why: "the server's SYN/ACK is at seq 2755649624; its next segment, the FIN of frame 6, is at \
              2755649629: the 4 bytes in between (its CONNACK) were never captured (frame 5 acknowledges them)",
        proof: Proof::Gap(4),
    },
    Expected {
        capture: UNINTRODUCED,
        kind: "tcp_gap",
        direction: C2S,
        frames: &[7],
        why: "the client's PUBLISH (frame 5) ends at seq 577720917, its ACK of frame 7 is at 577720920 \
              and the server's FIN (frame 6) acknowledges 577720920: 3 sequence numbers the client sent \
              were never captured",
        proof: Proof::Gap(3),
    },
    Expected {
        capture: MISSING_CONNECT,
        kind: "tcp_gap",
        direction: C2S,
        frames: &[17],
        why: "connection 2: after the handshake (client at seq 51721628) the client's next segment, the ACK \
              of frame 17, is at 51721644 and the server's frame 15 acknowledges 51721644: 16 bytes (the \
              CONNECT) never captured. The CONNACK of frame 16 answers that CONNECT: no protocol violation",
        proof: Proof::Gap(16),
    },
    Expected {
        capture: PROPLEN,
        kind: "malformed_packet",
        direction: C2S,
        frames: &[4],
        why: "CONNECT (0x10) of remaining length 0x2f = 47, protocol level 5, whose property length at byte \
              12 is the varint ff 21 = 4351: past the end of the packet",
        proof: Proof::Bytes(&[(0, &[0x10, 0x2f]), (8, &[0x05]), (12, &[0xff, 0x21])]),
    },
    Expected {
        capture: PUB_PROPS,
        kind: "protocol_violation",
        direction: C2S,
        frames: &[4],
        why: WILL_PFI_WHY,
        proof: Proof::Bytes(WILL_PFI_144),
    },
    Expected {
        capture: PUB_PROPS,
        kind: "protocol_violation",
        direction: C2S,
        frames: &[8],
        why: "QoS 1 PUBLISH (0x32) whose properties hold 01 58 at byte 35: Payload Format Indicator 88, \
              and only 0 and 1 exist (MQTT 5 §3.3.2.3.2)",
        proof: Proof::Bytes(&[(0, &[0x32]), (35, &[0x01, 0x58])]),
    },
    Expected {
        capture: SUB_PROPS,
        kind: "protocol_violation",
        direction: C2S,
        frames: &[4],
        why: WILL_PFI_WHY,
        proof: Proof::Bytes(WILL_PFI_144),
    },
    // ---- arkime's synthetic capture: the server ACKs at TCP level but never sends an MQTT byte
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[4],
        why: "conn 0: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[15],
        why: "conn 1: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[22],
        why: "conn 2: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[31],
        why: "conn 3: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[42],
        why: "conn 4: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[51],
        why: "conn 5: CONNECT, never answered by a CONNACK (the server sends no payload at all; \
              the connection stays up longer than the ack timeout)",
        proof: Proof::NeverAnswered(&[0x10]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[6],
        why: "conn 0: SUBSCRIBE id 1, never answered (the server sends no payload at all)",
        proof: Proof::NeverAnswered(&[0x82]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[10],
        why: "conn 0: QoS 1 PUBLISH id 2, never answered",
        proof: Proof::NeverAnswered(&[0x32]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "keepalive_exceeded",
        direction: C2S,
        frames: &[10],
        why: "conn 0: keep alive 60 s (CONNECT, frame 4); the client's last packet is frame 10 at +4.25 s \
              and the capture goes on to frame 63 (another connection's) at +100.4 s with this one \
              still open: 96.15 s > 90 s. The finding cites the connection's own frame only",
        proof: Proof::Silent {
            connect: 4,
            keepalive: 60,
            until: 63,
        },
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[17],
        why: "conn 1: QoS 1 PUBLISH id 1, never answered",
        proof: Proof::NeverAnswered(&[0x32]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[24],
        why: "conn 2: SUBSCRIBE id 1, never answered",
        proof: Proof::NeverAnswered(&[0x82]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[26],
        why: "conn 2: UNSUBSCRIBE id 2, never answered",
        proof: Proof::NeverAnswered(&[0xa2]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[37],
        why: "conn 3: QoS 1 PUBLISH id 1, never answered",
        proof: Proof::NeverAnswered(&[0x32]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[44],
        why: "conn 4 (MQTT 5.0): SUBSCRIBE id 1, never answered",
        proof: Proof::NeverAnswered(&[0x82]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[46],
        why: "conn 4 (MQTT 5.0): QoS 1 PUBLISH id 2, never answered",
        proof: Proof::NeverAnswered(&[0x32]),
    },
    Expected {
        capture: SYNTHETIC,
        kind: "missing_ack",
        direction: C2S,
        frames: &[53],
        why: "conn 5: UNSUBSCRIBE id 5, never answered",
        proof: Proof::NeverAnswered(&[0xa2]),
    },
    // ---- deepflow's roundtrip: segments missing from the capture in both directions
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: C2S,
        frames: &[11],
        why: "client: frame 10 ends at seq 571049513, frame 11 starts at 571049521 (8 bytes missing)",
        proof: Proof::Gap(8),
    },
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: S2C,
        frames: &[13],
        why: "server: frame 10 ends at seq 626898972, frame 13 starts at 626899041 (69 bytes missing)",
        proof: Proof::Gap(69),
    },
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: C2S,
        frames: &[14],
        why: "client: frame 12 ends at seq 571049593, frame 14 starts at 571049597 (4 bytes missing)",
        proof: Proof::Gap(4),
    },
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: S2C,
        frames: &[15],
        why: "server: frame 13 ends at seq 626899045, frame 15 starts at 626899082 (37 bytes missing)",
        proof: Proof::Gap(37),
    },
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: S2C,
        frames: &[17],
        why: "server: frame 15 ends at seq 626899086, frame 17 starts at 626899123 (37 bytes missing)",
        proof: Proof::Gap(37),
    },
    Expected {
        capture: ROUNDTRIP,
        kind: "tcp_gap",
        direction: C2S,
        frames: &[18],
        why: "client: frame 16 ends at seq 571049638, frame 18 starts at 571049644 (6 bytes missing)",
        proof: Proof::Gap(6),
    },
];

fn dir_short(d: &str) -> &'static str {
    match d {
        "client_to_server" => "c→s",
        "server_to_client" => "s→c",
        _ => "-",
    }
}

/// (kind, direction, frames) of one finding.
type Key = (String, String, Vec<u64>);

fn show_key((kind, dir, frames): &Key) -> String {
    format!("{kind} {} frames {frames:?}", dir_short(dir))
}

/// The findings: ours against the list, one line per difference.
fn check_findings(name: &str, summary: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut want: Vec<(Key, &str)> = EXPECTED_FINDINGS
        .iter()
        .filter(|e| e.capture == name)
        .map(|e| {
            (
                (
                    e.kind.to_string(),
                    e.direction.to_string(),
                    e.frames.to_vec(),
                ),
                e.why,
            )
        })
        .collect();
    for f in summary["findings"].as_array().unwrap() {
        let key: Key = (
            f["kind"].as_str().unwrap_or("?").to_string(),
            f["direction"].as_str().unwrap_or("-").to_string(),
            f["frames"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default(),
        );
        if let Some(i) = want.iter().position(|(k, _)| *k == key) {
            want.remove(i);
        } else {
            problems.push(format!(
                "{name}: finding {} (connection {}): ours reported vs the bytes not called for: {}",
                show_key(&key),
                f["connection"],
                f["message"].as_str().unwrap_or("")
            ));
        }
    }
    for (key, why) in want {
        problems.push(format!(
            "{name}: finding {}: ours none vs the bytes expected: {why}",
            show_key(&key)
        ));
    }
    let dropped = summary["findings_dropped"].as_u64().unwrap_or(0);
    if dropped > 0 {
        problems.push(format!(
            "{name}: {dropped} findings dropped from the report, so not compared"
        ));
    }
    problems
}

fn flow_label(stream: &Value, dir: &Value, pid: &Value, frames: &Value) -> String {
    format!(
        "flow conn {stream} {} id {pid} frames {frames}",
        dir_short(dir.as_str().unwrap_or(""))
    )
}

/// Our complete flow `o` is one of [`TSHARK_MISSED_FLOWS`].
fn tshark_missed(name: &str, o: &Value) -> bool {
    TSHARK_MISSED_FLOWS
        .iter()
        .any(|(c, conn, d, id, frames, _)| {
            *c == name
                && o["connection"] == *conn
                && o["direction"] == *d
                && o["packet_id"] == *id
                && o["frames"] == serde_json::json!(frames)
        })
}

fn check(cap: &Path) -> Vec<String> {
    let name = capture_name(cap);
    let truth = read_json(&truth_path(cap));
    let args = capture_args(cap);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = analyze_jsonl(&args);
    let ours: Vec<&Value> = lines.iter().filter(|l| l["type"] == "flow").collect();

    // complete flows, with their latencies (tshark's misplaced ones left out)
    let is = |t: &Value, (c, conn, d, id, frames, _): &ListedFlow| {
        *c == name
            && t["stream"] == *conn
            && t["direction"] == *d
            && t["packet_id"] == *id
            && t["frames"] == serde_json::json!(frames)
    };
    let all: Vec<&Value> = truth["flows_complete"].as_array().unwrap().iter().collect();
    let mut problems = Vec::new();
    for e in TSHARK_MISPLACED_FLOWS {
        if e.0 == name && !all.iter().any(|t| is(t, e)) {
            problems.push(format!(
                "{name}: TSHARK_MISPLACED_FLOWS lists conn {} {} id {} frames {:?}, which tshark does not have: remove the entry",
                e.1,
                dir_short(e.2),
                e.3,
                e.4
            ));
        }
    }
    let want: Vec<&Value> = all
        .into_iter()
        .filter(|t| !TSHARK_MISPLACED_FLOWS.iter().any(|e| is(t, e)))
        .collect();
    let same_start = |o: &Value, t: &Value| {
        o["connection"] == t["stream"]
            && o["direction"] == t["direction"]
            && o["packet_id"] == t["packet_id"]
            && o["frames"][0] == t["frames"][0]
    };
    let mut used = BTreeSet::new();
    for t in &want {
        let label = flow_label(&t["stream"], &t["direction"], &t["packet_id"], &t["frames"]);
        let Some((i, o)) = ours
            .iter()
            .enumerate()
            .find(|(i, o)| !used.contains(i) && same_start(o, t))
        else {
            problems.push(format!("{name} {label}: ours none vs tshark complete"));
            continue;
        };
        used.insert(i);
        if o["complete"] != true {
            problems.push(format!(
                "{name} {label}: ours incomplete ({}, frames {}) vs tshark complete",
                o["outcome"], o["frames"]
            ));
            continue;
        }
        if o["frames"] != t["frames"] {
            problems.push(format!(
                "{name} {label}: frames: ours {} vs tshark {}",
                o["frames"], t["frames"]
            ));
        }
        for (key, v) in t["latency_ms"].as_object().unwrap() {
            let theirs = v.as_f64().unwrap();
            let mine = o["latency_ms"][key].as_f64().unwrap_or(f64::NAN);
            let close_enough = (mine - theirs).abs() <= TOLERANCE_MS; // false for NaN
            if !close_enough {
                problems.push(format!(
                    "{name} {label}: latency {key}: ours {mine:.6} ms vs tshark {theirs:.6} ms"
                ));
            }
        }
    }

    // incomplete flows: tshark's flows_incomplete (frames seen so far)
    let want_open: Vec<&Value> = truth["flows_incomplete"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    for t in &want_open {
        let label = flow_label(&t["stream"], &t["direction"], &t["packet_id"], &t["frames"]);
        match ours
            .iter()
            .enumerate()
            .find(|(i, o)| !used.contains(i) && same_start(o, t))
        {
            None => problems.push(format!(
                "{name} {label}: ours none vs tshark incomplete (after {})",
                t["stage"]
            )),
            Some((i, o)) => {
                used.insert(i);
                if o["complete"] == true && tshark_missed(&name, o) {
                    continue;
                }
                if o["complete"] == true || o["frames"] != t["frames"] {
                    problems.push(format!(
                        "{name} {label}: ours {} frames {} vs tshark incomplete frames {}",
                        if o["complete"] == true {
                            "complete"
                        } else {
                            "incomplete"
                        },
                        o["frames"],
                        t["frames"]
                    ));
                }
            }
        }
    }
    for (i, o) in ours.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let label = flow_label(
            &o["connection"],
            &o["direction"],
            &o["packet_id"],
            &o["frames"],
        );
        let missed = TSHARK_MISSED_FLOWS
            .iter()
            .any(|(c, conn, d, id, frames, _)| {
                *c == name
                    && o["connection"] == *conn
                    && o["direction"] == *d
                    && o["packet_id"] == *id
                    && o["frames"] == serde_json::json!(frames)
            });
        if o["complete"] == true && missed {
            continue;
        }
        if o["complete"] == true {
            problems.push(format!("{name} {label}: ours complete vs tshark none"));
        } else {
            problems.push(format!(
                "{name} {label}: ours incomplete ({}, expected {}) vs tshark none",
                o["outcome"], o["expected"]
            ));
        }
    }

    problems.extend(check_findings(&name, lines.last().unwrap()));
    capped(&name, problems)
}

fn check_all(caps: &[PathBuf], at_least: usize, prefix: &str) {
    assert!(
        caps.len() >= at_least,
        "expected at least {at_least} captures under {prefix}, found {caps:?}"
    );
    let names: BTreeSet<String> = caps.iter().map(|c| capture_name(c)).collect();
    let mut problems: Vec<String> = EXPECTED_FINDINGS
        .iter()
        .filter(|e| e.capture.starts_with(prefix) && !names.contains(e.capture))
        .map(|e| format!("{}: listed in EXPECTED_FINDINGS but not found", e.capture))
        .collect();
    let mut failing = 0;
    for c in caps {
        let p = check(c);
        failing += usize::from(!p.is_empty());
        problems.extend(p);
    }
    assert!(
        problems.is_empty(),
        "flows and findings: {failing} of {} captures differ (lines: capture flow/finding: ours vs tshark or the bytes):\n{}",
        caps.len(),
        problems.join("\n")
    );
}

#[test]
fn flows_and_findings_agree_on_the_generated_corpus() {
    let Some(dir) = corpus_subdir("generated") else {
        return;
    };
    check_all(&captures_with_truth(&dir), 2, "generated/");
}

#[test]
fn flows_and_findings_agree_on_the_wild_captures() {
    let Some(dir) = corpus_subdir("wild") else {
        return;
    };
    check_all(&captures_with_truth(&dir), 26, "wild/");
}

#[test]
fn flows_and_findings_agree_on_the_suricata_verify_captures() {
    let Some(dir) = corpus_subdir("suricata-verify") else {
        return;
    };
    check_all(&captures_with_truth(&dir), 39, "suricata-verify/");
}

#[test]
fn flows_and_findings_agree_on_the_clean_samples() {
    let caps: Vec<PathBuf> = captures_with_truth(&root().join("samples"))
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "faults"))
        .collect();
    check_all(&caps, 10, "samples/");
}

#[test]
#[ignore = "needs fresh recordings: scripts/ci/fresh_recordings.sh"]
fn flows_and_latencies_agree_on_fresh_recordings() {
    let caps = captures_with_truth(&fresh_dir());
    check_all(&caps, 4, "-");
}

/// Each reason in [`EXPECTED_FINDINGS`] holds on the capture's bytes.
#[test]
fn expected_findings_are_what_the_bytes_say() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let mut problems = Vec::new();
    for e in EXPECTED_FINDINGS {
        let path = match e.capture.strip_prefix("samples/") {
            Some(_) => root().join(e.capture),
            None => corpus.join(e.capture),
        };
        let segs = tcp_segments(&path);
        let seg = segment(&segs, e.frames[0]);
        let want_src_is_client = e.direction == C2S;
        // the client is the side that is not on the server port of the pair
        let client_port_side = [1883, 8883, 8080, 9001].contains(&seg.dst.1);
        if want_src_is_client != client_port_side {
            problems.push(format!(
                "{} frame {}: the segment goes {:?} → {:?}, not {}",
                e.capture, e.frames[0], seg.src, seg.dst, e.direction
            ));
        }
        let fail = match &e.proof {
            Proof::Gap(n) => {
                let hole = hole_before(&segs, e.frames[0]);
                (hole != *n).then(|| format!("hole before the frame: {hole}, not {n}"))
            }
            Proof::Bytes(at) => at.iter().find_map(|(off, bytes)| {
                let got = seg.payload.get(*off..off + bytes.len());
                (got != Some(*bytes))
                    .then(|| format!("bytes at {off}: {got:02x?}, not {bytes:02x?}"))
            }),
            Proof::NeverAnswered(start) => {
                let answered = segs
                    .iter()
                    .any(|s| s.src == seg.dst && s.dst == seg.src && !s.payload.is_empty());
                if !seg.payload.starts_with(start) {
                    Some(format!("payload starts {:02x?}", &seg.payload[..2]))
                } else if answered {
                    Some("the server does send payload on this connection".into())
                } else {
                    None
                }
            }
            Proof::Silent {
                connect,
                keepalive,
                until,
            } => {
                let c = segment(&segs, *connect);
                let p = &unmasked(&c.payload);
                // fixed header: type byte + remaining length varint; then the protocol
                // name (2-byte length + name), level, flags, keep alive
                let rl = p[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
                let name_len = usize::from(u16::from_be_bytes([p[1 + rl], p[2 + rl]]));
                let at = 1 + rl + 2 + name_len + 2;
                let ka = u16::from_be_bytes([p[at], p[at + 1]]);
                let (a, b) = (e.frames[0], *until);
                let (ta, tb) = (segment(&segs, a).ts, segment(&segs, b).ts);
                let spoke = segs.iter().any(|s| {
                    s.frame > a
                        && s.frame < b
                        && s.src == c.src
                        && s.dst == c.dst
                        && !s.payload.is_empty()
                });
                if ka != *keepalive {
                    Some(format!("keep alive {ka}, not {keepalive}"))
                } else if spoke {
                    Some(format!(
                        "the client sends payload between frames {a} and {b}"
                    ))
                } else if tb - ta <= 1.5 * f64::from(ka) {
                    Some(format!("only {:.3} s between frames {a} and {b}", tb - ta))
                } else {
                    None
                }
            }
        };
        if let Some(f) = fail {
            problems.push(format!(
                "{} {} frames {:?}: the reason does not hold: {f} (reason: {})",
                e.capture, e.kind, e.frames, e.why
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The MQTT bytes of a TCP payload: as they are, or — when the payload is
/// one masked WebSocket binary frame (RFC 6455 5.2) — its payload unmasked.
fn unmasked(p: &[u8]) -> Vec<u8> {
    if p.len() < 6 || p[0] != 0x82 || p[1] & 0x80 == 0 || p[1] & 0x7f >= 126 {
        return p.to_vec();
    }
    let len = usize::from(p[1] & 0x7f);
    let key = &p[2..6];
    p[6..6 + len]
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

#[test]
fn lossy_capture_has_no_duplicates_and_no_missing_acks() {
    let s = analyze_json(&[root().join("samples/lossy_retrans.pcap").to_str().unwrap()]);
    let retrans: u64 = s["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["client_to_server"]["retransmissions"].as_u64().unwrap()
                + c["server_to_client"]["retransmissions"].as_u64().unwrap()
        })
        .sum();
    assert!(retrans >= 3, "the capture really has TCP retransmissions");
    assert_eq!(
        s["findings_by_kind"],
        serde_json::json!({}),
        "no finding at all: {}",
        s["findings"]
    );
    assert_eq!(s["flows"]["qos1"]["incomplete"], 0);
    assert_eq!(s["flows"]["qos2"]["incomplete"], 0);
    assert!(
        s["flows"]["qos1"]["completed"].as_u64().unwrap()
            + s["flows"]["qos2"]["completed"].as_u64().unwrap()
            >= 8
    );
}

#[test]
fn many_clients_capture_is_clean_and_complete() {
    let s = analyze_json(&[root().join("samples/clients_many.pcap").to_str().unwrap()]);
    assert_eq!(s["findings"], serde_json::json!([]));
    for q in ["qos1", "qos2"] {
        for dir in ["client_to_server", "server_to_client"] {
            assert!(
                s["flows_by_direction"][dir][q]["completed"]
                    .as_u64()
                    .unwrap()
                    > 0,
                "{q} {dir} exercised"
            );
            assert_eq!(s["flows_by_direction"][dir][q]["incomplete"], 0);
        }
    }
    let versions: Vec<&str> = s["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["mqtt"]["version"].as_str().unwrap())
        .collect();
    assert!(versions.contains(&"3.1.1") && versions.contains(&"5.0"));
    for key in [
        "tcp_handshake",
        "connack",
        "suback",
        "puback",
        "pubrec",
        "pubrel",
        "pubcomp",
        "qos2_total",
    ] {
        let l = &s["latency"][key];
        assert!(l["count"].as_u64().unwrap() > 0, "{key} measured");
        let (min, p50, max) = (
            l["min_ms"].as_f64().unwrap(),
            l["p50_ms"].as_f64().unwrap(),
            l["max_ms"].as_f64().unwrap(),
        );
        assert!(min <= p50 && p50 <= max, "{key}: {l}");
    }
}
