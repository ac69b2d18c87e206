//! `--connection`, `--client`, `--topic`, `--kind`: a filtered run is the
//! unfiltered run restricted. For every bundled sample and filters chosen
//! from its own unfiltered output, the filtered jsonl must be the
//! unfiltered jsonl with what the filters leave out removed — the
//! restriction computed here, independently, from the unfiltered lines —
//! and its summary's statistics must be what the kept lines add up to.
//! The JSON summary must equal the jsonl summary line, and `--threads 2`
//! must give the same JSON as one thread.

mod common;

use common::conversation::{Conversation, mqtt};
use common::root;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

fn run(args: &[String], capture: &str) -> Vec<u8> {
    let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"))
        .current_dir(root())
        .arg("analyze")
        .args(args)
        .arg(capture)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?} {capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn jsonl(args: &[String], capture: &str) -> Vec<Value> {
    let mut all = vec!["--format".to_string(), "jsonl".to_string()];
    all.extend_from_slice(args);
    String::from_utf8(run(&all, capture))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn json(args: &[String], threads: &str, capture: &str) -> Value {
    let mut all: Vec<String> = ["--format", "json", "--threads", threads]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.extend_from_slice(args);
    serde_json::from_slice(&run(&all, capture)).unwrap()
}

/// The filters of one run, as the test understands them.
#[derive(Debug, Default, Clone)]
struct Filters {
    connections: Vec<u64>,
    clients: Vec<String>,
    topics: Vec<String>,
    kinds: Vec<String>,
}

impl Filters {
    fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        if !self.connections.is_empty() {
            let ids: Vec<String> = self.connections.iter().map(u64::to_string).collect();
            a.extend(["--connection".to_string(), ids.join(",")]);
        }
        for c in &self.clients {
            a.extend(["--client".to_string(), c.clone()]);
        }
        for t in &self.topics {
            a.extend(["--topic".to_string(), t.clone()]);
        }
        if !self.kinds.is_empty() {
            a.extend(["--kind".to_string(), self.kinds.join(",")]);
        }
        a
    }

    fn late(&self) -> bool {
        !self.clients.is_empty() || !self.topics.is_empty()
    }

    fn conn(&self, c: u64) -> bool {
        self.connections.is_empty() || self.connections.contains(&c)
    }

    fn client(&self, c: Option<&str>) -> bool {
        self.clients.is_empty() || c.is_some_and(|c| self.clients.iter().any(|x| x == c))
    }

    fn topic(&self, t: Option<&str>) -> bool {
        self.topics.is_empty() || t.is_some_and(|t| self.topics.iter().any(|f| matches(f, t)))
    }

    fn kind(&self, k: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|x| x == k)
    }
}

/// MQTT topic filter matching, written here from the spec (section 4.7)
/// rather than taken from the program.
fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false; // MQTT-4.7.2-1
    }
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    for (i, level) in f.iter().enumerate() {
        if *level == "#" {
            return true; // the parent level and everything below
        }
        match t.get(i) {
            Some(tl) if *level == "+" || level == tl => {}
            _ => return false,
        }
    }
    f.len() == t.len()
}

fn kind_of(v: &Value) -> &str {
    v["type"].as_str().unwrap_or("")
}

fn is_open(v: &Value) -> bool {
    kind_of(v) == "connection" && v["event"] == "open"
}

/// Lines compared in order: all but `connection` opening lines (their
/// place may move) and the `start` line (it names the filters).
fn in_order(v: &Value) -> bool {
    !is_open(v) && kind_of(v) != "start"
}

