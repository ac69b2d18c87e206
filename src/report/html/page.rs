//! The HTML page: the summary's sections as tables, with the pictures of
//! [`super::svg`] beside them.
//!
//! The page is one file that works offline: CSS inline, pictures inline
//! SVG, no script at all. Its Content-Security-Policy (`default-src
//! 'none'`) forbids every fetch and every script, so even a text that
//! escaped [`Esc`] could not run or load anything; zooming the timelines
//! is CSS (radio buttons), tooltips are SVG `<title>`s.

use super::escape::{Clip, Esc, cut};
use super::format::{bytes_text, ms_f, ms_text, offset_text, plural};
use super::svg::{self, LANES, lane_maxima};
use super::timeline::{CAPTURE_BUCKETS, CONN_BUCKETS, ConnTrack, KEPT, MARKERS, Timelines};
use crate::analysis::{Finding, FindingKind, FlowCounts, LatencyKey, Severity};
use crate::base::time::format_utc;
use crate::report::{ConnectionSummary, FileMap, Summary, Unlisted};
use crate::tcp::CloseKind;
use std::fmt::Write;

/// Examples listed per finding kind.
const EXAMPLES: usize = 5;
/// Warnings listed (the summary keeps up to 1000).
const WARNINGS: usize = 200;
/// Connections in the table, the most troubled first: the summary lists
/// up to `--connections` (all of them, if asked), and the page must stay
/// a page whatever that is.
pub const CONNECTIONS: usize = 250;
/// Brokers that never answered, named in the verdict (the summary keeps
/// up to 4096).
const SILENT: usize = 20;
/// Input files named in the header and listed in the capture facts.
const FILES: usize = 50;
/// Characters shown of a client identifier, a topic or a file name.
const NAME: usize = 120;
/// Characters shown of a finding's or a warning's message.
const MESSAGE: usize = 600;

/// The whole page.
pub fn render(s: &Summary, t: &Timelines, version: &str) -> String {
    let mut p = Page {
        out: String::with_capacity(64 << 10),
        s,
        files: clipped_files(s),
        origin_ns: s
            .capture
            .first_ts
            .map(|ts| ts.as_nanos())
            .or(t.capture.start_ns())
            .unwrap_or(0),
    };
    p.head();
    p.header(version);
    p.verdict();
    p.capture();
    p.overview(t);
    p.findings();
    p.latency();
    p.flows();
    p.timelines(t);
    p.connections();
    p.warnings();
    p.footer();
    p.out
}

/// ` over TLS`, ` over WebSocket`, ` over TLS, WebSocket` for a
/// connection's layers above TCP (nothing for plain TCP).
fn layers_text(names: &[&str]) -> String {
    let above: Vec<&str> = names
        .iter()
        .filter_map(|n| match *n {
            "tls" => Some("TLS"),
            "websocket" => Some("WebSocket"),
            _ => None,
        })
        .collect();
    if above.is_empty() {
        String::new()
    } else {
        format!(" over {}", above.join(", "))
    }
}

/// The capture's files with their names clipped: the page names a
/// frame's file beside the frame, hundreds of times.
fn clipped_files(s: &Summary) -> FileMap {
    let mut map = FileMap::default();
    if s.capture.sources.len() > 1 {
        for f in &s.capture.files {
            let (name, more) = cut(&f.name, NAME);
            map.push(
                &format!("{name}{}", if more { "…" } else { "" }),
                f.first_frame,
            );
        }
    }
    map
}

struct Page<'a> {
    out: String,
    s: &'a Summary,
    files: FileMap,
    /// Times on the page count from here (the capture's first frame).
    origin_ns: i128,
}

/// `w!(self, "...", args)`: formatted into the page (a `String` cannot fail).
macro_rules! w {
    ($p:expr, $($arg:tt)*) => {{
        let _ = write!($p.out, $($arg)*);
    }};
}

