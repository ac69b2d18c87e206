//! Helpers shared by the integration tests: locating captures and running the binary.
#![allow(dead_code)]

pub mod conversation;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus` beside the checkout; panics with a clear message when it is missing,
/// so a test that depends on it can never pass by finding nothing.
pub fn corpus_dir() -> PathBuf {
    let dir = root().join("../shared/corpus");
    assert!(
        dir.is_dir(),
        "the capture corpus is missing: expected {} (../shared/corpus beside the checkout)",
        dir.display()
    );
    dir
}

/// Captures recorded just now by `scripts/ci/fresh_recordings.sh` (the
/// directory in `MQTT_INSPECT_FRESH_CAPTURES`). The tests that use it are
/// `#[ignore]`d by default and run by that script; run without it, they fail
/// with this message rather than pass on nothing.
pub fn fresh_dir() -> PathBuf {
    let dir = std::env::var_os("MQTT_INSPECT_FRESH_CAPTURES").map(PathBuf::from).expect(
        "MQTT_INSPECT_FRESH_CAPTURES is not set: run scripts/ci/fresh_recordings.sh, which records real traffic and runs this test",
    );
    assert!(dir.is_dir(), "{} is not a directory", dir.display());
    dir
}

/// Every capture (pcap/pcapng, maybe .gz) under `dir` that has a `NAME.truth.json` beside it.
pub fn captures_with_truth(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_capture(&p) && truth_path(&p).is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn is_capture(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// `X.pcap` → `X.truth.json` (the shared tool strips the last extension).
pub fn truth_path(cap: &Path) -> PathBuf {
    let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
    cap.with_file_name(format!("{stem}.truth.json"))
}

pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Runs `mqtt-inspect analyze --format json ARGS...` and returns the parsed summary.
pub fn analyze_json(args: &[&str]) -> Value {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .expect("binary built")
        .arg("analyze")
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "mqtt-inspect {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON on stdout")
}

/// Runs `mqtt-inspect analyze --format jsonl ARGS...` and returns every line.
pub fn analyze_jsonl(args: &[&str]) -> Vec<Value> {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .expect("binary built")
        .arg("analyze")
        .arg("--format")
        .arg("jsonl")
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "mqtt-inspect {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// `../shared/corpus/NAME` when it is there. When it is not, says so on
/// stderr and returns `None`, so that a clone without `../shared` still
/// passes — except in CI (`CI` set), where `../shared` is always laid beside
/// the checkout and a missing folder is a failure.
pub fn corpus_subdir(name: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/corpus").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "the capture corpus folder {} is missing (../shared/corpus/{name} beside the checkout)",
        dir.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI always has it");
    }
    eprintln!("SKIPPED, nothing checked: {msg}");
    None
}
