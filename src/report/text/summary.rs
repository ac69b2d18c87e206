//! The end-of-run summary for a person, laid out for the report's width.
//!
//! The order is the order of questions a person asks of a capture: what
//! it is, whether something big went wrong (no MQTT, a silent broker),
//! which connections had trouble (those first, the rest counted), how the
//! QoS flows ended, how long acknowledgements took, who and what the
//! findings are about, the findings themselves (what each kind means,
//! examples, a Wireshark filter for them) and the reader's warnings.

use super::layout::{Cell, Column, Paint, Table, qos_style, styles, width_of, wrap};
use super::spark::Axis;
use super::wireshark;
use super::{arrow, flow_notes, human_bytes, human_duration_ms, latency_label, ms, plural};
use crate::analysis::{Finding, FindingKind, FlowCounts, LatencyKey, LatencySet, Severity};
use crate::base::time::format_utc;
use crate::base::{Endpoint, Timestamp};
use crate::report::{ConnectionSummary, FileMap, Problems, Summary};
use crate::tcp::CloseKind;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Connections the text summary lists when `--connections` is not given:
/// a screenful, the most troubled first; the rest are counted.
pub const TEXT_CONNECTIONS: usize = 20;

/// Findings shown per kind.
const EXAMPLES: usize = 3;

/// Clients and topics shown under "top offenders", each.
const OFFENDERS: usize = 5;

/// Warnings listed; the rest are counted.
const WARNINGS: usize = 20;

/// The latency keys that are a peer answering (not TCP's handshake, not
/// the QoS 2 total, which adds up three answers).
const ANSWERS: [LatencyKey; 8] = [
    LatencyKey::Connack,
    LatencyKey::Suback,
    LatencyKey::Unsuback,
    LatencyKey::Pingresp,
    LatencyKey::Puback,
    LatencyKey::Pubrec,
    LatencyKey::Pubrel,
    LatencyKey::Pubcomp,
];

/// How the summary is laid out.
#[derive(Debug, Clone, Copy)]
pub struct PageOptions {
    pub width: usize,
    pub paint: Paint,
    /// `--connections N` as given; `None`: [`TEXT_CONNECTIONS`].
    pub connections: Option<usize>,
}

/// The summary's lines, each at most `width` columns.
struct Page<'a> {
    s: &'a Summary,
    width: usize,
    p: Paint,
    files: FileMap,
    connections: Option<usize>,
    lines: Vec<String>,
}

/// The summary of `s` as lines (without line ends).
pub fn render(s: &Summary, opts: PageOptions) -> Vec<String> {
    let mut page = Page {
        s,
        width: opts.width,
        p: opts.paint,
        files: FileMap::of(s.capture.sources.len(), &s.capture.files),
        connections: opts.connections,
        lines: Vec::new(),
    };
    page.capture();
    page.filter_line();
    page.headlines();
    page.connections();
    page.flows();
    page.latency();
    page.offenders();
    page.findings();
    page.warnings();
    page.lines
}

