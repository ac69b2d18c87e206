//! Our MQTT decode agrees with Suricata's, a second decoder beside tshark:
//! the 39 MQTT tests of OISF suricata-verify in
//! `../shared/corpus/suricata-verify/` (one folder each: a capture and its
//! `test.yaml`, whose `checks` are filters over Suricata's EVE output).
//!
//! For every folder the binary runs on the capture (`analyze --format
//! jsonl --show-secrets --payload-bytes 1048576`, no `--port` hint). Our
//! `packet` events are turned into Suricata's EVE `mqtt` records: each
//! packet becomes one message object through [`FIELDS`] (the documented
//! mapping of every Suricata field to ours), and the messages are grouped
//! into transactions the way Suricata groups them ([`transactions`]). Then
//! every filter whose `match` names MQTT fields is evaluated as
//! suricata-verify does: the number of records holding every listed value
//! must be exactly `count`.
//!
//! Out of scope (not MQTT fields; listed as skipped in the output): filters
//! on `event_type` `alert` (signature ids and rule names: Suricata's rule
//! engine), `anomaly` (Suricata's own event names — `missing_connect`,
//! `unintroduced_message`, ... — whose judgement is Suricata's, and where
//! the spec wins: PUBLISH before CONNACK is legal, MQTT-3.1.4),
//! `flow` (`app_proto`), `frame` (Suricata's PDU/header frame records) and
//! bare `dest_port` counts over all EVE records.
//!
//! Every filter that fails is either our bug (the test fails) or listed in
//! [`ORACLE_ERRORS`] with the proof from the bytes; such a filter must fail
//! as Suricata wrote it and pass with the value the bytes hold, so a stale
//! entry is caught too.

mod common;

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How our value becomes Suricata's.
#[derive(Debug, Clone, Copy)]
enum Conv {
    /// The same JSON value (left out when ours is `null` or absent, as Suricata leaves it out).
    Same,
    /// Fixed-header flags: QoS is bits 2–1.
    Qos,
    /// Fixed-header flags: DUP is bit 3.
    Dup,
    /// Fixed-header flags: RETAIN is bit 0.
    Retain,
    /// A CONNECT flag bit: `true` when our field is present and not `null`.
    Present,
    /// The Will Retain flag: `will.retain`, `false` without a will.
    WillRetain,
    /// A payload preview (`…payload` with `…payload_encoding` beside it) as
    /// Suricata's text of the bytes (`set_string_from_bytes`).
    Text,
    /// Our `properties` in Suricata's shape: the same names, user properties
    /// spread as `key: value`, binary data (hex for us) as text, the last
    /// subscription identifier under `subscription_identifier`.
    Properties,
    /// `[{filter, qos, …}]` → `[{topic, qos}]`.
    SubTopics,
}

