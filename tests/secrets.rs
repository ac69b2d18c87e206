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

/// Every secret of a key log, as the hex of the file (either case) — what
/// must never appear in any output.
fn keylog_secrets(keys: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(keys)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(str::to_lowercase)
        .collect()
}

/// Runs mqtt-inspect with `args`; stdout and stderr together.
fn run_all(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .to_lowercase()
}

/// TLS key log secrets appear in no output, in any format, with
/// `--show-secrets` too, and neither do the secrets of a key log whose
/// keys are wrong (the warnings then name the connection, not the key).
#[test]
fn tls_keys_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    for sample in ["tls12_keylog", "tls13_keylog", "wss_keylog"] {
        let cap = root().join(format!("samples/{sample}.pcap"));
        let keys = root().join(format!("samples/{sample}.keys"));
        // a key log with every secret's last byte changed: nothing decrypts
        let wrong = dir.path().join(format!("{sample}.wrong.keys"));
        let text = std::fs::read_to_string(&keys).unwrap();
        let spoilt: String = text
            .lines()
            .map(|l| {
                let mut parts: Vec<String> = l.split_whitespace().map(String::from).collect();
                if let Some(s) = parts.get_mut(2) {
                    let last = if s.ends_with('0') { '1' } else { '0' };
                    s.pop();
                    s.push(last);
                }
                parts.join(" ") + "\n"
            })
            .collect();
        std::fs::write(&wrong, spoilt).unwrap();
        for k in [&keys, &wrong] {
            let secrets = keylog_secrets(k);
            assert!(secrets.len() >= 3 && secrets.iter().all(|s| s.len() >= 64));
            let (c, k) = (cap.to_str().unwrap(), k.to_str().unwrap());
            for args in [
                vec!["analyze", "--packets", "--tls-keylog", k, c],
                vec!["analyze", "--format", "json", "--tls-keylog", k, c],
                vec![
                    "analyze",
                    "--format",
                    "jsonl",
                    "--show-secrets",
                    "--tls-keylog",
                    k,
                    c,
                ],
            ] {
                let out = run_all(&args);
                for s in &secrets {
                    assert!(
                        !out.contains(s.as_str()),
                        "{sample}: a key log secret in the output of {args:?}"
                    );
                    // nor a long piece of one
                    assert!(
                        !out.contains(&s[..32]),
                        "{sample}: part of a secret in {args:?}"
                    );
                }
            }
        }
        // with the wrong keys: warnings that name the connection, nothing decoded
        let s = analyze_json(&[
            "--tls-keylog",
            wrong.to_str().unwrap(),
            cap.to_str().unwrap(),
        ]);
        assert_eq!(
            s["packets"]["total"], 0,
            "{sample}: nothing decrypts with wrong keys"
        );
        let warnings = s["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(
                |w| w["message"].as_str().unwrap().starts_with("connection 0 ")
                    && w["message"].as_str().unwrap().contains("does not decrypt")
            ),
            "{sample}: {warnings:?}"
        );
        if sample == "wss_keylog" {
            // Off the MQTT ports (8081), only what a TLS connection
            // decrypts to says whether it carries MQTT: with wrong keys it
            // is not analysed, and the warning says so.
            assert!(
                warnings.iter().any(|w| w["message"]
                    .as_str()
                    .unwrap()
                    .contains("so this connection is not analysed")),
                "{sample}: {warnings:?}"
            );
            assert_eq!(s["layers"]["tls"]["connections"], 0, "{sample}");
            assert_eq!(s["other_tcp"]["connections"], 2, "{sample}");
        } else {
            // In the capture, though not decrypted: no tcp_gap.
            assert!(
                s["findings_by_kind"].get("tcp_gap").is_none(),
                "{sample}: {}",
                s["findings_by_kind"]
            );
            assert!(
                s["layers"]["tls"]["undecoded_by_reason"]["decrypt_failed"].as_u64() >= Some(1),
                "{sample}: {}",
                s["layers"]
            );
        }
    }
}
