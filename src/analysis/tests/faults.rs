//! One test per finding kind: each scenario produces exactly that finding
//! and nothing else, with the frames and identifiers the contract names.

use super::build::*;
use crate::analysis::{FindingKind as K, Outcome, Severity};
use crate::mqtt::{PacketType, Properties, ProtocolVersion};
use crate::tcp::CloseKind;

#[test]
fn missing_ack_when_the_connection_closes() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "m", true, 60);
    let p = h.send(0, C2S, 1_000, publish(1, false, Some(9), "t/9"));
    let q = h.send(0, C2S, 1_100, publish(2, false, Some(10), "t/10"));
    let r = h.send(0, S2C, 1_200, pubrec(10));
    let l = h.send(0, C2S, 1_300, pubrel(10));
    h.end(0, 2_000, CloseKind::Rst);
    let s = h.finish();
    let all = h.findings();
    assert_eq!(h.kinds(), vec!["missing_ack", "missing_ack"]);
    let nine = all.iter().find(|f| f.packet_id == Some(9)).unwrap();
    assert_eq!(nine.expected, Some(PacketType::Puback));
    assert_eq!(nine.frames[..], [p]);
    assert_eq!(nine.direction, C2S);
    assert_eq!(nine.severity, Severity::Error);
    assert!(nine.message.contains("MQTT-4.3.2-2"), "{}", nine.message);
    assert!(nine.message.contains("RST"), "{}", nine.message);
    let ten = all.iter().find(|f| f.packet_id == Some(10)).unwrap();
    assert_eq!(ten.expected, Some(PacketType::Pubcomp));
    assert_eq!(ten.frames[..], [q, r, l]);
    assert_eq!(s.flows.qos1.incomplete, 1);
    assert_eq!(s.flows.qos1.missing, 1);
    assert_eq!(s.flows.qos2.missing, 1);
    assert_eq!(h.flow(C2S, 9).outcome, Some(Outcome::Missing));
    assert_eq!(s.count(K::MissingAck), 2);
}

#[test]
fn late_ack_after_the_timeout() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "l", true, 60);
    let p = h.send(0, C2S, 1_000, publish(1, false, Some(2), "late/b"));
    let a = h.send(0, S2C, 12_051_000, puback(2));
    h.end(0, 12_100_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::LateAck);
    assert_eq!(f.frames[..], [p, a]);
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.expected, Some(PacketType::Puback));
    assert_eq!(f.severity, Severity::Warning);
    assert!(h.flow(C2S, 2).complete);
    // exactly at the timeout is not late
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "l", true, 60);
    h.send(0, C2S, 1_000, publish(1, false, Some(2), "t"));
    h.send(0, S2C, 10_001_000, puback(2));
    h.end(0, 10_002_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
}

#[test]
fn duplicate_publish_in_flight_and_after_ack() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "d", true, 60);
    let a = h.send(0, C2S, 1_000, publish(1, false, Some(2), "t"));
    let b = h.send(0, C2S, 2_000, publish(1, true, Some(2), "t"));
    h.send(0, S2C, 3_000, puback(2));
    h.end(0, 4_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::DuplicatePublish);
    assert_eq!(f.frames[..], [a, b]);
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.severity, Severity::Warning);

    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "d", true, 60);
    h.send(0, C2S, 1_000, publish(1, false, Some(4), "t"));
    let ack = h.send(0, S2C, 2_000, puback(4));
    let again = h.send(0, C2S, 3_000, publish(1, true, Some(4), "t"));
    h.send(0, S2C, 3_500, puback(4));
    h.end(0, 4_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::DuplicatePublish);
    assert_eq!(f.frames[..], [ack, again]);
}

