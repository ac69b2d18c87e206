//! Flows that go right: QoS 1 and QoS 2 in both directions, their exact
//! latencies, 5.0 failure reason codes, request/response latencies.

use super::build::*;
use crate::analysis::{LatencyKey, Outcome};
use crate::tcp::CloseKind;

#[test]
fn qos1_both_directions_with_exact_latency() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 1_000, "c1", true, 60);
    let p1 = h.send(0, C2S, 2_000, publish(1, false, Some(7), "a/b"));
    let a1 = h.send(0, S2C, 2_210, puback(7));
    let p2 = h.send(0, S2C, 3_000, publish(1, false, Some(7), "x/y"));
    let a2 = h.send(0, C2S, 3_333, puback(7));
    h.send(0, C2S, 4_000, disconnect());
    h.end(0, 4_100, CloseKind::Fin);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let up = h.flow(C2S, 7);
    assert!(up.complete && up.outcome.is_none());
    assert_eq!(up.frames[..], [p1, a1]);
    assert_eq!(up.qos, 1);
    assert_eq!(&*up.topic, "a/b");
    assert_eq!(up.client_id.as_deref(), Some("c1"));
    assert_eq!(up.latency_ms.get(LatencyKey::Puback), Some(210_000));
    let down = h.flow(S2C, 7);
    assert_eq!(down.frames[..], [p2, a2]);
    assert_eq!(down.latency_ms.get(LatencyKey::Puback), Some(333_000));
    assert_eq!(s.flows.qos1.completed, 2);
    assert_eq!(s.flows.qos1.incomplete, 0);
    assert_eq!(s.flows_by_direction.client_to_server.qos1.completed, 1);
    assert_eq!(s.flows_by_direction.server_to_client.qos1.completed, 1);
    let pa = s.latency.get(LatencyKey::Puback).unwrap();
    assert_eq!(pa.count(), 2);
    assert_eq!(pa.min_ns(), Some(210_000));
    assert_eq!(pa.max_ns(), Some(333_000));
    assert_eq!(pa.sum_ns(), 543_000);
    let up_only = s
        .latency_by_direction
        .client_to_server
        .get(LatencyKey::Puback);
    assert_eq!(up_only.unwrap().max_ns(), Some(210_000));
    assert_eq!(
        s.latency.get(LatencyKey::Connack).unwrap().min_ns(),
        Some(100_000)
    );
}

/// A flow record says when it concluded and between which ends: the
/// time of its last ack, or of its connection's end when the ack never
/// came (the time of its `missing_ack`), with the endpoints and Community
/// ID of the connection its PUBLISH was sent on.
#[test]
fn flow_records_carry_their_time_and_endpoints() {
    let mut h = H::new();
    h.open(3, 0);
    h.connect(3, 1_000, "c3", true, 60);
    h.send(3, C2S, 2_000, publish(1, false, Some(7), "a/b"));
    h.send(3, S2C, 2_210, puback(7));
    h.send(3, C2S, 3_000, publish(1, false, Some(8), "a/b"));
    h.end(3, 9_000, CloseKind::Rst);
    h.finish();
    let done = h.flow(C2S, 7);
    assert_eq!(done.ts, ts(2_210));
    let lost = h.flow(C2S, 8);
    assert_eq!(lost.outcome, Some(Outcome::Missing));
    assert_eq!(lost.ts, ts(9_000));
    let missing = h.findings();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].ts, lost.ts);
    for peers in [&done.peers, &lost.peers, &missing[0].peers] {
        let p = peers.as_deref().expect("endpoints of the connection");
        assert_eq!((p.client.port, p.server.port), (50_003, 1883));
        assert_eq!(
            p.community_id,
            crate::base::CommunityId::tcp(p.server, p.client)
        );
    }
}

#[test]
fn qos2_both_directions_with_exact_latency() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "c2", true, 60);
    // client → server: PUBLISH 10, PUBREC +100, PUBREL +250, PUBCOMP +600
    let f1 = h.send(0, C2S, 10_000, publish(2, false, Some(3), "q2/up"));
    let f2 = h.send(0, S2C, 10_100, pubrec(3));
    let f3 = h.send(0, C2S, 10_250, pubrel(3));
    let f4 = h.send(0, S2C, 10_600, pubcomp(3));
    // server → client with its own id space: the same id 3 is another flow
    let g1 = h.send(0, S2C, 20_000, publish(2, false, Some(3), "q2/down"));
    let g2 = h.send(0, C2S, 20_040, pubrec(3));
    let g3 = h.send(0, S2C, 20_090, pubrel(3));
    let g4 = h.send(0, C2S, 20_190, pubcomp(3));
    h.end(0, 30_000, CloseKind::Fin);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let up = h.flow(C2S, 3);
    assert_eq!(up.frames[..], [f1, f2, f3, f4]);
    assert!(up.complete);
    let l = &up.latency_ms;
    assert_eq!(l.get(LatencyKey::Pubrec), Some(100_000));
    assert_eq!(l.get(LatencyKey::Pubrel), Some(150_000));
    assert_eq!(l.get(LatencyKey::Pubcomp), Some(350_000));
    assert_eq!(l.get(LatencyKey::Qos2Total), Some(600_000));
    let down = h.flow(S2C, 3);
    assert_eq!(down.frames[..], [g1, g2, g3, g4]);
    assert_eq!(down.latency_ms.get(LatencyKey::Qos2Total), Some(190_000));
    assert_eq!(s.flows.qos2.completed, 2);
    assert_eq!(s.flows.qos1.completed, 0);
    let total = s.latency.get(LatencyKey::Qos2Total).unwrap();
    assert_eq!(
        (total.min_ns(), total.max_ns()),
        (Some(190_000), Some(600_000))
    );
    // the JSON carries milliseconds
    let v = serde_json::to_value(FlowJson::from(up)).unwrap();
    assert_eq!(v["latency_ms"]["pubrel"], 0.15);
    assert_eq!(v["latency_ms"]["qos2_total"], 0.6);
}

