//! The options that gate CI pipelines and bound the summary: `--fail-if`,
//! `--connections`, and the limits that must be at least 1. All on the
//! project's own samples.

mod common;

use assert_cmd::Command;
use common::root;
use serde_json::Value;

fn bin() -> Command {
    Command::cargo_bin("mqtt-inspect").expect("binary")
}

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let out = bin().arg("analyze").args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), v)
}

#[test]
fn fail_if_no_mqtt_fails_only_without_mqtt() {
    // The TLS sample carries no readable MQTT; the basic one does.
    let tls = sample("tls_8883.pcap");
    let (code, v) = json(&["--format", "json", "--fail-if", "no-mqtt", &tls]);
    assert_eq!(v["packets"]["total"], 0);
    assert_eq!(code, Some(1));
    let (code, _) = json(&[
        "--format",
        "json",
        "--fail-if",
        "no-mqtt",
        &sample("v311_basic.pcap"),
    ]);
    assert_eq!(code, Some(0));
    // without the gate the same capture is a success
    let (code, _) = json(&["--format", "json", &tls]);
    assert_eq!(code, Some(0));
}

#[test]
fn fail_if_truncated_fails_on_a_cut_capture() {
    let bytes = std::fs::read(sample("v311_basic.pcap")).unwrap();
    let cut = tempfile::Builder::new().suffix(".pcap").tempfile().unwrap();
    std::fs::write(cut.path(), &bytes[..bytes.len() - 7]).unwrap();
    let path = cut.path().to_str().unwrap();
    let (code, v) = json(&["--format", "json", "--fail-if", "truncated", path]);
    assert_eq!(v["capture"]["truncated"], true);
    assert_eq!(code, Some(1));
    let (code, _) = json(&["--format", "json", "--fail-if", "no-mqtt", path]);
    assert_eq!(code, Some(0), "the cut capture still has MQTT");
}

#[test]
fn connections_bounds_the_list_and_counts_the_rest() {
    let many = sample("clients_many.pcap");
    let (_, all) = json(&["--format", "json", "--connections", "all", &many]);
    let total = all["connections"].as_array().unwrap().len() as u64;
    assert!(total > 3, "the sample has several connections");
    let (_, two) = json(&["--format", "json", "--connections", "2", &many]);
    let listed = two["connections"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let unlisted = &two["connections_unlisted"];
    assert_eq!(unlisted["count"].as_u64().unwrap() + 2, total);
    // what is not listed still adds up
    let bytes = |c: &Value| {
        c["client_to_server"]["bytes"].as_u64().unwrap()
            + c["server_to_client"]["bytes"].as_u64().unwrap()
    };
    let all_bytes: u64 = all["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(bytes)
        .sum();
    let listed_bytes: u64 = listed.iter().map(bytes).sum();
    assert_eq!(
        unlisted["bytes"].as_u64().unwrap() + listed_bytes,
        all_bytes
    );
    // listed by id, and the jsonl close events carry every record anyway
    let ids: Vec<u64> = listed.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let out = bin()
        .args(["analyze", "--format", "jsonl", "--connections", "2", &many])
        .output()
        .unwrap();
    let closes = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"event\":\"close\"") && l.contains("\"record\":"))
        .count() as u64;
    assert_eq!(closes, total);
}

#[test]
fn the_most_troubled_connections_are_listed_first() {
    let killed = sample("faults/missing_ack_broker_killed.pcap");
    let (_, v) = json(&["--format", "json", "--connections", "1", &killed]);
    let listed = v["connections"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let id = listed[0]["id"].as_u64().unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["connection"] == id && f["severity"] == "error"),
        "the listed connection is one with errors: {id}"
    );
}

#[test]
fn a_connection_table_of_zero_is_refused() {
    let out = bin()
        .args([
            "analyze",
            "--max-connections",
            "0",
            &sample("v311_basic.pcap"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
}