#[test]
fn packet_id_in_use_by_a_new_publish() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "u", true, 60);
    let a = h.send(0, C2S, 1_000, publish(1, false, Some(7), "reuse/b"));
    let b = h.send(0, C2S, 1_050, publish(1, false, Some(7), "reuse/c"));
    let ack = h.send(0, S2C, 2_000, puback(7));
    h.end(0, 3_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::PacketIdInUse);
    assert_eq!(f.frames[..], [a, b]);
    assert_eq!(f.packet_id, Some(7));
    // the first message is superseded, the second acknowledged
    let flows = h.flows();
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].outcome, Some(Outcome::Superseded));
    assert_eq!(&*flows[0].topic, "reuse/b");
    assert!(flows[1].complete);
    assert_eq!(flows[1].frames[..], [b, ack]);
    assert_eq!((s.flows.qos1.completed, s.flows.qos1.superseded), (1, 1));
}

#[test]
fn packet_id_in_use_across_subscribe_and_publish() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "u", true, 60);
    let s = h.send(0, C2S, 1_000, subscribe(3, &[("a", 0)]));
    let p = h.send(0, C2S, 1_001, publish(1, false, Some(3), "t"));
    h.send(0, S2C, 1_100, suback(3, &[0]));
    h.send(0, S2C, 1_200, puback(3));
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::PacketIdInUse);
    assert_eq!(f.frames[..], [s, p]);
}

#[test]
fn unexpected_acks() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "x", true, 60);
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    h.send(0, S2C, 1_100, puback(1));
    let a = h.send(0, S2C, 1_200, puback(4242));
    let b = h.send(0, S2C, 1_300, pubrel(4343));
    let c = h.send(0, C2S, 1_400, pubcomp(4343));
    let d = h.send(0, S2C, 1_500, suback(9, &[0]));
    let e = h.send(0, S2C, 1_600, unsuback(9));
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    let all = h.findings();
    assert!(all.iter().all(|f| f.kind == K::UnexpectedAck), "{all:#?}");
    let frames: Vec<Vec<u64>> = all.iter().map(|f| f.frames.clone()).collect();
    assert_eq!(frames, vec![vec![a], vec![b], vec![c], vec![d], vec![e]]);
    let dirs: Vec<_> = all.iter().map(|f| f.direction).collect();
    assert_eq!(dirs, vec![S2C, S2C, C2S, S2C, S2C]);
    assert_eq!(all[0].packet_id, Some(4242));
}

#[test]
fn unexpected_ack_at_the_wrong_stage() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "w", true, 60);
    let p = h.send(0, C2S, 1_000, publish(2, false, Some(5), "t"));
    let rel = h.send(0, C2S, 1_100, pubrel(5));
    h.send(0, S2C, 1_200, pubcomp(5));
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::UnexpectedAck);
    assert_eq!(f.frames[..], [p, rel]);
    assert!(f.message.contains("before any PUBREC"), "{}", f.message);
    // the flow followed the sender and completed
    assert!(h.flow(C2S, 5).complete);
}

#[test]
fn wrong_ack_type_both_ways() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "w", true, 60);
    let p = h.send(0, C2S, 1_000, publish(2, false, Some(2), "t"));
    let a = h.send(0, S2C, 1_100, puback(2));
    let q = h.send(0, S2C, 2_000, publish(1, false, Some(8), "t"));
    let r = h.send(0, C2S, 2_100, pubrec(8));
    h.end(0, 3_000, CloseKind::Fin);
    let s = h.finish();
    assert_eq!(h.kinds(), vec!["wrong_ack_type", "wrong_ack_type"]);
    let all = h.findings();
    assert_eq!(all[0].frames[..], [p, a]);
    assert_eq!(all[0].packet_id, Some(2));
    assert_eq!(all[0].direction, C2S);
    assert_eq!(all[1].frames[..], [q, r]);
    assert_eq!(all[1].direction, S2C);
    assert_eq!(h.flow(C2S, 2).outcome, Some(Outcome::WrongAck));
    assert_eq!(s.flows.qos2.wrong_ack, 1);
    assert_eq!(s.flows.qos1.wrong_ack, 1);
}

