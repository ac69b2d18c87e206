//! The published JSON Schemas (docs/schema/) describe what the tool really
//! writes: the output of every bundled sample, as `--format json` and as
//! every `--format jsonl` line, validates against them (draft 2020-12,
//! offline: the jsonl schema takes its shared definitions from the summary
//! schema through its `$id`). The schemas name exactly the fields written,
//! so a field added to the output without its schema fails here, and so
//! does one renamed or removed.

mod common;

use common::schema::{errors, validators};
use common::{analyze_json, analyze_jsonl, root};
use jsonschema::Validator;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Every bundled capture: samples/ and samples/faults/.
fn samples() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["samples", "samples/faults"] {
        for e in std::fs::read_dir(root().join(dir))
            .expect("samples")
            .flatten()
        {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 30, "the bundled samples: {}", out.len());
    out
}

#[test]
fn every_sample_validates_against_the_published_schemas() {
    let (summary_v, jsonl_v) = validators();
    let mut line_types = BTreeSet::new();
    let mut failures = Vec::new();
    let mut check = |what: String, v: &Validator, instance: &Value| {
        let e = errors(v, instance);
        if !e.is_empty() {
            failures.push(format!("{what}: {}", e.join("; ")));
        }
    };
    let html = tempfile::NamedTempFile::new().expect("temp file");
    let html = html.path().to_string_lossy().into_owned();
    let mut runs: Vec<Vec<String>> = samples()
        .iter()
        .map(|p| vec![p.to_string_lossy().into_owned()])
        .collect();
    // Several files as one capture (`file` lines, `in_file(s)`), and a run
    // with --html and --stats-interval (the `start` record's options).
    let two = ["samples/v311_basic.pcap", "samples/faults/late_ack.pcap"];
    runs.push(
        two.iter()
            .map(|p| root().join(p).to_string_lossy().into_owned())
            .collect(),
    );
    // TLS decrypted with its key log (the `tls` object of a decrypted
    // connection, `websocket` under it, TLS alerts).
    for name in ["tls12_keylog", "tls13_keylog", "tls_alerts", "wss_keylog"] {
        let file = |ext: &str| {
            root()
                .join(format!("samples/{name}.{ext}"))
                .to_string_lossy()
                .into_owned()
        };
        runs.push(vec!["--tls-keylog".into(), file("keys"), file("pcap")]);
    }
    // Filtered (`filters` in the summary and the start record).
    runs.push(
        [
            "--client",
            "gw-south-v5",
            "--topic",
            "sensors/#",
            "--kind",
            "late_ack,missing_ack",
            "--connection",
            "4,1",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([root()
            .join("samples/clients_many.pcap")
            .to_string_lossy()
            .into_owned()])
        .collect(),
    );
    for args in &runs {
        let label = args.join(" ");
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        check(format!("{label} (json)"), &summary_v, &analyze_json(&a));
        let mut with = a.clone();
        with.extend(["--stats-interval", "200ms", "--html", &html]);
        for (i, line) in analyze_jsonl(&with).iter().enumerate() {
            let t = line["type"].as_str().unwrap_or("?").to_string();
            check(
                format!("{label} (jsonl line {} {t})", i + 1),
                &jsonl_v,
                line,
            );
            line_types.insert(t);
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let want: BTreeSet<String> = [
        "start",
        "connection",
        "packet",
        "flow",
        "finding",
        "warning",
        "file",
        "stats",
        "summary",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(line_types, want, "every line type was checked");
}

/// `mqtt-inspect merge` prints a summary of the same schema, its listed
/// records tagged with their `part`: merged summaries of samples (one of
/// them analysed with `--top 1`, so its breakdowns fold into `other`)
/// validate, and so does the merge of whole jsonl outputs.
#[test]
fn merged_summaries_validate_against_the_summary_schema() {
    let (summary_v, _) = validators();
    let dir = tempfile::tempdir().expect("temp dir");
    let parts = [
        ("a.json", vec!["samples/faults/late_ack.pcap"]),
        ("b.json", vec!["--top", "1", "samples/clients_many.pcap"]),
        (
            "c.json",
            vec![
                "samples/v311_basic.pcap",
                "samples/faults/packet_id_in_use.pcap",
            ],
        ),
    ];
    let mut paths = Vec::new();
    for (name, args) in &parts {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with("samples/") {
                    root().join(a).to_string_lossy().into_owned()
                } else {
                    (*a).to_string()
                }
            })
            .collect();
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = analyze_json(&a);
        assert!(errors(&summary_v, &v).is_empty(), "{name}");
        let path = dir.path().join(name);
        std::fs::write(&path, v.to_string()).expect("written");
        paths.push(path);
    }
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .expect("binary built")
        .arg("merge")
        .args(&paths)
        .output()
        .expect("merge runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        merged["capture"]["files"][3]["part"], 2,
        "tagged: {}",
        merged["capture"]["files"]
    );
    assert!(
        merged["findings"]
            .as_array()
            .is_some_and(|f| f.iter().all(|f| f["part"].is_u64()))
    );
    let e = errors(&summary_v, &merged);
    assert!(e.is_empty(), "merged: {}", e.join("; "));
    // A merged record keeps what a finding carries (ends, Community ID).
    assert!(merged["findings"][0]["community_id"].is_string());
    let mut untagged = merged.clone();
    untagged["connections"][0]["part"] = json!("zero");
    assert!(
        !errors(&summary_v, &untagged).is_empty(),
        "part is a number"
    );
}

/// The schemas are not vacuous: output with a field renamed, a required
/// one missing, a wrong type or an unknown line type does not validate.
#[test]
fn the_schemas_reject_what_the_tool_does_not_write() {
    let (summary_v, jsonl_v) = validators();
    let path = root().join("samples/faults/late_ack.pcap");
    let path = path.to_string_lossy().into_owned();
    let summary = analyze_json(&[&path]);
    assert!(errors(&summary_v, &summary).is_empty());
    let mut no_schema = summary.clone();
    no_schema.as_object_mut().unwrap().remove("schema");
    assert!(
        !errors(&summary_v, &no_schema).is_empty(),
        "schema is required"
    );
    let mut no_hdr = summary.clone();
    if let Some(o) = no_hdr["latency"]["puback"].as_object_mut() {
        o.remove("hdr");
    }
    assert!(
        !errors(&summary_v, &no_hdr).is_empty(),
        "a latency object carries its histogram"
    );
    let mut bumped = summary.clone();
    bumped["schema"] = json!("mqtt-inspect/2");
    assert!(
        !errors(&summary_v, &bumped).is_empty(),
        "only mqtt-inspect/1"
    );

    let lines = analyze_jsonl(&[&path]);
    let finding = lines
        .iter()
        .find(|l| l["type"] == "finding")
        .expect("late_ack.pcap has a finding")
        .clone();
    assert!(errors(&jsonl_v, &finding).is_empty());
    let mut renamed = finding.clone();
    let kind = renamed.as_object_mut().unwrap().remove("kind").unwrap();
    renamed["finding_kind"] = kind;
    assert!(!errors(&jsonl_v, &renamed).is_empty(), "a renamed field");
    let mut bad_id = finding.clone();
    bad_id["community_id"] = json!("1:not-a-hash");
    assert!(
        !errors(&jsonl_v, &bad_id).is_empty(),
        "a Community ID's form"
    );
    let mut half = finding.clone();
    half.as_object_mut().unwrap().remove("server");
    assert!(!errors(&jsonl_v, &half).is_empty(), "client without server");

    let flow = lines.iter().find(|l| l["type"] == "flow").unwrap().clone();
    let mut no_ts = flow.clone();
    no_ts.as_object_mut().unwrap().remove("ts");
    assert!(!errors(&jsonl_v, &no_ts).is_empty(), "a flow has ts");

    let start = &lines[0];
    assert_eq!(start["type"], "start", "jsonl opens with the start record");
    let mut unknown = start.clone();
    unknown["type"] = json!("begin");
    assert!(
        !errors(&jsonl_v, &unknown).is_empty(),
        "an unknown line type"
    );
    let packet = lines
        .iter()
        .find(|l| l["type"] == "packet" && l["mqtt"]["type"] == "PUBLISH")
        .unwrap()
        .clone();
    assert!(errors(&jsonl_v, &packet).is_empty());
    let mut odd = packet.clone();
    odd["mqtt"]["qos"] = json!("one");
    assert!(
        !errors(&jsonl_v, &odd).is_empty(),
        "a field of the wrong type"
    );
}
