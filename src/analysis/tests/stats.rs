//! The summary: breakdowns per topic and client, kept findings, the JSON shape.

use super::build::*;
use crate::analysis::{AnalysisConfig, LatencyKey};
use crate::base::ConnId;
use crate::tcp::CloseKind;

#[test]
fn latency_by_topic_and_client_keeps_the_busiest() {
    let mut h = H::with(AnalysisConfig {
        top_topics: 2,
        ..Default::default()
    });
    h.open(0, 0);
    h.connect(0, 0, "busy", true, 60);
    let mut us = 1_000;
    let mut id = 1u16;
    for (topic, n, lat) in [("t/a", 5u16, 100u64), ("t/b", 3, 200), ("t/c", 1, 300)] {
        for _ in 0..n {
            h.send(0, C2S, us, publish(1, false, Some(id), topic));
            h.send(0, S2C, us + lat, puback(id));
            us += 1_000;
            id += 1;
        }
    }
    h.open(1, us);
    h.connect(1, us, "quiet", true, 60);
    h.end(0, us + 1, CloseKind::Fin);
    h.end(1, us + 2, CloseKind::Fin);
    let s = h.finish();
    let v = serde_json::to_value(AnalysisJson::from(&s)).unwrap();
    let topics = &v["latency_by_topic"]["topics"];
    assert_eq!(topics.as_array().unwrap().len(), 2);
    assert_eq!(topics[0]["topic"], "t/a");
    assert_eq!(topics[0]["messages"], 5);
    assert_eq!(topics[0]["latency"]["puback"]["count"], 5);
    assert_eq!(topics[0]["latency"]["puback"]["max_ms"], 0.1);
    assert_eq!(topics[1]["topic"], "t/b");
    let other = &v["latency_by_topic"]["other"];
    assert_eq!(other["topics"], 1);
    assert_eq!(other["messages"], 1);
    assert_eq!(other["latency"]["puback"]["min_ms"], 0.3);
    assert_eq!(v["latency_by_topic"]["approximate"], false);
    let clients = &v["latency_by_client"]["clients"];
    assert_eq!(clients[0]["client_id"], "busy");
    assert_eq!(clients[0]["latency"]["puback"]["count"], 9);
    assert_eq!(clients[1]["client_id"], "quiet");
    assert_eq!(clients[1]["packets"], 2);
    assert_eq!(clients[1]["latency"]["connack"]["count"], 1);
}

#[test]
fn findings_are_kept_up_to_the_limit_and_all_counted() {
    let mut h = H::with(AnalysisConfig {
        max_findings: 2,
        ..Default::default()
    });
    h.open(0, 0);
    h.connect(0, 0, "f", true, 60);
    for id in 1..=5 {
        h.send(0, S2C, 1_000 + u64::from(id), puback(id));
    }
    h.end(0, 2_000, CloseKind::Fin);
    let s = h.finish();
    assert_eq!(h.findings().len(), 5);
    assert_eq!(s.findings.len(), 2);
    assert_eq!(s.findings_dropped, 3);
    assert_eq!(
        s.findings_by_kind
            .get(&crate::analysis::FindingKind::UnexpectedAck),
        Some(&5)
    );
    assert_eq!(
        s.findings_by_severity
            .get(&crate::analysis::Severity::Error),
        Some(&5)
    );
    assert_eq!(s.worst(), Some(crate::analysis::Severity::Error));
}

#[test]
fn summary_json_shape() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "j", true, 60);
    h.send(0, C2S, 1_000, publish(0, false, None, "q0"));
    h.send(0, C2S, 2_000, publish(1, false, Some(1), "q1"));
    h.end(0, 3_000, CloseKind::Fin);
    let s = h.finish();
    let v = serde_json::to_value(AnalysisJson::from(&s)).unwrap();
    for key in [
        "flows",
        "flows_by_direction",
        "qos0_messages",
        "latency",
        "latency_by_direction",
        "latency_by_client",
        "latency_by_topic",
        "findings",
        "findings_by_kind",
        "findings_by_severity",
        "findings_dropped",
        "analysis",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v:#}");
    }
    // every member of flows has completed / incomplete (the contract's flows.*)
    for (_, counts) in v["flows"].as_object().unwrap() {
        assert!(counts["completed"].is_u64() && counts["incomplete"].is_u64());
    }
    assert_eq!(v["flows"]["qos1"]["incomplete"], 1);
    assert_eq!(v["flows"]["qos1"]["missing"], 1);
    assert_eq!(v["qos0_messages"]["client_to_server"], 1);
    assert_eq!(v["findings"][0]["kind"], "missing_ack");
    assert_eq!(v["findings"][0]["expected"], "PUBACK");
    assert_eq!(v["findings_by_kind"]["missing_ack"], 1);
    assert_eq!(v["latency"]["connack"]["count"], 1);
    assert!(v["latency"].get("puback").is_none());
    assert!(s.latency.get(LatencyKey::Puback).is_none());
}

