//! `--threads N` prints exactly what one thread prints, and writes the
//! same `--html` page: on every bundled sample, on the corpus when it is
//! there, and on a capture made here of many client hosts (so connections
//! spread over the workers) whose sessions resume on a second connection
//! and whose findings interleave across workers; and on copies of the TLS
//! and WebSocket samples from many client hosts, decrypted with their key
//! logs, so that layered connections (whose layers were chosen, and for
//! TLS off the MQTT ports partly run, on the reading thread) spread over
//! the workers too.

mod common;

use assert_cmd::Command;
use common::{corpus_dir, root};
use std::path::{Path, PathBuf};

/// The output of one run, with the key log `keylog` if any; `format`
/// `html` is `--format json --html`, with the page after the JSON.
fn run(threads: &str, format: &str, capture: &Path, keylog: Option<&Path>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let mut cmd = Command::cargo_bin("mqtt-inspect").unwrap();
    cmd.args(["analyze", "--threads", threads, "--color", "never"]);
    if format == "html" {
        cmd.args(["--format", "json", "--html"]).arg(&page);
    } else {
        cmd.args(["--format", format]);
    }
    if let Some(k) = keylog {
        cmd.arg("--tls-keylog").arg(k);
    }
    let out = cmd.arg(capture).output().unwrap();
    let code = out.status.code();
    let html = if format == "html" {
        std::fs::read_to_string(&page).expect("the page")
    } else {
        String::new()
    };
    format!(
        "exit {code:?}\n{}\n{}\n{html}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_same(capture: &Path) {
    assert_same_with(capture, None);
}

/// The same with `--threads 1`, 2 and 5, with the key log `keylog` if any.
fn assert_same_with(capture: &Path, keylog: Option<&Path>) {
    for format in ["json", "text", "html"] {
        let one = run("1", format, capture, keylog);
        for n in ["2", "5"] {
            let many = run(n, format, capture, keylog);
            assert!(
                one == many,
                "{} --format {format} (key log {keylog:?}): --threads {n} differs from --threads 1",
                capture.display()
            );
        }
    }
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(captures_in(&p));
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz"))
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_sample_is_the_same_with_threads() {
    let all = captures_in(&root().join("samples"));
    assert!(all.len() > 20, "{}", all.len());
    for c in &all {
        assert_same(c);
        // A sample recorded with a key log is also decrypted with it.
        let keys = c.with_extension("keys");
        if keys.exists() {
            assert_same_with(c, Some(&keys));
        }
    }
}

#[test]
fn the_corpus_is_the_same_with_threads() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let all = captures_in(&corpus);
    assert!(all.len() > 50, "{}", all.len());
    for c in &all {
        assert_same(c);
    }
}

/// One pcap record of an Ethernet/IPv4/TCP segment.
struct Pcap {
    out: Vec<u8>,
    us: u64,
}

impl Pcap {
    fn new() -> Pcap {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&65_535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        Pcap { out, us: 0 }
    }

    fn segment(&mut self, t: &mut Tcp, to_server: bool, flags: u8, payload: &[u8]) {
        self.us += 1_000;
        let (src, dst, sp, dp) = if to_server {
            (t.client, BROKER, t.port, 1883)
        } else {
            (BROKER, t.client, 1883, t.port)
        };
        let (seq, ack) = if to_server {
            (t.c_seq, t.s_seq)
        } else {
            (t.s_seq, t.c_seq)
        };
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, 0x45, 0];
        f.extend_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        let advance = payload.len() as u32 + u32::from(flags & 0x03 != 0);
        if to_server {
            t.c_seq = t.c_seq.wrapping_add(advance);
        } else {
            t.s_seq = t.s_seq.wrapping_add(advance);
        }
        let secs = 1_700_000_000 + self.us / 1_000_000;
        self.out.extend_from_slice(&(secs as u32).to_le_bytes());
        self.out
            .extend_from_slice(&((self.us % 1_000_000) as u32).to_le_bytes());
        self.out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&f);
    }
}

const BROKER: [u8; 4] = [10, 0, 0, 1];
const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;
const ACK: u8 = 0x10;
const PSH: u8 = 0x18;
const FIN: u8 = 0x11;
const RST: u8 = 0x14;

struct Tcp {
    client: [u8; 4],
    port: u16,
    c_seq: u32,
    s_seq: u32,
}

fn connect(client_id: &str, clean: bool) -> Vec<u8> {
    let mut body = vec![
        0,
        4,
        b'M',
        b'Q',
        b'T',
        b'T',
        4,
        if clean { 2 } else { 0 },
        0,
        60,
    ];
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut p = vec![0x10, body.len() as u8];
    p.extend_from_slice(&body);
    p
}

