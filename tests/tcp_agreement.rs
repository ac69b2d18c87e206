//! Our TCP connections agree with Wireshark's on every capture we have: the
//! corpus in `../shared/corpus` (`generated/`, `wild/`, `suricata-verify/`)
//! and our own `samples/`.
//!
//! Oracle 1: `NAME.truth.json` (tshark's `tcp.stream`s: endpoints, which side
//! sent the SYN, handshake seen, close, first and last frame, and the MQTT
//! packets tshark decoded in each).
//! Oracle 2: `tshark -q -z conv,tcp` output stored as `NAME.conv.txt` (frames
//! per direction): beside the sample, or for the corpus (which the
//! repository must not copy) our own derived copy under `tests/data/corpus/`
//! at the capture's path below `../shared/corpus`
//! (`tests/data/corpus/regenerate.sh` writes them).
//!
//! What is compared, one line per difference:
//! - every tshark stream with MQTT in it, or on port 1883/8883, against our
//!   connection with the same endpoints and first frame: id (= `tcp.stream`),
//!   handshake, close, first and last frame; and every connection we report
//!   must be one of those;
//! - the number of TCP connections we saw (`tcp.connections`, MQTT or not)
//!   against the number of tshark's streams;
//! - segments per direction of each connection we report against conv,tcp;
//! - `mqtt.version_inferred`: a connection in which tshark saw no CONNECT
//!   cannot have its version from a CONNECT; one where it saw a CONNECT that
//!   we decoded must not be inferred.
//!
//! mqtt-inspect runs with no `--port` on the corpus: detection must find
//! every MQTT connection by itself — also the samples whose MQTT is inside
//! WebSocket (found by the upgrade, any port) or TLS off port 8883 (found
//! by decrypting with the key log beside the capture, `--tls-keylog X.keys`,
//! the same one tshark used).

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MQTT_PORTS: [u64; 2] = [1883, 8883];

fn endpoint(v: &Value) -> Ep {
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

fn show(e: &Ep) -> String {
    if e.0.contains(':') {
        format!("[{}]:{}", e.0, e.1)
    } else {
        format!("{}:{}", e.0, e.1)
    }
}

/// One connection as both sides can describe it.
#[derive(Debug, Clone, PartialEq)]
struct Conn {
    id: u64,
    client: Ep,
    server: Ep,
    handshake: bool,
    close: String,
    first_frame: u64,
    last_frame: u64,
}

impl Conn {
    fn label(&self) -> String {
        format!("{} → {}", show(&self.client), show(&self.server))
    }
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
            id: c["stream"].as_u64().unwrap(),
            client: endpoint(&c["client"]),
            server: endpoint(&c["server"]),
            handshake: c["handshake"].as_bool().unwrap(),
            close: c["close"].as_str().unwrap().to_string(),
            first_frame: c["first_frame"].as_u64().unwrap(),
            last_frame: c["last_frame"].as_u64().unwrap(),
        })
        .collect()
}

fn our_conn(c: &Value) -> Conn {
    let hs = &c["handshake"];
    Conn {
        id: c["id"].as_u64().unwrap(),
        client: endpoint(&c["client"]),
        server: endpoint(&c["server"]),
        handshake: !hs.is_null() && !hs["syn_frame"].is_null() && !hs["synack_frame"].is_null(),
        close: c["close"].as_str().unwrap().to_string(),
        first_frame: c["first_frame"].as_u64().unwrap(),
        last_frame: c["last_frame"].as_u64().unwrap(),
    }
}

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

/// `X.conv.txt` beside the capture, else ours in `tests/data/corpus/` at the
/// capture's path below the corpus.
fn conv_path(cap: &Path) -> Option<PathBuf> {
    let beside = cap.with_extension("conv.txt");
    if beside.is_file() {
        return Some(beside);
    }
    let ours = root()
        .join("tests/data/corpus")
        .join(capture_name(cap))
        .with_extension("conv.txt");
    ours.is_file().then_some(ours)
}

