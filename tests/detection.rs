//! MQTT is found on any port by its CONNECT bytes, `--no-detect` turns that
//! off, and `--port` adds ports. The captures are real ones with the broker
//! port rewritten (TCP checksums are not verified, as in Wireshark's default).

mod common;

use common::*;
use std::io::Write;

/// Rewrites TCP port `from` to `to` in an Ethernet/IPv4 pcap (little-endian µs/ns).
fn rewrite_port(pcap: &[u8], from: u16, to: u16) -> Vec<u8> {
    let mut out = pcap.to_vec();
    let mut off = 24;
    while off + 16 <= out.len() {
        let incl = u32::from_le_bytes(out[off + 8..off + 12].try_into().unwrap()) as usize;
        let frame = off + 16;
        let eth_type = u16::from_be_bytes([out[frame + 12], out[frame + 13]]);
        if eth_type == 0x0800 && out[frame + 23] == 6 {
            let ihl = (out[frame + 14] & 0x0f) as usize * 4;
            let tcp = frame + 14 + ihl;
            for p in [tcp, tcp + 2] {
                if u16::from_be_bytes([out[p], out[p + 1]]) == from {
                    out[p..p + 2].copy_from_slice(&to.to_be_bytes());
                }
            }
        }
        off = frame + incl;
    }
    out
}

fn moved_sample(port: u16) -> tempfile::NamedTempFile {
    let bytes = std::fs::read(root().join("samples/v311_basic.pcap")).unwrap();
    let mut f = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    f.write_all(&rewrite_port(&bytes, 1883, port)).unwrap();
    f
}

fn mqtt_packets(summary: &serde_json::Value) -> u64 {
    summary["packets"]["total"].as_u64().unwrap()
}

#[test]
fn mqtt_on_another_port_is_found_by_its_connect() {
    let original = analyze_json(&[root().join("samples/v311_basic.pcap").to_str().unwrap()]);
    let moved = moved_sample(2883);
    let found = analyze_json(&[moved.path().to_str().unwrap()]);
    assert_eq!(
        found["connections"].as_array().unwrap().len(),
        original["connections"].as_array().unwrap().len()
    );
    assert_eq!(mqtt_packets(&found), mqtt_packets(&original));
    assert!(mqtt_packets(&found) > 10);
    for c in found["connections"].as_array().unwrap() {
        assert_eq!(c["server"]["port"], 2883);
        assert_eq!(c["mqtt"]["version"], "3.1.1");
    }
}

#[test]
fn no_detect_only_uses_the_ports() {
    let moved = moved_sample(2883);
    let path = moved.path().to_str().unwrap();
    let off = analyze_json(&["--no-detect", path]);
    assert_eq!(off["connections"].as_array().unwrap().len(), 0);
    assert_eq!(mqtt_packets(&off), 0);
    let by_port = analyze_json(&["--no-detect", "--port", "2883", path]);
    assert_eq!(by_port["connections"].as_array().unwrap().len(), 7);
    assert!(mqtt_packets(&by_port) > 10);
}

#[test]
fn non_mqtt_tcp_is_not_reported() {
    // ports swapped for something that is not MQTT: the server speaks first
    // in no MQTT exchange, and these bytes are not a CONNECT, so nothing is reported
    let bytes = std::fs::read(root().join("samples/v311_basic.pcap")).unwrap();
    let mut garbled = rewrite_port(&bytes, 1883, 8080);
    // break every CONNECT's protocol name so content detection must say no
    let needle = b"\x00\x04MQTT";
    let mut i = 0;
    while i + needle.len() <= garbled.len() {
        if &garbled[i..i + needle.len()] == needle {
            garbled[i + 2] = b'X';
        }
        i += 1;
    }
    let mut f = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    f.write_all(&garbled).unwrap();
    let s = analyze_json(&[f.path().to_str().unwrap()]);
    assert_eq!(s["connections"].as_array().unwrap().len(), 0);
    assert_eq!(s["tcp"]["connections"], 7);
}
