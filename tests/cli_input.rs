//! The binary on good, damaged and unreadable input: exit codes, one-line
//! errors, warnings with frame numbers, `capture.truncated`, stdin and gzip.

mod common;

use assert_cmd::Command;
use common::*;
use std::io::Write;
use std::path::PathBuf;

/// The corpus's MQTT 3.1.1 pcap; `None` (after one SKIPPED line) without
/// `../shared/corpus`, a failure in CI (see `common::corpus_dir`).
fn corpus_pcap() -> Option<PathBuf> {
    Some(corpus_subdir("generated")?.join("mosquitto_v311_qos012.pcap"))
}

/// The corpus's MQTT 5.0 pcapng (Linux cooked v2); as [`corpus_pcap`].
fn corpus_pcapng() -> Option<PathBuf> {
    Some(corpus_subdir("generated")?.join("mosquitto_v5_qos012_any.pcapng"))
}

fn bin() -> Command {
    Command::cargo_bin("mqtt-inspect").expect("binary")
}

fn write_temp(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(suffix).tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

/// Runs and expects exit 2 with exactly one line on stderr that names `needle`.
fn expect_unreadable(args: &[&str], needle: &str) {
    let out = bin().arg("analyze").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "exit code for {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got: {err}"
    );
    assert!(err.contains(needle), "error should name {needle}: {err}");
    assert!(out.stdout.is_empty(), "no report for unreadable input");
}

#[test]
fn missing_file_is_exit_2() {
    expect_unreadable(&["/nonexistent/capture.pcap"], "/nonexistent/capture.pcap");
}

#[test]
fn empty_file_is_exit_2() {
    let f = write_temp(b"", ".pcap");
    expect_unreadable(&[f.path().to_str().unwrap()], f.path().to_str().unwrap());
}

#[test]
fn random_bytes_are_exit_2() {
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let f = write_temp(&bytes, ".pcap");
    expect_unreadable(&[f.path().to_str().unwrap()], "not a pcap or pcapng");
}

#[test]
fn second_file_unreadable_fails_before_any_output() {
    let Some(good) = corpus_pcap() else {
        return;
    };
    expect_unreadable(
        &[good.to_str().unwrap(), "/nonexistent/b.pcap"],
        "/nonexistent/b.pcap",
    );
}

#[test]
fn truncated_capture_is_analyzed_with_a_warning() {
    let Some(pcap) = corpus_pcap() else {
        return;
    };
    let bytes = std::fs::read(&pcap).unwrap();
    // cut in the middle of a record near the end
    let cut = write_temp(&bytes[..bytes.len() - 30], ".pcap");
    let s = analyze_json(&[cut.path().to_str().unwrap()]);
    assert_eq!(s["capture"]["truncated"], true);
    assert_eq!(
        s["capture"]["frames"], 161,
        "all whole records before the cut are kept"
    );
    let w = &s["warnings"][0];
    assert_eq!(w["frame"], 162, "the warning names the cut frame: {w}");
    assert_eq!(s["connections"].as_array().unwrap().len(), 2);
}

#[test]
fn every_cut_of_a_capture_is_handled() {
    let Some(pcapng) = corpus_pcapng() else {
        return;
    };
    let bytes = std::fs::read(&pcapng).unwrap();
    // a spread of cut points across the file, including inside the header blocks
    let step = bytes.len() / 40;
    for cut_at in (0..bytes.len())
        .step_by(step.max(1))
        .chain([1, 7, 27, 28, 29])
    {
        let f = write_temp(&bytes[..cut_at], ".pcapng");
        let out = bin()
            .args(["analyze", "--format", "json", f.path().to_str().unwrap()])
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(2),
            "cut at {cut_at}: exit {code:?}"
        );
        if code == Some(0) {
            let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(s["capture"]["frames"].as_u64().unwrap() <= 146);
        } else {
            assert_eq!(
                String::from_utf8_lossy(&out.stderr)
                    .trim_end()
                    .lines()
                    .count(),
                1
            );
        }
    }
}

#[test]
fn pcapng_with_a_lying_block_length() {
    let Some(pcapng) = corpus_pcapng() else {
        return;
    };
    let mut bytes = std::fs::read(&pcapng).unwrap();
    // The SLL2 capture: SHB, IDB, then EPBs. Find the 10th EPB and make its length lie.
    let mut off = 0usize;
    let mut epb = 0;
    while off + 12 <= bytes.len() {
        let ty = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        if ty == 6 {
            epb += 1;
            if epb == 10 {
                let lie = (len as u32 + 4000).to_le_bytes();
                bytes[off + 4..off + 8].copy_from_slice(&lie);
                break;
            }
        }
        off += len;
    }
    assert_eq!(epb, 10, "fixture has enough packets");
    let f = write_temp(&bytes, ".pcapng");
    let s = analyze_json(&[f.path().to_str().unwrap()]);
    assert_eq!(s["capture"]["truncated"], true);
    assert_eq!(s["capture"]["frames"], 9);
    assert_eq!(s["warnings"][0]["frame"], 10);
}