fn publish(qos: u8, dup: bool, id: u16, topic: &str) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(b"reading");
    let mut p = vec![
        0x30 | (qos << 1) | if dup { 0x08 } else { 0 },
        body.len() as u8,
    ];
    p.extend_from_slice(&body);
    p
}

fn ack(kind: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![kind, 2, hi, lo]
}

/// Host `h`'s first connection: a session left with an unacknowledged
/// QoS 1 message and a QoS 2 message waiting for its PUBREL.
fn first_connection(p: &mut Pcap, h: u8) -> Tcp {
    let mut t = Tcp {
        client: [10, 2, h / 64, h],
        port: 40_000,
        c_seq: 1000,
        s_seq: 5000,
    };
    p.segment(&mut t, true, SYN, &[]);
    p.segment(&mut t, false, SYN_ACK, &[]);
    p.segment(&mut t, true, ACK, &[]);
    p.segment(&mut t, true, PSH, &connect(&format!("c{h}"), false));
    p.segment(&mut t, false, PSH, &[0x20, 2, 0, 0]);
    let topic = format!("site/{h}");
    p.segment(&mut t, true, PSH, &publish(1, false, 1, &topic));
    p.segment(&mut t, false, PSH, &ack(0x40, 1));
    p.segment(&mut t, true, PSH, &publish(1, false, 2, &topic));
    p.segment(&mut t, true, PSH, &publish(2, false, 3, &topic));
    p.segment(&mut t, false, PSH, &ack(0x50, 3));
    if h.is_multiple_of(3) {
        // A QoS 1 PUBLISH without a packet identifier's worth: id 0.
        p.segment(&mut t, true, PSH, &publish(1, false, 0, &topic));
    }
    t
}

fn close(p: &mut Pcap, t: &mut Tcp) {
    p.segment(t, true, FIN, &[]);
    p.segment(t, false, FIN, &[]);
    p.segment(t, true, ACK, &[]);
}

/// The second connection resumes the session: the QoS 1 message is
/// re-sent and acknowledged, the QoS 2 one completed; then one more
/// message is left without its ack and the connection is reset.
fn second_connection(p: &mut Pcap, h: u8) {
    let mut t = Tcp {
        client: [10, 2, h / 64, h],
        port: 40_001,
        c_seq: 9000,
        s_seq: 7000,
    };
    p.segment(&mut t, true, SYN, &[]);
    p.segment(&mut t, false, SYN_ACK, &[]);
    p.segment(&mut t, true, ACK, &[]);
    p.segment(&mut t, true, PSH, &connect(&format!("c{h}"), false));
    p.segment(&mut t, false, PSH, &[0x20, 2, 1, 0]);
    let topic = format!("site/{h}");
    p.segment(&mut t, true, PSH, &publish(1, true, 2, &topic));
    p.segment(&mut t, false, PSH, &ack(0x40, 2));
    p.segment(&mut t, true, PSH, &ack(0x62, 3));
    p.segment(&mut t, false, PSH, &ack(0x70, 3));
    p.segment(&mut t, true, PSH, &publish(1, false, 9, &topic));
    if h % 4 == 1 {
        // Acknowledged twice: the second is unexpected.
        p.segment(&mut t, false, PSH, &ack(0x40, 9));
        p.segment(&mut t, false, PSH, &ack(0x40, 9));
    }
    p.segment(&mut t, true, RST, &[]);
}

/// `hosts` client hosts, each with a first connection that leaves its
/// session and a second that resumes it; the second connections come in
/// the reverse order, so findings of different workers interleave.
fn hosts_capture(hosts: u8, dir: &Path) -> PathBuf {
    let mut p = Pcap::new();
    let mut firsts: Vec<Tcp> = (0..hosts).map(|h| first_connection(&mut p, h)).collect();
    for t in &mut firsts {
        close(&mut p, t);
    }
    for h in (0..hosts).rev() {
        second_connection(&mut p, h);
    }
    let path = dir.join(format!("hosts-{hosts}.pcap"));
    std::fs::write(&path, &p.out).unwrap();
    path
}

fn summary(threads: &str, capture: &Path) -> serde_json::Value {
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--threads", threads, "--format", "json"])
        .arg(capture)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn many_hosts_with_sessions_and_findings_are_the_same_with_threads() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = 30;
    let path = hosts_capture(hosts, dir.path());
    // The capture is what it should be: findings on every host, sessions
    // resumed, breakdowns exact (fewer clients than they follow).
    let v = summary("1", &path);
    assert_eq!(v["analysis"]["sessions_resumed"], u64::from(hosts));
    assert_eq!(v["latency_by_client"]["approximate"], false);
    let findings = v["findings"].as_array().unwrap();
    let conns: std::collections::BTreeSet<u64> = findings
        .iter()
        .map(|f| f["connection"].as_u64().unwrap())
        .collect();
    assert!(
        conns.len() >= usize::from(hosts),
        "findings on {} connections",
        conns.len()
    );
    assert_same(&path);
}