fn check_capture(cap: &Path) -> Vec<String> {
    let name = capture_name(cap);
    let mut problems = Vec::new();
    let truth = read_json(&truth_path(cap));
    let args = capture_args(cap);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = analyze_jsonl(&args);
    let summary = lines.last().expect("a summary line");
    let want = truth_conns(&truth);
    let ours_json = summary["connections"].as_array().unwrap();
    let got: Vec<Conn> = ours_json.iter().map(our_conn).collect();

    // 1. tshark's MQTT connections, one by one
    let negative = truth["packets"].as_array().unwrap().is_empty();
    if want.is_empty() && !negative {
        problems.push(format!(
            "{name}: tshark decoded MQTT but no connection qualifies (bad fixture?)"
        ));
    }
    // our id -> tshark's stream, for what is matched
    let mut matched: BTreeMap<u64, u64> = BTreeMap::new();
    for w in &want {
        let same = |g: &&Conn| g.client == w.client && g.server == w.server;
        let found = got
            .iter()
            .find(|g| same(g) && g.first_frame == w.first_frame)
            .or_else(|| {
                got.iter()
                    .filter(same)
                    .filter(|g| !matched.contains_key(&g.id))
                    .min_by_key(|g| g.first_frame.abs_diff(w.first_frame))
            });
        let Some(g) = found else {
            problems.push(format!(
                "{name} conn {} (tshark stream {}, frames {}–{}): ours none vs tshark a connection",
                w.label(),
                w.id,
                w.first_frame,
                w.last_frame
            ));
            continue;
        };
        matched.insert(g.id, w.id);
        let mut field = |f: &str, ours: String, theirs: String| {
            if ours != theirs {
                problems.push(format!(
                    "{name} conn {} (tshark stream {}): {f}: ours {ours} vs tshark {theirs}",
                    w.label(),
                    w.id
                ));
            }
        };
        field("id", g.id.to_string(), w.id.to_string());
        field(
            "handshake",
            g.handshake.to_string(),
            w.handshake.to_string(),
        );
        field("close", g.close.clone(), w.close.clone());
        field(
            "first frame",
            g.first_frame.to_string(),
            w.first_frame.to_string(),
        );
        field(
            "last frame",
            g.last_frame.to_string(),
            w.last_frame.to_string(),
        );
    }
    for g in got.iter().filter(|g| !matched.contains_key(&g.id)) {
        problems.push(format!(
            "{name} conn {} (our id {}, frames {}–{}): ours an MQTT connection vs tshark none",
            g.label(),
            g.id,
            g.first_frame,
            g.last_frame
        ));
    }

    // 2. every TCP connection, MQTT or not
    let ours_total = summary["tcp"]["connections"].as_u64().unwrap();
    let theirs_total = truth["connections"].as_array().unwrap().len() as u64;
    if ours_total != theirs_total {
        problems.push(format!(
            "{name}: TCP connections (tcp.connections, MQTT or not): ours {ours_total} vs tshark {theirs_total} streams"
        ));
    }

    // 3. segments per direction, against conv,tcp
    match conv_path(cap) {
        None => problems.push(format!(
            "{name}: no conv.txt from tshark stored (tests/data/corpus/regenerate.sh writes them)"
        )),
        Some(conv) => {
            let frames = conv_frames(&std::fs::read_to_string(&conv).unwrap());
            for (c, o) in ours_json.iter().zip(&got) {
                let c2s = c["client_to_server"]["segments"].as_u64().unwrap();
                let s2c = c["server_to_client"]["segments"].as_u64().unwrap();
                let theirs = match frames.get(&(o.client.clone(), o.server.clone())) {
                    Some(&(b_to_a, a_to_b)) => Some((a_to_b, b_to_a)),
                    None => frames.get(&(o.server.clone(), o.client.clone())).copied(),
                };
                match theirs {
                    Some(t) if t == (c2s, s2c) => {}
                    Some((tc2s, ts2c)) => problems.push(format!(
                        "{name} conn {} (our id {}): segments c→s, s→c: ours {c2s}, {s2c} vs tshark conv,tcp {tc2s}, {ts2c}",
                        o.label(),
                        o.id
                    )),
                    None => problems.push(format!(
                        "{name} conn {} (our id {}): segments: ours {c2s}, {s2c} vs tshark conv,tcp no such conversation",
                        o.label(),
                        o.id
                    )),
                }
            }
        }
    }

    // 4. version inferred or from a CONNECT
    for (c, o) in ours_json.iter().zip(&got) {
        let m = &c["mqtt"];
        let Some(&stream) = matched.get(&o.id) else {
            continue; // already reported above
        };
        if m["version"].is_null() {
            continue;
        }
        let inferred = m["version_inferred"].as_bool();
        let theirs_connect = truth["packets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["type"] == "CONNECT" && p["stream"].as_u64() == Some(stream));
        let ours_connect_ok = lines.iter().any(|l| {
            l["type"] == "packet"
                && l["connection"].as_u64() == Some(o.id)
                && l["mqtt"]["type"] == "CONNECT"
                && l["mqtt"].get("malformed").is_none()
        });
        if !theirs_connect && inferred != Some(true) {
            problems.push(format!(
                "{name} conn {} (our id {}): version_inferred: ours {inferred:?} (version {}) vs tshark no CONNECT in the stream, so the version can only be inferred",
                o.label(),
                o.id,
                m["version"]
            ));
        }
        if theirs_connect && ours_connect_ok && inferred != Some(false) {
            problems.push(format!(
                "{name} conn {} (our id {}): version_inferred: ours {inferred:?} vs tshark a CONNECT, which we decoded too",
                o.label(),
                o.id
            ));
        }
    }
    capped(&name, problems)
}

fn check_all(dir: &Path, at_least: usize) {
    let caps = captures_with_truth(dir);
    assert!(
        caps.len() >= at_least,
        "expected at least {at_least} captures in {}, found {caps:?}",
        dir.display()
    );
    let mut failing = 0;
    let mut problems = Vec::new();
    for c in &caps {
        let p = check_capture(c);
        failing += usize::from(!p.is_empty());
        problems.extend(p);
    }
    assert!(
        problems.is_empty(),
        "TCP connections: {failing} of {} captures disagree with tshark (lines: capture conn: field: ours vs tshark):\n{}",
        caps.len(),
        problems.join("\n")
    );
}

#[test]
fn connections_agree_with_tshark_on_the_generated_corpus() {
    let Some(dir) = corpus_subdir("generated") else {
        return;
    };
    check_all(&dir, 2);
}

#[test]
fn connections_agree_with_tshark_on_the_wild_captures() {
    let Some(dir) = corpus_subdir("wild") else {
        return;
    };
    check_all(&dir, 26);
}

#[test]
fn connections_agree_with_tshark_on_the_suricata_verify_captures() {
    let Some(dir) = corpus_subdir("suricata-verify") else {
        return;
    };
    check_all(&dir, 39);
}

#[test]
fn connections_agree_with_tshark_on_the_samples() {
    check_all(&root().join("samples"), 4);
}

#[test]
#[ignore = "needs fresh recordings: scripts/ci/fresh_recordings.sh"]
fn connections_agree_with_tshark_on_fresh_recordings() {
    check_all(&fresh_dir(), 4);
}

/// Every corpus capture has its conv,tcp table in `tests/data/corpus/`, and
/// no table there is left over from a capture the corpus no longer has.
#[test]
fn every_corpus_capture_has_its_stored_conversation_table() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let caps: BTreeSet<String> = captures_with_truth(&dir)
        .iter()
        .map(|c| {
            let n = capture_name(c);
            format!("{}.conv.txt", n.rsplit_once('.').unwrap().0)
        })
        .collect();
    let mut stored = BTreeSet::new();
    let base = root().join("tests/data/corpus");
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".conv.txt") {
                stored.insert(
                    p.strip_prefix(&base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let missing: Vec<_> = caps.difference(&stored).collect();
    let stale: Vec<_> = stored.difference(&caps).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "tests/data/corpus: missing {missing:?}, left over {stale:?} (run tests/data/corpus/regenerate.sh)"
    );
}
