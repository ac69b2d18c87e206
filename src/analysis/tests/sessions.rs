//! Sessions across reconnects: a correct redelivery is not a loss nor a
//! duplicate; a clean session loses what was in flight.

use super::build::*;
use crate::analysis::{FindingKind as K, LatencyKey, Outcome};
use crate::mqtt::{Properties, ProtocolVersion};
use crate::tcp::CloseKind;

/// Connection 0 of persistent client `fixedid` leaves delivery id 2 unacked.
fn first_connection(h: &mut H, clean: bool) -> u64 {
    h.open(0, 0);
    h.send(0, C2S, 0, connect("fixedid", clean, 60));
    h.send(0, S2C, 100, connack(false));
    h.send(0, C2S, 200, subscribe(1, &[("sess/#", 1)]));
    h.send(0, S2C, 300, suback(1, &[1]));
    h.send(0, S2C, 1_000, publish(1, false, Some(1), "sess/m1"));
    h.send(0, C2S, 1_100, puback(1));
    let p = h.send(0, S2C, 2_000, publish(1, false, Some(2), "sess/m2"));
    h.end(0, 3_000, CloseKind::Fin);
    p
}

#[test]
fn redelivery_on_a_resumed_session_completes_the_flow() {
    let mut h = H::new();
    let p = first_connection(&mut h, false);
    assert!(
        h.findings().is_empty(),
        "saved, not lost: {:#?}",
        h.findings()
    );
    assert_eq!(h.t.saved_sessions(), 1);
    h.open(3, 800_000);
    h.send(3, C2S, 800_100, connect("fixedid", false, 60));
    h.send(3, S2C, 800_200, connack(true));
    let again = h.send(3, S2C, 800_300, publish(1, true, Some(2), "sess/m2"));
    h.send(3, C2S, 800_301, subscribe(1, &[("sess/#", 1)]));
    let ack = h.send(3, C2S, 800_344, puback(2));
    h.send(3, C2S, 800_344, disconnect());
    h.send(3, S2C, 800_360, suback(1, &[1]));
    h.end(3, 801_000, CloseKind::Rst);
    let s = h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let f = h.flow(S2C, 2);
    assert!(f.complete);
    assert_eq!(f.outcome, Some(Outcome::Redelivered));
    assert_eq!(f.frames[..], [p, again, ack]);
    assert_eq!(f.connection, 0);
    assert_eq!(f.connections, vec![0, 3]);
    // measured from the redelivery, not across the outage
    assert_eq!(f.latency_ms.get(LatencyKey::Puback), Some(44_000));
    assert_eq!(s.flows.qos1.redelivered, 1);
    assert_eq!(s.flows.qos1.completed, 2);
    assert_eq!(s.analysis.sessions_saved, 2);
    assert_eq!(s.analysis.sessions_resumed, 1);
    let v = serde_json::to_value(FlowJson::from(f)).unwrap();
    assert_eq!(v["outcome"], "redelivered");
    assert_eq!(v["connections"], serde_json::json!([0, 3]));
}

#[test]
fn clean_session_loses_the_message_at_connection_end() {
    let mut h = H::new();
    let p = first_connection(&mut h, true);
    let f = h.only(K::MissingAck);
    assert_eq!(f.frames[..], [p]);
    assert_eq!(f.direction, S2C);
    assert_eq!(f.connection, 0);
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.client_id.as_deref(), Some("fixedid"));
    // the reconnect changes nothing
    h.open(3, 800_000);
    h.send(3, C2S, 800_100, connect("fixedid", true, 60));
    h.send(3, S2C, 800_200, connack(false));
    h.send(3, C2S, 2_800_000, disconnect());
    h.end(3, 2_800_100, CloseKind::Fin);
    let s = h.finish();
    assert_eq!(h.kinds(), vec!["missing_ack"]);
    assert_eq!(s.analysis.sessions_saved, 0);
}

