//! `--html FILE`: the page is written beside the `--format` output, is
//! self-contained, escapes everything from the capture, and renders in a
//! real browser with its plots and tables.
//!
//! The browser test runs Debian's `chromium` headless (`--dump-dom` and
//! `--screenshot`): without it the test says `SKIPPED: chromium not
//! installed` and passes on a developer's machine; in CI (`CI` set), where
//! `.ci/run` installs it, a missing chromium fails. With
//! `MQTT_INSPECT_SCREENSHOT=1` the screenshot of the sample page is
//! written to `docs/html-report.png` (the picture README shows).
//!
//! Captures with hostile strings and with thousands of messages are
//! generated here (nothing large is committed).

mod capture_support;
mod common;

use capture_support::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use capture_support::{FrameSink, PcapStream, eth_ipv4_tcp};
use common::{in_ci, root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Generated captures
// ---------------------------------------------------------------------------

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    remaining_length(body.len(), &mut v);
    v.extend_from_slice(body);
    v
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn connect(client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    string(b"MQTT", &mut body);
    body.extend_from_slice(&[4, 0x02, 0, 0]);
    string(client_id.as_bytes(), &mut body);
    packet(0x10, &body)
}

fn publish(qos: u8, topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string(topic.as_bytes(), &mut body);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &body)
}

fn ack(first: u8, id: u16) -> Vec<u8> {
    vec![first, 2, (id >> 8) as u8, id as u8]
}

/// One TCP connection of a generated capture.
struct Tcp {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    cseq: u32,
    sseq: u32,
    buf: Vec<u8>,
}

impl Tcp {
    fn new(client_host: u8, port: u16) -> Self {
        Tcp {
            client: ([10, 1, 0, client_host], port),
            server: ([10, 0, 0, 1], 1883),
            cseq: 1000,
            sseq: 9000,
            buf: Vec::new(),
        }
    }

    fn seg(&mut self, o: &mut impl FrameSink, from_client: bool, flags: u8, data: &[u8]) {
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, self.cseq, self.sseq)
        } else {
            (self.server, self.client, self.sseq, self.cseq)
        };
        eth_ipv4_tcp(&mut self.buf, src, dst, seq, ack, flags, 64240, data);
        o.frame(&self.buf);
        let used = data.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
    }

    fn open(&mut self, o: &mut impl FrameSink, client_id: &str) {
        self.seg(o, true, SYN, &[]);
        self.seg(o, false, SYN | ACK, &[]);
        self.seg(o, true, ACK, &[]);
        self.seg(o, true, PSH | ACK, &connect(client_id));
        self.seg(o, false, PSH | ACK, &[0x20, 2, 0, 0]);
    }

    fn client(&mut self, o: &mut impl FrameSink, data: &[u8]) {
        self.seg(o, true, PSH | ACK, data);
    }

    fn server(&mut self, o: &mut impl FrameSink, data: &[u8]) {
        self.seg(o, false, PSH | ACK, data);
    }

    fn close(&mut self, o: &mut impl FrameSink) {
        self.client(o, &[0xe0, 0]);
        self.seg(o, true, FIN | ACK, &[]);
        self.seg(o, false, FIN | ACK, &[]);
        self.seg(o, true, ACK, &[]);
    }

    fn reset(&mut self, o: &mut impl FrameSink) {
        self.seg(o, true, RST | ACK, &[]);
    }
}

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(2)>";

/// A client whose client id and topics are markup: one QoS 1 message
/// acknowledged, two never (their `missing_ack` findings carry the
/// topics), then a reset.
fn hostile_capture(path: &Path) {
    let mut o = PcapStream::new(Vec::new(), 1);
    o.step_us = 1_000;
    let mut c = Tcp::new(7, 40_000);
    c.open(&mut o, SCRIPT);
    c.client(
        &mut o,
        &publish(1, SCRIPT, 1, b"</title><script>alert(3)</script>"),
    );
    c.server(&mut o, &ack(0x40, 1));
    c.client(&mut o, &publish(1, SCRIPT, 2, b"x"));
    c.client(&mut o, &publish(1, IMG, 3, b"<b>bold</b>"));
    c.reset(&mut o);
    std::fs::write(path, o.finish()).unwrap();
}