/// The mapping: (our packet types, Suricata field under `mqtt.<type>.`,
/// our field under the packet event's `mqtt.`, conversion). `*` = every type.
///
/// Two Suricata fields have no row because they are not in the bytes but in
/// Suricata's configuration: a message whose remaining length exceeds
/// `app-layer.protocols.mqtt.max-msg-length` ([`suricata_max_msg_len`]) is
/// logged as `{qos, retain, dup, truncated: true, skipped_length}` only, with
/// `skipped_length` = the whole packet's size (fixed header + remaining
/// length, `parse_message` in Suricata's rust/src/mqtt/parser.rs). We never
/// truncate; we check `skipped_length` against our `length` plus the size of
/// its fixed header, and emulate the limit to group transactions as
/// Suricata does (a truncated message is a transaction of its own).
const FIELDS: &[(&str, &str, &str, Conv)] = &[
    ("*", "qos", "flags", Conv::Qos),
    ("*", "dup", "flags", Conv::Dup),
    ("*", "retain", "flags", Conv::Retain),
    ("CONNECT", "protocol_string", "protocol_name", Conv::Same),
    ("CONNECT", "protocol_version", "protocol_level", Conv::Same),
    ("CONNECT", "client_id", "client_id", Conv::Same),
    ("CONNECT", "flags.username", "username", Conv::Present),
    ("CONNECT", "flags.password", "password", Conv::Present),
    ("CONNECT", "flags.will", "will", Conv::Present),
    (
        "CONNECT",
        "flags.will_retain",
        "will.retain",
        Conv::WillRetain,
    ),
    ("CONNECT", "flags.clean_session", "clean_start", Conv::Same),
    ("CONNECT", "username", "username", Conv::Same),
    // `<redacted>` unless --show-secrets (checked apart in
    // `passwords_are_redacted_without_show_secrets`).
    ("CONNECT", "password", "password", Conv::Same),
    ("CONNECT", "will.topic", "will.topic", Conv::Same),
    ("CONNECT", "will.message", "will.payload", Conv::Text),
    (
        "CONNECT",
        "will.properties",
        "will.properties",
        Conv::Properties,
    ),
    ("CONNECT", "properties", "properties", Conv::Properties),
    ("CONNACK", "session_present", "session_present", Conv::Same),
    ("CONNACK", "return_code", "reason_code", Conv::Same),
    ("CONNACK", "properties", "properties", Conv::Properties),
    ("PUBLISH", "topic", "topic", Conv::Same),
    ("PUBLISH", "message_id", "packet_id", Conv::Same),
    ("PUBLISH", "message", "payload", Conv::Text),
    ("PUBLISH", "properties", "properties", Conv::Properties),
    (
        "PUBACK PUBREC PUBREL PUBCOMP",
        "message_id",
        "packet_id",
        Conv::Same,
    ),
    // 5.0: ours is 0 where the short form omits it (so is Suricata's for a
    // remaining length of 2 or less); 3.x has none on either side.
    (
        "PUBACK PUBREC PUBREL PUBCOMP",
        "reason_code",
        "reason_code",
        Conv::Same,
    ),
    (
        "PUBACK PUBREC PUBREL PUBCOMP",
        "properties",
        "properties",
        Conv::Properties,
    ),
    ("SUBSCRIBE", "message_id", "packet_id", Conv::Same),
    ("SUBSCRIBE", "topics", "topics", Conv::SubTopics),
    ("SUBSCRIBE", "properties", "properties", Conv::Properties),
    ("SUBACK", "message_id", "packet_id", Conv::Same),
    ("SUBACK", "qos_granted", "reason_codes", Conv::Same),
    ("UNSUBSCRIBE", "message_id", "packet_id", Conv::Same),
    ("UNSUBSCRIBE", "topics", "topics", Conv::Same),
    ("UNSUBACK", "message_id", "packet_id", Conv::Same),
    // 5.0 only on both sides.
    ("UNSUBACK", "reason_codes", "reason_codes", Conv::Same),
    ("AUTH", "reason_code", "reason_code", Conv::Same),
    ("AUTH", "properties", "properties", Conv::Properties),
    // 5.0: ours is 0 when the packet omits it, as is Suricata's.
    ("DISCONNECT", "reason_code", "reason_code", Conv::Same),
    ("DISCONNECT", "properties", "properties", Conv::Properties),
    // PINGREQ, PINGRESP: the header fields only (`has-key: mqtt.pingreq`).
];

/// A filter where Suricata's expectation contradicts the capture's bytes.
struct OracleError {
    test: &'static str,
    /// The Suricata field (full path) whose expected value is wrong.
    field: &'static str,
    /// What test.yaml expects.
    suricata: Value,
    /// What the bytes hold.
    bytes: Value,
    why: &'static str,
}

fn oracle_errors() -> Vec<OracleError> {
    // DISCONNECT 5.0 with remaining length 1: `e0 01 04`, the byte after the
    // length is the reason code 0x04 "Disconnect with Will Message"
    // (MQTT 5.0 §3.14.2.1; the property length is left out when the remaining
    // length is below 2, §3.14.2.2.1). tshark reads 4 too. Suricata's
    // `parse_disconnect` reads the byte and returns `Some(0)` when
    // `remaining_len == 1`. Proved by `disconnect_reason_code_is_in_the_bytes`.
    const WHY: &str = "DISCONNECT bytes e0 01 04: reason code 0x04 (MQTT 5.0 §3.14.2.1); \
                       Suricata's parse_disconnect drops the byte it read when the \
                       remaining length is 1";
    DISCONNECT_0X04
        .iter()
        .map(|&(test, _)| OracleError {
            test,
            field: "mqtt.disconnect.reason_code",
            suricata: json!(0),
            bytes: json!(4),
            why: WHY,
        })
        .collect()
}

