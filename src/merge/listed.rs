//! The listed parts of merged summaries: connections, findings, warnings,
//! silent servers and other TCP ports. Records keep their own numbers and
//! gain the `part` they came from; lists are bounded as in one run.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Ports `other_tcp` lists one by one, as in a run.
const MAX_PORTS: usize = 256;

/// The array at `key` of every part, each record tagged with its part,
/// at most `limit` of them; returns the list and how many did not fit.
pub fn tagged(parts: &[Value], key: &str, limit: usize) -> (Value, u64) {
    let mut out = Vec::new();
    let mut over = 0u64;
    for (part, p) in parts.iter().enumerate() {
        for v in p.get(key).and_then(Value::as_array).into_iter().flatten() {
            if out.len() < limit {
                out.push(super::with_part(v, part));
            } else {
                over += 1;
            }
        }
    }
    (Value::Array(out), over)
}

/// Errors and warnings raised on each (part, connection), from the
/// listed findings: how a run ranks the connections it lists.
fn problems(parts: &[Value]) -> HashMap<(usize, u64), (u64, u64)> {
    let mut by_conn: HashMap<(usize, u64), (u64, u64)> = HashMap::new();
    for (part, p) in parts.iter().enumerate() {
        for f in p
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(conn) = f.get("connection").and_then(Value::as_u64) else {
                continue;
            };
            let e = by_conn.entry((part, conn)).or_default();
            match f.get("severity").and_then(Value::as_str) {
                Some("error") => e.0 += 1,
                Some("warning") => e.1 += 1,
                _ => {}
            }
        }
    }
    by_conn
}

/// The listed connections of every part, the most troubled kept first
/// when there are more than `limit` (then in input order), and the
/// `connections_unlisted` totals with the ones left out.
pub fn connections(parts: &[Value], limit: usize) -> (Value, Value) {
    let problems = problems(parts);
    let mut all: Vec<(usize, usize, &Value)> = Vec::new();
    for (part, p) in parts.iter().enumerate() {
        for c in p
            .get("connections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            all.push((part, all.len(), c));
        }
    }
    let rank = |part: usize, c: &Value| {
        let id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        problems.get(&(part, id)).copied().unwrap_or_default()
    };
    let mut unlisted = super::sum_all(parts, "connections_unlisted");
    if all.len() > limit {
        let mut by_rank: Vec<usize> = (0..all.len()).collect();
        by_rank.sort_by_key(|&i| {
            let (part, order, c) = all[i];
            (std::cmp::Reverse(rank(part, c)), order)
        });
        let keep: std::collections::HashSet<usize> = by_rank.iter().take(limit).copied().collect();
        let mut left = Vec::new();
        for (i, &(part, _, c)) in all.iter().enumerate() {
            if !keep.contains(&i) {
                left.push(fold(c, rank(part, c)));
            }
        }
        for l in &left {
            super::add(&mut unlisted, l);
        }
        all = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, x)| x)
            .collect();
    }
    let listed = all
        .into_iter()
        .map(|(part, _, c)| super::with_part(c, part))
        .collect();
    (Value::Array(listed), unlisted)
}

/// What one connection adds to `connections_unlisted`.
fn fold(c: &Value, (errors, warnings): (u64, u64)) -> Value {
    let mut m = Map::new();
    let flag = |b: bool| Value::from(u64::from(b));
    m.insert("count".into(), Value::from(1u64));
    m.insert(
        "mqtt".into(),
        flag(c.get("mqtt").is_some_and(|v| !v.is_null())),
    );
    m.insert(
        "encrypted".into(),
        flag(c.get("encrypted").and_then(Value::as_bool).unwrap_or(false)),
    );
    m.insert("with_errors".into(), flag(errors > 0));
    m.insert("with_warnings".into(), flag(warnings > 0));
    for k in ["bytes", "segments", "retransmissions", "gap_bytes"] {
        let n: u64 = ["client_to_server", "server_to_client"]
            .iter()
            .filter_map(|d| c.get(*d).and_then(|d| d.get(k)).and_then(Value::as_u64))
            .sum();
        m.insert(k.into(), Value::from(n));
    }
    let close = c.get("close").and_then(Value::as_str).unwrap_or("open");
    m.insert("closed_fin".into(), flag(close == "fin"));
    m.insert("closed_rst".into(), flag(close == "rst"));
    m.insert("still_open".into(), flag(close != "fin" && close != "rst"));
    Value::Object(m)
}