#[test]
fn invalid_qos_is_not_a_flow_nor_a_second_finding() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "q", true, 60);
    let v = [violation(
        "MQTT-3.3.1-4",
        "PUBLISH has QoS 3 (both QoS bits set)",
    )];
    let p = h.send_v(0, C2S, 1_000, publish(3, false, Some(2), "iq/bad"), &v);
    h.end(0, 2_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::InvalidQos);
    assert_eq!(f.frames[..], [p]);
    assert!(f.message.contains("MQTT-3.3.1-4"));
    assert!(h.flows().is_empty());
    assert_eq!(s.flows.qos1.completed + s.flows.qos1.incomplete, 0);
}

#[test]
fn dup_on_qos0() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "q", true, 60);
    let v = [violation("MQTT-3.3.1-2", "DUP flag set on a QoS 0 PUBLISH")];
    let p = h.send_v(0, C2S, 1_000, publish(0, true, None, "dq/bad"), &v);
    h.end(0, 2_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::DupOnQos0);
    assert_eq!(f.frames[..], [p]);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(s.qos0_messages.total, 1);
}

#[test]
fn packet_id_zero_on_publish_and_subscribe() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "z", true, 60);
    let v = [violation("2.3.1", "SUBSCRIBE has packet identifier 0")];
    let s = h.send_v(0, C2S, 1_000, subscribe(0, &[("pz/x", 1)]), &v);
    let v = [violation("2.3.1", "PUBLISH has packet identifier 0")];
    let p = h.send_v(0, C2S, 2_000, publish(1, false, Some(0), "pz/bad"), &v);
    h.end(0, 3_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.kinds(), vec!["packet_id_zero", "packet_id_zero"]);
    let all = h.findings();
    assert_eq!(all[0].frames[..], [s]);
    assert_eq!(all[1].frames[..], [p]);
    assert!(all[1].message.contains("MQTT-2.3.1-1"));
    // no flow that could go missing
    assert!(h.flows().is_empty());
}

#[test]
fn qos_exceeds_grant_takes_the_grant_not_the_request() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "grant-sub", true, 60);
    h.send(0, C2S, 1_000, subscribe(1, &[("a/+", 1)]));
    let g = h.send(0, S2C, 1_100, suback(1, &[0]));
    h.send(0, S2C, 2_000, publish(0, false, None, "a/x"));
    let p = h.send(0, S2C, 3_000, publish(1, false, Some(1), "a/y"));
    h.send(0, C2S, 3_100, puback(1));
    h.send(0, C2S, 3_200, disconnect());
    h.end(0, 4_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::QosExceedsGrant);
    assert_eq!(f.frames[..], [g, p]);
    assert_eq!(f.topic.as_deref(), Some("a/y"));
    assert!(f.message.contains("MQTT-3.8.4-6"), "{}", f.message);
}

#[test]
fn qos_exceeds_grant_with_overlapping_filters_and_unsubscribe() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "o", true, 60);
    h.send(0, C2S, 1_000, subscribe(1, &[("a/+", 1), ("a/#", 0)]));
    h.send(0, S2C, 1_100, suback(1, &[1, 0]));
    // a/x matches both: the higher grant (1) applies
    h.send(0, S2C, 2_000, publish(1, false, Some(1), "a/x"));
    h.send(0, C2S, 2_100, puback(1));
    // a/x/y matches only a/# (0)
    let over = h.send(0, S2C, 3_000, publish(1, false, Some(2), "a/x/y"));
    h.send(0, C2S, 3_100, puback(2));
    h.send(0, C2S, 4_000, unsubscribe(2, &["a/+"]));
    // before the UNSUBACK the old grant may still apply: no verdict
    h.send(0, S2C, 4_050, publish(1, false, Some(3), "a/x"));
    h.send(0, C2S, 4_060, puback(3));
    h.send(0, S2C, 4_100, unsuback(2));
    let after = h.send(0, S2C, 5_000, publish(1, false, Some(4), "a/x"));
    h.send(0, C2S, 5_100, puback(4));
    // $-topics do not match a/#, nothing to judge
    h.send(0, S2C, 6_000, publish(2, false, Some(5), "$SYS/x"));
    h.send(0, C2S, 6_100, pubrec(5));
    h.send(0, S2C, 6_200, pubrel(5));
    h.send(0, C2S, 6_300, pubcomp(5));
    h.end(0, 7_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.kinds(), vec!["qos_exceeds_grant", "qos_exceeds_grant"]);
    let all = h.findings();
    assert_eq!(all[0].frames.last(), Some(&over));
    assert_eq!(all[1].frames.last(), Some(&after));
}