impl Page<'_> {
    fn line(&mut self, line: String) {
        debug_assert!(
            width_of(&line) <= self.width,
            "{} columns > {}: {line:?}",
            width_of(&line),
            self.width
        );
        self.lines.push(line);
    }

    fn blank(&mut self) {
        self.lines.push(String::new());
    }

    /// `text` wrapped: the first line after `first`, the others after `rest` spaces.
    fn wrap(&mut self, text: &str, first: &str, rest: usize) {
        for l in wrap(text, self.width, first, &" ".repeat(rest)) {
            self.line(l);
        }
    }

    /// A section title: the name in bold, what follows dimmed, wrapped.
    fn title(&mut self, name: &str, rest: &str) {
        let first = format!("{} ", self.p.bold(name));
        if rest.is_empty() {
            self.line(self.p.bold(name));
        } else {
            let rest_text = self.p.dim(rest);
            self.wrap(&rest_text, &first, 2);
        }
    }

    fn table(&mut self, t: &Table, layout: &super::layout::Layout) {
        let header = t.header(layout, self.p);
        self.line(header);
        for i in 0..t.rows().len() {
            for l in t.row(i, layout, self.p) {
                self.line(l);
            }
        }
    }

    fn capture(&mut self) {
        let p = self.p;
        let c = &self.s.capture;
        let first = format!("{} ", p.bold("capture"));
        self.wrap(&c.sources.join(", "), &first, 8);
        let mut line = format!("{}, {}", plural(c.frames, "frame"), human_bytes(c.bytes));
        if let (Some(first), Some(dur)) = (&c.first_ts, span(&c.first_ts, &c.last_ts)) {
            line.push_str(&format!(
                ", from {} UTC, {}",
                format_utc(first, 3),
                human_duration_ms(dur)
            ));
        }
        if !c.link_types.is_empty() {
            line.push_str(&format!(", link {}", c.link_types.join("+")));
        }
        self.wrap(&line, "  ", 4);
        if c.sources.len() > 1 {
            for f in &c.files {
                let frames = match f.frames {
                    0 => "no frames".to_string(),
                    1 => format!("frame {}", f.first_frame),
                    n => format!("frames {}–{}", f.first_frame, f.first_frame + n - 1),
                };
                let damaged = if f.truncated { ", truncated" } else { "" };
                self.wrap(&format!("{}: {frames}{damaged}", f.name), "  ", 4);
            }
        }
        let mut notes = Vec::new();
        if c.non_tcp_frames > 0 {
            notes.push(format!("{} non-TCP frames", c.non_tcp_frames));
        }
        if c.ip_fragments > 0 {
            notes.push(format!("{} IP fragments", c.ip_fragments));
        }
        if c.undecodable_frames > 0 {
            notes.push(p.yellow(&format!("{} undecodable frames", c.undecodable_frames)));
        }
        if c.truncated {
            notes.push(p.yellow("capture file truncated"));
        }
        if let Some(d) = &c.drops
            && (d.kernel > 0 || d.interface > 0)
        {
            notes.push(p.yellow(&format!(
                "{} frames dropped by the kernel, {} by the interface",
                d.kernel, d.interface
            )));
        }
        if !notes.is_empty() {
            self.wrap(&notes.join(", "), "  ", 4);
        }
    }

    /// The filters of the run, when any was given: everything after the
    /// capture counts only what they selected.
    fn filter_line(&mut self) {
        let Some(sel) = &self.s.filters else {
            return;
        };
        let mut given: Vec<String> = Vec::new();
        if !sel.connections.is_empty() {
            let ids: Vec<String> = sel.connections.iter().map(u32::to_string).collect();
            given.push(format!("--connection {}", ids.join(",")));
        }
        given.extend(sel.clients.iter().map(|c| format!("--client {c:?}")));
        given.extend(sel.topics.iter().map(|t| format!("--topic {t:?}")));
        if !sel.kinds.is_empty() {
            let kinds: Vec<&str> = sel.kinds.iter().map(|k| k.as_str()).collect();
            given.push(format!("--kind {}", kinds.join(",")));
        }
        let first = format!("{} ", self.p.bold("filters"));
        let text = format!(
            "{}: below, only what they select (the capture line above is the whole input)",
            given.join(" ")
        );
        self.wrap(&text, &first, 8);
    }

    /// What matters before any table: no MQTT at all, brokers that never answered.
    fn headlines(&mut self) {
        let p = self.p;
        let s = self.s;
        // Every connection found is TLS: the MQTT is there, not readable.
        let encrypted = s.connections.iter().filter(|c| c.encrypted).count() as u64
            + s.connections_unlisted.encrypted;
        let found = s.connections.len() as u64 + s.connections_unlisted.count;
        if s.packets.total == 0 && encrypted > 0 && encrypted == found {
            self.blank();
            let text = p.yellow(&format!(
                "no MQTT decoded: {} {} TLS-encrypted",
                plural(encrypted, "connection"),
                if encrypted == 1 { "is" } else { "are all" }
            ));
            self.wrap(&text, "", 2);
        } else if s.packets.total == 0 && s.filters.is_some() {
            self.blank();
            let text = p.yellow("no MQTT packet matches the filters");
            self.wrap(&text, "", 2);
        } else if s.packets.total == 0 {
            let o = &s.other_tcp;
            let mut ports: Vec<String> = o
                .by_port
                .iter()
                .take(6)
                .map(|(port, n)| format!("{port} ×{n}"))
                .collect();
            if o.by_port.len() > 6 || o.other_ports > 0 {
                ports.push("…".into());
            }
            let on = if ports.is_empty() {
                String::new()
            } else {
                format!(" (server ports {})", ports.join(", "))
            };
            let hint = match o.by_port.first() {
                Some((port, _)) => {
                    format!("; if MQTT runs on another port, name it: --port {port}")
                }
                None => String::new(),
            };
            self.blank();
            let text = p.yellow(&format!(
                "no MQTT found in {}{on}{hint}",
                plural(o.connections, "TCP connection")
            ));
            self.wrap(&text, "", 2);
        }
        for silent in &s.silent_servers {
            self.blank();
            let text = p.red(&format!(
                "broker {} never sent a byte on any of its {} (its clients sent {})",
                silent.server,
                plural(silent.connections, "connection"),
                human_bytes(silent.client_bytes)
            ));
            self.wrap(&text, "", 2);
        }
    }

    fn connections(&mut self) {
        let p = self.p;
        let s = self.s;
        self.blank();
        let seen = s.connections.len() as u64 + s.connections_unlisted.count;
        // One broker for every listed connection: named once, not per row.
        let server = s.connections.first().map(|c| c.tcp.server);
        let one_server = server.filter(|srv| s.connections.iter().all(|c| c.tcp.server == *srv));
        let mut what = format!("{seen} MQTT/TCP of {} TCP seen", s.tcp.connections);
        if let Some(srv) = one_server {
            what.push_str(&format!(", all to {srv}"));
        }
        self.title("connections", &what);
        if s.connections.is_empty() && s.filters.is_some() {
            self.line("  none the filters select".into());
            return;
        } else if s.connections.is_empty() {
            self.line("  none on the MQTT ports (try --port)".into());
            return;
        }
        // The most troubled first, then by id.
        let mut listed: Vec<&ConnectionSummary> = s.connections.iter().collect();
        listed.sort_by_key(|c| (std::cmp::Reverse(trouble(c)), c.tcp.id));
        let limit = self.connections.unwrap_or(TEXT_CONNECTIONS);
        let hidden = &listed[limit.min(listed.len())..];
        let shown = &listed[..limit.min(listed.len())];

        const ID: usize = 0;
        const ENDS: usize = 1;
        const DURATION: usize = 4;
        const C2S: usize = 5;
        const S2C: usize = 6;
        const FRAMES: usize = 7;
        const RTT: usize = 8;
        const RETRANS: usize = 9;
        const OOO: usize = 10;
        const GAP: usize = 11;
        let ends_header = if one_server.is_some() {
            "client"
        } else {
            "client → server"
        };
        let mut t = Table::new(
            2,
            2,
            vec![
                Column::right("id"),
                Column::left(ends_header).shrink(21, 3),
                Column::left("findings"),
                Column::left("close"),
                Column::right("duration").drop(3),
                Column::right("c→s").drop(5),
                Column::right("s→c").drop(5),
                Column::right("frames").drop(6),
                Column::right("tcp rtt").drop(7),
                Column::right("retrans").drop(4),
                Column::right("ooo").drop(8),
                Column::right("gap").drop(4),
            ],
        );
        for c in shown {
            let tc = &c.tcp;
            let ends = match one_server {
                Some(_) => tc.client.to_string(),
                None => format!("{} → {}", tc.client, tc.server),
            };
            let close = match tc.close {
                CloseKind::Fin => Cell::styled("fin", styles::GOOD),
                CloseKind::Rst => Cell::styled("rst", styles::ERROR),
                CloseKind::Open => Cell::styled("open", styles::WARNING),
            };
            let retrans = tc.client_to_server.retransmissions + tc.server_to_client.retransmissions;
            let ooo = tc.client_to_server.out_of_order + tc.server_to_client.out_of_order;
            let gap = tc.client_to_server.gap_bytes + tc.server_to_client.gap_bytes;
            t.push(vec![
                tc.id.to_string().into(),
                ends.into(),
                problems_cell(c.problems),
                close,
                human_duration_ms(tc.last_ts.millis_since(&tc.first_ts)).into(),
                human_bytes(tc.client_to_server.bytes).into(),
                human_bytes(tc.server_to_client.bytes).into(),
                format!("{}–{}", tc.first_frame, tc.last_frame).into(),
                rtt(c).into(),
                retrans.to_string().into(),
                ooo.to_string().into(),
                if gap > 0 {
                    Cell::styled(human_bytes(gap), styles::ERROR)
                } else {
                    "0".into()
                },
            ]);
        }
        let layout = t.layout(self.width);
        // Endpoints that do not fit are shortened address by address,
        // ports kept (they tell a host's clients apart).
        if let Some(w) = layout.width(ENDS) {
            for (row, c) in t.rows_mut().iter_mut().zip(shown) {
                if let Some(cell) = row.get_mut(ENDS)
                    && width_of(&cell.text) > w
                {
                    cell.text = match one_server {
                        Some(_) => shorten_endpoint(&c.tcp.client, w),
                        None => {
                            let each = w.saturating_sub(3) / 2;
                            format!(
                                "{} → {}",
                                shorten_endpoint(&c.tcp.client, each),
                                shorten_endpoint(&c.tcp.server, w.saturating_sub(3) - each)
                            )
                        }
                    };
                }
            }
        }
        let header = t.header(&layout, p);
        self.line(header);
        // Details go under the endpoints.
        let detail = 2 + layout.width(ID).unwrap_or(2) + 2;
        for (i, c) in shown.iter().enumerate() {
            for l in t.row(i, &layout, p) {
                self.line(l);
            }
            let mut bits: Vec<String> = Vec::new();
            if let Some(line) = crate::report::layers::text_line(&c.layers) {
                bits.push(line);
            } else if c.encrypted {
                bits.push("TLS: encrypted, not decoded".into());
            }
            if let Some(m) = &c.mqtt {
                let version = match (m.version, m.version_inferred) {
                    (Some(v), false) => format!("MQTT {v}"),
                    (Some(v), true) => format!("MQTT {v} (inferred)"),
                    (None, _) => "MQTT (version unknown: no CONNECT)".to_string(),
                };
                bits.push(version);
                if let Some(id) = &m.client_id {
                    bits.push(format!("client id {}", p.cyan(&format!("{id:?}"))));
                }
                if let Some(k) = m.keepalive_s {
                    bits.push(format!("keepalive {k} s"));
                }
                let total: u64 = m.packets.values().sum();
                bits.push(plural(total, "packet"));
            }
            // What the table had no room for, where it says something.
            let row = t.rows().get(i);
            let cell = |col: usize| row.and_then(|r| r.get(col)).map_or("", |c| c.text.as_str());
            for (col, label) in [
                (DURATION, "duration"),
                (C2S, "c→s"),
                (S2C, "s→c"),
                (FRAMES, "frames"),
            ] {
                if !layout.shown(col) {
                    bits.push(format!("{label} {}", cell(col)));
                }
            }
            if !layout.shown(RTT) {
                match cell(RTT) {
                    "mid-stream" => bits.push("picked up mid-stream".into()),
                    "-" => {}
                    rtt => bits.push(format!("tcp rtt {rtt}")),
                }
            }
            for (col, label) in [
                (RETRANS, "retransmissions"),
                (OOO, "out of order"),
                (GAP, "gap"),
            ] {
                if !layout.shown(col) && cell(col) != "0" {
                    bits.push(format!("{label} {}", cell(col)));
                }
            }
            if self.files.several() {
                bits.push(
                    self.files
                        .describe_span(c.tcp.first_frame, c.tcp.last_frame),
                );
            }
            if !bits.is_empty() {
                let text = bits.join(", ");
                self.wrap(&text, &" ".repeat(detail), detail + 2);
            }
        }
        // TLS the capture could not be read through, and why.
        let l = &s.layers;
        if l.undecoded() > 0 {
            let why: Vec<String> = l
                .tls_undecoded
                .iter()
                .map(|(k, n)| format!("{n} {}", k.describe()))
                .collect();
            let text = p.yellow(&format!(
                "encrypted: {} of {} TLS connections not decoded ({})",
                l.undecoded(),
                l.tls,
                why.join("; ")
            ));
            self.wrap(&text, "  ", 4);
        }
        // What is not listed: by the pipeline (beyond --connections) and here.
        let u = &s.connections_unlisted;
        let count = u.count + hidden.len() as u64;
        if count > 0 {
            let errors =
                u.with_errors + hidden.iter().filter(|c| c.problems.errors > 0).count() as u64;
            let warnings =
                u.with_warnings + hidden.iter().filter(|c| c.problems.warnings > 0).count() as u64;
            let text = p.dim(&format!(
                "… and {count} more not listed ({errors} with errors, {warnings} with warnings); \
                 --connections all lists every one"
            ));
            self.wrap(&text, "  ", 4);
        }
    }

    fn flows(&mut self) {
        let p = self.p;
        let a = &self.s.analysis;
        let total = |c: &FlowCounts| c.completed + c.incomplete;
        let any = [&a.flows.qos1, &a.flows.qos2].iter().any(|c| total(c) > 0);
        self.blank();
        if !any && a.qos0_messages.total == 0 {
            self.line(format!("{} none (no PUBLISH seen)", p.bold("messages")));
            return;
        }
        self.title(
            "messages",
            "(QoS 1/2 flows: PUBLISH → its acknowledgements)",
        );
        let mut t = Table::new(
            2,
            2,
            vec![
                Column::left(""),
                Column::right("completed"),
                Column::right("incomplete"),
                Column::left("notes").wrap(),
            ],
        );
        let d = &a.flows_by_direction;
        for (qos, by_dir) in [
            (1u8, [&d.client_to_server.qos1, &d.server_to_client.qos1]),
            (2u8, [&d.client_to_server.qos2, &d.server_to_client.qos2]),
        ] {
            for (label, c) in ["client → broker", "broker → client"].iter().zip(by_dir) {
                if total(c) == 0 {
                    continue;
                }
                let incomplete = if c.incomplete > 0 {
                    Cell::styled(c.incomplete.to_string(), styles::ERROR)
                } else {
                    c.incomplete.to_string().into()
                };
                t.push(vec![
                    Cell::styled(format!("QoS {qos} {label}"), qos_style(qos)),
                    c.completed.to_string().into(),
                    incomplete,
                    flow_notes(c).into(),
                ]);
            }
        }
        if !t.rows().is_empty() {
            let layout = t.layout(self.width);
            self.table(&t, &layout);
        }
        let q0 = &a.qos0_messages;
        if q0.total > 0 {
            let text = format!(
                "QoS 0: {} client → broker, {} broker → client {}",
                q0.client_to_server,
                q0.server_to_client,
                p.dim("(not acknowledged by design)")
            );
            self.wrap(&text, "  ", 4);
        }
    }

    fn latency(&mut self) {
        let set = &self.s.analysis.latency;
        let keys: Vec<LatencyKey> = LatencyKey::ALL
            .into_iter()
            .filter(|k| set.get(*k).is_some_and(|l| l.count() > 0))
            .collect();
        if keys.is_empty() {
            return;
        }
        // One log axis for every key, so the rows compare.
        let lo = keys
            .iter()
            .filter_map(|k| set.get(*k)?.min_ns())
            .min()
            .unwrap_or(0);
        let hi = keys
            .iter()
            .filter_map(|k| set.get(*k)?.max_ns())
            .max()
            .unwrap_or(0);
        self.blank();
        self.title(
            "latency",
            &format!(
                "(milliseconds; histograms on one log axis from {} to {} ms)",
                ms(lo as f64 / 1e6),
                ms(hi as f64 / 1e6)
            ),
        );
        const HIST: usize = 8;
        let mut t = Table::new(
            2,
            2,
            vec![
                Column::left(""),
                Column::right("count"),
                Column::right("min").drop(2),
                Column::right("mean").drop(3),
                Column::right("p50"),
                Column::right("p90").drop(1),
                Column::right("p99"),
                Column::right("max"),
                Column::left("histogram").shrink(10, 1),
            ],
        );
        for k in &keys {
            let Some(l) = set.get(*k).and_then(|l| l.summary()) else {
                continue;
            };
            t.push(vec![
                latency_label(*k).into(),
                l.count.to_string().into(),
                ms(l.min_ms).into(),
                ms(l.mean_ms).into(),
                ms(l.p50_ms).into(),
                ms(l.p90_ms).into(),
                ms(l.p99_ms).into(),
                ms(l.max_ms).into(),
                // The widest histogram; drawn once its width is known.
                " ".repeat(24).into(),
            ]);
        }
        let layout = t.layout(self.width);
        let cells = layout.width(HIST).unwrap_or(0);
        if let Some(axis) = Axis::new(lo, hi, cells) {
            for (row, k) in t.rows_mut().iter_mut().zip(&keys) {
                if let (Some(cell), Some(stats)) = (row.get_mut(HIST), set.get(*k)) {
                    *cell = Cell::styled(axis.render(stats), styles::NAME);
                }
            }
        }
        self.table(&t, &layout);
    }

    /// The clients and topics with the most findings and the slowest answers.
    fn offenders(&mut self) {
        let a = &self.s.analysis;
        let clients = offenders(
            a.latency_by_client
                .0
                .entries
                .iter()
                .map(|e| (e.key.as_str(), &e.latency)),
            a.findings
                .iter()
                .filter_map(|f| Some((f.client_id.as_deref()?, f))),
        );
        let topics = offenders(
            a.latency_by_topic
                .0
                .entries
                .iter()
                .map(|e| (e.key.as_str(), &e.latency)),
            a.findings
                .iter()
                .filter_map(|f| Some((f.topic.as_deref()?, f))),
        );
        if clients.is_empty() && topics.is_empty() {
            return;
        }
        self.blank();
        let kept = if a.findings_dropped > 0 {
            format!(" of the first {} findings", a.findings.len())
        } else {
            String::new()
        };
        self.title(
            "top offenders",
            &format!("(most findings{kept}, then the slowest answer, p99)"),
        );
        const NAME: usize = 1;
        let mut t = Table::new(
            2,
            2,
            vec![
                Column::left(""),
                Column::left("").shrink(12, 0),
                Column::left("findings"),
                Column::left("slowest"),
                Column::right("p99 ms"),
                Column::right("max ms"),
            ],
        );
        let mut names: Vec<String> = Vec::new();
        for (label, list) in [("client", &clients), ("topic", &topics)] {
            for (i, o) in list.iter().enumerate() {
                let name = format!("{:?}", o.name);
                names.push(name.clone());
                let (key, p99, max) = match o.slowest {
                    Some((k, p99, max)) => (answer_name(k), ms(p99), ms(max)),
                    None => ("", String::new(), String::new()),
                };
                t.push(vec![
                    if i == 0 { label.into() } else { "".into() },
                    Cell::styled(name, styles::NAME),
                    problems_cell(o.problems),
                    key.into(),
                    p99.into(),
                    max.into(),
                ]);
            }
        }
        let layout = t.layout(self.width);
        if let Some(w) = layout.width(NAME) {
            for (row, name) in t.rows_mut().iter_mut().zip(&names) {
                if let Some(cell) = row.get_mut(NAME) {
                    cell.text = super::layout::shorten_middle(name, w);
                }
            }
        }
        self.table(&t, &layout);
    }

    fn findings(&mut self) {
        let p = self.p;
        let a = &self.s.analysis;
        self.blank();
        let count = |sev| a.findings_by_severity.get(&sev).copied().unwrap_or(0);
        let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
        if a.findings_by_kind.is_empty() && self.s.packets.total == 0 {
            self.title("findings", "none: no MQTT was analysed");
            return;
        }
        if a.findings_by_kind.is_empty() {
            let flows = a.flows.qos1.completed + a.flows.qos2.completed;
            let text = p.green(&format!(
                "none — the capture shows no protocol problem ({flows} QoS 1/2 flows completed)"
            ));
            let first = format!("{} ", p.bold("findings"));
            self.wrap(&text, &first, 2);
            return;
        }
        let counts = [
            (errors > 0).then(|| p.red(&plural(errors, "error"))),
            (warnings > 0).then(|| p.yellow(&plural(warnings, "warning"))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        let first = format!("{} ", p.bold("findings"));
        self.wrap(&counts, &first, 2);
        for kind in FindingKind::ALL {
            let Some(&n) = a.findings_by_kind.get(&kind) else {
                continue;
            };
            let (mark, name) = match kind.severity() {
                Severity::Error => (p.red("✗"), p.red(kind.as_str())),
                Severity::Warning => (p.yellow("!"), p.yellow(kind.as_str())),
                Severity::Info => (p.dim("·"), kind.as_str().to_string()),
            };
            let head = format!(
                "{} ×{n} {}",
                p.bold(&name),
                p.dim(&format!("— {}", kind.describe()))
            );
            self.wrap(&head, &format!("  {mark} "), 6);
            let examples: Vec<&Finding> = a
                .findings
                .iter()
                .filter(|f| f.kind == kind)
                .take(EXAMPLES)
                .collect();
            for f in &examples {
                let frames = match f.frames.as_slice() {
                    [] => String::from("-"),
                    [one] => format!("frame {one}"),
                    many => format!(
                        "frames {}",
                        many.iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                };
                let text = format!(
                    "{} #{} {} {}",
                    p.dim(&format!("{frames}{}", self.files.suffix(&f.frames))),
                    f.connection,
                    arrow(f.direction),
                    f.message
                );
                self.wrap(&text, "      ", 10);
            }
            if n > examples.len() as u64 {
                let more = p.dim(&format!(
                    "… and {} more (--format json lists them)",
                    n - examples.len() as u64
                ));
                self.wrap(&more, "      ", 8);
            }
            self.filters(&examples);
        }
    }

    /// Wireshark display filters for the examples' frames: one line each
    /// (per file for several files), ready to paste, never wrapped inside.
    /// When the frames of all examples make a line too long, the frame that
    /// proves each one (its last), of as many examples as fit.
    fn filters(&mut self, examples: &[&Finding]) {
        let p = self.p;
        let indent = 6;
        let width = self.width;
        let fits = |list: &[(Option<String>, String)]| {
            list.iter()
                .all(|(_, filter)| indent + 2 + width_of(filter) <= width)
        };
        let all: Vec<u64> = examples
            .iter()
            .flat_map(|f| f.frames.iter().copied())
            .collect();
        let mut list = wireshark::filters(&all, &self.files);
        let mut k = examples.len();
        while !fits(&list) && k > 0 {
            let proving: Vec<u64> = examples
                .iter()
                .take(k)
                .filter_map(|f| f.frames.last().copied())
                .collect();
            list = wireshark::filters(&proving, &self.files);
            k -= 1;
        }
        for (file, filter) in list {
            let label = match &file {
                Some(name) => format!("in Wireshark ({name}):"),
                None => "in Wireshark:".to_string(),
            };
            if indent + width_of(&label) + 1 + width_of(&filter) <= width {
                self.line(format!("{}{} {filter}", " ".repeat(indent), p.dim(&label)));
            } else {
                self.wrap(&p.dim(&label), &" ".repeat(indent), indent + 2);
                self.line(format!("{}{filter}", " ".repeat(indent + 2)));
            }
        }
    }

    fn warnings(&mut self) {
        let s = self.s;
        if s.warnings.is_empty() {
            return;
        }
        let p = self.p;
        self.blank();
        self.line(format!(
            "{} ({})",
            p.bold("warnings"),
            s.warnings.len() as u64 + s.warnings_dropped
        ));
        for w in s.warnings.iter().take(WARNINGS) {
            let at = w
                .frame
                .map(|f| format!("frame {f}{}: ", self.files.suffix(&[f])))
                .unwrap_or_default();
            let text = format!("{at}{}", w.message);
            self.wrap(&text, &format!("  {} ", p.yellow("!")), 4);
        }
        let more = (s.warnings.len() as u64 + s.warnings_dropped).saturating_sub(WARNINGS as u64);
        if more > 0 {
            self.wrap(&format!("… and {more} more (see --format json)"), "  ", 4);
        }
    }
}

/// How troubled a connection looks: findings first, then what TCP shows
/// (bytes the capture lost, a reset).
fn trouble(c: &ConnectionSummary) -> (Problems, bool, bool) {
    let t = &c.tcp;
    let gap = t.client_to_server.gap_bytes + t.server_to_client.gap_bytes > 0;
    (c.problems, gap, t.close == CloseKind::Rst)
}

/// `12 err 3 warn`, coloured by the worse.
fn problems_cell(p: Problems) -> Cell {
    let mut parts = Vec::new();
    if p.errors > 0 {
        parts.push(format!("{} err", p.errors));
    }
    if p.warnings > 0 {
        parts.push(format!("{} warn", p.warnings));
    }
    let style = if p.errors > 0 {
        styles::ERROR
    } else {
        styles::WARNING
    };
    Cell::styled(parts.join(" "), style)
}

/// The TCP handshake's round trip, or why there is none.
fn rtt(c: &ConnectionSummary) -> String {
    let t = &c.tcp;
    match t.handshake.and_then(|h| h.rtt_ns).map(|ns| ns as f64 / 1e6) {
        Some(ms) => human_duration_ms(ms),
        None if t.handshake.is_none() => "mid-stream".to_string(),
        None => "-".to_string(),
    }
}

/// An endpoint in at most `max` columns: the address shortened in its
/// middle, the port kept whole.
fn shorten_endpoint(ep: &Endpoint, max: usize) -> String {
    let full = ep.to_string();
    if width_of(&full) <= max {
        return full;
    }
    let port = format!(":{}", ep.port);
    let addr = match ep.ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let room = max.saturating_sub(port.len());
    if room < 3 {
        return super::layout::shorten_middle(&full, max);
    }
    format!("{}{port}", super::layout::shorten_middle(&addr, room))
}

/// The packet that answers, for the offenders' table.
fn answer_name(k: LatencyKey) -> &'static str {
    match k {
        LatencyKey::Connack => "CONNACK",
        LatencyKey::Suback => "SUBACK",
        LatencyKey::Unsuback => "UNSUBACK",
        LatencyKey::Pingresp => "PINGRESP",
        LatencyKey::Puback => "PUBACK",
        LatencyKey::Pubrec => "PUBREC",
        LatencyKey::Pubrel => "PUBREL",
        LatencyKey::Pubcomp => "PUBCOMP",
        LatencyKey::TcpHandshake => "SYN/ACK",
        LatencyKey::Qos2Total => "PUBCOMP",
    }
}

/// One client or topic under "top offenders".
struct Offender<'a> {
    name: &'a str,
    problems: Problems,
    /// The answer with the highest p99: key, p99 and max in ms.
    slowest: Option<(LatencyKey, f64, f64)>,
}