impl Page<'_> {
    fn head(&mut self) {
        let sources = &self.s.capture.sources;
        let mut title: String = sources
            .iter()
            .take(3)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if sources.len() > 3 {
            title.push_str(&format!(" and {} more", sources.len() - 3));
        }
        w!(
            self,
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mqtt-inspect">
<title>mqtt-inspect: {}</title>
<style>{CSS}</style></head><body>
"#,
            Clip(&title, 3 * NAME)
        );
    }

    fn header(&mut self, version: &str) {
        w!(
            self,
            r#"<header><h1>MQTT capture report</h1><p class="sub">"#
        );
        let sources = &self.s.capture.sources;
        for (i, src) in sources.iter().take(FILES).enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            w!(self, "<code>{}</code>", Clip(src, NAME));
        }
        if sources.len() > FILES {
            w!(self, " and {} more files", sources.len() - FILES);
        }
        w!(
            self,
            r##" · mqtt-inspect {} · schema <code>{}</code></p>
<nav><a href="#findings">findings</a><a href="#latency">latency</a><a href="#flows">messages</a><a href="#timelines">timelines</a><a href="#connections">connections</a><a href="#warnings">warnings</a></nav></header>
"##,
            Esc(version),
            Esc(self.s.schema)
        );
    }

    /// One line that says whether the capture shows a problem.
    fn verdict(&mut self) {
        let a = &self.s.analysis;
        let sev = |s| a.findings_by_severity.get(&s).copied().unwrap_or(0);
        let (errors, warnings) = (sev(Severity::Error), sev(Severity::Warning));
        let completed = a.flows.qos1.completed + a.flows.qos2.completed;
        let (class, text) = if self.s.packets.total == 0 {
            (
                "none",
                format!(
                    "No MQTT found in {}",
                    plural(self.s.other_tcp.connections, "TCP connection")
                ),
            )
        } else if errors > 0 {
            (
                "error",
                format!(
                    "✗ {}{} — the capture proves a protocol fault",
                    plural(errors, "error"),
                    if warnings > 0 {
                        format!(", {}", plural(warnings, "warning"))
                    } else {
                        String::new()
                    }
                ),
            )
        } else if warnings > 0 {
            ("warning", format!("! {}", plural(warnings, "warning")))
        } else {
            (
                "ok",
                format!(
                    "✓ No protocol problem: {} completed, {} MQTT packets",
                    plural(completed, "QoS 1/2 flow"),
                    self.s.packets.total
                ),
            )
        };
        w!(
            self,
            r#"<section id="verdict" class="verdict {class}"><p class="headline">{}</p>"#,
            Esc(&text)
        );
        let worst: Vec<String> = FindingKind::ALL
            .iter()
            .filter_map(|k| {
                let n = a.count(*k);
                (n > 0).then(|| format!("{} ×{n}", k.as_str()))
            })
            .collect();
        if !worst.is_empty() {
            w!(self, "<p>{}</p>", Esc(&worst.join(" · ")));
        }
        for silent in self.s.silent_servers.iter().take(SILENT) {
            w!(
                self,
                r#"<p class="bad">Broker {} never sent a byte on any of its {} (its clients sent {}).</p>"#,
                Esc(&silent.server.to_string()),
                Esc(&plural(silent.connections, "connection")),
                Esc(&bytes_text(silent.client_bytes))
            );
        }
        if self.s.silent_servers.len() > SILENT {
            w!(
                self,
                r#"<p class="bad">… and {} more silent brokers (<code>silent_servers</code> in the JSON).</p>"#,
                self.s.silent_servers.len() - SILENT
            );
        }
        self.out.push_str("</section>\n");
    }

    fn capture(&mut self) {
        let c = &self.s.capture;
        w!(
            self,
            r#"<section id="capture"><h2>Capture</h2><dl class="facts">"#
        );
        let row = |p: &mut Self, k: &str, v: &str| {
            w!(p, "<div><dt>{}</dt><dd>{}</dd></div>", Esc(k), Esc(v));
        };
        row(self, "frames", &c.frames.to_string());
        row(self, "bytes", &bytes_text(c.bytes));
        if let (Some(first), Some(last)) = (c.first_ts, c.last_ts) {
            row(
                self,
                "first frame",
                &format!("{} UTC", format_utc(&first, 3)),
            );
            let ns = last.nanos_since(&first).max(0) as u64;
            row(self, "duration", &ms_text(ns));
        }
        if !c.link_types.is_empty() {
            row(self, "link types", &c.link_types.join(", "));
        }
        row(
            self,
            "MQTT packets",
            &format!(
                "{} ({} malformed, {} breaking a rule)",
                self.s.packets.total, self.s.packets.malformed, self.s.packets.with_violations
            ),
        );
        row(
            self,
            "TCP connections",
            &format!(
                "{} ({} carried MQTT)",
                self.s.tcp.connections,
                self.s.connections.len() as u64 + self.s.connections_unlisted.count
            ),
        );
        for (n, what) in [
            (c.non_tcp_frames, "non-TCP frames"),
            (c.undecodable_frames, "undecodable frames"),
            (c.ip_fragments, "IP fragments"),
        ] {
            if n > 0 {
                row(self, what, &n.to_string());
            }
        }
        if c.truncated {
            row(
                self,
                "truncated",
                "yes: a capture file ends inside a record",
            );
        }
        let l = &self.s.layers;
        if l.tls > 0 {
            let why: Vec<String> = l
                .tls_undecoded
                .iter()
                .map(|(why, n)| format!("{} ×{n}", why.as_str()))
                .collect();
            let mut text = format!("{} ({} decrypted", l.tls, l.tls_decrypted);
            if !why.is_empty() {
                text.push_str(&format!("; not decrypted: {}", why.join(", ")));
            }
            text.push(')');
            row(self, "TLS connections", &text);
        }
        if l.websocket > 0 {
            row(
                self,
                "WebSocket connections",
                &format!("{} ({} protocol errors)", l.websocket, l.websocket_errors),
            );
        }
        if let Some(d) = c.drops {
            row(
                self,
                "dropped by the capture",
                &format!(
                    "{} by the kernel, {} by the interface",
                    d.kernel, d.interface
                ),
            );
        }
        if c.sources.len() > 1 {
            for f in c.files.iter().take(FILES) {
                let (name, more) = cut(&f.name, NAME);
                let name = format!("{name}{}", if more { "…" } else { "" });
                let frames = match f.frames {
                    0 => "no frames".to_string(),
                    n => format!("frames {}–{}", f.first_frame, f.first_frame + n - 1),
                };
                row(self, &name, &frames);
            }
            if c.files.len() > FILES {
                row(
                    self,
                    "more files",
                    &format!("{} (--format json lists them)", c.files.len() - FILES),
                );
            }
        }
        self.out.push_str("</dl></section>\n");
    }

    /// The whole capture on one axis.
    fn overview(&mut self, t: &Timelines) {
        let tl = &t.capture;
        if tl.buckets().is_empty() {
            return;
        }
        w!(
            self,
            r#"<section id="overview"><h2>Over time</h2><p class="note">Every connection together; one bar is {} (at most {CAPTURE_BUCKETS} bars). Hover a bar for its counts.</p>"#,
            Esc(&ms_text(tl.width_ns()))
        );
        self.strip(tl, &[], true, "whole capture", "capture");
        self.out.push_str("</section>\n");
    }

    /// A timeline with its lane labels and time ticks.
    fn strip(
        &mut self,
        tl: &super::timeline::Timeline,
        markers: &[super::timeline::Marker],
        hover: bool,
        label: &str,
        data: &str,
    ) {
        let max = lane_maxima(tl);
        w!(
            self,
            r#"<div class="strip" data-timeline="{}"><div class="lanes">"#,
            Esc(data)
        );
        for (lane, m) in LANES.iter().zip(max) {
            w!(
                self,
                r#"<div class="{}" title="{}"><span>{}</span><span class="dim">{}</span></div>"#,
                lane.class,
                Esc(lane.title),
                Esc(lane.label),
                if m > 0 {
                    format!("≤{m}/bar")
                } else {
                    "none".into()
                }
            );
        }
        self.out
            .push_str(r#"</div><div class="scroll"><div class="zoomable">"#);
        svg::timeline(&mut self.out, tl, markers, self.origin_ns, hover, label);
        let n = tl.buckets().len().max(1) as i128;
        let width = tl.width_ns() as i128;
        let start = tl.start_ns().unwrap_or(self.origin_ns) - self.origin_ns;
        let span = n * width;
        self.out.push_str(r#"<div class="ticks">"#);
        for i in 0..=4 {
            let at = start + span * i / 4;
            let align = match i {
                0 => " first",
                4 => " last",
                _ => "",
            };
            w!(
                self,
                r#"<span class="tick{align}" style="left:{}%">{}</span>"#,
                i * 25,
                Esc(&offset_text(at, span))
            );
        }
        self.out.push_str("</div></div></div></div>");
    }

    fn findings(&mut self) {
        let a = &self.s.analysis;
        w!(self, r#"<section id="findings"><h2>Findings</h2>"#);
        if a.findings_by_kind.is_empty() {
            let text = if self.s.packets.total == 0 {
                "None: no MQTT was analysed."
            } else {
                "None: the capture shows no protocol problem."
            };
            w!(self, r#"<p class="ok">{text}</p></section>"#);
            return;
        }
        for kind in FindingKind::ALL {
            let n = a.count(kind);
            if n == 0 {
                continue;
            }
            let sev = kind.severity().as_str();
            w!(
                self,
                r#"<div class="kind {sev}" data-kind="{}"><h3><span class="badge {sev}">{sev}</span> <code>{}</code> ×{n}</h3><p class="meaning">{}</p>"#,
                Esc(kind.as_str()),
                Esc(kind.as_str()),
                Esc(kind.describe())
            );
            let examples: Vec<&Finding> = a
                .findings
                .iter()
                .filter(|f| f.kind == kind)
                .take(EXAMPLES)
                .collect();
            if !examples.is_empty() {
                w!(
                    self,
                    r#"<table class="examples"><tr><th>frames</th><th>time</th><th>conn</th><th>client id</th><th>topic</th><th>what happened</th></tr>"#
                );
                for f in &examples {
                    let frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
                    let frames = format!("{}{}", frames.join(" "), self.files.suffix(&f.frames));
                    w!(
                        self,
                        "<tr><td>{}</td><td>{}</td><td>#{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        Esc(&frames),
                        Esc(&offset_text(f.ts.as_nanos() - self.origin_ns, 0)),
                        f.connection,
                        Clip(f.client_id.as_deref().unwrap_or(""), NAME),
                        Clip(f.topic.as_deref().unwrap_or(""), NAME),
                        Clip(&f.message, MESSAGE)
                    );
                }
                self.out.push_str("</table>");
                if !self.files.several() {
                    let mut all: Vec<u64> = examples
                        .iter()
                        .flat_map(|f| f.frames.iter().copied())
                        .collect();
                    all.sort_unstable();
                    all.dedup();
                    let list: Vec<String> = all.iter().map(u64::to_string).collect();
                    w!(
                        self,
                        r#"<p class="filter">Wireshark display filter of these examples: <code>frame.number in {{{}}}</code></p>"#,
                        list.join(" ")
                    );
                }
                if n > examples.len() as u64 {
                    w!(
                        self,
                        r#"<p class="dim">{} more of this kind: the jsonl output lists every one.</p>"#,
                        n - examples.len() as u64
                    );
                }
            }
            self.out.push_str("</div>");
        }
        if a.findings_dropped > 0 {
            w!(
                self,
                r#"<p class="dim">{} findings beyond the ones kept are counted above but have no example.</p>"#,
                a.findings_dropped
            );
        }
        self.out.push_str("</section>\n");
    }

    fn flows(&mut self) {
        let a = &self.s.analysis;
        w!(
            self,
            r#"<section id="flows"><h2>Messages</h2><p class="note">QoS 1/2 flows: a PUBLISH and its acknowledgements.</p><table class="flows"><tr><th>QoS</th><th>direction</th><th>completed</th><th>incomplete</th><th title="reported as missing_ack">never acked</th><th title="still waiting, for less than the ack timeout, when the capture ended: not a fault">cut off</th><th title="the ack may have been in bytes the capture lost">unverifiable</th><th title="ended by an ack of the wrong type">wrong ack</th><th title="replaced by a new PUBLISH with the same packet identifier">superseded</th><th title="completed by a 5.0 reason code of 0x80 or more">error code</th><th title="completed on a later connection of the same session">redelivered</th></tr>"#
        );
        let dirs = [
            ("client → server", &a.flows_by_direction.client_to_server),
            ("server → client", &a.flows_by_direction.server_to_client),
        ];
        let mut rows = 0;
        for qos in [1u8, 2] {
            for (label, by) in dirs {
                let c: &FlowCounts = if qos == 1 { &by.qos1 } else { &by.qos2 };
                if c.completed + c.incomplete == 0 {
                    continue;
                }
                rows += 1;
                let bad = |n: u64| if n > 0 { r#" class="bad""# } else { "" };
                w!(
                    self,
                    "<tr><td>{qos}</td><td>{label}</td><td>{}</td><td{}>{}</td><td{}>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td><td>{}</td><td>{}</td></tr>",
                    c.completed,
                    bad(c.incomplete),
                    c.incomplete,
                    bad(c.missing),
                    c.missing,
                    c.cut_off,
                    c.unverifiable,
                    bad(c.wrong_ack),
                    c.wrong_ack,
                    bad(c.superseded),
                    c.superseded,
                    c.with_error,
                    c.redelivered
                );
            }
        }
        if rows == 0 {
            self.out
                .push_str(r#"<tr><td colspan="11">no QoS 1/2 PUBLISH seen</td></tr>"#);
        }
        let q0 = &a.qos0_messages;
        w!(
            self,
            r#"</table><p>QoS 0: {} client → server, {} server → client (not acknowledged by design).</p></section>
"#,
            q0.client_to_server,
            q0.server_to_client
        );
    }

    fn latency(&mut self) {
        let a = &self.s.analysis;
        let rows: Vec<_> = a.latency.summaries().collect();
        w!(self, r#"<section id="latency"><h2>Latency</h2>"#);
        if rows.is_empty() {
            self.out
                .push_str("<p>No request was answered in the capture.</p></section>\n");
            return;
        }
        self.out.push_str(
            r#"<table class="latency"><tr><th>between</th><th>count</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>"#,
        );
        for (key, l) in &rows {
            w!(
                self,
                r#"<tr data-key="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                key.as_str(),
                latency_label(*key),
                l.count,
                ms_f(l.min_ms),
                ms_f(l.mean_ms),
                ms_f(l.p50_ms),
                ms_f(l.p90_ms),
                ms_f(l.p99_ms),
                ms_f(l.max_ms)
            );
        }
        self.out.push_str(r#"</table><div class="hists">"#);
        for (key, _) in &rows {
            let Some(stats) = a.latency.get(*key) else {
                continue;
            };
            w!(
                self,
                "<figure><figcaption>{}</figcaption>",
                latency_label(*key)
            );
            svg::histogram(&mut self.out, key.as_str(), latency_label(*key), stats);
            self.out.push_str("</figure>");
        }
        self.out.push_str(
            r#"</div><p class="note">Bars are equal steps on a logarithmic axis from the fastest to the slowest sample (hover a bar for its range and count); the green line is the median (p50), the red one the 99th percentile. Counts come from the HDR histograms (3 significant digits).</p></section>
"#,
        );
    }

    fn timelines(&mut self, t: &Timelines) {
        w!(
            self,
            r#"<section id="timelines"><h2>Connections over time</h2><p class="note">{} — the most troubled first, then the busiest (at most {KEPT}). Each has its own time axis from its first to its last event, in at most {CONN_BUCKETS} bars whose width doubles as needed, so a connection of millions of messages is drawn from a few kilobytes; the first {MARKERS} findings of a connection are marked at their exact time (hover them), later ones are counted in the findings lane.</p>"#,
            Esc(&format!(
                "{} of {} shown",
                plural(t.connections.len() as u64, "connection"),
                t.seen
            ))
        );
        if t.connections.is_empty() {
            self.out.push_str("<p>No MQTT connection.</p></section>\n");
            return;
        }
        self.out.push_str(
            r#"<span class="zoom">zoom</span><input type="radio" name="zoom" id="zoom1" checked><label for="zoom1">1×</label><input type="radio" name="zoom" id="zoom2"><label for="zoom2">2×</label><input type="radio" name="zoom" id="zoom4"><label for="zoom4">4×</label><input type="radio" name="zoom" id="zoom8"><label for="zoom8">8×</label> <span class="dim">(then scroll sideways)</span><div class="tls">"#,
        );
        for c in &t.connections {
            self.conn_timeline(c);
        }
        self.out.push_str("</div></section>\n");
    }

    fn conn_timeline(&mut self, c: &ConnTrack) {
        let mut head = format!("#{} {} → {}", c.id, c.client, c.server);
        if let Some(id) = &c.client_id {
            let (id, more) = cut(id, NAME);
            let more = if more { "…" } else { "" };
            head.push_str(&format!(" · client id “{id}{more}”"));
        }
        let close = match c.close {
            Some(CloseKind::Fin) => "closed (FIN)",
            Some(CloseKind::Rst) => "reset (RST)",
            Some(CloseKind::Open) | None => "open at the end",
        };
        let class = if c.problems.errors > 0 {
            "error"
        } else if c.problems.warnings > 0 {
            "warning"
        } else {
            "ok"
        };
        w!(
            self,
            r#"<div class="tl {class}" data-conn="{}"><p class="tl-head">{} <span class="dim">· {} · {} · {}{}</span></p>"#,
            c.id,
            Esc(&head),
            close,
            Esc(&plural(c.problems.errors, "error")),
            Esc(&plural(c.problems.warnings, "warning")),
            if c.markers_dropped > 0 {
                format!(" ({} findings not marked)", c.markers_dropped)
            } else {
                String::new()
            }
        );
        let label = format!("connection {}", c.id);
        self.strip(
            &c.timeline,
            &c.markers,
            false,
            &label,
            &format!("conn-{}", c.id),
        );
        self.out.push_str("</div>");
    }

    fn connections(&mut self) {
        let s = self.s;
        w!(
            self,
            r#"<section id="connections"><h2>Connections</h2><p class="note">{} MQTT/TCP connections of {} TCP seen; problem connections first.</p>"#,
            s.connections.len() as u64 + s.connections_unlisted.count,
            s.tcp.connections
        );
        let mut list: Vec<&ConnectionSummary> = s.connections.iter().collect();
        list.sort_by_key(|c| (std::cmp::Reverse(c.problems), c.tcp.id));
        let mut off_page = Unlisted::default();
        for c in list.iter().skip(CONNECTIONS) {
            off_page.count += 1;
            off_page.with_errors += u64::from(c.problems.errors > 0);
            off_page.with_warnings += u64::from(c.problems.warnings > 0);
        }
        list.truncate(CONNECTIONS);
        if !list.is_empty() {
            self.out.push_str(
                r#"<table class="connections"><tr><th>id</th><th>client → server</th><th>client id</th><th>MQTT</th><th>errors</th><th>warnings</th><th>packets</th><th>frames</th><th>duration</th><th>TCP rtt</th><th>close</th><th>bytes c→s</th><th>bytes s→c</th><th>retrans.</th><th>gap bytes</th></tr>"#,
            );
        }
        for c in list {
            let t = &c.tcp;
            let (mut version, client_id, packets) = match &c.mqtt {
                Some(m) => (
                    match (m.version, m.version_inferred) {
                        (Some(v), false) => v.to_string(),
                        (Some(v), true) => format!("{v} (inferred)"),
                        (None, _) => "?".into(),
                    },
                    m.client_id.clone().unwrap_or_default(),
                    m.packets.values().sum::<u64>().to_string(),
                ),
                None if c.encrypted => ("TLS, not decoded".into(), String::new(), "–".into()),
                None => ("–".into(), String::new(), "0".into()),
            };
            if c.mqtt.is_some() {
                version.push_str(&layers_text(&c.layers.names));
            }
            let rtt = match t.handshake.and_then(|h| h.rtt_ns) {
                Some(ns) => ms_text(ns),
                None if t.handshake.is_none() => "mid-stream".into(),
                None => "–".into(),
            };
            let close = t.close.as_str();
            let gap = t.client_to_server.gap_bytes + t.server_to_client.gap_bytes;
            let retrans = t.client_to_server.retransmissions + t.server_to_client.retransmissions;
            let bad = |n: u64| if n > 0 { r#" class="bad""# } else { "" };
            let span = self.files.describe_span(t.first_frame, t.last_frame);
            w!(
                self,
                r#"<tr data-conn="{}"><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td><td>{}</td><td title="{}">{}–{}</td><td>{}</td><td>{}</td><td class="close-{close}">{close}</td><td>{}</td><td>{}</td><td{}>{}</td><td{}>{}</td></tr>"#,
                t.id,
                t.id,
                Esc(&t.client.to_string()),
                Esc(&t.server.to_string()),
                Clip(&client_id, NAME),
                Esc(&version),
                bad(c.problems.errors),
                c.problems.errors,
                bad(c.problems.warnings),
                c.problems.warnings,
                packets,
                Esc(&span),
                t.first_frame,
                t.last_frame,
                ms_text(t.last_ts.nanos_since(&t.first_ts).max(0) as u64),
                Esc(&rtt),
                bytes_text(t.client_to_server.bytes),
                bytes_text(t.server_to_client.bytes),
                bad(retrans),
                retrans,
                bad(gap),
                gap
            );
        }
        if !s.connections.is_empty() {
            self.out.push_str("</table>");
        }
        if off_page.count > 0 {
            w!(
                self,
                r#"<p class="dim">… and {} more in the summary, not on this page (at most {CONNECTIONS}; {} with errors, {} with warnings); <code>--format json</code> lists them.</p>"#,
                off_page.count,
                off_page.with_errors,
                off_page.with_warnings
            );
        }
        let u = &s.connections_unlisted;
        if u.count > 0 {
            w!(
                self,
                r#"<p class="dim">… and {} more not listed ({} with errors, {} with warnings); <code>--connections all</code> lists every one.</p>"#,
                u.count,
                u.with_errors,
                u.with_warnings
            );
        }
        let o = &s.other_tcp;
        if o.connections > 0 {
            let ports: Vec<String> = o
                .by_port
                .iter()
                .take(8)
                .map(|(port, n)| format!("{port} ×{n}"))
                .collect();
            w!(
                self,
                r#"<p class="dim">{} carried no MQTT (server ports {}{}).</p>"#,
                Esc(&plural(o.connections, "other TCP connection")),
                Esc(&ports.join(", ")),
                if o.by_port.len() > 8 || o.other_ports > 0 {
                    ", …"
                } else {
                    ""
                }
            );
        }
        self.out.push_str("</section>\n");
    }

    fn warnings(&mut self) {
        let s = self.s;
        w!(self, r#"<section id="warnings"><h2>Warnings</h2>"#);
        if s.warnings.is_empty() {
            self.out
                .push_str("<p>None: nothing had to be worked around.</p></section>\n");
            return;
        }
        self.out.push_str(r#"<ul class="warnings">"#);
        for w in s.warnings.iter().take(WARNINGS) {
            let at = match w.frame {
                Some(f) => format!("frame {f}{}", self.files.suffix(&[f])),
                None => "—".into(),
            };
            w!(
                self,
                r#"<li><span class="at">{}</span> {}</li>"#,
                Esc(&at),
                Clip(&w.message, MESSAGE)
            );
        }
        self.out.push_str("</ul>");
        let more = (s.warnings.len().saturating_sub(WARNINGS)) as u64 + s.warnings_dropped;
        if more > 0 {
            w!(
                self,
                r#"<p class="dim">{more} more warnings: the JSON output lists the first 1000.</p>"#
            );
        }
        self.out.push_str("</section>\n");
    }

    fn footer(&mut self) {
        self.out.push_str(
            r#"<footer><p>One self-contained file: no script, nothing fetched; it works offline. Every text from the capture is escaped. The page keeps bounded timelines, not packets: what it draws costs the same for a small capture and a gigabyte.</p></footer>
</body></html>
"#,
        );
    }
}

/// A latency key as the page names it.
fn latency_label(k: LatencyKey) -> &'static str {
    match k {
        LatencyKey::TcpHandshake => "TCP handshake (SYN → ACK)",
        LatencyKey::Connack => "CONNECT → CONNACK",
        LatencyKey::Suback => "SUBSCRIBE → SUBACK",
        LatencyKey::Unsuback => "UNSUBSCRIBE → UNSUBACK",
        LatencyKey::Pingresp => "PINGREQ → PINGRESP",
        LatencyKey::Puback => "QoS 1 PUBLISH → PUBACK",
        LatencyKey::Pubrec => "QoS 2 PUBLISH → PUBREC",
        LatencyKey::Pubrel => "QoS 2 PUBREC → PUBREL",
        LatencyKey::Pubcomp => "QoS 2 PUBREL → PUBCOMP",
        LatencyKey::Qos2Total => "QoS 2 PUBLISH → PUBCOMP",
    }
}

/// The page's style: plain, readable, printable; colours carry meaning
/// (red error, amber warning, green fine; blue and violet the two
/// directions of PUBLISH).
const CSS: &str = r#"
:root{--fg:#1f2328;--dim:#656d76;--bg:#fff;--line:#d0d7de;--err:#cf222e;--warn:#bf8700;--ok:#1a7f37;--c2s:#0969da;--s2c:#8250df;--ack:#1a7f37}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1280px;padding:0 20px 40px}
header{border-bottom:1px solid var(--line);padding:14px 0 6px}
h1{font-size:22px;margin:0}
h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 4px}
.sub,.dim,.note{color:var(--dim)}
.note{margin:4px 0 10px}
nav a{margin-right:14px;color:var(--c2s);text-decoration:none}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px;word-break:break-all}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--dim)}
dl.facts{display:flex;flex-wrap:wrap;gap:4px 26px;margin:6px 0}dl.facts div{min-width:120px}dl.facts dt{color:var(--dim);font-size:12px}dl.facts dd{margin:0;font-weight:600}
td.bad,p.bad{color:var(--err)}
.close-rst{color:var(--err)}.close-open{color:var(--warn)}
.verdict{margin:14px 0;padding:10px 14px;border-radius:6px;border:1px solid var(--line)}
.verdict .headline{font-size:18px;font-weight:600;margin:0}
.verdict p{margin:4px 0}
.verdict.error{background:#ffebe9;border-color:#ff8182}.verdict.error .headline{color:var(--err)}
.verdict.warning{background:#fff8c5;border-color:#d4a72c}
.verdict.ok{background:#dafbe1;border-color:#4ac26b}.verdict.ok .headline{color:var(--ok)}
.badge{display:inline-block;font-size:11px;text-transform:uppercase;padding:1px 6px;border-radius:10px;color:#fff;vertical-align:1px}
.badge.error{background:var(--err)}.badge.warning{background:var(--warn)}.badge.info{background:var(--dim)}
.kind{margin:8px 0 16px}.kind .meaning{margin:2px 0 6px}
table.examples td:last-child{max-width:620px}
p.ok{color:var(--ok)}
.hists{display:flex;flex-wrap:wrap;gap:10px 18px}
figure{margin:0;width:360px}figcaption{font-weight:600;font-size:13px}
svg.hist{width:360px;height:124px;display:block}
svg.hist .bar{fill:var(--c2s)}svg.hist .bar:hover{fill:var(--s2c)}
svg.hist .axis{stroke:var(--dim);stroke-width:1}
svg.hist .p50{stroke:var(--ok);stroke-width:2}svg.hist .p99{stroke:var(--err);stroke-width:2}
svg.hist text{font-size:11px;fill:var(--fg)}svg.hist text.dim,svg.hist text.peak{fill:var(--dim)}
.strip{display:flex;align-items:flex-start;margin:2px 0 10px}
.lanes{flex:0 0 150px;font-size:11.5px;padding-top:0;white-space:nowrap}
.lanes div{height:18px;display:flex;justify-content:space-between;padding-right:8px;border-left:4px solid;padding-left:5px}
.lanes .pub-c2s{border-color:var(--c2s)}.lanes .pub-s2c{border-color:var(--s2c)}.lanes .acks{border-color:var(--ack)}.lanes .findings{border-color:var(--err)}
.scroll{flex:1;overflow-x:auto;min-width:0}
.zoomable{width:100%;position:relative}
svg.timeline{width:100%;height:72px;display:block;background:#f6f8fa}
svg.timeline .lane{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}
svg.timeline path{stroke-width:1.5px;vector-effect:non-scaling-stroke}
svg.timeline .pub-c2s{fill:var(--c2s);stroke:var(--c2s)}svg.timeline .pub-s2c{fill:var(--s2c);stroke:var(--s2c)}svg.timeline .acks{fill:var(--ack);stroke:var(--ack)}svg.timeline .findings{fill:var(--err);stroke:var(--err);opacity:.35}
svg.timeline .mark{stroke-width:2;vector-effect:non-scaling-stroke}
svg.timeline .mark.error{stroke:var(--err)}svg.timeline .mark.warning{stroke:var(--warn)}svg.timeline .mark.info{stroke:var(--dim)}
svg.timeline .hit{fill:transparent}svg.timeline .hit:hover{fill:rgba(9,105,218,.12)}
.ticks{position:relative;height:16px;font-size:11px;color:var(--dim)}
.tick{position:absolute;transform:translateX(-50%);white-space:nowrap}.tick.first{transform:none}.tick.last{transform:translateX(-100%)}
.tl{margin:6px 0 2px}.tl-head{margin:8px 0 2px;font-size:13px}
.tl.error .tl-head{color:var(--err)}.tl.warning .tl-head{color:var(--warn)}
#timelines input{margin-left:10px}
#zoom2:checked~.tls .zoomable{width:200%}#zoom4:checked~.tls .zoomable{width:400%}#zoom8:checked~.tls .zoomable{width:800%}
ul.warnings{padding-left:18px}ul.warnings .at{color:var(--dim);font-variant-numeric:tabular-nums}
footer{margin-top:30px;border-top:1px solid var(--line);color:var(--dim);font-size:12px}
@media print{#timelines input,#timelines label,.zoom,nav{display:none}}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Severity;
    use crate::base::Warning;
    use crate::capture::open_captures;
    use crate::pipeline::{Pipeline, PipelineOptions};
    use crate::report::html::timeline::worst_case;
    use crate::report::{JsonReport, SilentServer};

    /// The page's size bound (docs/json.md and README say it): whatever
    /// the capture, every part of the page is capped, so even a summary
    /// with every list at its longest and every text at its longest
    /// (65,535 characters that each escape to 6 bytes) stays under it.
    pub const BOUND: usize = 4 << 20;

    fn sample_summary() -> Summary {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/faults/late_ack.pcap");
        let mut source = open_captures(&[path.to_string()]).expect("the sample opens");
        let mut sink = JsonReport::new(std::io::sink());
        Pipeline::new(PipelineOptions::default())
            .run(&mut source, &mut sink)
            .expect("the sample runs")
    }

    #[test]
    fn the_page_is_bounded_whatever_the_summary() {
        let mut s = sample_summary();
        let long = "\"".repeat(65_535);

        // Every list longer than the page shows (the summary holds up to
        // 1000 connections by default, 1000 warnings, 4096 silent
        // servers), every text at its longest.
        let file = s.capture.files.first().cloned().expect("one file");
        s.capture.sources = vec![long.clone(); 200];
        s.capture.files = (0..200)
            .map(|_| crate::capture::FileInfo {
                name: long.clone(),
                ..file.clone()
            })
            .collect();
        let finding = s
            .analysis
            .findings
            .first()
            .cloned()
            .expect("late_ack.pcap has a finding");
        s.analysis.findings.clear();
        for kind in FindingKind::ALL {
            s.analysis.findings_by_kind.insert(kind, u64::MAX / 32);
            for _ in 0..EXAMPLES + 1 {
                s.analysis.findings.push(Finding {
                    kind,
                    severity: kind.severity(),
                    frames: vec![u64::MAX; 32],
                    message: long.clone(),
                    client_id: Some(long.clone()),
                    topic: Some(long.clone()),
                    ..finding.clone()
                });
            }
        }
        s.analysis
            .findings_by_severity
            .insert(Severity::Error, u64::MAX);
        let conn = s.connections.first().cloned().expect("one connection");
        s.connections = (0..1_000u32)
            .map(|_| {
                let mut c = conn.clone();
                if let Some(m) = c.mqtt.as_mut() {
                    m.client_id = Some(long.clone());
                }
                c
            })
            .collect();
        s.silent_servers = vec![
            SilentServer {
                server: conn.tcp.server,
                connections: u64::MAX,
                client_bytes: u64::MAX,
            };
            4096
        ];
        s.warnings = vec![
            Warning {
                frame: Some(u64::MAX),
                message: long.clone(),
            };
            1000
        ];
        let page = render(&s, &worst_case(65_535), "test");
        assert!(page.len() < BOUND, "{} bytes", page.len());
        // The caps did the bounding: each list is cut where the page says.
        assert_eq!(page.matches("<tr data-conn=").count(), CONNECTIONS);
        assert_eq!(page.matches(r#"<li><span class="at">"#).count(), WARNINGS);
        assert_eq!(page.matches(r#"<svg class="timeline""#).count(), KEPT + 1);
        assert!(page.contains("and 150 more files"));
    }
}