#[test]
fn session_not_present_after_reconnect_means_loss() {
    let mut h = H::new();
    let p = first_connection(&mut h, false);
    h.open(3, 800_000);
    h.send(3, C2S, 800_100, connect("fixedid", false, 60));
    let ca = h.send(3, S2C, 800_200, connack(false));
    let f = h.only(K::MissingAck);
    assert_eq!(f.frames[..], [p]);
    assert!(f.message.contains("session present = 0"), "{}", f.message);
    assert!(f.message.contains(&format!("frame {ca}")), "{}", f.message);
    h.end(3, 900_000, CloseKind::Fin);
    let s = h.finish();
    assert_eq!(s.analysis.sessions_discarded, 1);
    assert_eq!(h.kinds(), vec!["missing_ack"]);
}

#[test]
fn clean_start_on_reconnect_discards_the_session() {
    let mut h = H::new();
    first_connection(&mut h, false);
    h.open(3, 800_000);
    h.send(3, C2S, 800_100, connect("fixedid", true, 60));
    let f = h.only(K::MissingAck);
    assert!(f.message.contains("clean start"), "{}", f.message);
}

#[test]
fn capture_end_without_resumption_means_loss() {
    let mut h = H::new();
    first_connection(&mut h, false);
    assert!(h.findings().is_empty());
    let s = h.finish();
    let f = h.only(K::MissingAck);
    assert!(
        f.message.contains("no later connection resumed"),
        "{}",
        f.message
    );
    assert_eq!(s.flows.qos1.missing, 1);
}

#[test]
fn resumed_qos2_flow_continues_with_pubrel() {
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("q2", false, 60));
    h.send(0, S2C, 100, connack(false));
    let p = h.send(0, C2S, 1_000, publish(2, false, Some(9), "t"));
    let r = h.send(0, S2C, 1_100, pubrec(9));
    h.end(0, 2_000, CloseKind::Rst);
    h.open(1, 5_000);
    h.send(1, C2S, 5_100, connect("q2", false, 60));
    h.send(1, S2C, 5_200, connack(true));
    let rel = h.send(1, C2S, 5_300, pubrel(9));
    let comp = h.send(1, S2C, 5_420, pubcomp(9));
    h.end(1, 6_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    let f = h.flow(C2S, 9);
    assert_eq!(f.frames[..], [p, r, rel, comp]);
    assert_eq!(f.outcome, Some(Outcome::Redelivered));
    assert_eq!(f.latency_ms.get(LatencyKey::Pubcomp), Some(120_000));
    // the PUBREC → PUBREL step spans the outage: not a sample
    assert_eq!(f.latency_ms.get(LatencyKey::Pubrel), None);
}

#[test]
fn takeover_before_the_old_connection_closes() {
    // the new connection resumes while the old one is still open; the old
    // one's flows reach the session when it closes, and the redelivery
    // after that still finds them
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("t", false, 60));
    h.send(0, S2C, 100, connack(false));
    h.send(0, S2C, 1_000, publish(1, false, Some(4), "x"));
    h.open(1, 2_000);
    h.send(1, C2S, 2_100, connect("t", false, 60));
    h.send(1, S2C, 2_200, connack(true));
    h.end(0, 2_300, CloseKind::Fin);
    h.send(1, S2C, 2_400, publish(1, true, Some(4), "x"));
    h.send(1, C2S, 2_500, puback(4));
    h.end(1, 3_000, CloseKind::Fin);
    h.finish();
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    assert_eq!(h.flow(S2C, 4).outcome, Some(Outcome::Redelivered));
}