#[test]
fn connection_summary_for_the_report() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "sensor-7", false, 45);
    h.send(0, C2S, 1_000, publish(0, false, None, "t"));
    let m = h.conns[&0].mqtt_summary();
    assert_eq!(m.client_id.as_deref(), Some("sensor-7"));
    assert_eq!(m.keepalive_s, Some(45));
    assert_eq!(m.clean_start, Some(false));
    assert_eq!(m.session_present, Some(false));
    assert_eq!(m.version, Some(crate::mqtt::ProtocolVersion::V311));
    assert_eq!(m.packets.get("PUBLISH"), Some(&1));
    assert_eq!(m.packets.get("CONNACK"), Some(&1));
    let mut sink = |_: crate::analysis::AnalysisEvent<'_>| {};
    let at = |frame, us| crate::base::At { frame, ts: ts(us) };
    let c = h.conns.remove(&0).unwrap();
    let end = h.t.end(c, at(99, 2_000), CloseKind::Fin, &mut sink);
    assert_eq!(end, Some(m));
    // a connection without MQTT has none
    h.open(1, 3_000);
    let c = h.conns.remove(&1).unwrap();
    assert!(
        h.t.end(c, at(100, 4_000), CloseKind::Fin, &mut sink)
            .is_none()
    );
}

/// Connection `conn`'s traffic: QoS 1 and 2 flows (one left unanswered),
/// a subscription and a ping, at times offset by `base` µs.
fn scripted_connection(h: &mut H, conn: ConnId, base: u64) {
    let client = format!("c{conn}");
    h.open(conn, base);
    h.connect(conn, base, &client, true, 60);
    h.send(conn, C2S, base + 1_000, subscribe(1, &[("t/#", 1)]));
    h.send(
        conn,
        S2C,
        base + 1_000 + 50 * u64::from(conn + 1),
        suback(1, &[1]),
    );
    for id in 2..6u16 {
        let us = base + 2_000 + u64::from(id) * 100;
        h.send(
            conn,
            C2S,
            us,
            publish(1, false, Some(id), &format!("t/{}", id % 3)),
        );
        if id != 5 {
            h.send(conn, S2C, us + 30 * u64::from(id), puback(id));
        }
    }
    h.send(conn, C2S, base + 3_000, publish(2, false, Some(9), "q2"));
    h.send(conn, S2C, base + 3_100, pubrec(9));
    h.send(conn, C2S, base + 3_200, pubrel(9));
    h.send(conn, S2C, base + 3_300 + u64::from(conn), pubcomp(9));
    h.send(conn, C2S, base + 4_000, pingreq());
    h.send(conn, S2C, base + 4_070, pingresp());
    h.end(conn, base + 20_000_000, CloseKind::Fin);
}

#[test]
fn merged_shards_sum_to_the_whole_run() {
    let mut whole = H::new();
    let (mut even, mut odd) = (H::new(), H::new());
    for conn in 0..6u32 {
        let base = u64::from(conn) * 1_000;
        scripted_connection(&mut whole, conn, base);
        scripted_connection(if conn % 2 == 0 { &mut even } else { &mut odd }, conn, base);
    }
    let w = whole.finish();
    even.finish();
    let odd_summary = odd.finish();
    assert!(odd_summary.flows.qos1.completed > 0);
    let mut sink = |_: crate::analysis::AnalysisEvent<'_>| {};
    even.t.merge(odd.t, &mut sink);
    let m = even.t.summary();
    let without_findings = |s: &crate::analysis::AnalysisSummary| {
        let mut v = serde_json::to_value(AnalysisJson::from(s)).unwrap();
        v.as_object_mut().unwrap().remove("findings");
        v
    };
    assert_eq!(without_findings(&m), without_findings(&w));
    let key = |s: &crate::analysis::AnalysisSummary| {
        let mut k: Vec<(&'static str, u32, Option<u16>)> = s
            .findings
            .iter()
            .map(|f| (f.kind.as_str(), f.connection, f.packet_id))
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&m), key(&w));
    assert_eq!(w.flows.qos1.missing, 6);
}
