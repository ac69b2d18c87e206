//! The layers under MQTT on the recorded samples, against what tshark says
//! about them in the truth files and what the bytes say: per connection the
//! TLS version and cipher suite (tshark's ServerHello), the WebSocket path,
//! subprotocol, status and close frames (tshark's WebSocket dissector), the
//! reasons a connection stays encrypted, TLS alerts, permessage-deflate,
//! and the WebSocket frame count per connection.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The TLS and WebSocket samples (all with tshark_truth_layers.py truth).
const LAYERED: [&str; 8] = [
    "ws_mqtt",
    "ws_frames",
    "ws_deflate",
    "tls12_keylog",
    "tls13_keylog",
    "wss_keylog",
    "tls_alerts",
    "tls_8883",
];

fn cap(name: &str) -> PathBuf {
    root().join("samples").join(format!("{name}.pcap"))
}

/// Our summary with the sample's key log, if it has one.
fn ours(name: &str) -> Value {
    let args = capture_args(&cap(name));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    analyze_json(&args)
}

fn by_id(summary: &Value) -> BTreeMap<u64, &Value> {
    summary["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_u64().unwrap(), c))
        .collect()
}

#[test]
fn handshake_fields_agree_with_tshark() {
    for name in LAYERED {
        let truth = read_json(&truth_path(&cap(name)));
        let s = ours(name);
        let conns = by_id(&s);
        for t in truth["connections"].as_array().unwrap() {
            let id = t["stream"].as_u64().unwrap();
            let o = conns
                .get(&id)
                .unwrap_or_else(|| panic!("{name}: connection {id} not reported"));
            if let Some(tt) = t.get("tls") {
                assert_eq!(o["tls"]["version"], tt["version"], "{name} conn {id}");
                assert_eq!(o["tls"]["cipher"], tt["cipher"], "{name} conn {id}");
                assert!(o["layers"].as_array().unwrap().contains(&"tls".into()));
            } else if truth.get("websocket_frames").is_some() {
                // (tls_8883's truth is of the plain kind: no handshake fields)
                assert!(o.get("tls").is_none(), "{name} conn {id}: {o}");
            }
            if let Some(tw) = t.get("websocket") {
                let w = &o["websocket"];
                assert_eq!(w["path"], tw["path"], "{name} conn {id}");
                assert_eq!(w["subprotocol"], tw["subprotocol"], "{name} conn {id}");
                assert_eq!(w["status"], tw["status"], "{name} conn {id}");
                assert!(w["handshake_ms"].as_f64().unwrap() > 0.0);
                // frames and close frames as tshark's WebSocket dissector has them
                let frames: Vec<&Value> = truth["websocket_frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f["stream"] == id)
                    .collect();
                for dir in ["client_to_server", "server_to_client"] {
                    let theirs = frames.iter().filter(|f| f["direction"] == dir).count();
                    assert_eq!(
                        w["frames"][dir].as_u64().unwrap() as usize,
                        theirs,
                        "{name} conn {id} {dir}: WebSocket frames"
                    );
                    let close = frames
                        .iter()
                        .find(|f| f["direction"] == dir && f["opcode"] == "close");
                    match close {
                        Some(c) => {
                            assert_eq!(w["close"][dir]["code"], c["close_code"], "{name} {id}");
                            assert_eq!(w["close"][dir]["reason"], c["close_reason"], "{name} {id}");
                            assert_eq!(w["close"][dir]["frame"], c["frame"], "{name} {id}");
                        }
                        None => assert!(w["close"][dir].is_null(), "{name} {id} {dir}"),
                    }
                }
            } else {
                assert!(o.get("websocket").is_none(), "{name} conn {id}");
            }
        }
    }
}

#[test]
fn encrypted_connections_say_why_they_were_not_decoded() {
    // without any key log: every TLS connection that completed its
    // handshake is "no_key_log"; tls_alerts' two refused ones failed first
    for name in ["tls12_keylog", "tls13_keylog", "tls_8883", "tls_alerts"] {
        let s = analyze_json(&[cap(name).to_str().unwrap()]);
        assert_eq!(s["packets"]["total"], 0, "{name}");
        for c in s["connections"].as_array().unwrap() {
            if c["server"]["port"] != 8883 {
                continue; // off 8883 without keys: not known to be MQTT, not reported
            }
            assert_eq!(c["encrypted"], true, "{name}: {c}");
            let why = c["tls"]["undecoded"].as_str().unwrap();
            let want = if name == "tls_alerts" && c["id"] != 2 {
                "handshake_failed"
            } else {
                "no_key_log"
            };
            assert_eq!(why, want, "{name} conn {}", c["id"]);
        }
        let t = &s["layers"]["tls"];
        assert_eq!(t["decrypted"], 0, "{name}");
        assert_eq!(t["undecoded"], t["connections"], "{name}");
    }
    // with the key logs: everything that carried MQTT is decrypted
    for name in ["tls12_keylog", "tls13_keylog", "wss_keylog"] {
        let s = ours(name);
        let t = &s["layers"]["tls"];
        assert_eq!(t["decrypted"], t["connections"], "{name}: {t}");
        assert_eq!(t["undecoded"], 0, "{name}");
        for c in s["connections"].as_array().unwrap() {
            assert_eq!(c["encrypted"], false, "{name}");
            assert_eq!(c["tls"]["decrypt_failures"]["client_to_server"], 0);
            assert_eq!(c["tls"]["decrypt_failures"]["server_to_client"], 0);
            assert!(c["tls"]["handshake_ms"].as_f64().unwrap() > 0.0);
        }
    }
}

/// tls_alerts: the two clients that trust another CA send a fatal
/// unknown_ca alert in the clear (bytes 15 03 03 00 02 02 30 at the start
/// of the frame's payload — OpenSSL's TLS 1.3 client also alerts before it
/// has handshake keys); the third connection carries a 100,000-byte message
/// each way in TLS 1.3 and ends with the broker's close_notify, which only
/// decryption shows.
#[test]
fn tls_alerts_are_findings_from_the_bytes() {
    let c = cap("tls_alerts");
    let segs = tcp_segments(&c);
    let s = ours("tls_alerts");
    let alerts: Vec<&Value> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "tls_alert")
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    for (f, conn) in alerts.iter().zip([0, 1]) {
        assert_eq!(f["connection"], conn);
        assert_eq!(f["direction"], "client_to_server");
        assert_eq!(f["severity"], "warning");
        let frame = f["frames"][0].as_u64().unwrap();
        let p = &segment(&segs, frame).payload;
        assert_eq!(
            &p[..7],
            &[0x15, 3, 3, 0, 2, 2, 48],
            "frame {frame}: fatal unknown_ca"
        );
        assert!(f["message"].as_str().unwrap().contains("unknown_ca (48)"));
    }
    let conns = by_id(&s);
    assert_eq!(conns[&0]["tls"]["version"], "TLS 1.2");
    assert_eq!(conns[&1]["tls"]["version"], "TLS 1.3");
    for id in [0, 1] {
        assert_eq!(conns[&id]["tls"]["undecoded"], "handshake_failed");
        assert!(conns[&id]["mqtt"].is_null());
    }
    let big = conns[&2];
    assert_eq!(big["tls"]["decrypted"], true);
    assert_eq!(big["tls"]["close_notify"]["server_to_client"], true);
    assert!(big["tls"]["records"]["client_to_server"].as_u64().unwrap() >= 7);
    // the 100,000-byte message decoded both ways
    let lines = analyze_jsonl(
        &capture_args(&c)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let bigs: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "packet" && l["mqtt"]["type"] == "PUBLISH")
        .filter(|l| l["mqtt"]["payload_len"].as_u64() == Some(100_000))
        .collect();
    assert_eq!(bigs.len(), 2, "{bigs:?}");
    assert_ne!(bigs[0]["direction"], bigs[1]["direction"]);
}

/// ws_deflate: both connections negotiated permessage-deflate (one with
/// context takeover, one without); the messages arrive compressed, and the
/// 80,000-byte message inflates to its full length both ways.
#[test]
fn permessage_deflate_is_decoded() {
    let c = cap("ws_deflate");
    let s = ours("ws_deflate");
    for conn in s["connections"].as_array().unwrap() {
        let w = &conn["websocket"];
        assert_eq!(w["permessage_deflate"], true);
        assert!(
            w["compressed_messages"]["client_to_server"]
                .as_u64()
                .unwrap()
                >= 5
        );
        assert!(
            w["compressed_messages"]["server_to_client"]
                .as_u64()
                .unwrap()
                >= 3
        );
        assert_eq!(w["errors"], 0);
    }
    let lines = analyze_jsonl(&[c.to_str().unwrap()]);
    let big: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "packet" && l["mqtt"]["payload_len"].as_u64() == Some(80_000))
        .collect();
    assert_eq!(big.len(), 2);
    // the wire carried far fewer bytes than the messages
    let wire: u64 = s["connections"][0]["client_to_server"]["bytes"]
        .as_u64()
        .unwrap();
    assert!(
        wire < 20_000,
        "{wire} bytes on the wire for > 84,000 bytes of MQTT"
    );
    assert_eq!(s["flows"]["qos1"]["incomplete"], 0);
    assert_eq!(s["flows"]["qos2"]["incomplete"], 0);
}

