//! Latency objects and the per-client / per-topic breakdowns, merged
//! through the analysis's own [`LatencyStats`]: the printed percentiles,
//! mean, min and max of a merged key are computed by the same code, from
//! the same totals and histogram, as a single run over all the samples.

use super::MergeError;
use crate::analysis::{LatencyKey, LatencySet, LatencyStats, Precision};
use crate::report::{LatencyJson, hdr};
use serde_json::{Map, Value};

/// The key's statistics as a summary prints them.
fn stats(part: usize, field: &str, v: &Value) -> Result<LatencyStats, MergeError> {
    let bad = |why: &str| MergeError::Field {
        part,
        field: field.to_string(),
        why: why.to_string(),
    };
    let int = |k: &str| v.get(k).and_then(Value::as_u64);
    let count = int("count").ok_or_else(|| bad("no count"))?;
    let (Some(min), Some(max), Some(sum)) = (int("min_ns"), int("max_ns"), int("sum_ns")) else {
        return Err(bad(
            "no min_ns/max_ns/sum_ns (a summary written before merging was possible: analyse the capture again)",
        ));
    };
    let hist = match v.get("hdr").and_then(Value::as_str) {
        Some(text) => Some(hdr::decode(text).map_err(|e| bad(&format!("hdr: {e}")))?),
        None => None,
    };
    if let Some(h) = &hist
        && h.len() != count
    {
        return Err(bad(&format!(
            "hdr holds {} samples, count says {count}",
            h.len()
        )));
    }
    Ok(LatencyStats::from_parts(
        count,
        min,
        max,
        u128::from(sum),
        hist,
    ))
}

/// Adds a summary's `latency` object into `set`.
fn add_set(set: &mut LatencySet, part: usize, field: &str, v: &Value) -> Result<(), MergeError> {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    for (name, stat) in obj {
        let Some(key) = LatencyKey::ALL.into_iter().find(|k| k.as_str() == name) else {
            return Err(MergeError::Field {
                part,
                field: format!("{field}.{name}"),
                why: "not a latency key of this schema".into(),
            });
        };
        set.merge_key(key, &stats(part, &format!("{field}.{name}"), stat)?);
    }
    Ok(())
}

fn to_value(set: &LatencySet) -> Value {
    serde_json::to_value(LatencyJson(set)).unwrap_or(Value::Null)
}

/// The latency object at `path` in every part, merged.
pub fn sets(parts: &[Value], path: &[&str]) -> Result<Value, MergeError> {
    let mut set = LatencySet::new(Precision::Fine);
    let field = path.join(".");
    for (part, p) in parts.iter().enumerate() {
        if let Some(v) = path.iter().try_fold(p, |v, k| v.get(*k)) {
            add_set(&mut set, part, &field, v)?;
        }
    }
    Ok(to_value(&set))
}

/// One client or topic of a breakdown.
struct Entry {
    key: String,
    volume: u64,
    latency: LatencySet,
    /// The parts that list it.
    parts: Vec<usize>,
}

/// `latency_by_client` / `latency_by_topic` of every part, merged: the
/// keys by name, then the `top` busiest listed (by volume, ties by name,
/// as a run lists them) and the rest folded into `other`. The result is
/// `approximate` when a part was, or when a listed key is missing from a
/// part that folded keys into its `other` (its numbers there may be
/// hidden in that `other`).
pub fn breakdown(
    parts: &[Value],
    field: &str,
    list: &str,
    key: &str,
    volume: &str,
    top: usize,
) -> Result<Value, MergeError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    let mut other_keys = 0u64;
    let mut other_volume = 0u64;
    let mut other_latency = LatencySet::new(Precision::Coarse);
    let mut approximate = false;
    // Parts that folded keys into their `other`.
    let mut folding: Vec<usize> = Vec::new();
    for (part, p) in parts.iter().enumerate() {
        let Some(b) = p.get(field) else { continue };
        approximate |= b
            .get("approximate")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for item in b.get(list).and_then(Value::as_array).into_iter().flatten() {
            let name = item.get(key).and_then(Value::as_str).unwrap_or_default();
            let n = item.get(volume).and_then(Value::as_u64).unwrap_or(0);
            let i = *index.entry(name.to_string()).or_insert_with(|| {
                entries.push(Entry {
                    key: name.to_string(),
                    volume: 0,
                    latency: LatencySet::new(Precision::Coarse),
                    parts: Vec::new(),
                });
                entries.len() - 1
            });
            if let Some(e) = entries.get_mut(i) {
                e.parts.push(part);
                e.volume = e.volume.saturating_add(n);
                if let Some(l) = item.get("latency") {
                    add_set(&mut e.latency, part, &format!("{field}.{name}"), l)?;
                }
            }
        }
        if let Some(o) = b.get("other") {
            let keys = o.get(list).and_then(Value::as_u64).unwrap_or(0);
            if keys > 0 {
                folding.push(part);
            }
            other_keys = other_keys.saturating_add(keys);
            other_volume =
                other_volume.saturating_add(o.get(volume).and_then(Value::as_u64).unwrap_or(0));
            if let Some(l) = o.get("latency") {
                add_set(&mut other_latency, part, &format!("{field}.other"), l)?;
            }
        }
    }
    entries.sort_by(|a, b| b.volume.cmp(&a.volume).then(a.key.cmp(&b.key)));
    let mut listed = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        if i < top {
            // Hidden in another part's `other`, this key's numbers there
            // are missing here.
            approximate |= folding.iter().any(|p| !e.parts.contains(p));
            let mut m = Map::new();
            m.insert(key.into(), Value::from(e.key));
            m.insert(volume.into(), Value::from(e.volume));
            m.insert("latency".into(), to_value(&e.latency));
            listed.push(Value::Object(m));
        } else {
            other_keys = other_keys.saturating_add(1);
            other_volume = other_volume.saturating_add(e.volume);
            for (k, s) in e.latency.stats() {
                other_latency.merge_key(k, s);
            }
        }
    }
    let mut out = Map::new();
    out.insert(list.into(), Value::Array(listed));
    if other_keys > 0 {
        let mut o = Map::new();
        o.insert(list.into(), Value::from(other_keys));
        o.insert(volume.into(), Value::from(other_volume));
        o.insert("latency".into(), to_value(&other_latency));
        out.insert("other".into(), Value::Object(o));
    }
    out.insert("approximate".into(), Value::Bool(approximate));
    Ok(Value::Object(out))
}
