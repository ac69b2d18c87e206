//! The text summary as a person sees it: snapshots (insta) of every bundled
//! sample at 80 and 120 columns with colour off, so that a change of layout
//! shows in review, and the rules the layout keeps (no line wider than the
//! width, the most troubled connections first, the width's sources).
//!
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test --test
//! text_report`) updates the snapshots in `tests/snapshots/`.

mod common;

use assert_cmd::Command;
use common::conversation::{Conversation, mqtt};
use common::root;
use std::path::Path;
use unicode_width::UnicodeWidthStr;

fn bin() -> Command {
    let mut cmd = Command::cargo_bin("mqtt-inspect").unwrap();
    cmd.current_dir(root())
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    cmd
}

/// The summary of `captures` (paths relative to the repository root, so the
/// snapshots name them the same everywhere) at `width`, colour off.
fn report(captures: &[&str], width: usize, extra: &[&str]) -> String {
    let out = bin()
        .args(["analyze", "--color", "never", "--width", &width.to_string()])
        .args(extra)
        .args(captures)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{captures:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every line fits the width.
fn assert_fits(text: &str, width: usize, what: &str) {
    for (i, line) in text.lines().enumerate() {
        assert!(
            line.width() <= width,
            "{what}, line {}: {} columns > {width}:\n{line}",
            i + 1,
            line.width()
        );
    }
}

/// The bundled samples, relative to the repository root.
fn samples() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["samples", "samples/faults"] {
        let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".pcap"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        names.sort();
        out.extend(names);
    }
    assert!(out.len() > 30, "the samples are there: {out:?}");
    out
}

/// `samples/faults/late_ack.pcap` → `faults__late_ack`.
fn snapshot_name(sample: &str, width: usize) -> String {
    let stem = sample
        .trim_start_matches("samples/")
        .split(".pcap")
        .next()
        .unwrap_or(sample)
        .replace('/', "__");
    format!("{stem}@{width}")
}

#[test]
fn every_sample_at_80_and_120_columns() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let _guard = settings.bind_to_scope();
    for sample in samples() {
        for width in [80, 120] {
            let text = report(&[&sample], width, &[]);
            assert_fits(&text, width, &sample);
            insta::assert_snapshot!(snapshot_name(&sample, width), text);
        }
    }
}

/// Several files as one capture: frames are named per file, and each file
/// gets its own Wireshark filter with its own frame numbers.
#[test]
fn several_files_at_80_and_120_columns() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let _guard = settings.bind_to_scope();
    let files = [
        "samples/faults/tcp_gap.pcap",
        "samples/faults/late_ack.pcap",
    ];
    for width in [80, 120] {
        let text = report(&files, width, &[]);
        assert_fits(&text, width, "two files");
        assert!(
            text.contains("in Wireshark (samples/faults/late_ack.pcap): frame.number in {11 13}"),
            "{text}"
        );
        insta::assert_snapshot!(format!("two_files@{width}"), text);
    }
}

#[test]
fn a_wireshark_filter_per_finding_kind() {
    let text = report(&["samples/faults/missing_ack_broker_killed.pcap"], 120, &[]);
    assert!(
        text.contains("in Wireshark: frame.number in {26 47 73..75}"),
        "{text}"
    );
    // The kind's line says what it means, in the catalogue's words.
    let meaning = mqtt_inspect::analysis::FindingKind::MissingAck.describe();
    assert!(
        text.contains(&format!("missing_ack ×12 — {meaning}")),
        "{text}"
    );
}

