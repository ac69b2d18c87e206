//! Our TCP connections agree with Wireshark's on every capture we have:
//! the corpus in `../shared/corpus` and our own `samples/`.
//!
//! Oracle 1: `NAME.truth.json` (tshark's `tcp.stream`s: endpoints, which side
//! sent the SYN, handshake seen, close, first and last frame).
//! Oracle 2: `tshark -q -z conv,tcp` output stored as `NAME.conv.txt` (frames
//! per direction), beside the sample or in `tests/data/corpus/`.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MQTT_PORTS: [u64; 2] = [1883, 8883];

fn endpoint(v: &Value) -> (String, u64) {
    // truth: ["ip", port]; ours: {"ip": "...", "port": n}
    if let Some(a) = v.as_array() {
        (a[0].as_str().unwrap().to_string(), a[1].as_u64().unwrap())
    } else {
        (
            v["ip"].as_str().unwrap().to_string(),
            v["port"].as_u64().unwrap(),
        )
    }
}

/// One connection as both sides can describe it.
#[derive(Debug, PartialEq)]
struct Conn {
    client: (String, u64),
    server: (String, u64),
    handshake: bool,
    close: String,
    first_frame: u64,
    last_frame: u64,
}

fn truth_conns(truth: &Value) -> Vec<Conn> {
    truth["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["mqtt"].as_bool() == Some(true)
                || MQTT_PORTS.contains(&c["server"][1].as_u64().unwrap())
        })
        .map(|c| Conn {
            client: endpoint(&c["client"]),
            server: endpoint(&c["server"]),
            handshake: c["handshake"].as_bool().unwrap(),
            close: c["close"].as_str().unwrap().to_string(),
            first_frame: c["first_frame"].as_u64().unwrap(),
            last_frame: c["last_frame"].as_u64().unwrap(),
        })
        .collect()
}

fn our_conns(summary: &Value) -> Vec<Conn> {
    summary["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let hs = &c["handshake"];
            Conn {
                client: endpoint(&c["client"]),
                server: endpoint(&c["server"]),
                handshake: !hs.is_null()
                    && !hs["syn_frame"].is_null()
                    && !hs["synack_frame"].is_null(),
                close: c["close"].as_str().unwrap().to_string(),
                first_frame: c["first_frame"].as_u64().unwrap(),
                last_frame: c["last_frame"].as_u64().unwrap(),
            }
        })
        .collect()
}

/// `(ip, port)` of one side.
type Ep = (String, u64);

/// `tshark -z conv,tcp` lines: `A <-> B  frames(B→A) bytes  frames(A→B) bytes ...`.
fn conv_frames(text: &str) -> BTreeMap<(Ep, Ep), (u64, u64)> {
    let split_ep = |s: &str| {
        let (ip, port) = s.rsplit_once(':').expect("ip:port");
        (ip.to_string(), port.parse::<u64>().expect("port"))
    };
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((a, rest)) = line.split_once("<->") else {
            continue;
        };
        let mut it = rest.split_whitespace();
        let b = it.next().expect("B endpoint");
        let nums: Vec<u64> = it.filter_map(|t| t.parse().ok()).collect();
        // frames(B→A), bytes, frames(A→B), bytes, ...
        let entry = out
            .entry((split_ep(a.trim()), split_ep(b)))
            .or_insert((0, 0));
        entry.0 += nums[0];
        entry.1 += nums[2];
    }
    out
}

fn conv_path(cap: &Path) -> Option<PathBuf> {
    let name = cap.file_name()?.to_str()?;
    let stem = name.rsplit_once('.')?.0;
    let beside = cap.with_file_name(format!("{stem}.conv.txt"));
    if beside.is_file() {
        return Some(beside);
    }
    let ours = root()
        .join("tests/data/corpus")
        .join(format!("{stem}.conv.txt"));
    ours.is_file().then_some(ours)
}

fn check_capture(cap: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let truth = read_json(&truth_path(cap));
    let summary = analyze_json(&[cap.to_str().unwrap()]);
    let want = truth_conns(&truth);
    let got = our_conns(&summary);
    if want.is_empty() {
        problems.push(format!(
            "{}: tshark found no MQTT connection (bad fixture?)",
            cap.display()
        ));
    }
    for w in &want {
        if !got.contains(w) {
            let near: Vec<&Conn> = got
                .iter()
                .filter(|g| g.client == w.client && g.server == w.server)
                .collect();
            problems.push(format!(
                "{}: tshark has {w:?}, we have {near:?}",
                cap.display()
            ));
        }
    }
    for g in &got {
        if !want.contains(g)
            && !want
                .iter()
                .any(|w| w.client == g.client && w.server == g.server)
        {
            problems.push(format!(
                "{}: we report {g:?}, tshark does not",
                cap.display()
            ));
        }
    }
    if let Some(conv) = conv_path(cap) {
        let frames = conv_frames(&std::fs::read_to_string(&conv).unwrap());
        for c in summary["connections"].as_array().unwrap() {
            let client = endpoint(&c["client"]);
            let server = endpoint(&c["server"]);
            let c2s = c["client_to_server"]["segments"].as_u64().unwrap();
            let s2c = c["server_to_client"]["segments"].as_u64().unwrap();
            let ours =
                if let Some(&(b_to_a, a_to_b)) = frames.get(&(client.clone(), server.clone())) {
                    Some((a_to_b, b_to_a))
                } else {
                    frames
                        .get(&(server.clone(), client.clone()))
                        .map(|&(b_to_a, a_to_b)| (b_to_a, a_to_b))
                };
            match ours {
                Some(tshark) if tshark == (c2s, s2c) => {}
                other => problems.push(format!(
                    "{}: {client:?}->{server:?}: tshark frames (c→s, s→c) {other:?}, ours ({c2s}, {s2c})",
                    cap.display()
                )),
            }
        }
    } else {
        problems.push(format!("{}: no conv.txt from tshark stored", cap.display()));
    }
    problems
}

#[test]
fn connections_agree_with_tshark_on_the_corpus() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let caps = captures_with_truth(&dir);
    assert!(
        caps.len() >= 2,
        "expected the corpus captures, found {caps:?}"
    );
    let problems: Vec<String> = caps.iter().flat_map(|c| check_capture(c)).collect();
    assert!(
        problems.is_empty(),
        "disagreements:\n{}",
        problems.join("\n")
    );
}

#[test]
fn connections_agree_with_tshark_on_the_samples() {
    let caps = captures_with_truth(&root().join("samples"));
    assert!(
        caps.len() >= 4,
        "expected the bundled samples, found {caps:?}"
    );
    let problems: Vec<String> = caps.iter().flat_map(|c| check_capture(c)).collect();
    assert!(
        problems.is_empty(),
        "disagreements:\n{}",
        problems.join("\n")
    );
}

#[test]
#[ignore = "needs fresh recordings: scripts/ci/fresh_recordings.sh"]
fn connections_agree_with_tshark_on_fresh_recordings() {
    let caps = captures_with_truth(&fresh_dir());
    assert!(
        caps.len() >= 4,
        "expected the fresh recordings, found {caps:?}"
    );
    let problems: Vec<String> = caps.iter().flat_map(|c| check_capture(c)).collect();
    assert!(
        problems.is_empty(),
        "disagreements:\n{}",
        problems.join("\n")
    );
}