#[test]
fn v5_failure_reason_codes_end_flows_with_error() {
    let mut h = H::new().v5();
    h.open(0, 0);
    h.send(0, C2S, 0, connect_v("e", true, 0, 5, Default::default()));
    h.send(
        0,
        S2C,
        10,
        connack_v(
            false,
            0,
            crate::mqtt::ProtocolVersion::V5,
            Default::default(),
        ),
    );
    h.send(0, C2S, 100, publish(1, false, Some(1), "t"));
    h.send(0, S2C, 200, puback_rc(1, 0x87));
    h.send(0, C2S, 300, publish(2, false, Some(2), "t"));
    h.send(0, S2C, 450, pubrec_rc(2, 0x97));
    // 0x10 "No matching subscribers" is a success code
    h.send(0, C2S, 500, publish(1, false, Some(3), "t"));
    h.send(0, S2C, 600, puback_rc(3, 0x10));
    h.end(0, 1_000, CloseKind::Fin);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let f1 = h.flow(C2S, 1);
    assert!(f1.complete);
    assert_eq!(f1.outcome, Some(Outcome::Error));
    assert_eq!(f1.reason_code, Some(0x87));
    let f2 = h.flow(C2S, 2);
    assert!(f2.complete);
    assert_eq!(f2.outcome, Some(Outcome::Error));
    assert_eq!(f2.reason_code, Some(0x97));
    assert_eq!(f2.latency_ms.get(LatencyKey::Pubrec), Some(150_000));
    assert_eq!(f2.latency_ms.get(LatencyKey::Qos2Total), None);
    let f3 = h.flow(C2S, 3);
    assert_eq!((f3.outcome, f3.reason_code), (None, None));
    assert_eq!(s.flows.qos1.completed, 2);
    assert_eq!(s.flows.qos1.with_error, 1);
    assert_eq!(s.flows.qos2.completed, 1);
    assert_eq!(s.flows.qos2.with_error, 1);
    let v = serde_json::to_value(FlowJson::from(f1)).unwrap();
    assert_eq!(v["outcome"], "error");
    assert_eq!(v["reason_code"], 135);
}

#[test]
fn request_response_latencies() {
    let mut h = H::new();
    let hs = crate::tcp::Handshake {
        syn_frame: Some(1),
        synack_frame: Some(2),
        ack_frame: Some(3),
        rtt_ns: Some(50_000),
    };
    h.open_as(0, 0, false, Some(hs));
    h.send(0, C2S, 1_000, connect("r", true, 60));
    h.send(0, S2C, 1_400, connack(false));
    h.send(0, C2S, 2_000, subscribe(5, &[("a/#", 1), ("b", 2)]));
    h.send(0, S2C, 2_700, suback(5, &[1, 2]));
    h.send(0, C2S, 3_000, unsubscribe(6, &["b"]));
    h.send(0, S2C, 3_090, unsuback(6));
    h.send(0, C2S, 4_000, pingreq());
    h.send(0, C2S, 4_500, pingreq());
    h.send(0, S2C, 4_800, pingresp());
    h.send(0, S2C, 5_100, pingresp());
    h.end(0, 6_000, CloseKind::Fin);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let ns = |k| {
        let st = s.latency.get(k).unwrap();
        (st.count(), st.min_ns().unwrap(), st.max_ns().unwrap())
    };
    assert_eq!(ns(LatencyKey::TcpHandshake), (1, 50_000, 50_000));
    assert_eq!(ns(LatencyKey::Connack), (1, 400_000, 400_000));
    assert_eq!(ns(LatencyKey::Suback), (1, 700_000, 700_000));
    assert_eq!(ns(LatencyKey::Unsuback), (1, 90_000, 90_000));
    // FIFO: 4.0 → 4.8, 4.5 → 5.1
    assert_eq!(ns(LatencyKey::Pingresp), (2, 600_000, 800_000));
    let v = serde_json::to_value(AnalysisJson::from(&s)).unwrap();
    assert_eq!(v["latency"]["connack"]["count"], 1);
    assert_eq!(v["latency"]["connack"]["min_ms"], 0.4);
    assert!(v["latency"].get("puback").is_none());
    assert_eq!(
        v["latency_by_direction"]["client_to_server"]["suback"]["max_ms"],
        0.7
    );
}

#[test]
fn dup_resend_then_single_ack_completes_one_flow() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "d", true, 60);
    let a = h.send(0, C2S, 1_000, publish(1, false, Some(2), "t"));
    let b = h.send(0, C2S, 2_000, publish(1, true, Some(2), "t"));
    let c = h.send(0, S2C, 3_000, puback(2));
    // the receiver may ack the second copy too: not a stray ack
    h.send(0, S2C, 3_100, puback(2));
    h.end(0, 4_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.kinds(), vec!["duplicate_publish"]);
    let f = h.flow(C2S, 2);
    assert_eq!(f.frames[..], [a, b, c]);
    assert_eq!(f.resends, 1);
    // latency from the first copy: the ack answers the first one it got
    assert_eq!(f.latency_ms.get(LatencyKey::Puback), Some(2_000_000));
}