#[test]
fn v5_session_expiry_decides_persistence() {
    // clean start 1 with a session expiry: the session outlives the connection
    let mut h = H::new().v5();
    let props = Properties {
        session_expiry_interval: Some(300),
        ..Default::default()
    };
    h.open(0, 0);
    h.send(0, C2S, 0, connect_v("v5", true, 60, 5, props));
    h.send(
        0,
        S2C,
        100,
        connack_v(false, 0, ProtocolVersion::V5, Properties::default()),
    );
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    h.end(0, 2_000, CloseKind::Fin);
    assert!(h.findings().is_empty(), "{:#?}", h.findings());
    assert_eq!(h.t.saved_sessions(), 1);

    // ... unless the client's DISCONNECT sets it to 0
    let mut h = H::new().v5();
    h.open(0, 0);
    h.send(
        0,
        C2S,
        0,
        connect_v("v5", false, 60, 5, Properties::default()),
    );
    h.send(
        0,
        S2C,
        100,
        connack_v(false, 0, ProtocolVersion::V5, Properties::default()),
    );
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    // clean start 0 without an expiry: the session ends with the connection
    h.end(0, 2_000, CloseKind::Fin);
    assert_eq!(h.kinds(), vec!["missing_ack"]);

    let mut h = H::new().v5();
    let props = Properties {
        session_expiry_interval: Some(300),
        ..Default::default()
    };
    h.open(0, 0);
    h.send(0, C2S, 0, connect_v("v5", false, 60, 5, props));
    h.send(
        0,
        S2C,
        100,
        connack_v(false, 0, ProtocolVersion::V5, Properties::default()),
    );
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    let zero = Properties {
        session_expiry_interval: Some(0),
        ..Default::default()
    };
    h.send(0, C2S, 1_500, disconnect_p(Some(0), zero));
    h.end(0, 2_000, CloseKind::Fin);
    assert_eq!(h.kinds(), vec!["missing_ack"]);
    assert_eq!(h.t.saved_sessions(), 0);
}

#[test]
fn redelivery_without_dup_is_a_violation_and_a_new_message_reusing_the_id_is_not_redelivery() {
    let mut h = H::new();
    h.open(0, 0);
    h.send(0, C2S, 0, connect("r", false, 60));
    h.send(0, S2C, 100, connack(false));
    h.send(0, C2S, 1_000, publish_h(1, false, Some(1), "t", 0xAA));
    h.send(0, C2S, 1_100, publish_h(1, false, Some(2), "t", 0xBB));
    h.end(0, 2_000, CloseKind::Fin);
    h.open(1, 3_000);
    h.send(1, C2S, 3_100, connect("r", false, 60));
    h.send(1, S2C, 3_200, connack(true));
    // same message, DUP forgotten
    h.send(1, C2S, 3_300, publish_h(1, false, Some(1), "t", 0xAA));
    // another message under id 2: the saved one is never re-sent
    h.send(1, C2S, 3_400, publish_h(1, false, Some(2), "t", 0xCC));
    h.send(1, S2C, 3_500, puback(1));
    h.send(1, S2C, 3_600, puback(2));
    h.end(1, 4_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.kinds(), vec!["protocol_violation", "packet_id_in_use"]);
    assert_eq!(h.findings()[0].rule, Some(Rule::new("MQTT-3.3.1-1")));
    assert_eq!(h.flow(C2S, 1).outcome, Some(Outcome::Redelivered));
}

#[test]
fn capture_end_cuts_off_young_flows_only() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "open", true, 600);
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "old"));
    h.send(0, C2S, 20_000_000, publish(1, false, Some(2), "young"));
    // the capture ends with the connection still open
    h.end(0, 20_500_000, CloseKind::Open);
    let s = h.finish();
    let f = h.only(K::MissingAck);
    assert_eq!(f.packet_id, Some(1));
    assert_eq!(h.flow(C2S, 2).outcome, Some(Outcome::CutOff));
    assert_eq!(s.flows.qos1.cut_off, 1);
    assert_eq!(s.flows.qos1.missing, 1);
}

#[test]
fn finish_ends_connections_that_were_never_ended() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "dangling", true, 60);
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    h.send(0, C2S, 30_000_000, pingreq());
    let s = h.finish();
    assert_eq!(h.kinds(), vec!["missing_ack"]);
    assert_eq!(s.analysis.requests_unanswered_at_close, 1);
    assert_eq!(h.conns.len(), 0);
}
