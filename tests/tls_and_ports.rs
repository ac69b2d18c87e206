//! MQTT that cannot be read (inside TLS on 8883) and MQTT on a port no
//! default knows (11883), with the real captures `samples/tls_8883.pcap`
//! and `samples/other_port.pcap` and tshark's view of them beside.

mod common;

use common::*;
use mqtt_inspect::capture::open_captures;
use mqtt_inspect::netdecode::{Decoded, decode};
use serde_json::Value;
use std::collections::BTreeMap;

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn truth(name: &str) -> Value {
    read_json(&truth_path(&root().join("samples").join(name)))
}

fn connections(summary: &Value) -> &Vec<Value> {
    summary["connections"]
        .as_array()
        .expect("connections array")
}

/// TCP payload bytes per (client port, direction) counted straight from the
/// capture frames, without reassembly (the file has no retransmission).
fn payload_bytes(cap: &str, server_port: u16) -> BTreeMap<(u16, &'static str), u64> {
    let mut reader = open_captures(&[cap.to_string()]).expect("capture opens");
    let mut out = BTreeMap::new();
    while let Some(frame) = reader.next_frame() {
        if let Decoded::Tcp(seg) = decode(&frame) {
            let key = if seg.dst.port == server_port {
                (seg.src.port, "client_to_server")
            } else {
                (seg.dst.port, "server_to_client")
            };
            *out.entry(key).or_insert(0) += seg.payload.len() as u64;
        }
    }
    out
}

#[test]
fn tls_connections_are_encrypted_and_carry_no_mqtt() {
    let s = analyze_json(&[&sample("tls_8883.pcap")]);
    let conns = connections(&s);
    let want = truth("tls_8883.pcap")["connections"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(want, 4, "the truth file lists the four TLS connections");
    assert_eq!(conns.len(), want, "{conns:#?}");
    for c in conns {
        assert_eq!(c["server"]["port"], 8883, "{c:#}");
        assert_eq!(c["encrypted"], true, "{c:#}");
        assert!(c["mqtt"].is_null(), "{c:#}");
        assert!(
            !c["handshake"].is_null(),
            "the SYNs are in the capture: {c:#}"
        );
    }
    assert_eq!(s["packets"]["total"], 0, "{:#}", s["packets"]);
    assert_eq!(s["packets"]["malformed"], 0, "{:#}", s["packets"]);
    assert!(
        truth("tls_8883.pcap")["packets"]
            .as_array()
            .unwrap()
            .is_empty(),
        "tshark sees no MQTT either"
    );
    // And no packet event at all in the event stream.
    let lines = analyze_jsonl(&[&sample("tls_8883.pcap")]);
    let packets = lines.iter().filter(|l| l["type"] == "packet").count();
    assert_eq!(packets, 0);
    let opened = lines
        .iter()
        .filter(|l| l["type"] == "connection" && l["event"] == "open")
        .count();
    assert_eq!(opened, want);
}

/// Fails until fixed: once a connection is recognised as TLS (its first
/// bytes), reassembly stops delivering its data and `bytes` stops growing:
/// the server's certificate and every later record go uncounted (`bytes`
/// is 0 server→client), although `segments` goes on counting.
#[test]
fn tls_connections_count_all_their_bytes() {
    let cap = sample("tls_8883.pcap");
    let want = payload_bytes(&cap, 8883);
    let s = analyze_json(&[&cap]);
    let mut got = BTreeMap::new();
    for c in connections(&s) {
        let port = c["client"]["port"].as_u64().unwrap() as u16;
        for dir in ["client_to_server", "server_to_client"] {
            // Summing the frames' payloads is only right without resent data.
            assert_eq!(c[dir]["retransmissions"], 0, "{c:#}");
            got.insert((port, dir), c[dir]["bytes"].as_u64().unwrap());
        }
    }
    assert!(want.values().all(|&n| n > 0), "{want:?}");
    assert_eq!(
        got, want,
        "per-direction bytes: ours (left) and the frames' payloads (right)"
    );
}

#[test]
fn other_port_is_found_by_content_detection() {
    let s = analyze_json(&[&sample("other_port.pcap")]);
    let t = truth("other_port.pcap");
    let conns = connections(&s);
    assert_eq!(conns.len(), t["connections"].as_array().unwrap().len());
    for c in conns {
        assert_eq!(c["server"]["port"], 11883, "{c:#}");
        assert_eq!(c["encrypted"], false, "{c:#}");
        assert_eq!(c["mqtt"]["version"], "3.1.1", "{c:#}");
        assert_eq!(c["mqtt"]["version_inferred"], false, "{c:#}");
    }
    let truth_packets = t["packets"].as_array().unwrap();
    assert_eq!(truth_packets.len(), 55, "the basic exchange");
    assert_eq!(
        s["packets"]["total"].as_u64(),
        Some(truth_packets.len() as u64)
    );
    assert_eq!(s["packets"]["malformed"], 0);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for p in truth_packets {
        *by_type
            .entry(p["type"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    let ours: BTreeMap<String, u64> = s["packets"]["by_type"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(ours, by_type);
}

#[test]
fn other_port_is_not_found_without_detection() {
    let s = analyze_json(&["--no-detect", &sample("other_port.pcap")]);
    assert_eq!(s["packets"]["total"], 0, "{:#}", s["packets"]);
    assert!(
        connections(&s).iter().all(|c| c["mqtt"].is_null()),
        "{:#}",
        s["connections"]
    );
    // Naming the port brings it back, without detection.
    let s = analyze_json(&["--no-detect", "--port", "11883", &sample("other_port.pcap")]);
    assert_eq!(s["packets"]["total"], 55);
    assert!(
        connections(&s)
            .iter()
            .all(|c| c["mqtt"]["version"] == "3.1.1")
    );
}

/// Fails until fixed: for a connection found by content detection, the
/// pipeline decodes the first data (the CONNECT) before it writes the
/// connection's `open` event, so in JSON lines the CONNECT `packet` event
/// of connection N comes before `connection` N `open` (and a later frame
/// before an earlier one).
#[test]
fn detected_connection_opens_before_its_first_packet() {
    let lines = analyze_jsonl(&[&sample("other_port.pcap")]);
    let mut opened = std::collections::BTreeSet::new();
    let mut early = Vec::new();
    for l in &lines {
        let conn = l["connection"].as_u64();
        match l["type"].as_str() {
            Some("connection") if l["event"] == "open" => {
                opened.insert(conn.unwrap());
            }
            Some("packet") if !opened.contains(&conn.unwrap()) => early.push(format!(
                "frame {} connection {}",
                l["frame"], l["connection"]
            )),
            _ => {}
        }
    }
    assert_eq!(opened.len(), 7);
    assert!(
        early.is_empty(),
        "packets before their connection's open event: {early:?}"
    );
}