/// (test, frame) of the 5.0 DISCONNECTs whose one-byte body is 0x04.
const DISCONNECT_0X04: &[(&str, u64)] = &[
    ("mqtt5-sub-userpass", 11),
    ("mqtt5-unsub-qos1", 17),
    ("mqtt5-unsub-qos2", 15),
    ("mqtt5-unsub-userpass", 15),
];

/// Suricata's `max-msg-length`: 1 MiB by default; 500 in the suricata.yaml
/// of `mqtt-limit-2` (suricata-verify tests/mqtt-limit-2/suricata.yaml, not
/// in the corpus snapshot, which carries test.yaml only).
fn suricata_max_msg_len(test: &str) -> u64 {
    if test == "mqtt-limit-2" { 500 } else { 1 << 20 }
}

// ---------------------------------------------------------------- running

fn run(cap: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_mqtt-inspect"))
        .args(["analyze", "--format", "jsonl"])
        .args(extra)
        .arg(cap)
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "mqtt-inspect on {}: {}",
        cap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn analyze(cap: &Path) -> Vec<Value> {
    run(cap, &["--show-secrets", "--payload-bytes", "1048576"])
}

/// Every suricata-verify folder: (name, capture, test.yaml).
fn folders(dir: &Path) -> Vec<(String, PathBuf, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)
        .expect("readable corpus folder")
        .flatten()
    {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let caps: Vec<PathBuf> = std::fs::read_dir(&p)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|f| f.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        assert_eq!(
            caps.len(),
            1,
            "{name}: one capture expected, found {caps:?}"
        );
        let text = std::fs::read_to_string(p.join("test.yaml"))
            .unwrap_or_else(|e| panic!("{name}/test.yaml: {e}"));
        let yaml: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}/test.yaml does not parse: {e}"));
        out.push((name, caps[0].clone(), yaml));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

// ------------------------------------------------------ our packet → EVE

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn set(obj: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), v);
        }
        Some((head, rest)) => {
            let inner = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            set(inner.as_object_mut().unwrap(), rest, v);
        }
    }
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("lowercase hex"))
        .collect()
}

fn hex_text(v: &Value) -> Value {
    Value::String(String::from_utf8_lossy(&hex_bytes(v.as_str().unwrap())).into_owned())
}

/// The payload preview `m.<path>` (with `<path>_encoding` beside it) as text.
fn payload_text(m: &Value, path: &str) -> Option<Value> {
    let p = get(m, path)?;
    let enc_path = format!("{path}_encoding");
    match get(m, &enc_path).and_then(Value::as_str) {
        Some("hex") => Some(hex_text(p)),
        _ => Some(p.clone()),
    }
}