#[test]
fn no_grant_verdict_without_the_subscribe() {
    // mid-stream: the SUBSCRIBE was before the capture
    let mut h = H::new();
    h.open_as(0, 0, true, None);
    h.send(0, S2C, 1_000, publish(2, false, Some(1), "a/x"));
    h.send(0, C2S, 1_100, pubrec(1));
    h.send(0, S2C, 1_200, pubrel(1));
    h.send(0, C2S, 1_300, pubcomp(1));
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    // resumed session whose subscriptions were never seen
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("p", false, 60));
    h.send(0, S2C, 100, connack(true));
    h.send(0, C2S, 1_000, subscribe(1, &[("a/#", 0)]));
    h.send(0, S2C, 1_100, suback(1, &[0]));
    h.send(0, S2C, 2_000, publish(1, false, Some(1), "a/x"));
    h.send(0, C2S, 2_100, puback(1));
    h.end(0, 3_000, CloseKind::Fin);
    h.finish();
    assert!(
        !h.kinds().contains(&"qos_exceeds_grant"),
        "{:#?}",
        h.findings()
    );
}

fn v5_props(receive_maximum: Option<u16>) -> Properties<'static> {
    Properties {
        receive_maximum,
        ..Default::default()
    }
}

#[test]
fn receive_maximum_from_the_connack_limits_the_client() {
    let mut h = H::new().v5();
    h.open(0, 0);
    h.send(
        0,
        C2S,
        0,
        connect_v("rm", true, 60, 5, Properties::default()),
    );
    h.send(
        0,
        S2C,
        10,
        connack_v(false, 0, ProtocolVersion::V5, v5_props(Some(2))),
    );
    h.send(0, C2S, 100, publish(1, false, Some(1), "rm/a"));
    h.send(0, S2C, 200, puback(1));
    h.send(0, C2S, 300, publish(1, false, Some(2), "rm/b"));
    h.send(0, C2S, 400, publish(1, false, Some(3), "rm/b"));
    let third = h.send(0, C2S, 500, publish(1, false, Some(4), "rm/b"));
    // still above: not reported again in the same episode
    h.send(0, C2S, 550, publish(2, false, Some(5), "rm/b"));
    for id in [2, 3, 4] {
        h.send(0, S2C, 600 + u64::from(id), puback(id));
    }
    h.send(0, S2C, 700, pubrec(5));
    h.send(0, C2S, 710, pubrel(5));
    h.send(0, S2C, 720, pubcomp(5));
    h.end(0, 1_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::ReceiveMaximumExceeded);
    assert_eq!(f.frames[..], [third]);
    assert_eq!(f.packet_id, Some(4));
    assert_eq!(f.direction, C2S);
    assert!(f.message.contains("MQTT-3.3.4-7"), "{}", f.message);
    assert_eq!(s.flows.qos1.completed, 4);
}