/// A capture of `n` connections on their own client ports, one after the
/// other; the ones in `unacked` leave a QoS 1 PUBLISH unacknowledged.
fn many_connections(n: u16, unacked: &[u16], dir: &Path) -> String {
    let mut all: Vec<u8> = Vec::new();
    for i in 0..n {
        let mut c = Conversation::new(40_000 + i);
        c.wait_us(100)
            .client(&mqtt::connect(&format!("client-{i}"), 60, None, None))
            .wait_us(100)
            .server(&mqtt::connack())
            .wait_us(100)
            .client(&mqtt::publish("t/x", 1, false, Some(1), b"hi"));
        if !unacked.contains(&i) {
            c.wait_us(100).server(&mqtt::puback(1));
        }
        c.wait_us(100).client(&mqtt::disconnect()).close();
        let pcap = c.pcap();
        // One file: the first header, then every conversation's records,
        // each conversation a second after the one before.
        let (header, mut records) = pcap.split_at(24);
        if all.is_empty() {
            all.extend_from_slice(header);
        }
        while records.len() >= 16 {
            let secs = u32::from_le_bytes(records[0..4].try_into().unwrap()) + u32::from(i);
            let len = u32::from_le_bytes(records[8..12].try_into().unwrap()) as usize;
            all.extend_from_slice(&secs.to_le_bytes());
            all.extend_from_slice(&records[4..16 + len]);
            records = &records[16 + len..];
        }
    }
    let path = dir.join("many.pcap");
    std::fs::write(&path, all).unwrap();
    path.to_string_lossy().into_owned()
}

/// Connection rows: lines of the connections table that start with an id.
fn listed_ids(text: &str) -> Vec<u32> {
    let table = text
        .split("\nconnections ")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .unwrap_or("");
    table
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let id = words.next()?.parse::<u32>().ok()?;
            words.next().filter(|w| w.contains(':'))?;
            Some(id)
        })
        .collect()
}

#[test]
fn problem_connections_first_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cap = many_connections(25, &[7, 21, 3], dir.path());
    let text = report(&[&cap], 80, &[]);
    let ids = listed_ids(&text);
    assert_eq!(ids.len(), 20, "a screenful by default: {text}");
    assert_eq!(&ids[..3], &[3, 7, 21], "errors first, then by id: {text}");
    assert_eq!(&ids[3..6], &[0, 1, 2]);
    assert!(
        text.contains("… and 5 more not listed (0 with errors, 0 with warnings)"),
        "{text}"
    );
    let all = report(&[&cap], 80, &["--connections", "all"]);
    assert_eq!(listed_ids(&all).len(), 25, "{all}");
    assert!(!all.contains("more not listed"));
    let two = report(&[&cap], 80, &["--connections", "2"]);
    assert_eq!(listed_ids(&two), vec![3, 7], "{two}");
    assert!(
        two.contains("… and 23 more not listed (1 with errors, 0 with warnings)"),
        "{two}"
    );
}

#[test]
fn the_width_comes_from_the_option_then_columns_then_100() {
    let sample = "samples/clients_many.pcap";
    let run = |columns: Option<&str>, width: Option<&str>| {
        let mut cmd = bin();
        cmd.args(["analyze", "--color", "never"]);
        if let Some(w) = width {
            cmd.args(["--width", w]);
        }
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        let out = cmd.arg(sample).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let at = |w: usize| report(&[sample], w, &[]);
    // stdout is a pipe here: no terminal to ask.
    assert_eq!(run(None, None), at(100), "a pipe gets 100 columns");
    assert_eq!(run(Some("120"), None), at(120), "COLUMNS is honoured");
    assert_eq!(run(Some("120"), Some("80")), at(80), "--width wins");
    assert_eq!(run(Some("60"), None), at(80), "never narrower than 80");
    assert_eq!(
        run(Some("junk"), None),
        at(100),
        "a COLUMNS that is no number is ignored"
    );
    assert_ne!(at(80), at(120), "the layout does follow the width");
    let narrow = bin()
        .args(["analyze", "--width", "79", sample])
        .output()
        .unwrap();
    assert_eq!(narrow.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&narrow.stderr).contains("at least 80"));
}

/// The README shows a real report: the block under its marker is what the
/// binary prints for that sample at 80 columns today.
#[test]
fn the_readme_shows_a_real_report() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let marker =
        "<!-- the text report of samples/faults/missing_ack_broker_killed.pcap at 80 columns";
    let after = readme
        .split_once(marker)
        .map(|(_, rest)| rest)
        .expect("the README's report marker");
    let block = after
        .split_once("```\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("a fenced block after the marker");
    let real = report(&["samples/faults/missing_ack_broker_killed.pcap"], 80, &[]);
    assert_eq!(block, real, "README.md's text report is out of date");
}