/// More clients than the breakdowns follow: they are approximate (and
/// say so), and which clients they keep may depend on how the
/// connections were spread; everything else is the same.
#[test]
fn approximate_breakdowns_are_the_only_difference() {
    let dir = tempfile::tempdir().unwrap();
    let path = hosts_capture(80, dir.path());
    let mut one = summary("1", &path);
    let mut many = summary("4", &path);
    for v in [&mut one, &mut many] {
        for key in ["latency_by_client", "latency_by_topic"] {
            assert_eq!(v[key]["approximate"], true);
            v[key] = serde_json::Value::Null;
        }
    }
    assert_eq!(one, many);
    assert!(one["findings"].as_array().unwrap().len() > 80);
}

/// Which clients and topics an approximate breakdown keeps is decided by
/// volume, ties by name, never by a hash map's per-run order: the same
/// capture gives the same summary on every run (each run is a new process
/// with new hash seeds; the 80 hosts of this capture tie on volume).
#[test]
fn approximate_breakdowns_are_the_same_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = hosts_capture(80, dir.path());
    let first = run("1", "json", &path, None);
    assert!(first.contains("\"approximate\":true") || first.contains("\"approximate\": true"));
    for _ in 0..6 {
        assert_eq!(run("1", "json", &path, None), first, "a second run differs");
    }
}

/// With filters, threads give the same report too: each worker applies
/// them where its connections' events and statistics are produced.
#[test]
fn filtered_runs_are_the_same_with_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = hosts_capture(30, dir.path());
    let run = |threads: &str, filters: &[&str]| -> serde_json::Value {
        let out = Command::cargo_bin("mqtt-inspect")
            .unwrap()
            .args(["analyze", "--threads", threads, "--format", "json"])
            .args(filters)
            .arg(&path)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let unfiltered = run("1", &[]);
    let kind = unfiltered["findings"][0]["kind"]
        .as_str()
        .unwrap()
        .to_string();
    for filters in [
        &["--client", "c3", "--client", "c17"][..],
        &["--topic", "site/+"],
        &["--topic", "site/#", "--topic", "site/1"],
        &["--connection", "4,9,33"],
        &["--kind", &kind],
        &["--client", "c5", "--topic", "site/5", "--kind", &kind],
    ] {
        let one = run("1", filters);
        assert!(one["filters"].is_object(), "{filters:?}");
        assert!(
            one["packets"]["total"].as_u64().unwrap() > 0,
            "{filters:?} selects something"
        );
        for n in ["2", "4"] {
            assert_eq!(run(n, filters), one, "{filters:?} --threads {n}");
        }
    }
}

/// The records of a bundled Ethernet/IPv4 pcap (microseconds, little
/// endian): (seconds, microseconds, frame).
fn pcap_records(path: &Path) -> Vec<(u32, u32, Vec<u8>)> {
    let d = std::fs::read(path).unwrap();
    assert_eq!(d.get(..4), Some(&0xa1b2_c3d4u32.to_le_bytes()[..]));
    assert_eq!(d.get(20..24), Some(&1u32.to_le_bytes()[..]), "Ethernet");
    let u32_at = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    let (mut o, mut out) = (24, Vec::new());
    while o + 16 <= d.len() {
        let len = u32_at(o + 8) as usize;
        out.push((u32_at(o), u32_at(o + 4), d[o + 16..o + 16 + len].to_vec()));
        o += 16 + len;
    }
    out
}

/// The layered samples' client and server (every one was recorded so).
const SAMPLE_CLIENT: [u8; 4] = [192, 0, 2, 1];

/// `hosts` copies of each of `samples`, each copy from a client host of
/// its own (the IPv4 client address rewritten), the copies of a sample
/// interleaved in time (copy `h` 10 µs after copy `h - 1`) and the
/// samples one after another; with the samples' key logs in one file.
fn layered_hosts_capture(samples: &[&str], hosts: u8, dir: &Path) -> (PathBuf, PathBuf) {
    let mut p = Pcap::new();
    let mut keys = String::new();
    for (s, name) in samples.iter().enumerate() {
        let sample = root().join("samples").join(format!("{name}.pcap"));
        if let Ok(k) = std::fs::read_to_string(sample.with_extension("keys")) {
            keys.push_str(&k);
        }
        let records = pcap_records(&sample);
        let (s0, u0) = (records[0].0, records[0].1);
        let base = 1_700_000_000u64 * 1_000_000 + s as u64 * 100_000_000;
        let mut all = Vec::new();
        for h in 0..hosts {
            let client = [10, 77, s as u8, h];
            for (sec, us, frame) in &records {
                if frame.get(12..14) != Some(&[8, 0][..]) {
                    continue; // not IPv4 (ARP)
                }
                let mut f = frame.clone();
                for at in [26, 30] {
                    if f[at..at + 4] == SAMPLE_CLIENT {
                        f[at..at + 4].copy_from_slice(&client);
                    }
                }
                let t = (u64::from(*sec) * 1_000_000 + u64::from(*us))
                    - (u64::from(s0) * 1_000_000 + u64::from(u0));
                all.push((base + t + u64::from(h) * 10, f));
            }
        }
        all.sort_by_key(|(t, _)| *t);
        for (t, f) in all {
            p.out
                .extend_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
            p.out
                .extend_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
            p.out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            p.out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            p.out.extend_from_slice(&f);
        }
    }
    let path = dir.join("layered-hosts.pcap");
    std::fs::write(&path, &p.out).unwrap();
    let key_path = dir.join("layered-hosts.keys");
    std::fs::write(&key_path, keys).unwrap();
    (path, key_path)
}

