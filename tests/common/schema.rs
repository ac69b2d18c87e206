//! The published JSON Schemas (docs/schema/), ready to validate output:
//! shared by the schema test (files) and the live-capture tests (what
//! only a live run writes: drops, a `live:` source).
#![allow(dead_code)]

use super::{read_json, root};
use jsonschema::{Registry, Validator};
use serde_json::Value;

/// The summary schema's `$id`, through which the jsonl schema takes the
/// definitions they share (offline).
pub const SUMMARY_ID: &str = "urn:mqtt-inspect:schema:1:summary";

pub fn schema(name: &str) -> Value {
    read_json(&root().join("docs/schema").join(name))
}

/// The summary and jsonl validators; the schemas themselves are checked
/// against the draft 2020-12 meta-schema first.
pub fn validators() -> (Validator, Validator) {
    let summary = schema("summary.schema.json");
    let jsonl = schema("jsonl.schema.json");
    for (name, s) in [("summary", &summary), ("jsonl", &jsonl)] {
        if let Err(e) = jsonschema::meta::validate(s) {
            panic!("docs/schema/{name}.schema.json is not a valid schema: {e}");
        }
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}: draft 2020-12"
        );
    }
    assert_eq!(summary["$id"], SUMMARY_ID);
    let registry = Registry::new()
        .add(SUMMARY_ID, summary.clone())
        .and_then(|r| r.prepare())
        .expect("the summary schema registers");
    let build = |s: &Value| {
        jsonschema::options()
            .offline()
            .with_registry(&registry)
            .build(s)
            .unwrap_or_else(|e| panic!("schema does not build: {e}"))
    };
    (build(&summary), build(&jsonl))
}

/// Every way `instance` breaks `v`, one line each (empty: valid).
pub fn errors(v: &Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Panics with every error when `instance` does not validate.
pub fn assert_valid(v: &Validator, instance: &Value, what: &str) {
    let e = errors(v, instance);
    assert!(
        e.is_empty(),
        "{what} breaks the published schema: {}",
        e.join("; ")
    );
}
