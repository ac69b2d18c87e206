//! A capture given as several files: frames are numbered over all of them
//! (as one concatenated capture), and every frame the report names also
//! carries its file and its number in that file, so it can be opened in
//! Wireshark. The files here are a sample cut in two, so the analysis of
//! the pieces must be that of the whole, frame for frame.

mod common;

use assert_cmd::Command;
use common::root;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("mqtt-inspect").expect("binary")
}

/// The records of a little-endian microsecond pcap, after its 24-byte header.
fn records(pcap: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push(&pcap[off..off + 16 + caplen]);
        off += 16 + caplen;
    }
    out
}

/// `sample` cut after record `cut` into `a.pcap` and `b.pcap` in `dir`.
fn split(sample: &str, cut: usize, dir: &Path) -> (PathBuf, PathBuf, usize) {
    let bytes = std::fs::read(root().join("samples").join(sample)).unwrap();
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes(), "a LE pcap");
    let recs = records(&bytes);
    assert!(cut < recs.len());
    let write = |name: &str, part: &[&[u8]]| {
        let path = dir.join(name);
        let mut out = bytes[..24].to_vec();
        for r in part {
            out.extend_from_slice(r);
        }
        std::fs::write(&path, out).unwrap();
        path
    };
    let a = write("a.pcap", &recs[..cut]);
    let b = write("b.pcap", &recs[cut..]);
    (a, b, recs.len())
}

fn run(args: &[&str], stdin: Option<&Path>) -> String {
    let mut cmd = bin();
    cmd.arg("analyze").args(args);
    if let Some(p) = stdin {
        cmd.pipe_stdin(p).unwrap();
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&run(args, None)).unwrap()
}

/// What `frame` is called in the pieces: `(file name, frame in the file)`.
fn place(frame: u64, cut: usize, a: &Path, b: &Path) -> Value {
    let cut = cut as u64;
    let (file, local) = if frame <= cut {
        (a, frame)
    } else {
        (b, frame - cut)
    };
    serde_json::json!({"file": file.to_string_lossy(), "frame": local})
}

const SAMPLE: &str = "faults/duplicate_publish.pcap";

#[test]
fn findings_and_connections_name_the_file_and_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, total) = split(SAMPLE, 12, dir.path());
    let (sa, sb) = (a.to_string_lossy(), b.to_string_lossy());
    let whole = json(&[
        "--format",
        "json",
        &root().join("samples").join(SAMPLE).to_string_lossy(),
    ]);
    let parts = json(&["--format", "json", &sa, &sb]);
    // The same analysis, frame for frame.
    assert_eq!(parts["findings"].as_array().unwrap().len(), 1);
    for (w, p) in whole["findings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(parts["findings"].as_array().unwrap())
    {
        assert_eq!(w["frames"], p["frames"]);
        assert!(w.get("in_files").is_none(), "one file: nothing added");
        let want: Vec<Value> = p["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| place(f.as_u64().unwrap(), 12, &a, &b))
            .collect();
        assert_eq!(p["in_files"], Value::Array(want));
    }
    let c = &parts["connections"][0];
    assert_eq!(
        c["in_files"],
        serde_json::json!([
            place(c["first_frame"].as_u64().unwrap(), 12, &a, &b),
            place(c["last_frame"].as_u64().unwrap(), 12, &a, &b)
        ])
    );
    let files = parts["capture"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["first_frame"], 1);
    assert_eq!(files[0]["frames"], 12);
    assert_eq!(files[1]["first_frame"], 13);
    assert_eq!(files[1]["frames"], (total - 12) as u64);
    assert_eq!(whole["capture"]["files"].as_array().unwrap().len(), 1);
}

/// Every jsonl line that names a frame names its file too, the first
/// file's included, and a `file` line comes before each file's frames.
#[test]
fn every_jsonl_frame_reference_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = split(SAMPLE, 12, dir.path());
    let out = run(
        &[
            "--format",
            "jsonl",
            &a.to_string_lossy(),
            &b.to_string_lossy(),
        ],
        None,
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let files: Vec<&Value> = lines.iter().filter(|l| l["type"] == "file").collect();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["first_frame"], 13);
    let mut current = None;
    let mut located = 0;
    for l in &lines {
        if l["type"] == "file" {
            current = Some(l["first_frame"].as_u64().unwrap());
            continue;
        }
        if let Some(f) = l.get("frame").and_then(Value::as_u64) {
            assert!(current.is_some_and(|first| f >= first), "{l}");
            assert_eq!(l["in_file"], place(f, 12, &a, &b), "{l}");
            located += 1;
        }
        if l["type"] == "flow" || l["type"] == "finding" {
            let want: Vec<Value> = l["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| place(f.as_u64().unwrap(), 12, &a, &b))
                .collect();
            assert_eq!(l["in_files"], Value::Array(want), "{l}");
            located += 1;
        }
    }
    assert!(located > 15, "{located}");
    // One file: no `file` lines, no `in_file`.
    let single = run(&["--format", "jsonl", &a.to_string_lossy()], None);
    assert!(!single.contains("\"in_file"), "{single}");
    assert!(!single.contains("\"type\":\"file\""));
}

/// The same from stdin (read on its own thread) as from the files.
#[test]
fn stdin_among_files_is_located_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = split(SAMPLE, 12, dir.path());
    let files = run(
        &[
            "--format",
            "jsonl",
            &a.to_string_lossy(),
            &b.to_string_lossy(),
        ],
        None,
    );
    let piped = run(&["--format", "jsonl", &a.to_string_lossy(), "-"], Some(&b));
    let b_name = b.to_string_lossy().replace('\\', "\\\\");
    assert_eq!(piped, files.replace(&*b_name, "-"));
}