#[test]
fn receive_maximum_from_the_connect_limits_the_server() {
    let mut h = H::new().v5();
    h.open(0, 0);
    h.send(0, C2S, 0, connect_v("rm", true, 60, 5, v5_props(Some(1))));
    h.send(
        0,
        S2C,
        10,
        connack_v(false, 0, ProtocolVersion::V5, v5_props(None)),
    );
    h.send(0, S2C, 100, publish(2, false, Some(1), "x"));
    h.send(0, C2S, 110, pubrec(1));
    // PUBREC'd but not PUBCOMP'd: still counts against the quota
    let second = h.send(0, S2C, 120, publish(1, false, Some(2), "x"));
    h.send(0, S2C, 130, pubrel(1));
    h.send(0, C2S, 140, pubcomp(1));
    h.send(0, C2S, 150, puback(2));
    // 65535 (no property) for the client: many in flight are fine
    for id in 10..20 {
        h.send(
            0,
            C2S,
            200 + u64::from(id),
            publish(1, false, Some(id), "y"),
        );
    }
    h.end(0, 1_000, CloseKind::Fin);
    h.finish();
    let all = h.findings();
    let rm: Vec<_> = all
        .iter()
        .filter(|f| f.kind == K::ReceiveMaximumExceeded)
        .collect();
    assert_eq!(rm.len(), 1);
    assert_eq!(rm[0].frames[..], [second]);
    assert_eq!(rm[0].direction, S2C);
    assert!(rm[0].message.contains("MQTT-3.3.4-9"));
    // the ten unacknowledged client PUBLISHes are missing, nothing else
    assert_eq!(all.len(), 11, "{all:#?}");
}

#[test]
fn receive_maximum_is_not_checked_in_3_1_1() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "old", true, 60);
    for id in 1..=3 {
        h.send(
            0,
            C2S,
            100 + u64::from(id),
            publish(1, false, Some(id), "t"),
        );
    }
    for id in 1..=3 {
        h.send(0, S2C, 200 + u64::from(id), puback(id));
    }
    h.end(0, 1_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty());
}

#[test]
fn parser_violations_become_protocol_violations() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "pv-wildcard", true, 60);
    let v = [violation(
        "MQTT-3.3.2-2",
        "topic \"a/#\" contains a wildcard character",
    )];
    let p = h.send_v(0, C2S, 1_000, publish(0, false, None, "a/#"), &v);
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::ProtocolViolation);
    assert_eq!(f.frames[..], [p]);
    assert_eq!(f.rule, Some(Rule::new("MQTT-3.3.2-2")));
    assert!(f.message.ends_with("(MQTT-3.3.2-2)"), "{}", f.message);
}

#[test]
fn second_connect_and_packets_before_connect() {
    let mut h = H::new();
    h.open(0, 0);
    let first = h.send(0, C2S, 0, connect("pv-twice", true, 60));
    h.send(0, S2C, 100, connack(false));
    let second = h.send(0, C2S, 1_000, connect("pv-twice", true, 60));
    h.end(0, 2_000, CloseKind::Fin);
    h.open(1, 3_000);
    let early = h.send(1, C2S, 3_100, publish(0, false, None, "pv/early"));
    // reported once per connection; a QoS 1 PUBLISH before CONNECT is no
    // flow that could go missing
    h.send(1, C2S, 3_200, publish(1, false, Some(1), "pv/early"));
    h.end(1, 4_000, CloseKind::Rst);
    h.finish();
    assert_eq!(h.kinds(), vec!["protocol_violation", "protocol_violation"]);
    let all = h.findings();
    assert_eq!(all[0].frames[..], [first, second]);
    assert_eq!(all[0].rule, Some(Rule::new("MQTT-3.1.0-2")));
    assert_eq!(all[1].frames[..], [early]);
    assert_eq!(all[1].rule, Some(Rule::new("MQTT-3.1.0-1")));
    assert_eq!(all[1].connection, 1);
}

#[test]
fn client_need_not_wait_for_connack_but_server_must_send_it_first() {
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("eager", true, 60));
    h.send(0, C2S, 10, subscribe(1, &[("t", 1)]));
    h.send(0, C2S, 20, publish(1, false, Some(2), "t"));
    h.send(0, S2C, 100, connack(false));
    h.send(0, S2C, 110, suback(1, &[1]));
    h.send(0, S2C, 120, puback(2));
    h.end(0, 1_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());

    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("c", true, 60));
    let early = h.send(0, S2C, 50, publish(0, false, None, "t"));
    h.send(0, S2C, 100, connack(false));
    h.end(0, 1_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::ProtocolViolation);
    assert_eq!(f.frames[..], [early]);
    assert_eq!(f.rule, Some(Rule::new("MQTT-3.2.0-1")));
}

