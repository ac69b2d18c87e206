//! `--metrics`: the Prometheus text exposition format (version 0.0.4) of a
//! running analysis, for a Prometheus/Grafana beside the broker. Counters
//! only grow, so rates come out right; latency is a histogram per key
//! (cumulative buckets from the HDR histograms, exact `_sum` and `_count`).

use crate::analysis::{AnalysisSummary, FindingKind, FlowCounts, LatencyKey};
use crate::capture::Drops;
use crate::tcp::TcpCounters;
use std::fmt::Write as _;

/// Bucket bounds of the latency histograms, in seconds.
const BUCKETS_S: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// What the exposition is made of.
pub struct MetricsInput<'a> {
    pub frames: u64,
    pub bytes: u64,
    pub drops: Option<Drops>,
    pub tcp: TcpCounters,
    pub open_connections: usize,
    pub open_flows: u64,
    /// MQTT packets by type name, and the malformed ones.
    pub packets: &'a std::collections::BTreeMap<&'static str, u64>,
    pub malformed: u64,
    pub analysis: &'a AnalysisSummary,
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn outcomes(c: &FlowCounts) -> [(&'static str, u64); 9] {
    [
        ("completed", c.completed),
        ("incomplete", c.incomplete),
        ("with_error", c.with_error),
        ("redelivered", c.redelivered),
        ("missing", c.missing),
        ("cut_off", c.cut_off),
        ("unverifiable", c.unverifiable),
        ("wrong_ack", c.wrong_ack),
        ("superseded", c.superseded),
    ]
}

/// The exposition text.
pub fn render(m: &MetricsInput<'_>) -> String {
    let mut o = String::new();
    let a = m.analysis;
    header(
        &mut o,
        "mqtt_inspect_frames_total",
        "counter",
        "Frames captured.",
    );
    let _ = writeln!(o, "mqtt_inspect_frames_total {}", m.frames);
    header(
        &mut o,
        "mqtt_inspect_captured_bytes_total",
        "counter",
        "Bytes captured.",
    );
    let _ = writeln!(o, "mqtt_inspect_captured_bytes_total {}", m.bytes);
    if let Some(d) = m.drops {
        header(
            &mut o,
            "mqtt_inspect_capture_dropped_total",
            "counter",
            "Packets the capture lost (libpcap): kernel buffer full, or the interface.",
        );
        let _ = writeln!(
            o,
            "mqtt_inspect_capture_dropped_total{{where=\"kernel\"}} {}",
            d.kernel
        );
        let _ = writeln!(
            o,
            "mqtt_inspect_capture_dropped_total{{where=\"interface\"}} {}",
            d.interface
        );
    }
    header(
        &mut o,
        "mqtt_inspect_tcp_connections_total",
        "counter",
        "TCP connections seen.",
    );
    let _ = writeln!(
        o,
        "mqtt_inspect_tcp_connections_total {}",
        m.tcp.connections
    );
    header(
        &mut o,
        "mqtt_inspect_tcp_connections_open",
        "gauge",
        "TCP connections open now (closed ones, kept a minute for late segments, not counted).",
    );
    let _ = writeln!(
        o,
        "mqtt_inspect_tcp_connections_open {}",
        m.open_connections
    );
    header(
        &mut o,
        "mqtt_inspect_flows_open",
        "gauge",
        "QoS 1/2 messages waiting for an acknowledgement now.",
    );
    let _ = writeln!(o, "mqtt_inspect_flows_open {}", m.open_flows);
    header(
        &mut o,
        "mqtt_inspect_packets_total",
        "counter",
        "MQTT packets decoded, by type.",
    );
    for (t, n) in m.packets {
        let _ = writeln!(o, "mqtt_inspect_packets_total{{type=\"{t}\"}} {n}");
    }
    header(
        &mut o,
        "mqtt_inspect_malformed_packets_total",
        "counter",
        "Bytes that did not decode as MQTT.",
    );
    let _ = writeln!(o, "mqtt_inspect_malformed_packets_total {}", m.malformed);
    header(
        &mut o,
        "mqtt_inspect_qos0_messages_total",
        "counter",
        "QoS 0 PUBLISH packets, by direction.",
    );
    for (dir, n) in [
        ("client_to_server", a.qos0_messages.client_to_server),
        ("server_to_client", a.qos0_messages.server_to_client),
    ] {
        let _ = writeln!(
            o,
            "mqtt_inspect_qos0_messages_total{{direction=\"{dir}\"}} {n}"
        );
    }
    header(
        &mut o,
        "mqtt_inspect_flows_total",
        "counter",
        "QoS 1/2 flows concluded, by QoS, direction and outcome (completed + incomplete is every flow).",
    );
    for (dir, by_qos) in a.flows_by_direction.iter() {
        for (qos, c) in [("1", &by_qos.qos1), ("2", &by_qos.qos2)] {
            for (outcome, n) in outcomes(c) {
                let _ = writeln!(
                    o,
                    "mqtt_inspect_flows_total{{qos=\"{qos}\",direction=\"{}\",outcome=\"{outcome}\"}} {n}",
                    dir.as_str()
                );
            }
        }
    }
    header(
        &mut o,
        "mqtt_inspect_not_judged_total",
        "counter",
        "What the analysis could not judge and did not report as a finding (the summary's analysis counters), by reason.",
    );
    let c = &a.analysis;
    for (reason, n) in [
        ("acks_without_publish", c.acks_without_publish),
        (
            "requests_unanswered_at_close",
            c.requests_unanswered_at_close,
        ),
        ("flows_not_tracked", c.flows_not_tracked),
        ("sessions_evicted", c.sessions_evicted),
        ("negative_latencies", c.negative_latencies),
    ] {
        let _ = writeln!(
            o,
            "mqtt_inspect_not_judged_total{{reason=\"{reason}\"}} {n}"
        );
    }
    header(
        &mut o,
        "mqtt_inspect_findings_total",
        "counter",
        "Findings raised, by kind and severity.",
    );
    for kind in FindingKind::ALL {
        let n = a.findings_by_kind.get(&kind).copied().unwrap_or(0);
        let _ = writeln!(
            o,
            "mqtt_inspect_findings_total{{kind=\"{}\",severity=\"{}\"}} {n}",
            kind.as_str(),
            kind.severity()
        );
    }
    header(
        &mut o,
        "mqtt_inspect_latency_seconds",
        "histogram",
        "Request/response latencies (PUBLISH to PUBACK, CONNECT to CONNACK, ...), by key.",
    );
    for key in LatencyKey::ALL {
        let Some(stats) = a.latency.get(key).filter(|s| s.count() > 0) else {
            continue;
        };
        let k = key.as_str();
        for le in BUCKETS_S {
            let n = stats.count_at_most((le * 1e9) as u64);
            let _ = writeln!(
                o,
                "mqtt_inspect_latency_seconds_bucket{{key=\"{k}\",le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            o,
            "mqtt_inspect_latency_seconds_bucket{{key=\"{k}\",le=\"+Inf\"}} {}",
            stats.count()
        );
        let _ = writeln!(
            o,
            "mqtt_inspect_latency_seconds_sum{{key=\"{k}\"}} {}",
            stats.sum_ns() as f64 / 1e9
        );
        let _ = writeln!(
            o,
            "mqtt_inspect_latency_seconds_count{{key=\"{k}\"}} {}",
            stats.count()
        );
    }
    o
}