/// The unfiltered lines restricted to what `f` keeps (module docs), the
/// summary left out; and the connections that enter the report.
fn restrict(all: &[Value], f: &Filters) -> (Vec<Value>, BTreeSet<u64>) {
    // Each connection's client, from its close record.
    let mut client_of: HashMap<u64, Option<String>> = HashMap::new();
    // An acknowledgement's topic: the flow whose frames hold it.
    let mut flow_topic: HashMap<(u64, u64), String> = HashMap::new();
    for v in all {
        match kind_of(v) {
            "connection" if v["event"] == "close" => {
                let id = v["connection"].as_u64().unwrap();
                let client = v["record"]["mqtt"]["client_id"].as_str().map(String::from);
                client_of.insert(id, client);
            }
            "flow" => {
                let id = v["packet_id"].as_u64().unwrap();
                for fr in v["frames"].as_array().unwrap() {
                    let key = (fr.as_u64().unwrap(), id);
                    flow_topic.insert(key, v["topic"].as_str().unwrap().to_string());
                }
            }
            _ => {}
        }
    }
    let mut connected: BTreeSet<u64> = BTreeSet::new();
    let mut closed: BTreeSet<u64> = BTreeSet::new();
    let mut entered: BTreeSet<u64> = BTreeSet::new();
    let mut kept = Vec::new();
    for v in all {
        let keep = match kind_of(v) {
            "packet" => {
                let conn = v["connection"].as_u64().unwrap();
                let m = &v["mqtt"];
                let ty = m["type"].as_str().unwrap_or("");
                if ty == "CONNECT" && m["malformed"].is_null() {
                    connected.insert(conn);
                }
                // Before its CONNECT a connection belongs to no client.
                let client = if connected.contains(&conn) {
                    client_of.get(&conn).cloned().flatten()
                } else {
                    None
                };
                // Bytes that do not decode (a `malformed` packet line) are
                // of no topic.
                let topic = match ty {
                    _ if !m["malformed"].is_null() => None,
                    "PUBLISH" => m["topic"].as_str().map(String::from),
                    "PUBACK" | "PUBREC" | "PUBREL" | "PUBCOMP" => {
                        let id = m["packet_id"].as_u64().unwrap();
                        flow_topic.get(&(v["frame"].as_u64().unwrap(), id)).cloned()
                    }
                    _ => None,
                };
                let keep = f.conn(conn) && f.client(client.as_deref()) && f.topic(topic.as_deref());
                if keep {
                    entered.insert(conn);
                }
                keep
            }
            "flow" | "finding" => {
                let conn = v["connection"].as_u64().unwrap();
                let keep = f.conn(conn)
                    && f.client(v["client_id"].as_str())
                    && f.topic(v["topic"].as_str())
                    && (kind_of(v) == "flow" || f.kind(v["kind"].as_str().unwrap()));
                if keep && !closed.contains(&conn) {
                    entered.insert(conn);
                }
                keep
            }
            "connection" => {
                let conn = v["connection"].as_u64().unwrap();
                if v["event"] == "close" {
                    closed.insert(conn);
                }
                if f.late() {
                    // Decided below, once it is known what the connection had.
                    true
                } else {
                    let keep = f.conn(conn);
                    if keep {
                        entered.insert(conn);
                    }
                    keep
                }
            }
            // The start line names the run's options (checked in `check`).
            "summary" | "stats" | "start" => false,
            _ => true,
        };
        if keep {
            kept.push(v.clone());
        }
    }
    kept.retain(|v| {
        kind_of(v) != "connection" || entered.contains(&v["connection"].as_u64().unwrap())
    });
    (kept, entered)
}

