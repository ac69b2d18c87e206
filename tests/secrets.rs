//! CONNECT credentials are redacted unless `--show-secrets`, in every output.

mod common;

use common::conversation::{Conversation, mqtt};
use common::*;

fn capture() -> tempfile::NamedTempFile {
    let mut c = Conversation::new(40001);
    c.wait_us(200)
        .client(&mqtt::connect(
            "meter-1",
            30,
            Some("alice"),
            Some("hunter2"),
        ))
        .wait_us(150)
        .server(&mqtt::connack())
        .wait_us(500)
        .client(&mqtt::disconnect())
        .close();
    c.write()
}

fn connect_event(lines: &[serde_json::Value]) -> serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == "packet" && l["mqtt"]["type"] == "CONNECT")
        .expect("CONNECT")
        .clone()
}

#[test]
fn password_is_redacted_by_default() {
    let cap = capture();
    let lines = analyze_jsonl(&[cap.path().to_str().unwrap()]);
    let c = connect_event(&lines);
    assert_eq!(c["mqtt"]["username"], "alice");
    assert_eq!(c["mqtt"]["password"], "<redacted>");
    assert_eq!(c["frame"], 4);
    let all = lines.iter().map(|l| l.to_string()).collect::<String>();
    assert!(!all.contains("hunter2"), "the password appears nowhere");
    let text = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--packets", cap.path().to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("CONNECT v3.1.1 \"meter-1\" ka=30 clean user=\"alice\""),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
}

#[test]
fn show_secrets_prints_it() {
    let cap = capture();
    let lines = analyze_jsonl(&["--show-secrets", cap.path().to_str().unwrap()]);
    assert_eq!(connect_event(&lines)["mqtt"]["password"], "hunter2");
}
