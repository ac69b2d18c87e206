//! QoS flows and their latencies, cross-checked against timestamps read
//! independently: the `flows_complete` of each `*.truth.json` pairs PUBLISH
//! and acks from tshark's decode and computes latencies from tshark's
//! `frame.time_epoch`. On every clean capture (the corpus and `samples/`
//! outside `faults/`) we must find the same flows, with the same frames and
//! the same latencies, and no error at all.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// tshark's epoch seconds are f64s (about 0.25 µs resolution at today's
/// dates); ours are exact. 2 µs is far below any real latency difference.
const TOLERANCE_MS: f64 = 0.002;

fn clean_captures() -> Vec<PathBuf> {
    let mut caps = corpus_dir()
        .map(|d| captures_with_truth(&d))
        .unwrap_or_default();
    caps.extend(
        captures_with_truth(&root().join("samples"))
            .into_iter()
            .filter(|p| !p.components().any(|c| c.as_os_str() == "faults")),
    );
    caps
}

fn check(cap: &Path) -> Vec<String> {
    let name = cap.file_name().unwrap().to_string_lossy().to_string();
    let truth = read_json(&truth_path(cap));
    let lines = analyze_jsonl(&[cap.to_str().unwrap()]);
    let ours: Vec<&Value> = lines.iter().filter(|l| l["type"] == "flow").collect();
    let mut problems = Vec::new();
    let want = truth["flows_complete"].as_array().unwrap();
    for t in want {
        let found = ours.iter().find(|o| {
            o["connection"] == t["stream"]
                && o["direction"] == t["direction"]
                && o["packet_id"] == t["packet_id"]
                && o["frames"] == t["frames"]
        });
        let Some(o) = found else {
            problems.push(format!("{name}: tshark's flow {t} not found"));
            continue;
        };
        if o["complete"] != true {
            problems.push(format!("{name}: {o} should be complete"));
        }
        for (key, v) in t["latency_ms"].as_object().unwrap() {
            let theirs = v.as_f64().unwrap();
            let mine = o["latency_ms"][key].as_f64().unwrap_or(f64::NAN);
            let close_enough = (mine - theirs).abs() <= TOLERANCE_MS; // false for NaN
            if !close_enough {
                problems.push(format!(
                    "{name}: flow {} {key}: tshark {theirs:.6} ms, ours {mine:.6} ms",
                    t["frames"]
                ));
            }
        }
    }
    let complete = ours.iter().filter(|o| o["complete"] == true).count();
    if complete != want.len() {
        problems.push(format!(
            "{name}: {complete} complete flows, tshark pairs {}",
            want.len()
        ));
    }
    if let Some(o) = ours.iter().find(|o| o["complete"] != true) {
        problems.push(format!("{name}: incomplete flow in a clean capture: {o}"));
    }
    let summary = lines.last().unwrap();
    if summary["findings_by_severity"]["error"]
        .as_u64()
        .unwrap_or(0)
        > 0
    {
        problems.push(format!(
            "{name}: errors in a clean capture: {}",
            summary["findings"]
        ));
    }
    problems
}

#[test]
fn flows_and_latencies_agree_with_tshark_timestamps() {
    let caps = clean_captures();
    assert!(
        caps.len() >= 12,
        "expected the corpus and samples, found {caps:?}"
    );
    let problems: Vec<String> = caps.iter().flat_map(|c| check(c)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
#[ignore = "needs fresh recordings: scripts/ci/fresh_recordings.sh"]
fn flows_and_latencies_agree_on_fresh_recordings() {
    let caps = captures_with_truth(&fresh_dir());
    assert!(
        caps.len() >= 4,
        "expected the fresh recordings, found {caps:?}"
    );
    let problems: Vec<String> = caps.iter().flat_map(|c| check(c)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