/// What the kept lines add up to must be the filtered summary.
fn check_summary(
    summary: &Value,
    kept: &[Value],
    entered: &BTreeSet<u64>,
    f: &Filters,
    what: &str,
) {
    let (packets, malformed): (Vec<&Value>, Vec<&Value>) = kept
        .iter()
        .filter(|v| kind_of(v) == "packet")
        .partition(|v| v["mqtt"]["malformed"].is_null());
    let malformed = malformed.len() as u64;
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    for p in &packets {
        *by_type
            .entry(p["mqtt"]["type"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert_eq!(
        summary["packets"]["total"],
        json!(packets.len() as u64 + malformed),
        "{what}"
    );
    assert_eq!(summary["packets"]["malformed"], json!(malformed), "{what}");
    assert_eq!(summary["packets"]["by_type"], json!(by_type), "{what}");

    let flows: Vec<&Value> = kept.iter().filter(|v| kind_of(v) == "flow").collect();
    for qos in [1, 2] {
        let of: Vec<&&Value> = flows.iter().filter(|v| v["qos"] == qos).collect();
        let done = of.iter().filter(|v| v["complete"] == true).count();
        let key = format!("qos{qos}");
        assert_eq!(
            summary["flows"][&key]["completed"],
            json!(done),
            "{what} {key}"
        );
        assert_eq!(
            summary["flows"][&key]["incomplete"],
            json!(of.len() - done),
            "{what} {key}"
        );
    }
    // A flow's stage latencies are the samples of those keys.
    for key in ["puback", "pubrec", "pubrel", "pubcomp", "qos2_total"] {
        let n = flows
            .iter()
            .filter(|v| !v["latency_ms"][key].is_null())
            .count() as u64;
        let got = summary["latency"][key]["count"].as_u64().unwrap_or(0);
        assert_eq!(got, n, "{what}: latency {key}");
    }

    let findings: Vec<&Value> = kept.iter().filter(|v| kind_of(v) == "finding").collect();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for x in &findings {
        *by_kind
            .entry(x["kind"].as_str().unwrap().into())
            .or_default() += 1;
    }
    assert_eq!(summary["findings_by_kind"], json!(by_kind), "{what}");
    let listed: Vec<(Value, Value)> = summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["kind"].clone(), x["frames"].clone()))
        .collect();
    let streamed: Vec<(Value, Value)> = findings
        .iter()
        .map(|x| (x["kind"].clone(), x["frames"].clone()))
        .collect();
    assert_eq!(listed, streamed, "{what}: findings");

    let ids: BTreeSet<u64> = summary["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(&ids, entered, "{what}: connections listed");
    // The handshake's round trip belongs to a connection, not a topic.
    let handshakes = summary["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["handshake"]["rtt_ms"].is_null())
        .count() as u64;
    let want = if f.topics.is_empty() { handshakes } else { 0 };
    let got = summary["latency"]["tcp_handshake"]["count"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(got, want, "{what}: tcp_handshake latency");
}

/// One filtered run of `capture` checked against the unfiltered lines.
fn check(capture: &str, all: &[Value], f: &Filters) {
    let what = format!("{capture} {:?}", f.args());
    let lines = jsonl(&f.args(), capture);
    let (summary, events) = lines.split_last().expect("a summary line");
    assert_eq!(summary["type"], "summary", "{what}");
    let (want, entered) = restrict(all, f);
    // Everything in the same order, but a connection's `connection` line,
    // which under --client and --topic waits for its first selected event.
    let strip = |v: &[Value]| -> Vec<Value> { v.iter().filter(|v| in_order(v)).cloned().collect() };
    let got_events = strip(events);
    let want_events = strip(&want);
    assert_eq!(got_events.len(), want_events.len(), "{what}: line count");
    for (i, (g, w)) in got_events.iter().zip(&want_events).enumerate() {
        assert_eq!(g, w, "{what}: line {i}");
    }
    let opens = |v: &[Value]| -> BTreeSet<String> {
        v.iter()
            .filter(|v| is_open(v))
            .map(|v| v.to_string())
            .collect()
    };
    assert_eq!(opens(events), opens(&want), "{what}: connection lines");
    // The start line names the filters as the summary does.
    let start = lines.iter().find(|v| kind_of(v) == "start");
    if let Some(start) = start {
        let named = &start["options"]["filters"];
        assert_eq!(named["clients"], json!(f.clients), "{what}: start line");
        assert_eq!(named["topics"], json!(f.topics), "{what}: start line");
    }
    // The unfiltered capture line; the filters named.
    let unfiltered = all.last().unwrap();
    assert_eq!(summary["capture"], unfiltered["capture"], "{what}");
    assert_eq!(summary["filters"]["clients"], json!(f.clients), "{what}");
    assert_eq!(summary["filters"]["topics"], json!(f.topics), "{what}");
    assert_eq!(summary["filters"]["kinds"], json!(f.kinds), "{what}");
    assert_eq!(
        summary["filters"]["connections"],
        json!(f.connections),
        "{what}"
    );
    check_summary(summary, &want, &entered, f, &what);
    // JSON: the same summary, with one thread or two.
    let one = json(&f.args(), "1", capture);
    let mut line = summary.clone();
    line.as_object_mut().unwrap().remove("type");
    assert_eq!(one, line, "{what}: --format json and the jsonl summary");
    // Threads split connections between them: only worth a run when
    // there are several.
    let connections = all
        .iter()
        .filter(|v| kind_of(v) == "connection" && v["event"] == "close")
        .count();
    if connections > 1 {
        assert_eq!(json(&f.args(), "2", capture), one, "{what}: --threads 2");
    }
}

/// The bundled samples.
fn samples() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["samples", "samples/faults"] {
        let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".pcap"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        names.sort();
        out.extend(names);
    }
    assert!(out.len() > 30, "{out:?}");
    out
}

/// Filters taken from a sample's own unfiltered output: its busiest
/// connection, the first and last client, topics by name and by wildcard,
/// its most frequent finding kind, and combinations.
fn choices(all: &[Value]) -> Vec<Filters> {
    let mut packets: BTreeMap<u64, usize> = BTreeMap::new();
    let mut clients: Vec<String> = Vec::new();
    let mut topics: Vec<String> = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for v in all {
        match kind_of(v) {
            "packet" => {
                *packets
                    .entry(v["connection"].as_u64().unwrap())
                    .or_default() += 1;
                let m = &v["mqtt"];
                if let Some(c) = m["client_id"].as_str().filter(|c| !c.is_empty())
                    && m["type"] == "CONNECT"
                    && !clients.contains(&c.to_string())
                {
                    clients.push(c.to_string());
                }
                if let Some(t) = m["topic"].as_str().filter(|_| m["type"] == "PUBLISH")
                    && !topics.contains(&t.to_string())
                {
                    topics.push(t.to_string());
                }
            }
            "finding" => *kinds.entry(v["kind"].as_str().unwrap().into()).or_default() += 1,
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some((&busiest, _)) = packets.iter().max_by_key(|(_, n)| **n) {
        out.push(Filters {
            connections: vec![busiest],
            ..Filters::default()
        });
        if let Some(&other) = packets.keys().find(|&&c| c != busiest) {
            out.push(Filters {
                connections: vec![other, busiest],
                ..Filters::default()
            });
        }
    }
    if let Some(c) = clients.first() {
        out.push(Filters {
            clients: vec![c.clone()],
            ..Filters::default()
        });
    }
    if clients.len() > 1 {
        out.push(Filters {
            clients: vec![clients[0].clone(), clients[clients.len() - 1].clone()],
            ..Filters::default()
        });
    }
    if let Some(t) = topics.first() {
        out.push(Filters {
            topics: vec![t.clone()],
            ..Filters::default()
        });
        let first = t.split('/').next().unwrap_or("");
        out.push(Filters {
            topics: vec![format!("{first}/#")],
            ..Filters::default()
        });
        if t.contains('/') && !t.starts_with('$') {
            let rest = t.split_once('/').map(|(_, r)| r).unwrap_or("");
            out.push(Filters {
                topics: vec![format!("+/{rest}"), "no/such/topic".into()],
                ..Filters::default()
            });
        }
    }
    let kind = kinds
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, _)| k.clone());
    if let Some(k) = &kind {
        out.push(Filters {
            kinds: vec![k.clone()],
            ..Filters::default()
        });
    }
    // Several filters: AND.
    if let (Some(c), Some(t)) = (clients.first(), topics.first()) {
        let first = t.split('/').next().unwrap_or("");
        out.push(Filters {
            clients: vec![c.clone()],
            topics: vec![format!("{first}/#")],
            kinds: kind.iter().cloned().collect(),
            ..Filters::default()
        });
    }
    if let (Some(&conn), Some(k)) = (packets.keys().next(), &kind) {
        out.push(Filters {
            connections: vec![conn],
            kinds: vec![k.clone(), "late_ack".into()],
            ..Filters::default()
        });
    }
    out
}

#[test]
fn every_sample_filtered_is_the_unfiltered_run_restricted() {
    let mut checked = 0;
    for capture in samples() {
        let all = jsonl(&[], &capture);
        for f in choices(&all) {
            check(&capture, &all, &f);
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked} filtered runs");
}

#[test]
fn several_files_filtered() {
    let captures = "samples/clients_many.pcap";
    let files = [captures, "samples/faults/missing_ack_broker_killed.pcap"];
    let run_all = |args: &[String]| -> Vec<Value> {
        let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"))
            .current_dir(root())
            .args(["analyze", "--format", "jsonl"])
            .args(args)
            .args(files)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = run_all(&[]);
    let f = Filters {
        topics: vec!["burst/#".into(), "sensors/+/humidity".into()],
        ..Filters::default()
    };
    let got = run_all(&f.args());
    let (want, entered) = restrict(&all, &f);
    let got_events: Vec<&Value> = got[..got.len() - 1]
        .iter()
        .filter(|v| in_order(v))
        .collect();
    let want_events: Vec<&Value> = want.iter().filter(|v| in_order(v)).collect();
    assert_eq!(got_events, want_events);
    let summary = got.last().unwrap();
    check_summary(summary, &want, &entered, &f, "two files");
    assert!(summary["packets"]["total"].as_u64().unwrap() > 0);
}

/// `$` topics are not matched by a filter that starts with a wildcard
/// (MQTT-4.7.2-1); `+` is one level, `#` the parent and all below.
#[test]
fn topic_wildcards_as_the_spec_says() {
    let mut c = Conversation::new(40_001);
    c.wait_us(100)
        .client(&mqtt::connect("wild", 60, None, None))
        .wait_us(100)
        .server(&mqtt::connack());
    for (id, topic) in [
        (1, "$SYS/broker/load"),
        (2, "sport/tennis/player1"),
        (3, "sport/tennis/player1/ranking"),
        (4, "sport"),
        (5, "sports"),
        (6, "/finance"),
    ] {
        c.wait_us(100)
            .client(&mqtt::publish(topic, 1, false, Some(id), b"x"))
            .wait_us(100)
            .server(&mqtt::puback(id));
    }
    c.wait_us(100).client(&mqtt::disconnect()).close();
    let file = c.write();
    let path = file.path().to_string_lossy().into_owned();
    let topics_for = |filter: &str| -> Vec<String> {
        let args = vec!["--topic".to_string(), filter.to_string()];
        jsonl(&args, &path)
            .iter()
            .filter(|v| kind_of(v) == "flow")
            .map(|v| v["topic"].as_str().unwrap().to_string())
            .collect()
    };
    let all = [
        "sport/tennis/player1",
        "sport/tennis/player1/ranking",
        "sport",
        "sports",
        "/finance",
    ];
    assert_eq!(topics_for("#"), all, "# matches all but the $ topic");
    assert_eq!(topics_for("$SYS/#"), ["$SYS/broker/load"]);
    assert_eq!(topics_for("+/broker/load"), Vec::<String>::new());
    assert_eq!(topics_for("sport/tennis/+"), ["sport/tennis/player1"]);
    assert_eq!(
        topics_for("sport/#"),
        [
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport"
        ]
    );
    assert_eq!(topics_for("+/+"), ["/finance"]);
    assert_eq!(topics_for("+"), ["sport", "sports"]);
    // Each kept PUBLISH keeps its own PUBACK, and nothing of no topic.
    let args = vec!["--topic".to_string(), "sport".to_string()];
    let types: Vec<String> = jsonl(&args, &path)
        .iter()
        .filter(|v| kind_of(v) == "packet")
        .map(|v| v["mqtt"]["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["PUBLISH", "PUBACK"]);
}

#[test]
fn bad_filters_are_usage_errors() {
    let sample = "samples/clients_many.pcap";
    for (args, says) in [
        (
            &["--kind", "slow_ack"][..],
            "missing_ack, late_ack, duplicate_publish",
        ),
        (&["--kind", "late_ack,nope"], "unknown finding kind 'nope'"),
        (&["--topic", "a/#/b"], "'#' must be a whole level"),
        (&["--topic", "a+"], "'+' must be a whole level"),
        (&["--topic", ""], "at least one character"),
        (&["--connection", "x"], "--connection"),
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"))
            .current_dir(root())
            .arg("analyze")
            .args(args)
            .arg(sample)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_text_summary_names_the_filters() {
    let args: Vec<String> = [
        "--width", "100", "--color", "never", "--client", "valve-v5", "--topic", "alerts/#",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let text = String::from_utf8(run(&args, "samples/clients_many.pcap")).unwrap();
    assert!(
        text.contains("filters --client \"valve-v5\" --topic \"alerts/#\""),
        "{text}"
    );
    assert!(
        text.contains("connections 1 MQTT/TCP of 5 TCP seen"),
        "{text}"
    );
    let args: Vec<String> = ["--client", "nobody"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = String::from_utf8(run(&args, "samples/clients_many.pcap")).unwrap();
    assert!(
        text.contains("no MQTT packet matches the filters"),
        "{text}"
    );
    // Unfiltered, no filter line.
    let text = String::from_utf8(run(&[], "samples/clients_many.pcap")).unwrap();
    assert!(!text.contains("filters"), "{text}");
}

/// `--fail-on` judges the findings the filters keep.
#[test]
fn fail_on_counts_the_selected_findings() {
    let sample = "samples/faults/missing_ack_broker_killed.pcap";
    let code = |extra: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("mqtt-inspect"))
            .current_dir(root())
            .args(["analyze", "--format", "json", "--fail-on", "error"])
            .args(extra)
            .arg(sample)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[]), Some(1));
    assert_eq!(code(&["--kind", "late_ack"]), Some(0));
    assert_eq!(code(&["--client", "burst-sub"]), Some(0));
    assert_eq!(code(&["--topic", "burst/q2"]), Some(1));
}
