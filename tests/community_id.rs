//! The `community_id` of findings and flows is Wireshark's: for every
//! bundled sample, each connection's Community ID in the jsonl output
//! equals the one tshark's own implementation (`--enable-protocol
//! communityid`) prints for that `tcp.stream`. The spec's test vectors
//! are checked in `src/base/community_id.rs`; this checks the tool end to
//! end, endpoints and all, on real captures (IPv4 and IPv6).
//!
//! Needs tshark (`.ci/run` installs it): without it the test says
//! `SKIPPED` and passes on a developer's machine, and fails in CI.

mod common;

use common::{analyze_jsonl, in_ci, root};
use std::collections::BTreeMap;
use std::process::Command;

fn tshark_ids(capture: &str) -> Option<BTreeMap<u64, String>> {
    let out = Command::new("tshark")
        .args(["--enable-protocol", "communityid", "-r", capture])
        .args(["-T", "fields", "-e", "tcp.stream", "-e", "communityid"])
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tshark failed on {capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split('\t');
        let (Some(stream), Some(id)) = (f.next(), f.next()) else {
            continue;
        };
        if let (Ok(stream), false) = (stream.trim().parse::<u64>(), id.trim().is_empty()) {
            ids.insert(stream, id.trim().to_string());
        }
    }
    Some(ids)
}

#[test]
fn community_ids_agree_with_tshark() {
    if Command::new("tshark").arg("-v").output().is_err() {
        assert!(
            !in_ci(),
            "tshark is not installed: CI installs it (.ci/run), so this is a failure, not a skip"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED: tshark not installed (community_ids_agree_with_tshark)"
        );
        return;
    }
    let mut compared = 0;
    for dir in ["samples", "samples/faults"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        files.sort();
        for p in files {
            let path = p.to_string_lossy().into_owned();
            let Some(theirs) = tshark_ids(&path) else {
                continue;
            };
            for line in analyze_jsonl(&[&path]) {
                if line["type"] != "finding" && line["type"] != "flow" {
                    continue;
                }
                let conn = line["connection"].as_u64().expect("connection id");
                let ours = line["community_id"].as_str().expect("community_id");
                assert_eq!(
                    Some(ours),
                    theirs.get(&conn).map(String::as_str),
                    "{path}: connection {conn}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "only {compared} records compared");
}