/// `hosts` copies of each of `samples` (see [`layered_hosts_capture`]):
/// every copy's connections are decoded through their layers as the
/// sample's own are, the breakdowns are exact (so nothing may differ),
/// and `--threads` changes nothing.
fn layered_on_many_hosts(samples: &[&str], hosts: u8) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let (path, keys) = layered_hosts_capture(samples, hosts, dir.path());
    let out = Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .args(["analyze", "--threads", "1", "--format", "json"])
        .arg("--tls-keylog")
        .arg(&keys)
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (mut tls, mut decrypted, mut ws, mut packets) = (0, 0, 0, 0);
    for name in samples {
        let one = summary_with_keys(&root().join(format!("samples/{name}.pcap")));
        let l = &one["layers"];
        tls += l["tls"]["connections"].as_u64().unwrap();
        decrypted += l["tls"]["decrypted"].as_u64().unwrap();
        ws += l["websocket"]["connections"].as_u64().unwrap();
        packets += one["packets"]["total"].as_u64().unwrap();
    }
    let hosts = u64::from(hosts);
    let layers = &v["layers"];
    assert_eq!(layers["tls"]["connections"], tls * hosts, "{layers}");
    assert_eq!(layers["tls"]["decrypted"], decrypted * hosts, "{layers}");
    assert_eq!(layers["websocket"]["connections"], ws * hosts, "{layers}");
    assert_eq!(v["packets"]["total"], packets * hosts);
    for key in ["latency_by_client", "latency_by_topic"] {
        assert_eq!(v[key]["approximate"], false, "{key}");
    }
    assert_same_with(&path, Some(&keys));
    v
}

#[test]
fn websocket_connections_on_many_hosts_are_the_same_with_threads() {
    let hosts = 12;
    let v = layered_on_many_hosts(&["ws_mqtt", "ws_frames", "ws_deflate"], hosts);
    assert!(v["layers"]["websocket"]["connections"].as_u64().unwrap() >= 8 * u64::from(hosts));
    let errors = v["findings_by_kind"]["websocket_protocol_error"].as_u64();
    assert_eq!(errors, Some(u64::from(hosts)), "one per copy of ws_frames");
}

/// TLS 1.2 and 1.3 on 8883 and wss off the MQTT ports, decrypted: the
/// wss copies are judged by their decrypted first bytes on the reading
/// thread (the first), or by their server proven by then (the others,
/// whose WebSocket upgrade is then found above TLS on the worker).
#[test]
fn tls_connections_on_many_hosts_are_the_same_with_threads() {
    let hosts = 12;
    let v = layered_on_many_hosts(
        &["tls12_keylog", "tls13_keylog", "wss_keylog", "tls_alerts"],
        hosts,
    );
    let l = &v["layers"];
    assert!(
        l["tls"]["decrypted"].as_u64().unwrap() >= 7 * u64::from(hosts),
        "{l}"
    );
    assert!(
        l["websocket"]["connections"].as_u64().unwrap() >= 2 * u64::from(hosts),
        "{l}"
    );
    let alerts = v["findings_by_kind"]["tls_alert"].as_u64();
    assert_eq!(
        alerts,
        Some(2 * u64::from(hosts)),
        "two per copy of tls_alerts"
    );
}

/// A bundled sample's summary, decrypted with its key log if it has one.
fn summary_with_keys(capture: &Path) -> serde_json::Value {
    let mut cmd = Command::cargo_bin("mqtt-inspect").unwrap();
    cmd.args(["analyze", "--threads", "1", "--format", "json"]);
    let keys = capture.with_extension("keys");
    if keys.exists() {
        cmd.arg("--tls-keylog").arg(keys);
    }
    serde_json::from_slice(&cmd.arg(capture).output().unwrap().stdout).unwrap()
}