/// Three clients: one publishing `n` QoS 1 messages 10 ms apart (every
/// 500th never acknowledged), one with QoS 2 flows, one quiet.
fn busy_capture(path: &Path, n: u16) {
    let mut o = PcapStream::new(Vec::new(), 1);
    o.step_us = 100;
    let mut a = Tcp::new(1, 41_000);
    let mut b = Tcp::new(2, 42_000);
    let mut q = Tcp::new(3, 43_000);
    a.open(&mut o, "busy-publisher");
    b.open(&mut o, "qos2-client");
    q.open(&mut o, "quiet-client");
    for i in 1..=n {
        o.wait_us(10_000);
        a.client(&mut o, &publish(1, "plant/line1/temp", i, b"21.5"));
        if i % 500 != 0 {
            o.wait_us(300 + u64::from(i % 7) * 150);
            a.server(&mut o, &ack(0x40, i));
        }
        if i % 50 == 0 {
            let id = i / 50;
            b.client(&mut o, &publish(2, "plant/valve/cmd", id, b"open"));
            b.server(&mut o, &ack(0x50, id));
            b.client(&mut o, &ack(0x62, id));
            b.server(&mut o, &ack(0x70, id));
        }
    }
    a.close(&mut o);
    b.close(&mut o);
    q.close(&mut o);
    std::fs::write(path, o.finish()).unwrap();
}

// ---------------------------------------------------------------------------
// Running the tool and the browser
// ---------------------------------------------------------------------------

/// `analyze --format json --html PAGE ARGS` in the repository's root (so
/// `samples/...` paths are named as a user would type them): the summary,
/// and the page.
fn analyze_with_html(args: &[&str], page: &Path) -> (Value, String) {
    let out = assert_cmd::Command::cargo_bin("mqtt-inspect")
        .unwrap()
        .current_dir(root())
        .args(["analyze", "--format", "json", "--html"])
        .arg(page)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("the JSON on stdout");
    let html = std::fs::read_to_string(page).expect("the page was written");
    (summary, html)
}

/// Debian's chromium, or `None` after saying SKIPPED (a failure in CI).
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Some(PathBuf::from(name));
        }
    }
    assert!(
        !in_ci(),
        "chromium is not installed: CI installs it (.ci/run), so this is a failure, not a skip"
    );
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED: chromium not installed ({test})"
    );
    None
}