fn properties(p: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in p.as_object().unwrap() {
        match k.as_str() {
            "user_properties" => {
                for pair in v.as_array().unwrap() {
                    out.insert(pair[0].as_str().unwrap().to_string(), pair[1].clone());
                }
            }
            "correlation_data" | "authentication_data" => {
                out.insert(k.clone(), hex_text(v));
            }
            "subscription_identifiers" => {
                if let Some(last) = v.as_array().unwrap().last() {
                    out.insert("subscription_identifier".into(), last.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn convert(m: &Value, ours: &str, conv: Conv) -> Option<Value> {
    let flags = m["flags"].as_u64().unwrap_or(0);
    Some(match conv {
        Conv::Same => get(m, ours)?.clone(),
        Conv::Qos => json!((flags >> 1) & 3),
        Conv::Dup => json!(flags & 8 != 0),
        Conv::Retain => json!(flags & 1 != 0),
        Conv::Present => json!(get(m, ours).is_some()),
        Conv::WillRetain => json!(get(m, ours).and_then(Value::as_bool).unwrap_or(false)),
        Conv::Text => payload_text(m, ours)?,
        Conv::Properties => properties(get(m, ours)?),
        Conv::SubTopics => Value::Array(
            get(m, ours)?
                .as_array()?
                .iter()
                .map(|t| json!({"topic": t["filter"], "qos": t["qos"]}))
                .collect(),
        ),
    })
}

/// Size of a fixed header whose remaining length is `len`.
fn header_size(len: u64) -> u64 {
    1 + match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// One of our packet events as Suricata's message: (type key, object).
fn message(m: &Value, max_msg_len: u64) -> Option<(String, Value, bool)> {
    let kind = m["type"].as_str()?; // a malformed packet of type 0 has none
    let mut obj = Map::new();
    let len = m["length"].as_u64();
    let truncated = len.is_some_and(|l| l > max_msg_len);
    for &(types, suri, ours, conv) in FIELDS {
        if types != "*" && !types.split(' ').any(|t| t == kind) {
            continue;
        }
        if truncated && types != "*" {
            continue; // Suricata logs the header only
        }
        if let Some(v) = convert(m, ours, conv) {
            set(&mut obj, suri, v);
        }
    }
    if truncated {
        let l = len.unwrap();
        obj.insert("truncated".into(), json!(true));
        obj.insert("skipped_length".into(), json!(l + header_size(l)));
    }
    Some((kind.to_lowercase(), Value::Object(obj), truncated))
}

/// Suricata's transactions (`MQTTState::handle_msg` in rust/src/mqtt/mqtt.rs):
/// CONNACK joins the open CONNECT; PUBACK/PUBREC/PUBREL/PUBCOMP join the open
/// PUBLISH with their packet id (QoS 1/2), SUBACK and UNSUBACK the open
/// SUBSCRIBE/UNSUBSCRIBE with theirs (QoS bits 1 or 2); everything else —
/// and an ack that finds nothing, and a truncated message — is a
/// transaction of its own. Per connection; one EVE `mqtt` record each.
fn transactions(lines: &[Value], max_msg_len: u64) -> Vec<Value> {
    const CONNECT_ID: u64 = u64::MAX;
    struct Tx {
        msgs: Map<String, Value>,
        pkt_id: Option<u64>,
        complete: bool,
    }
    let mut by_conn: BTreeMap<u64, Vec<Tx>> = BTreeMap::new();
    for l in lines.iter().filter(|l| l["type"] == "packet") {
        let m = &l["mqtt"];
        let Some((key, obj, truncated)) = message(m, max_msg_len) else {
            continue;
        };
        let txs = by_conn
            .entry(l["connection"].as_u64().unwrap())
            .or_default();
        let qos = (m["flags"].as_u64().unwrap_or(0) >> 1) & 3;
        let id = m["packet_id"].as_u64();
        let join = |txs: &mut Vec<Tx>, id: u64| {
            txs.iter().position(|t| !t.complete && t.pkt_id == Some(id))
        };
        let (open_id, joins_id, completes): (Option<u64>, Option<u64>, bool) = if truncated {
            (None, None, true)
        } else {
            match key.as_str() {
                "connect" => (Some(CONNECT_ID), None, false),
                "publish" | "subscribe" | "unsubscribe" if (1..=2).contains(&qos) => {
                    (id, None, false)
                }
                "publish" if qos == 3 => (None, None, false),
                "connack" => (None, Some(CONNECT_ID), true),
                "pubrec" | "pubrel" => (None, id, false),
                "puback" | "pubcomp" | "suback" | "unsuback" => (None, id, true),
                _ => (None, None, true),
            }
        };
        if let Some(i) = joins_id.and_then(|id| join(txs, id)) {
            let t = &mut txs[i];
            t.msgs.entry(key).or_insert(obj);
            if completes {
                t.complete = true;
                t.pkt_id = None;
            }
            continue;
        }
        let mut msgs = Map::new();
        msgs.insert(key, obj);
        txs.push(Tx {
            msgs,
            pkt_id: open_id,
            complete: open_id.is_none() && (completes || joins_id.is_some() || qos == 0),
        });
    }
    by_conn
        .into_values()
        .flatten()
        .map(|t| json!({"event_type": "mqtt", "mqtt": t.msgs}))
        .collect()
}

// ------------------------------------------------------------- filters

/// Whether a filter is about MQTT fields (else it is out of scope).
fn in_scope(m: &Map<String, Value>) -> bool {
    let mqtt = |k: &str, v: &Value| {
        k.starts_with("mqtt.")
            || (k == "has-key" && v.as_str().is_some_and(|s| s.starts_with("mqtt.")))
    };
    m.iter().any(|(k, v)| mqtt(k, v))
        && m.iter()
            .all(|(k, v)| mqtt(k, v) || (k == "event_type" && v == "mqtt"))
}

fn lookup<'a>(ev: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(ev, |v, k| v.get(k))
}

/// suricata-verify's match: every key present with an equal value.
fn matches(ev: &Value, m: &Map<String, Value>) -> bool {
    m.iter().all(|(k, want)| match k.as_str() {
        "has-key" => lookup(ev, want.as_str().unwrap()).is_some(),
        _ => lookup(ev, k) == Some(want),
    })
}

/// For a failing filter: the transaction that matches most keys, and the keys it misses.
fn nearest(events: &[Value], m: &Map<String, Value>) -> String {
    let best = events.iter().max_by_key(|ev| {
        m.iter()
            .filter(|(k, v)| k.as_str() == "has-key" || lookup(ev, k) == Some(*v))
            .count()
    });
    let Some(ev) = best else {
        return "no MQTT transaction at all".into();
    };
    let misses: Vec<String> = m
        .iter()
        .filter(|(k, v)| k.as_str() != "has-key" && lookup(ev, k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k}: want {v}, ours {}",
                lookup(ev, k).unwrap_or(&Value::Null)
            )
        })
        .collect();
    format!("nearest transaction misses [{}]", misses.join("; "))
}

#[derive(Default)]
struct Tally {
    passed: usize,
    oracle: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<String>,
}

fn check_folder(name: &str, cap: &Path, yaml: &Value, errs: &[OracleError], t: &mut Tally) {
    let lines = analyze(cap);
    let events = transactions(&lines, suricata_max_msg_len(name));
    let checks = yaml["checks"].as_array().expect("checks: a list");
    for (n, c) in checks.iter().enumerate() {
        let f = &c["filter"];
        let m = f["match"].as_object().expect("filter.match");
        let count = f["count"].as_u64().expect("filter.count");
        let label = format!("{name} filter {}", n + 1);
        if !in_scope(m) {
            let keys: Vec<&String> = m.keys().collect();
            t.skipped.push(format!("{label}: {keys:?}"));
            continue;
        }
        let got = events.iter().filter(|e| matches(e, m)).count() as u64;
        let fixes: Vec<&OracleError> = errs
            .iter()
            .filter(|e| e.test == name && m.get(e.field) == Some(&e.suricata))
            .collect();
        if fixes.is_empty() {
            if got == count {
                t.passed += 1;
            } else {
                t.failed.push(format!(
                    "{label}: {count} record(s) expected, {got} found; {}\n      filter {}",
                    nearest(&events, m),
                    Value::Object(m.clone())
                ));
            }
            continue;
        }
        let mut fixed = m.clone();
        for e in &fixes {
            fixed.insert(e.field.to_string(), e.bytes.clone());
        }
        let got_fixed = events.iter().filter(|e| matches(e, &fixed)).count() as u64;
        if got != count && got_fixed == count {
            for e in &fixes {
                t.oracle.push(format!(
                    "{label}: {} is {} in the bytes, Suricata expects {} ({})",
                    e.field, e.bytes, e.suricata, e.why
                ));
            }
        } else {
            t.failed.push(format!(
                "{label}: listed as an oracle error but {got} record(s) match as written and \
                 {got_fixed} with the bytes' value ({count} expected): the entry is stale or we \
                 are wrong"
            ));
        }
    }
}

#[test]
fn mqtt_fields_agree_with_suricata_verify() {
    let Some(dir) = common::corpus_subdir("suricata-verify") else {
        return;
    };
    let folders = folders(&dir);
    assert!(
        folders.len() >= 39,
        "expected the 39 suricata-verify MQTT tests in {}, found {}",
        dir.display(),
        folders.len()
    );
    let errs = oracle_errors();
    let mut t = Tally::default();
    for (name, cap, yaml) in &folders {
        check_folder(name, cap, yaml, &errs, &mut t);
    }
    println!(
        "suricata-verify: {} folders; MQTT filters: {} pass, {} fail only where Suricata \
         contradicts the bytes, {} fail; {} filters out of scope (not MQTT fields)",
        folders.len(),
        t.passed,
        t.oracle.len(),
        t.failed.len(),
        t.skipped.len()
    );
    for o in &t.oracle {
        println!("  oracle error: {o}");
    }
    for s in &t.skipped {
        println!("  out of scope: {s}");
    }
    assert!(t.passed > 100, "too few filters checked: {}", t.passed);
    assert!(
        t.failed.is_empty(),
        "{} filter(s) disagree with Suricata:\n  {}",
        t.failed.len(),
        t.failed.join("\n  ")
    );
}

/// Without `--show-secrets` no password or authentication data is printed:
/// where Suricata's checks name a password, ours is `<redacted>`.
#[test]
fn passwords_are_redacted_without_show_secrets() {
    let Some(dir) = common::corpus_subdir("suricata-verify") else {
        return;
    };
    let mut seen = 0;
    for (name, cap, yaml) in folders(&dir) {
        let wants_password = yaml["checks"].as_array().unwrap().iter().any(|c| {
            c["filter"]["match"]
                .as_object()
                .is_some_and(|m| m.contains_key("mqtt.connect.password"))
        });
        for l in run(&cap, &[]).iter().filter(|l| l["type"] == "packet") {
            let m = &l["mqtt"];
            if m["type"] == "CONNECT" && !m["password"].is_null() {
                assert_eq!(m["password"], "<redacted>", "{name}: {m}");
                seen += usize::from(wants_password);
            }
            if let Some(d) = m.pointer("/properties/authentication_data") {
                assert_eq!(d, "<redacted>", "{name}: {m}");
            }
        }
    }
    assert!(seen >= 20, "only {seen} CONNECTs with a password looked at");
}

/// The four DISCONNECTs of [`DISCONNECT_0X04`] are `e0 01 04` on the wire:
/// reason code 4, which we report (and tshark too), not Suricata's 0.
#[test]
fn disconnect_reason_code_is_in_the_bytes() {
    use mqtt_inspect::capture::open_captures;
    use mqtt_inspect::netdecode::{Decoded, decode};
    let Some(dir) = common::corpus_subdir("suricata-verify") else {
        return;
    };
    for &(test, frame) in DISCONNECT_0X04 {
        let cap = dir.join(test).join("input.pcap");
        let mut reader = open_captures(&[cap.to_str().unwrap().to_string()]).unwrap();
        let mut payload = None;
        while let Some(f) = reader.next_frame() {
            if f.index == frame {
                if let Decoded::Tcp(seg) = decode(&f) {
                    payload = Some(seg.payload.to_vec());
                }
                break;
            }
        }
        assert_eq!(
            payload.as_deref(),
            Some(&[0xe0, 0x01, 0x04][..]),
            "{test} frame {frame}: DISCONNECT, remaining length 1, reason code 0x04"
        );
        let lines = run(&cap, &[]);
        let ours = lines
            .iter()
            .find(|l| l["type"] == "packet" && l["frame"] == frame)
            .unwrap_or_else(|| panic!("{test}: no packet at frame {frame}"));
        assert_eq!(ours["mqtt"]["type"], "DISCONNECT", "{test}: {ours}");
        assert_eq!(ours["mqtt"]["reason_code"], 4, "{test}: {ours}");
        let truth = common::read_json(&dir.join(test).join("input.truth.json"));
        assert!(
            truth["packets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["frame"] == frame && p["type"] == "DISCONNECT"),
            "{test}: tshark decodes the DISCONNECT at frame {frame} too"
        );
    }
}