#[test]
fn several_files_are_one_capture() {
    let Some(a) = corpus_pcap() else {
        return;
    };
    let Some(b) = corpus_pcapng() else {
        return;
    };
    let s = analyze_json(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(s["capture"]["frames"], 162 + 146);
    assert_eq!(
        s["capture"]["link_types"],
        serde_json::json!(["EN10MB", "LINUX_SLL2"])
    );
    let conns = s["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 4);
    // frame numbers continue across files
    assert_eq!(conns[2]["first_frame"], 163);
}

#[test]
fn stdin_and_gzip() {
    let Some(pcap) = corpus_pcap() else {
        return;
    };
    let bytes = std::fs::read(&pcap).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let direct = analyze_json(&[pcap.to_str().unwrap()]);
    for input in [bytes, gz.clone()] {
        let out = bin()
            .args(["analyze", "--format", "json", "-"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(out.status.success());
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["capture"]["sources"], serde_json::json!(["-"]));
        assert_eq!(s["capture"]["frames"], direct["capture"]["frames"]);
        assert_eq!(s["connections"], direct["connections"]);
    }
    // gzip detected by content, whatever the file is called
    let f = write_temp(&gz, ".pcap");
    let s = analyze_json(&[f.path().to_str().unwrap()]);
    assert_eq!(s["connections"], direct["connections"]);
}

#[test]
fn json_has_the_contract_fields() {
    let Some(pcap) = corpus_pcap() else {
        return;
    };
    let s = analyze_json(&[pcap.to_str().unwrap()]);
    assert_eq!(s["schema"], "mqtt-inspect/1");
    for k in [
        "sources",
        "frames",
        "bytes",
        "first_ts",
        "last_ts",
        "link_types",
        "non_tcp_frames",
        "undecodable_frames",
        "truncated",
    ] {
        assert!(s["capture"].get(k).is_some(), "capture.{k} missing");
    }
    let c = &s["connections"][0];
    for k in [
        "id",
        "client",
        "server",
        "first_frame",
        "last_frame",
        "first_ts",
        "last_ts",
        "handshake",
        "close",
        "client_to_server",
        "server_to_client",
        "mqtt",
    ] {
        assert!(c.get(k).is_some(), "connection.{k} missing");
    }
    for k in [
        "bytes",
        "segments",
        "retransmissions",
        "out_of_order",
        "gap_bytes",
    ] {
        assert!(
            c["client_to_server"].get(k).is_some(),
            "client_to_server.{k} missing"
        );
    }
    for k in ["syn_frame", "synack_frame", "ack_frame", "rtt_ms"] {
        assert!(c["handshake"].get(k).is_some(), "handshake.{k} missing");
    }
    assert_eq!(c["client"]["ip"], "127.0.0.1");
    assert_eq!(c["server"]["port"], 1883);
    assert_eq!(c["close"], "fin");
    // timestamps keep the capture's microsecond digits exactly
    let raw = bin()
        .args(["analyze", "--format", "json", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&raw.stdout);
    assert!(
        text.contains("\"first_ts\": 1795567362.869"),
        "timestamps with µs digits: {}",
        &text[..300.min(text.len())]
    );
}

#[test]
fn port_option_selects_connections() {
    let Some(pcap) = corpus_pcap() else {
        return;
    };
    let s = analyze_json(&["--port", "9999", "--no-detect", pcap.to_str().unwrap()]);
    assert_eq!(s["connections"].as_array().unwrap().len(), 0);
    assert_eq!(s["tcp"]["connections"], 2, "still seen and counted");
}

#[test]
fn colour_follows_the_options() {
    let Some(cap) = corpus_pcap() else {
        return;
    };
    let plain = bin()
        .args(["analyze", cap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !plain.stdout.contains(&0x1b),
        "no colour when stdout is not a terminal"
    );
    let forced = bin()
        .args(["analyze", "--color", "always", cap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(forced.stdout.contains(&0x1b), "--color always colours");
    let never = bin()
        .env("NO_COLOR", "1")
        .args(["analyze", "--color", "never", cap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!never.stdout.contains(&0x1b));
    let text = String::from_utf8_lossy(&plain.stdout);
    // One broker: named once in the table's title, each row its client.
    assert!(text.contains("all to 127.0.0.1:1883"), "{text}");
    assert!(text.contains("127.0.0.1:44861"), "{text}");
}

#[test]
fn jsonl_has_connection_events_and_summary() {
    let Some(pcap) = corpus_pcap() else {
        return;
    };
    let lines = analyze_jsonl(&[pcap.to_str().unwrap()]);
    let opens: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "connection" && l["event"] == "open")
        .collect();
    assert_eq!(opens.len(), 2);
    assert_eq!(opens[0]["frame"], 1);
    assert_eq!(opens[0]["client"]["port"], 44861);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["schema"], "mqtt-inspect/1");
}
