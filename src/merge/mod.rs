//! `mqtt-inspect merge`: one summary from the JSON summaries of many runs.
//!
//! A fleet's captures are analysed wherever they are (GNU `parallel`, a
//! Kubernetes Job array, a Spark `RDD.pipe` step) and their `--format json`
//! summaries merged here, without the captures. Everything a summary
//! counts adds up exactly; latency min, max and mean come from the exact
//! integer totals each key carries (`min_ns`, `max_ns`, `sum_ns`), and the
//! percentiles from the sum of the histograms (`hdr`), so the merged
//! percentiles are those of all the samples together. Listed records
//! (connections, findings, warnings, files) are concatenated, each with the
//! `part` it came from (the summary's place among the inputs, from 0: its
//! connection ids and frame numbers are that part's), and bounded like an
//! analysis run's; what does not fit is counted.
//!
//! Merging is exact when every connection (and every client whose session
//! outlives a connection) lies whole in one part. Works on parsed JSON
//! values rather than the report's types, so a summary written by any
//! version with the same `schema` can be read; numbers are read as JSON
//! readers read them (timestamps as doubles, about 0.1 µs apart today).

mod latency;
mod listed;

use serde_json::{Map, Value};

/// The schema this build writes and merges.
pub const SCHEMA: &str = "mqtt-inspect/1";

/// Bounds of the merged summary's lists (as `analyze` has them).
#[derive(Debug, Clone, Copy)]
pub struct MergeLimits {
    /// Connections listed one by one (`--connections`).
    pub connections: usize,
    /// Findings listed (`--max-findings`).
    pub findings: usize,
    /// Warnings listed.
    pub warnings: usize,
    /// Clients and topics in the latency breakdowns (`--top`).
    pub top: usize,
}

impl Default for MergeLimits {
    fn default() -> Self {
        MergeLimits {
            connections: crate::pipeline::DEFAULT_LISTED,
            findings: crate::analysis::AnalysisConfig::default().max_findings,
            warnings: 1000,
            top: crate::analysis::AnalysisConfig::default().top_topics,
        }
    }
}

/// Why summaries could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("input {part}: not a summary (the object `analyze --format json` writes)")]
    NotSummary { part: usize },
    #[error("input {part}: schema {found:?}, this build merges {SCHEMA:?}")]
    Schema { part: usize, found: String },
    #[error("input {part}: {field}: {why}")]
    Field {
        part: usize,
        field: String,
        why: String,
    },
    #[error("nothing to merge")]
    Empty,
}