#[test]
fn midstream_connections_prove_nothing_about_what_came_before() {
    let mut h = H::new();
    h.open_as(0, 0, true, None);
    // no CONNECT captured: no "before CONNECT" violation; acks of earlier
    // PUBLISHes are counted, not reported
    h.send(0, C2S, 100, publish(1, false, Some(1), "t"));
    h.send(0, S2C, 150, puback(1));
    h.send(0, S2C, 200, puback(77));
    h.send(0, C2S, 300, pubrec(88));
    h.send(0, S2C, 400, suback(5, &[0]));
    h.end(0, 1_000, CloseKind::Fin);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    assert_eq!(s.analysis.acks_without_publish, 3);
    assert_eq!(s.flows.qos1.completed, 1);
}

#[test]
fn malformed_packet() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "mp", true, 60);
    let m = h.malformed(0, C2S, 1_000);
    // what the bad bytes carried is unknown: a stray ack proves nothing now
    h.send(0, S2C, 1_100, suback(1, &[0]));
    h.end(0, 2_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::MalformedPacket);
    assert_eq!(f.frames[..], [m]);
    assert!(
        f.message.contains("SUBSCRIBE does not decode"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("topic filter length 200"),
        "{}",
        f.message
    );
    assert_eq!(s.analysis.acks_without_publish, 1);
}

#[test]
fn keepalive_boundary_is_one_and_a_half_times() {
    // keep alive 2 s: 3 s of silence is allowed, 3 s + 1 µs is not
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "ka", true, 2);
    h.send(0, C2S, 3_000_000, pingreq());
    h.send(0, S2C, 3_000_100, pingresp());
    h.send(0, C2S, 6_000_001, pingreq());
    h.send(0, S2C, 6_000_100, pingresp());
    h.send(0, C2S, 6_500_000, disconnect());
    h.end(0, 60_000_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::KeepaliveExceeded);
    assert_eq!(f.direction, C2S);
    assert_eq!(f.frames.len(), 2);
    assert!(f.message.contains("MQTT-3.1.2-24"), "{}", f.message);
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn keepalive_exceeded_at_connection_end_and_off_when_zero() {
    let mut h = H::new();
    h.open(1, 0);
    h.connect(1, 0, "ka-silent", true, 2);
    let last = h.send(1, C2S, 50_000, publish(1, false, Some(1), "ka/ok"));
    h.send(1, S2C, 51_000, puback(1));
    let fin = h.end(1, 4_661_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::KeepaliveExceeded);
    assert_eq!(f.frames[..], [last, fin]);
    assert_eq!(f.connection, 1);
    assert_eq!(f.client_id.as_deref(), Some("ka-silent"));

    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "off", true, 0);
    h.send(0, C2S, 100_000_000, pingreq());
    h.send(0, S2C, 100_000_100, pingresp());
    h.end(0, 900_000_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty());
}

#[test]
fn server_keep_alive_overrides_the_client_s() {
    let mut h = H::new().v5();
    h.open(0, 0);
    h.send(
        0,
        C2S,
        0,
        connect_v("s", true, 600, 5, Properties::default()),
    );
    let props = Properties {
        server_keep_alive: Some(10),
        ..Default::default()
    };
    h.send(0, S2C, 10, connack_v(false, 0, ProtocolVersion::V5, props));
    h.send(0, C2S, 16_000_000, pingreq());
    h.end(0, 16_100_000, CloseKind::Fin);
    h.finish();
    let f = h.only(K::KeepaliveExceeded);
    assert!(f.message.contains("MQTT-3.1.2-22"), "{}", f.message);
}