/// The trace numbers frames as each file does, under a header per file;
/// the summary adds file and frame to the capture frame numbers.
#[test]
fn text_numbers_frames_as_each_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = split(SAMPLE, 12, dir.path());
    let (sa, sb) = (a.to_string_lossy(), b.to_string_lossy());
    let out = run(&["--packets", "--color", "never", &sa, &sb], None);
    let header_a = format!("── {sa} (from capture frame 1;");
    let header_b = format!("── {sb} (from capture frame 13;");
    let (before_b, after_b) = out.split_once(&header_b).expect("a header for b");
    assert!(before_b.contains(&header_a), "{out}");
    // The duplicate PUBLISH is capture frame 13: b.pcap's frame 1.
    let first_of_b = after_b.lines().nth(1).unwrap();
    assert!(first_of_b.trim_start().starts_with("1 "), "{first_of_b}");
    assert!(first_of_b.contains("PUBLISH"), "{first_of_b}");
    // The summary wraps long lines to its width: read it as running text.
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!("frames 11,13 ({sa} frame 11, {sb} frame 1)")),
        "{out}"
    );
    assert!(flat.contains(&format!("{sa}: frames 1–12")), "{out}");
    assert!(
        flat.contains(&format!("{sa} frame 1 – {sb} frame ")),
        "{out}"
    );
}

/// Files out of time order: one warning naming both files, and the
/// capture's span is earliest to latest (never negative).
#[test]
fn files_out_of_time_order_are_warned_and_the_span_stays_positive() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = split(SAMPLE, 12, dir.path());
    let (sa, sb) = (a.to_string_lossy(), b.to_string_lossy());
    let v = json(&["--format", "json", &sb, &sa]);
    let warnings = v["warnings"].as_array().unwrap();
    let order: Vec<&Value> = warnings
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains("out of time order"))
        .collect();
    assert_eq!(order.len(), 1, "{warnings:?}");
    assert_eq!(order[0]["in_file"]["file"], sa.as_ref());
    assert_eq!(order[0]["in_file"]["frame"], 1);
    let first = v["capture"]["first_ts"].as_f64().unwrap();
    let last = v["capture"]["last_ts"].as_f64().unwrap();
    assert!(last >= first, "{first} .. {last}");
    let text = run(&["--color", "never", &sb, &sa], None);
    let span = text
        .split_once(" UTC, ")
        .map(|(_, rest)| rest)
        .expect("the capture line gives a span");
    assert!(
        span.starts_with(|c: char| c.is_ascii_digit()),
        "no negative duration: {text}"
    );
}