/// The top [`OFFENDERS`] of a breakdown and the findings that name its
/// keys: most findings first, then the slowest p99; entries with neither
/// are left out.
fn offenders<'a>(
    latency: impl Iterator<Item = (&'a str, &'a LatencySet)>,
    findings: impl Iterator<Item = (&'a str, &'a Finding)>,
) -> Vec<Offender<'a>> {
    let mut all: BTreeMap<&'a str, Offender<'a>> = BTreeMap::new();
    for (name, set) in latency {
        let slowest = ANSWERS
            .iter()
            .filter_map(|k| Some((*k, set.get(*k)?.summary()?)))
            .map(|(k, s)| (k, s.p99_ms, s.max_ms))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        all.entry(name)
            .or_insert(Offender {
                name,
                problems: Problems::default(),
                slowest: None,
            })
            .slowest = slowest;
    }
    for (name, f) in findings {
        let o = all.entry(name).or_insert(Offender {
            name,
            problems: Problems::default(),
            slowest: None,
        });
        match f.severity {
            Severity::Error => o.problems.errors += 1,
            Severity::Warning => o.problems.warnings += 1,
            Severity::Info => {}
        }
    }
    let mut list: Vec<Offender<'a>> = all
        .into_values()
        .filter(|o| o.slowest.is_some() || o.problems != Problems::default())
        .collect();
    list.sort_by(|a, b| {
        b.problems
            .cmp(&a.problems)
            .then_with(|| {
                let p99 = |o: &Offender| o.slowest.map_or(f64::NEG_INFINITY, |s| s.1);
                p99(b).total_cmp(&p99(a))
            })
            .then_with(|| a.name.cmp(b.name))
    });
    list.truncate(OFFENDERS);
    list
}

fn span(first: &Option<Timestamp>, last: &Option<Timestamp>) -> Option<f64> {
    Some(last.as_ref()?.millis_since(first.as_ref()?))
}
