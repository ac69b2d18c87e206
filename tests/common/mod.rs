//! Helpers shared by the integration tests: locating captures and running the binary.
#![allow(dead_code)]

pub mod conversation;
#[cfg(unix)]
pub mod pty;
pub mod schema;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// The one line a test prints when it checks nothing because the corpus is absent.
pub const CORPUS_SKIPPED: &str =
    "SKIPPED, nothing checked: ../shared/corpus is not beside the checkout";

/// Whether this run is CI's: `CI` set to anything but "", "0" or "false"
/// (GitHub-style CI sets `CI=true`; `.ci/run` exports `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// `../shared/corpus` beside the checkout, for every test that reads it:
/// the one place that decides what happens when it is not there.
///
/// - present: `Some(dir)`, and the test runs;
/// - absent on a developer's clone: one line, [`CORPUS_SKIPPED`] and the
///   test's name, written straight to the terminal (libtest hides what a
///   passing test prints with `eprintln!`), then `None`: the test returns
///   having checked nothing, so that `cargo test` on a lone clone passes
///   on the project's own `samples/`;
/// - absent in CI ([`in_ci`]), where `../shared` is always laid beside the
///   checkout: a panic, so that a missing corpus can never pass as green.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    if in_ci() {
        panic!(
            "{test}: the capture corpus is missing: expected {} (../shared/corpus beside the checkout); \
             CI always has it, so this is a failure, not a skip",
            dir.display()
        );
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{CORPUS_SKIPPED} ({test})");
    None
}

/// `../shared/corpus/NAME`: `None` (after [`corpus_dir`]'s one line) when
/// the corpus is absent. A corpus without the folder NAME is broken, not
/// absent: that panics.
pub fn corpus_subdir(name: &str) -> Option<PathBuf> {
    let dir = corpus_dir()?.join(name);
    assert!(
        dir.is_dir(),
        "the capture corpus has no folder {name}: expected {}",
        dir.display()
    );
    Some(dir)
}

/// How a capture is named in failure messages and in the tables of
/// expected differences: its path below `../shared/corpus`
/// (`wild/zeek__zeek__mqtt.pcap`, `suricata-verify/mqtt-ping/input.pcap`)
/// or below the repository (`samples/faults/tcp_gap.pcap`).
pub fn capture_name(cap: &Path) -> String {
    let corpus = root().join("../shared/corpus");
    cap.strip_prefix(&corpus)
        .or_else(|_| cap.strip_prefix(root()))
        .unwrap_or(cap)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `ip:port` as both the truth files and our JSON can be turned into.
pub type Ep = (String, u64);

/// One TCP segment of a capture as its bytes say, for the proofs behind the
/// tables of expected differences (decoded by the library's capture reader
/// and link/IP/TCP decoder; `tcp_agreement` checks those against tshark).
#[derive(Debug, Clone)]
pub struct Seg {
    pub frame: u64,
    /// Capture time, seconds since the epoch.
    pub ts: f64,
    pub src: Ep,
    pub dst: Ep,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: Vec<u8>,
}

impl Seg {
    /// The sequence number after this segment (SYN and FIN count one).
    pub fn next_seq(&self) -> u32 {
        self.seq
            .wrapping_add(self.payload.len() as u32)
            .wrapping_add(self.syn as u32 + self.fin as u32)
    }
}

/// Every TCP segment of a capture, in frame order.
pub fn tcp_segments(cap: &Path) -> Vec<Seg> {
    use mqtt_inspect::capture::open_captures;
    use mqtt_inspect::netdecode::{Decoded, decode};
    let mut reader = open_captures(&[cap.to_string_lossy().into_owned()])
        .unwrap_or_else(|e| panic!("{}: {e}", cap.display()));
    let ep = |e: mqtt_inspect::base::Endpoint| (e.ip.to_string(), u64::from(e.port));
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame() {
        if let Decoded::Tcp(s) = decode(&frame) {
            out.push(Seg {
                frame: s.frame,
                ts: s.ts.as_secs_f64(),
                src: ep(s.src),
                dst: ep(s.dst),
                seq: s.seq,
                ack: s.ack,
                syn: s.flags.syn,
                fin: s.flags.fin,
                rst: s.flags.rst,
                payload: s.payload.to_vec(),
            });
        }
    }
    out
}

/// The segment of frame `frame` (panics if that frame is no TCP segment).
pub fn segment(segs: &[Seg], frame: u64) -> &Seg {
    segs.iter()
        .find(|s| s.frame == frame)
        .unwrap_or_else(|| panic!("frame {frame} is no TCP segment"))
}

/// How many sequence numbers the capture is missing right before `frame`
/// in that segment's direction: its `seq` minus the end of the last segment
/// the same sender sent earlier on the same 4-tuple (0 when it follows on).
pub fn hole_before(segs: &[Seg], frame: u64) -> u32 {
    let s = segment(segs, frame);
    let mut furthest: Option<u32> = None;
    for p in segs
        .iter()
        .filter(|p| p.frame < frame && p.src == s.src && p.dst == s.dst)
    {
        let n = p.next_seq();
        furthest = Some(match furthest {
            Some(f) if (n.wrapping_sub(f) as i32) <= 0 => f,
            _ => n,
        });
    }
    let furthest =
        furthest.unwrap_or_else(|| panic!("no segment before frame {frame} in its direction"));
    s.seq.wrapping_sub(furthest)
}

/// The key log beside a TLS capture (`X.keys` for `X.pcap`), as the
/// arguments that make mqtt-inspect use it — the same key log the truth
/// file's tshark run decrypted with (`-o tls.keylog_file:X.keys`).
pub fn keylog_args(cap: &Path) -> Vec<String> {
    let keys = cap.with_extension("keys");
    if keys.exists() {
        vec!["--tls-keylog".into(), keys.to_string_lossy().into_owned()]
    } else {
        Vec::new()
    }
}

/// `cap` and its key log arguments, for `analyze_json` / `analyze_jsonl`.
pub fn capture_args(cap: &Path) -> Vec<String> {
    let mut v = vec![cap.to_string_lossy().into_owned()];
    v.extend(keylog_args(cap));
    v
}

/// At most this many lines per capture in a failure message.
pub const LINES_PER_CAPTURE: usize = 25;

/// `lines` about one capture, cut to [`LINES_PER_CAPTURE`] with a count of the rest.
pub fn capped(name: &str, mut lines: Vec<String>) -> Vec<String> {
    if lines.len() > LINES_PER_CAPTURE {
        let more = lines.len() - LINES_PER_CAPTURE;
        lines.truncate(LINES_PER_CAPTURE);
        lines.push(format!("{name}: ... and {more} more lines like these"));
    }
    lines
}