/// Silent servers of every part, by address: their connections and
/// client bytes added, sorted by address as a run sorts them. A server
/// silent in one part that answered a connection another part lists is
/// not silent; one whose answers only an unlisted connection saw stays
/// (the summary does not name servers that answered).
pub fn silent_servers(parts: &[Value]) -> Value {
    let answered: std::collections::HashSet<String> = parts
        .iter()
        .filter_map(|p| p.get("connections").and_then(Value::as_array))
        .flatten()
        .filter(|c| {
            c.get("server_to_client")
                .and_then(|d| d.get("bytes"))
                .and_then(Value::as_u64)
                .is_some_and(|b| b > 0)
        })
        .filter_map(|c| c.get("server").map(Value::to_string))
        .collect();
    let mut by_server: Vec<(String, Value)> = Vec::new();
    for p in parts {
        for s in p
            .get("silent_servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = s.get("server").map(Value::to_string).unwrap_or_default();
            if answered.contains(&key) {
                continue;
            }
            match by_server.iter_mut().find(|(k, _)| *k == key) {
                Some((_, acc)) => {
                    for k in ["connections", "client_bytes"] {
                        if let (Some(a), Some(b)) = (acc.get_mut(k), s.get(k)) {
                            super::add(a, b);
                        }
                    }
                }
                None => by_server.push((key, s.clone())),
            }
        }
    }
    let mut out: Vec<Value> = by_server.into_iter().map(|(_, v)| v).collect();
    out.sort_by_key(|s| {
        let ip = s
            .get("server")
            .and_then(|e| e.get("ip"))
            .and_then(Value::as_str)
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
        let port = s
            .get("server")
            .and_then(|e| e.get("port"))
            .and_then(Value::as_u64);
        (ip, port)
    });
    Value::Array(out)
}

/// `other_tcp` of every part: counts added, ports merged and sorted by
/// connections (most first), ties by port.
pub fn other_tcp(parts: &[Value]) -> Value {
    let mut ports: Vec<(u64, u64)> = Vec::new();
    for p in parts {
        let list = p
            .get("other_tcp")
            .and_then(|o| o.get("by_port"))
            .and_then(Value::as_array);
        for e in list.into_iter().flatten() {
            let (Some(port), n) = (
                e.get("port").and_then(Value::as_u64),
                e.get("connections").and_then(Value::as_u64).unwrap_or(0),
            ) else {
                continue;
            };
            match ports.iter_mut().find(|(p, _)| *p == port) {
                Some((_, c)) => *c = c.saturating_add(n),
                None => ports.push((port, n)),
            }
        }
    }
    ports.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // A run follows at most this many ports; connections on the rest
    // count in `other_ports`.
    let beyond: u64 = ports.iter().skip(MAX_PORTS).map(|(_, n)| *n).sum();
    ports.truncate(MAX_PORTS);
    let mut m = Map::new();
    let count = |k: &str| {
        parts
            .iter()
            .filter_map(|p| {
                p.get("other_tcp")
                    .and_then(|o| o.get(k))
                    .and_then(Value::as_u64)
            })
            .fold(0u64, u64::saturating_add)
    };
    m.insert("connections".into(), Value::from(count("connections")));
    m.insert(
        "by_port".into(),
        Value::Array(
            ports
                .into_iter()
                .map(|(port, connections)| {
                    let mut e = Map::new();
                    e.insert("port".into(), Value::from(port));
                    e.insert("connections".into(), Value::from(connections));
                    Value::Object(e)
                })
                .collect(),
        ),
    );
    m.insert(
        "other_ports".into(),
        Value::from(count("other_ports").saturating_add(beyond)),
    );
    Value::Object(m)
}
