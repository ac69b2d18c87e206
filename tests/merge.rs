//! `mqtt-inspect merge`: a capture split by connection into parts (every
//! connection whole in one part), analysed part by part and merged, equals
//! the analysis of the whole capture — counts, flows, findings, latency
//! percentiles and all — except for what names a place in a part (frame
//! numbers, connection ids, the part itself, the file names). And the
//! fan-out the docs describe, GNU `parallel` into `merge -`, gives the same.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Captures with several connections and no session that outlives one
/// (a resumed session spans connections, so it needs its client's
/// connections in one part).
const SAMPLES: &[&str] = &[
    "samples/clients_many.pcap",
    "samples/faults/malformed_packet.pcap",
    "samples/faults/missing_ack_broker_killed.pcap",
    "samples/faults/packet_id_zero.pcap",
    "samples/faults/protocol_violation.pcap",
    "samples/faults/keepalive_exceeded.pcap",
    "samples/faults/invalid_qos.pcap",
    "samples/faults/dup_on_qos0.pcap",
];

/// The connection a classic-pcap Ethernet frame belongs to: its two
/// endpoints, in order (`None` for what is not TCP).
fn connection_of(frame: &[u8]) -> Option<Vec<u8>> {
    let mut off = 12;
    let mut ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    while ethertype == 0x8100 {
        off += 4;
        ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    let ip = off + 2;
    let (src, dst, tcp) = match ethertype {
        0x0800 => {
            let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
            if *frame.get(ip + 9)? != 6 {
                return None;
            }
            (
                frame.get(ip + 12..ip + 16)?,
                frame.get(ip + 16..ip + 20)?,
                ip + ihl,
            )
        }
        0x86dd => {
            if *frame.get(ip + 6)? != 6 {
                return None;
            }
            (
                frame.get(ip + 8..ip + 24)?,
                frame.get(ip + 24..ip + 40)?,
                ip + 40,
            )
        }
        _ => return None,
    };
    let a = [src, frame.get(tcp..tcp + 2)?].concat();
    let b = [dst, frame.get(tcp + 2..tcp + 4)?].concat();
    Some(if a < b {
        [a, b].concat()
    } else {
        [b, a].concat()
    })
}

/// Writes `cap` as `parts` pcap files, connection by connection in turn
/// (frames that are not TCP go to the first); returns their paths.
fn split(cap: &Path, parts: usize, dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(cap).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "{}: little-endian µs pcap",
        cap.display()
    );
    let linktype = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(linktype, 1, "{}: Ethernet", cap.display());
    let mut outs: Vec<Vec<u8>> = vec![bytes[..24].to_vec(); parts];
    let mut assigned: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let record = &bytes[at..at + 16 + incl];
        let part = match connection_of(&record[16..]) {
            Some(key) => {
                let next = assigned.len() % parts;
                *assigned.entry(key).or_insert(next)
            }
            None => 0,
        };
        outs[part].extend_from_slice(record);
        at += 16 + incl;
    }
    assert!(
        assigned.len() >= 2,
        "{}: fewer than two connections",
        cap.display()
    );
    outs.iter()
        .enumerate()
        .map(|(i, data)| {
            let p = dir.join(format!("part{i}.pcap"));
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect()
}

/// Parts list every client and topic (`--top`), as docs/scale.md says
/// summaries meant for merging should; the whole run lists the default 10.
fn analyze_part(cap: &Path) -> String {
    analyze_with(cap, &["--top", "1000"])
}

fn analyze(cap: &Path) -> String {
    analyze_with(cap, &[])
}

fn analyze_with(cap: &Path, extra: &[&str]) -> String {
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .args(extra)
        .arg(cap)
        .output()
        .unwrap();
    assert!(out.status.success(), "analyze {}: {out:?}", cap.display());
    String::from_utf8(out.stdout).unwrap()
}

fn merge(args: &[&Path], stdin: Option<String>) -> Value {
    let mut cmd = Command::cargo_bin("mqtt-inspect").unwrap();
    cmd.arg("merge").args(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Keys that name a place in one part's capture.
const PLACES: &[&str] = &[
    "part",
    "id",
    "connection",
    "frames",
    "first_frame",
    "last_frame",
    "syn_frame",
    "synack_frame",
    "ack_frame",
    "in_file",
    "in_files",
];

/// `v` without what names a place in a part, frame numbers in messages
/// masked, and the listed records in a canonical order.
fn placeless(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !PLACES.contains(&k.as_str()))
                .map(|(k, x)| (k.clone(), placeless(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(placeless).collect()),
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.find("frame ") {
                out.push_str(&rest[..i + 6]);
                rest = rest[i + 6..].trim_start_matches(|c: char| c.is_ascii_digit());
                out.push('#');
            }
            out.push_str(rest);
            Value::String(out)
        }
        _ => v.clone(),
    }
}

fn comparable(summary: &Value) -> Value {
    let mut s = placeless(summary);
    s["capture"]["sources"] = Value::Null;
    s["capture"]["files"] = Value::Null;
    for list in ["connections", "findings", "warnings"] {
        if let Some(a) = s[list].as_array_mut() {
            a.sort_by_key(|x| x.to_string());
        }
    }
    s
}

fn assert_same(whole: &Value, merged: &Value, what: &str) {
    let (w, m) = (comparable(whole), comparable(merged));
    for (k, x) in w.as_object().unwrap() {
        assert_eq!(
            Some(x),
            m.get(k),
            "{what}: {k} differs between the whole run and the merged parts"
        );
    }
    assert_eq!(w, m, "{what}");
}

#[test]
fn a_capture_split_by_connection_merges_back_into_the_whole() {
    let root = common::root();
    for sample in SAMPLES {
        let cap = root.join(sample);
        let whole: Value = serde_json::from_str(&analyze(&cap)).unwrap();
        for parts in [2, 3] {
            let dir = tempfile::tempdir().unwrap();
            let files = split(&cap, parts, dir.path());
            let summaries: Vec<PathBuf> = files
                .iter()
                .map(|f| {
                    let p = f.with_extension("json");
                    std::fs::write(&p, analyze_part(f)).unwrap();
                    p
                })
                .collect();
            let refs: Vec<&Path> = summaries.iter().map(PathBuf::as_path).collect();
            let merged = merge(&refs, None);
            assert_same(&whole, &merged, &format!("{sample} in {parts} parts"));
            // every listed record says which part it came from
            for c in merged["connections"].as_array().unwrap() {
                assert!(c["part"].as_u64().is_some_and(|p| p < parts as u64), "{c}");
            }
        }
    }
}

/// Percentiles of the merged histograms are those of all the samples:
/// averaging or picking the parts' percentiles would not give them.
#[test]
fn merged_percentiles_come_from_the_merged_histograms() {
    let cap = common::root().join("samples/clients_many.pcap");
    let whole: Value = serde_json::from_str(&analyze(&cap)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = split(&cap, 3, dir.path());
    let parts: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_str(&analyze_part(f)).unwrap())
        .collect();
    let p50 = |v: &Value| v["latency"]["puback"]["p50_ms"].as_f64();
    let mean_of_parts = parts.iter().filter_map(p50).sum::<f64>() / parts.len() as f64;
    let text: String = parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let merged = merge(&[Path::new("-")], Some(text));
    assert_eq!(p50(&merged), p50(&whole));
    assert_ne!(
        Some(mean_of_parts),
        p50(&whole),
        "the test needs parts whose p50s differ"
    );
    assert_eq!(
        merged["latency"]["puback"]["count"],
        whole["latency"]["puback"]["count"]
    );
    assert_eq!(
        merged["latency"]["puback"]["mean_ms"],
        whole["latency"]["puback"]["mean_ms"]
    );
}

/// The fan-out of docs/scale.md: GNU `parallel` analyses a directory of
/// captures, its output goes into `merge -`. Needs GNU parallel (Debian
/// `parallel`); CI installs it.
#[test]
fn gnu_parallel_fan_out_into_merge() {
    if std::process::Command::new("parallel")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            !common::in_ci(),
            "GNU parallel is missing under CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED, nothing checked: GNU parallel is not installed (Debian: parallel)");
        return;
    }
    let cap = common::root().join("samples/faults/missing_ack_broker_killed.pcap");
    let whole: Value = serde_json::from_str(&analyze(&cap)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = split(&cap, 2, dir.path());
    let bin = assert_cmd::cargo::cargo_bin("mqtt-inspect");
    let out = std::process::Command::new("parallel")
        .args(["--will-cite", "-j", "2", "--keep-order"])
        .arg(format!(
            "{} analyze --format json --threads 1 --top 1000 {{}}",
            bin.display()
        ))
        .arg(":::")
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "parallel: {out:?}");
    let merged = merge(
        &[Path::new("-")],
        Some(String::from_utf8(out.stdout).unwrap()),
    );
    assert_same(&whole, &merged, "parallel | merge -");
}

#[test]
fn what_is_not_a_summary_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    for (text, says) in [
        ("{\"x\": 1}", "no summary"),
        ("{\"schema\": \"mqtt-inspect/9\"}", "schema"),
        ("not json", "not JSON"),
    ] {
        merge_refused(&bad, text, says);
    }
    let mut damaged: Value =
        serde_json::from_str(&analyze(&common::root().join("samples/clients_many.pcap"))).unwrap();
    damaged["latency"]["puback"]["hdr"] = Value::from("HISTFAAAAAA=");
    merge_refused(&bad, &damaged.to_string(), "latency.puback");
}

/// `merge` of a file holding `text`: exit 2 and one line on stderr that says `says`.
fn merge_refused(file: &Path, text: &str, says: &str) {
    std::fs::write(file, text).unwrap();
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .arg("merge")
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(says), "{says}: {err}");
}