/// Merges `parts` (summaries, in input order) into one.
pub fn merge(parts: &[Value], limits: MergeLimits) -> Result<Value, MergeError> {
    if parts.is_empty() {
        return Err(MergeError::Empty);
    }
    for (part, p) in parts.iter().enumerate() {
        check(part, p)?;
    }
    let mut out = Map::new();
    out.insert("schema".into(), Value::from(SCHEMA));
    out.insert("capture".into(), capture(parts));
    if let Some(filters) = same_filters(parts)? {
        out.insert("filters".into(), filters);
    }
    let (connections, unlisted) = listed::connections(parts, limits.connections);
    out.insert("connections".into(), connections);
    out.insert("connections_unlisted".into(), unlisted);
    out.insert("silent_servers".into(), listed::silent_servers(parts));
    out.insert("other_tcp".into(), listed::other_tcp(parts));
    for key in ["packets", "flows", "flows_by_direction", "qos0_messages"] {
        out.insert(key.into(), sum_all(parts, key));
    }
    out.insert("latency".into(), latency::sets(parts, &["latency"])?);
    let mut by_dir = Map::new();
    for dir in ["client_to_server", "server_to_client"] {
        by_dir.insert(
            dir.into(),
            latency::sets(parts, &["latency_by_direction", dir])?,
        );
    }
    out.insert("latency_by_direction".into(), Value::Object(by_dir));
    out.insert(
        "latency_by_client".into(),
        latency::breakdown(
            parts,
            "latency_by_client",
            "clients",
            "client_id",
            "packets",
            limits.top,
        )?,
    );
    out.insert(
        "latency_by_topic".into(),
        latency::breakdown(
            parts,
            "latency_by_topic",
            "topics",
            "topic",
            "messages",
            limits.top,
        )?,
    );
    let (findings, findings_over) = listed::tagged(parts, "findings", limits.findings);
    out.insert("findings".into(), findings);
    for key in ["findings_by_kind", "findings_by_severity"] {
        out.insert(key.into(), sum_all(parts, key));
    }
    out.insert(
        "findings_dropped".into(),
        Value::from(count_all(parts, "findings_dropped").saturating_add(findings_over)),
    );
    for key in ["analysis", "tcp"] {
        out.insert(key.into(), sum_all(parts, key));
    }
    let (warnings, warnings_over) = listed::tagged(parts, "warnings", limits.warnings);
    out.insert("warnings".into(), warnings);
    out.insert(
        "warnings_dropped".into(),
        Value::from(count_all(parts, "warnings_dropped").saturating_add(warnings_over)),
    );
    // Fields of later versions of the same schema (additive by its rule):
    // numbers and counts add up, the rest is taken from the first part.
    for p in parts {
        if let Some(obj) = p.as_object() {
            for k in obj.keys() {
                if !out.contains_key(k) {
                    out.insert(k.clone(), sum_all(parts, k));
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// The parts' `filters` (`analyze --connection/--client/--topic/--kind`):
/// summaries of runs filtered differently do not add up to anything, so
/// every part must have the same ones (or none).
fn same_filters(parts: &[Value]) -> Result<Option<Value>, MergeError> {
    let first = parts.first().and_then(|p| p.get("filters"));
    for (part, p) in parts.iter().enumerate() {
        if p.get("filters") != first {
            return Err(MergeError::Field {
                part,
                field: "filters".into(),
                why: "differ from the first input's: only runs with the same filters merge".into(),
            });
        }
    }
    Ok(first.cloned())
}

/// Whether `v` is a summary: `--format json`'s object (which has no
/// `type`) or the `"type": "summary"` line of jsonl.
pub fn is_summary(v: &Value) -> bool {
    v.get("schema").is_some()
        && matches!(
            v.get("type").map(Value::as_str),
            None | Some(Some("summary"))
        )
}

fn check(part: usize, p: &Value) -> Result<(), MergeError> {
    if !is_summary(p) {
        return Err(MergeError::NotSummary { part });
    }
    match p.get("schema").and_then(Value::as_str) {
        Some(SCHEMA) => Ok(()),
        other => Err(MergeError::Schema {
            part,
            found: other.unwrap_or("none").to_string(),
        }),
    }
}

/// The `capture` object: counts add up, the time span widens, sources and
/// files are listed in input order (files with their `part`).
fn capture(parts: &[Value]) -> Value {
    let caps: Vec<&Value> = parts.iter().filter_map(|p| p.get("capture")).collect();
    let mut out = match sum_all(parts, "capture") {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let sources: Vec<Value> = caps
        .iter()
        .filter_map(|c| c.get("sources").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    out.insert("sources".into(), Value::Array(sources));
    let ts = |key: &str, pick: fn(f64, f64) -> f64| {
        caps.iter()
            .filter_map(|c| c.get(key).and_then(Value::as_f64))
            .reduce(pick)
            .map_or(Value::Null, Value::from)
    };
    out.insert("first_ts".into(), ts("first_ts", f64::min));
    out.insert("last_ts".into(), ts("last_ts", f64::max));
    let mut links: Vec<Value> = Vec::new();
    for l in caps
        .iter()
        .filter_map(|c| c.get("link_types").and_then(Value::as_array))
        .flatten()
    {
        if !links.contains(l) {
            links.push(l.clone());
        }
    }
    out.insert("link_types".into(), Value::Array(links));
    let mut files = Vec::new();
    for (part, c) in parts.iter().map(|p| p.get("capture")).enumerate() {
        for f in c
            .and_then(|c| c.get("files"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            files.push(with_part(f, part));
        }
    }
    out.insert("files".into(), Value::Array(files));
    Value::Object(out)
}

/// `v` with `"part": part` added (objects only).
fn with_part(v: &Value, part: usize) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("part".into(), Value::from(part));
    }
    v
}

/// The integer at `key` in every part, added up.
fn count_all(parts: &[Value], key: &str) -> u64 {
    parts
        .iter()
        .filter_map(|p| p.get(key).and_then(Value::as_u64))
        .fold(0, u64::saturating_add)
}

/// The value at `key` of every part, added up by [`add`].
fn sum_all(parts: &[Value], key: &str) -> Value {
    let mut acc = Value::Null;
    for p in parts {
        if let Some(v) = p.get(key) {
            add(&mut acc, v);
        }
    }
    acc
}

/// Adds `v` into `acc`: integers add (saturating), booleans or, objects
/// add key by key, arrays concatenate; anything else keeps the first.
pub(crate) fn add(acc: &mut Value, v: &Value) {
    match (acc, v) {
        (acc @ Value::Null, v) => *acc = v.clone(),
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                *a = x.saturating_add(y).into();
            } else if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64())
                && let Some(n) = serde_json::Number::from_f64(x + y)
            {
                *a = n;
            }
        }
        (Value::Bool(a), Value::Bool(b)) => *a |= *b,
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                add(a.entry(k.clone()).or_insert(Value::Null), bv);
            }
        }
        (Value::Array(a), Value::Array(b)) => a.extend(b.iter().cloned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
