//! Findings as a person and a CI job see them: the text summary, the JSON
//! lines events and the `--fail-on` exit codes.

mod common;

use assert_cmd::Command;
use common::*;

fn fault(name: &str) -> String {
    root()
        .join("samples/faults")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn exit_code(args: &[&str]) -> i32 {
    Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .arg("analyze")
        .args(args)
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[test]
fn fail_on_sets_the_exit_code() {
    let lost = fault("missing_ack_broker_killed.pcap");
    let late = fault("late_ack.pcap");
    let clean = root()
        .join("samples/clients_many.pcap")
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(exit_code(&["--format", "json", &lost]), 0, "default: never");
    assert_eq!(
        exit_code(&["--format", "json", "--fail-on", "error", &lost]),
        1
    );
    assert_eq!(
        exit_code(&["--format", "json", "--fail-on", "error", &late]),
        0,
        "late_ack is a warning"
    );
    assert_eq!(
        exit_code(&["--format", "json", "--fail-on", "warning", &late]),
        1
    );
    assert_eq!(
        exit_code(&["--format", "json", "--fail-on", "warning", &clean]),
        0
    );
    assert_eq!(
        exit_code(&[
            "--fail-on",
            "error",
            "--ack-timeout",
            "20s",
            "--format",
            "json",
            &late
        ]),
        0
    );
    assert_eq!(
        exit_code(&[
            "--fail-on",
            "warning",
            "--ack-timeout",
            "20s",
            "--format",
            "json",
            &late
        ]),
        0,
        "not late with a 20 s timeout"
    );
}

#[test]
fn text_summary_names_the_problem_and_its_frames() {
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", &fault("missing_ack_broker_killed.pcap")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("findings 12 errors"), "{text}");
    assert!(text.contains("missing_ack ×12"), "{text}");
    assert!(
        text.contains("frame 74 #1 c→s QoS 1 PUBLISH id 10"),
        "{text}"
    );
    assert!(text.contains("… and 9 more"), "{text}");
    assert!(text.contains("QoS 1 client → broker"), "{text}");
    assert!(text.contains("8 never acknowledged"), "{text}");
    assert!(
        text.contains("QoS 1 PUBLISH → PUBACK"),
        "latency table: {text}"
    );
    let clean = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args([
            "analyze",
            root().join("samples/clients_many.pcap").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&clean.stdout);
    assert!(
        text.contains(
            "findings none — the capture shows no protocol problem (43 QoS 1/2 flows completed)"
        ),
        "{text}"
    );
}

#[test]
fn jsonl_has_flows_and_findings_as_they_happen() {
    let lines = analyze_jsonl(&[&fault("late_ack.pcap")]);
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    let finding = kinds
        .iter()
        .position(|k| *k == "finding")
        .expect("a finding event");
    let summary = kinds.iter().position(|k| *k == "summary").unwrap();
    assert_eq!(summary, lines.len() - 1, "summary last");
    assert!(finding < summary);
    let f = &lines[finding];
    assert_eq!(f["kind"], "late_ack");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["frames"], serde_json::json!([11, 13]));
    assert!(f["message"].as_str().unwrap().contains("MQTT-4.3.2"));
    // the late PUBACK's packet event comes before the finding it causes
    let ack = lines
        .iter()
        .position(|l| l["type"] == "packet" && l["frame"] == 13)
        .unwrap();
    assert!(ack < finding);
    let flow = lines
        .iter()
        .find(|l| l["type"] == "flow" && l["packet_id"] == 2)
        .unwrap();
    assert_eq!(flow["complete"], true);
    assert!(flow["latency_ms"]["puback"].as_f64().unwrap() > 12_000.0);
    assert_eq!(lines[summary]["findings"][0]["kind"], "late_ack");
}

#[test]
fn packet_trace_shows_findings_where_they_happen() {
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--packets", &fault("duplicate_publish.pcap")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let dup = lines
        .iter()
        .position(|l| l.contains("PUBLISH q1 id=2 \"dup/b\" 6B dup"))
        .expect("the re-sent PUBLISH");
    assert!(
        lines[dup + 1].contains("! duplicate_publish: PUBLISH id 2 re-sent"),
        "{text}"
    );
    assert!(lines[dup + 2].contains("PUBACK id=2"), "{text}");
}