/// Runs headless chromium on the page with `args`; its stdout. Killed
/// after two minutes (a hung browser fails the test, it does not hang it).
fn run_chromium(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            // Nothing may be fetched: any name resolves to nowhere.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {args:?} failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium {args:?} did not finish in 2 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// Occurrences of `needle` in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The `d` attributes of the paths of `class` in the DOM.
fn paths<'a>(dom: &'a str, class: &str) -> Vec<&'a str> {
    let start = format!(r#"<path class="{class}" d=""#);
    dom.split(start.as_str())
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// What any page must show, checked in the browser's DOM against the
/// summary the same run printed.
fn check_dom(dom: &str, summary: &Value, label: &str) {
    assert!(
        dom.contains("<h1>MQTT capture report</h1>"),
        "{label}: title"
    );
    // A latency histogram per key with samples, with bars.
    let keys: Vec<&String> = summary["latency"].as_object().unwrap().keys().collect();
    assert!(!keys.is_empty(), "{label}: the sample has latencies");
    assert_eq!(count(dom, r#"<svg class="hist""#), keys.len(), "{label}");
    for k in &keys {
        assert!(
            dom.contains(&format!(r#"<svg class="hist" data-key="{k}""#)),
            "{label}: histogram {k}"
        );
    }
    assert!(count(dom, r#"<rect class="bar""#) >= keys.len(), "{label}");
    // The latency table: a row per key.
    assert_eq!(count(dom, "<tr data-key="), keys.len(), "{label}");
    // The connections table: a row per listed connection.
    let conns = summary["connections"].as_array().unwrap().len();
    assert!(conns > 0);
    assert_eq!(count(dom, "<tr data-conn="), conns, "{label}");
    // A timeline per MQTT connection (at most 40), and the whole capture's.
    let mqtt = summary["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["mqtt"].is_null())
        .count();
    assert_eq!(
        count(dom, r#"<svg class="timeline""#),
        mqtt.min(40) + 1,
        "{label}: timelines"
    );
    assert_eq!(count(dom, r#"data-timeline="capture""#), 1, "{label}");
    // Every finding kind with its meaning.
    for (kind, _) in summary["findings_by_kind"].as_object().unwrap() {
        assert!(
            dom.contains(&format!(r#"data-kind="{kind}""#)),
            "{label}: {kind}"
        );
    }
    // Zoom is CSS: four radio buttons, no script anywhere.
    assert_eq!(count(dom, r#"type="radio" name="zoom""#), 4, "{label}");
    assert!(!dom.to_ascii_lowercase().contains("<script"), "{label}");
}

/// The PNG's width and height (from its IHDR chunk).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "a PNG");
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Everything from the capture is text on the page, never markup: a
/// client id, topics and payloads made of `<script>` and attribute
/// breakers come out as entities, and the page has no script element, no
/// event handler and fetches nothing (its Content-Security-Policy forbids
/// scripts and fetches even if a text slipped through).
#[test]
fn capture_text_cannot_inject_markup() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("hostile.pcap");
    hostile_capture(&cap);
    let page = dir.path().join("hostile.html");
    let (summary, html) = analyze_with_html(&[cap.to_str().unwrap()], &page);
    assert_eq!(summary["findings_by_kind"]["missing_ack"], 2, "{summary}");
    assert!(!html.contains(SCRIPT), "a raw <script> in the page");
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains("<img"), "a raw <img> in the page");
    assert!(!html.contains("<b>"), "payload markup in the page");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the client id and topic are shown, escaped"
    );
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">"#
    ));
    // Self-contained: every link is to the page itself.
    for attr in ["href=\"", "src=\""] {
        for value in html.split(attr).skip(1) {
            assert!(
                value.starts_with('#'),
                "{attr}{}",
                &value[..40.min(value.len())]
            );
        }
    }
    assert!(!html.contains("http://") && !html.contains("https://"));

    // The browser agrees: no element came out of the capture's text.
    let Some(browser) = chromium() else {
        return;
    };
    let dom = run_chromium(
        &browser,
        &dir.path().join("profile"),
        &page,
        &["--dump-dom"],
    );
    let lower = dom.to_ascii_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<img"),
        "{dom}"
    );
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom.contains(r#"data-kind="missing_ack""#));
}

/// The page of a bundled sample in a real browser: the histograms, the
/// timelines and the tables are there, as many as the summary says; and
/// the screenshot the README shows.
#[test]
fn sample_pages_render_in_a_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, sample) in [
        "samples/faults/missing_ack_broker_killed.pcap",
        "samples/clients_many.pcap",
        "samples/v5_props.pcapng",
    ]
    .iter()
    .enumerate()
    {
        let page = dir.path().join(format!("page{i}.html"));
        let (summary, html) = analyze_with_html(&[sample], &page);
        assert!(
            html.contains(&format!("<code>{sample}</code>")),
            "the source as given"
        );
        let profile = dir.path().join(format!("profile{i}"));
        let dom = run_chromium(&browser, &profile, &page, &["--dump-dom"]);
        check_dom(&dom, &summary, sample);
        if i == 0 {
            let errors = summary["findings_by_severity"]["error"].as_u64().unwrap();
            assert!(dom.contains(&format!("✗ {errors} errors")), "the verdict");
            // The missing acks are marked on their connection's timeline.
            assert!(count(&dom, r#"<line class="mark error""#) >= 1);
            let shot = dir.path().join("shot.png");
            run_chromium(
                &browser,
                &profile,
                &page,
                &[
                    "--window-size=1280,2500",
                    &format!("--screenshot={}", shot.display()),
                ],
            );
            let png = std::fs::read(&shot).expect("the screenshot");
            assert_eq!(png_size(&png), (1280, 2500));
            assert!(png.len() > 20_000, "a screenshot with content");
            if std::env::var_os("MQTT_INSPECT_SCREENSHOT").is_some_and(|v| !v.is_empty()) {
                std::fs::write(root().join("docs/html-report.png"), &png).unwrap();
            }
        }
    }
}

/// Several files are one capture on one page: both named, each file's
/// frames listed, a finding's frames also as its file numbers them (and
/// no Wireshark filter, which could open only one file); `--threads 2`
/// writes the same page; the browser draws it.
#[test]
fn several_files_make_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        "samples/faults/late_ack.pcap",
        "samples/faults/packet_id_in_use.pcap",
    ];
    let page = dir.path().join("two.html");
    let (summary, html) = analyze_with_html(&files, &page);
    assert_eq!(
        summary["capture"]["files"].as_array().map(Vec::len),
        Some(2)
    );
    for f in files {
        assert!(
            html.contains(&format!("<code>{f}</code>")),
            "{f} in the header"
        );
    }
    assert!(html.contains("<dt>samples/faults/late_ack.pcap</dt><dd>frames 1–21</dd>"));
    assert!(html.contains("<dt>samples/faults/packet_id_in_use.pcap</dt><dd>frames 22–46</dd>"));
    assert!(
        html.contains("<tr><td>32 34 (samples/faults/packet_id_in_use.pcap frames 11,13)</td>"),
        "capture frames 32 and 34 are frames 11 and 13 of the second file"
    );
    assert!(!html.contains("frame.number in"), "no filter across files");
    let threaded = dir.path().join("two-threads.html");
    let (_, html2) = analyze_with_html(&["--threads", "2", files[0], files[1]], &threaded);
    assert!(html2 == html, "--threads 2 wrote another page");
    let Some(browser) = chromium() else {
        return;
    };
    let dom = run_chromium(
        &browser,
        &dir.path().join("profile"),
        &page,
        &["--dump-dom"],
    );
    check_dom(&dom, &summary, "two files");
}

/// MQTT inside TLS (decrypted with the key log) and WebSocket says so:
/// the capture facts count the TLS connections and why some stayed
/// encrypted, a connection's row names its layers, and the TLS alerts
/// are findings like any other.
#[test]
fn layers_are_named_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("tls.html");
    let (summary, html) = analyze_with_html(
        &[
            "--tls-keylog",
            "samples/tls_alerts.keys",
            "samples/tls_alerts.pcap",
        ],
        &page,
    );
    assert_eq!(
        summary["layers"]["tls"]["decrypted"], 1,
        "{}",
        summary["layers"]
    );
    assert!(
        html.contains(
            "<dt>TLS connections</dt><dd>3 (1 decrypted; not decrypted: handshake_failed ×2)</dd>"
        ),
        "the TLS tally"
    );
    assert!(
        html.contains(" over TLS</td>"),
        "a decrypted connection's row"
    );
    assert!(html.contains(r#"data-kind="tls_alert""#));
    let (summary, html) = analyze_with_html(
        &[
            "--tls-keylog",
            "samples/wss_keylog.keys",
            "samples/wss_keylog.pcap",
        ],
        &page,
    );
    assert_eq!(summary["layers"]["websocket"]["connections"], 2);
    assert!(html.contains("<dt>WebSocket connections</dt><dd>2 (0 protocol errors)</dd>"));
    assert_eq!(count(&html, " over TLS, WebSocket</td>"), 2, "wss rows");
}

/// Hundreds of clients, each with a 3,000-character client id and topic
/// and a message never acknowledged, listed in full (`--connections
/// all`): the page clips every name, lists at most 250 connections and
/// says how many it left to the JSON, and stays small.
#[test]
fn huge_inputs_keep_the_page_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("wide.pcap");
    let clients = 300u16;
    let mut o = PcapStream::new(Vec::new(), 1);
    o.step_us = 50;
    for i in 0..clients {
        let mut c = Tcp::new((i % 200) as u8 + 1, 20_000 + i);
        let name = format!("{i:04}{}", "c".repeat(3_000));
        c.open(&mut o, &name);
        c.client(
            &mut o,
            &publish(1, &format!("{i:04}{}", "t".repeat(3_000)), 1, b"x"),
        );
        c.reset(&mut o);
    }
    std::fs::write(&cap, o.finish()).unwrap();
    let page = dir.path().join("wide.html");
    let (summary, html) =
        analyze_with_html(&["--connections", "all", cap.to_str().unwrap()], &page);
    assert_eq!(
        summary["findings_by_kind"]["missing_ack"],
        u64::from(clients)
    );
    assert_eq!(summary["connections"].as_array().map(Vec::len), Some(300));
    assert_eq!(count(&html, "<tr data-conn="), 250);
    assert!(
        html.contains("… and 50 more in the summary, not on this page (at most 250; 50 with errors, 0 with warnings)"),
        "the connections left out are counted"
    );
    assert!(!html.contains(&"c".repeat(121)), "a client id is clipped");
    assert!(!html.contains(&"t".repeat(601)), "a topic is clipped");
    assert!(html.contains(&format!("0000{}…", "c".repeat(116))));
    assert!(html.len() < 400_000, "{} bytes", html.len());
}

/// Thousands of messages stay readable: the busiest connection's timeline
/// is at most 128 bars a lane (bucketed, not one mark per message), the
/// page stays small, and the browser draws it all.
#[test]
fn thousands_of_messages_are_bucketed() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("busy.pcap");
    busy_capture(&cap, 6_000);
    let page = dir.path().join("busy.html");
    let (summary, html) = analyze_with_html(&[cap.to_str().unwrap()], &page);
    assert_eq!(summary["flows"]["qos1"]["completed"], 6_000 - 12);
    assert_eq!(summary["findings_by_kind"]["missing_ack"], 12);
    assert!(html.len() < 200_000, "{} bytes", html.len());
    let c2s = paths(&html, "pub-c2s");
    // The whole capture, then the connections (busy first: it has the errors).
    assert_eq!(c2s.len(), 3, "capture, publisher, QoS 2 client");
    let busy_bars = count(c2s[1], "M");
    assert!(
        (64..=128).contains(&busy_bars),
        "6,000 messages in {busy_bars} bars"
    );
    assert!(count(c2s[0], "M") <= 480);
    for d in paths(&html, "acks") {
        assert!(count(d, "M") <= 480);
    }
    let Some(browser) = chromium() else {
        return;
    };
    let dom = run_chromium(
        &browser,
        &dir.path().join("profile"),
        &page,
        &["--dump-dom"],
    );
    check_dom(&dom, &summary, "busy.pcap");
    assert_eq!(paths(&dom, "pub-c2s"), c2s, "the browser keeps every bar");
}