#[test]
fn tcp_gap_and_what_it_hides() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "gap-pub", true, 60);
    let p = h.send(0, C2S, 1_000, publish(1, false, Some(1), "gap/a"));
    // the PUBACK may be in the lost bytes: no missing_ack
    let g = h.gap(0, S2C, 1_500, 34);
    h.end(0, 3_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::TcpGap);
    assert_eq!(f.frames[..], [g]);
    assert_eq!(f.direction, S2C);
    assert!(f.message.contains("34 bytes"), "{}", f.message);
    let fl = h.flow(C2S, 1);
    assert_eq!(fl.frames[..], [p]);
    assert_eq!(fl.outcome, Some(Outcome::Unverifiable));
    assert_eq!(s.flows.qos1.unverifiable, 1);
    assert_eq!(s.flows.qos1.missing, 0);
}

#[test]
fn inflight_limit_is_reported_once_and_hides_no_fault() {
    let cfg = crate::analysis::AnalysisConfig {
        max_inflight_per_direction: 2,
        ..Default::default()
    };
    let mut h = H::with(cfg);
    h.open(0, 0);
    h.connect(0, 0, "cap", true, 60);
    for id in 1..=4 {
        h.send(
            0,
            C2S,
            100 * u64::from(id),
            publish(1, false, Some(id), "t"),
        );
    }
    for id in 1..=4 {
        h.send(0, S2C, 1_000 + u64::from(id), puback(id));
    }
    h.end(0, 2_000, CloseKind::Fin);
    let s = h.finish();
    let f = h.only(K::InflightLimit);
    assert_eq!(f.packet_id, Some(3));
    assert_eq!(s.analysis.flows_not_tracked, 2);
    assert_eq!(s.analysis.acks_without_publish, 2);
    assert_eq!(s.flows.qos1.completed, 2);
    assert_eq!(h.t.take_warnings().len(), 1);
}

#[test]
fn packets_after_disconnect_and_in_the_wrong_direction() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "d", true, 60);
    let d = h.send(0, C2S, 1_000, disconnect());
    let late = h.send(0, C2S, 1_100, pingreq());
    let wrong = h.send(0, S2C, 1_200, subscribe(4, &[("x", 0)]));
    h.end(0, 2_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.kinds(), vec!["protocol_violation", "protocol_violation"]);
    let all = h.findings();
    assert_eq!(all[0].frames[..], [d, late]);
    assert_eq!(all[0].rule, Some(Rule::new("MQTT-3.14.4-2")));
    assert_eq!(all[1].frames[..], [wrong]);
}

#[test]
fn publish_before_a_refused_connack_is_lost_and_says_why() {
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("nope", true, 60));
    let p = h.send(0, C2S, 10, publish(1, false, Some(1), "t"));
    let refused = h.send(
        0,
        S2C,
        100,
        connack_v(false, 5, ProtocolVersion::V311, Properties::default()),
    );
    h.end(0, 200, CloseKind::Fin);
    h.finish();
    let f = h.only(K::MissingAck);
    assert_eq!(f.frames[..], [p]);
    assert!(
        f.message
            .contains(&format!("refused the CONNECT (CONNACK frame {refused})")),
        "{}",
        f.message
    );
}

#[test]
fn a_resumed_session_does_not_excuse_a_stray_suback() {
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("r", false, 60));
    h.send(0, S2C, 100, connack(true));
    // a PUBACK may answer a PUBLISH of an uncaptured earlier connection ...
    h.send(0, S2C, 200, puback(3));
    // ... but SUBSCRIBEs are never carried over
    let s = h.send(0, S2C, 300, suback(4, &[0]));
    h.end(0, 1_000, CloseKind::Fin);
    let sum = h.finish();
    let f = h.only(K::UnexpectedAck);
    assert_eq!(f.frames[..], [s]);
    assert_eq!(sum.analysis.acks_without_publish, 1);
}