#[test]
fn the_text_report_has_a_line_per_layer() {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--color", "never"])
        .args(capture_args(&cap("wss_keylog")))
        .output()
        .unwrap();
    // The summary wraps its detail lines to the width: read them as prose.
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("TLS 1.3 TLS_AES_256_GCM_SHA384")
            && text.contains("decrypted; WebSocket /mqtt (mqtt), handshake"),
        "{text}"
    );
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args([
            "analyze",
            "--color",
            "never",
            cap("tls_8883").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("encrypted, not decoded: no key log given (--tls-keylog)"),
        "{text}"
    );
    assert!(
        text.contains("encrypted: 4 of 4 TLS connections not decoded"),
        "{text}"
    );
}

#[test]
fn an_unreadable_key_log_stops_the_run() {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--tls-keylog", "/nonexistent/keys"])
        .arg(cap("tls_8883"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the TLS key log"));
    assert!(out.stdout.is_empty());
}

/// `samples/tls13_keylog.pcap` with frame `frame` changed by `edit`
/// (`None`: left out), written to `dir`.
fn tls13_edited(dir: &std::path::Path, frame: usize, edit: Option<fn(&mut Vec<u8>)>) -> PathBuf {
    let d = std::fs::read(cap("tls13_keylog")).unwrap();
    let mut out = d[..24].to_vec();
    let (mut o, mut n) = (24, 0);
    while o + 16 <= d.len() {
        let len = u32::from_le_bytes(d[o + 8..o + 12].try_into().unwrap()) as usize;
        let (head, mut body) = (&d[o..o + 16], d[o + 16..o + 16 + len].to_vec());
        o += 16 + len;
        n += 1;
        if n == frame {
            match edit {
                None => continue,
                Some(f) => f(&mut body),
            }
        }
        out.extend_from_slice(head);
        out.extend_from_slice(&body);
    }
    let p = dir.join(format!("tls13-{frame}.pcap"));
    std::fs::write(&p, out).unwrap();
    p
}

/// Frame 21 of tls13_keylog is the client's QoS 1 PUBLISH (one TLS
/// record), answered by the broker's PUBACK in frame 24. A record that is
/// in the capture but does not decrypt (its tag spoilt) is a warning and
/// no `tcp_gap`; a segment the capture lost is a `tcp_gap`. Either way the
/// PUBACK that answers what was lost is not an `unexpected_ack`, but an
/// ack whose request may sit in the lost bytes.
#[test]
fn a_record_that_does_not_decrypt_is_no_capture_gap() {
    let dir = tempfile::tempdir().unwrap();
    let keys = root().join("samples/tls13_keylog.keys");
    let keys = keys.to_str().unwrap();
    let base = analyze_json(&["--tls-keylog", keys, cap("tls13_keylog").to_str().unwrap()]);
    assert_eq!(base["findings_by_kind"], serde_json::json!({}));
    let acks_before = base["analysis"]["acks_without_publish"].as_u64().unwrap();

    let spoilt = tls13_edited(
        dir.path(),
        21,
        Some(|b: &mut Vec<u8>| {
            let last = b.last_mut().unwrap();
            *last ^= 0x55;
        }),
    );
    let s = analyze_json(&["--tls-keylog", keys, spoilt.to_str().unwrap()]);
    let warnings: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "connection 0 client_to_server: a TLS record (completed in frame 21) does not decrypt"
        )),
        "{warnings:?}"
    );
    assert_eq!(
        s["findings_by_kind"],
        serde_json::json!({}),
        "no tcp_gap, no unexpected_ack"
    );
    assert_eq!(s["analysis"]["acks_without_publish"], acks_before + 1);
    assert_eq!(
        s["connections"][0]["tls"]["decrypt_failures"]["client_to_server"],
        1
    );
    assert_eq!(s["connections"][0]["tls"]["decrypted"], true);

    let lost = tls13_edited(dir.path(), 21, None);
    let s = analyze_json(&["--tls-keylog", keys, lost.to_str().unwrap()]);
    assert_eq!(
        s["findings_by_kind"]["tcp_gap"], 1,
        "{}",
        s["findings_by_kind"]
    );
    assert!(s["findings_by_kind"].get("unexpected_ack").is_none());
    assert_eq!(s["analysis"]["acks_without_publish"], acks_before + 1);
}
