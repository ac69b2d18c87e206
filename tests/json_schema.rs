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
