//! Live mode: `tick` declares overdue flows missing and notices silent
//! clients without waiting for the connection to end.

use super::build::*;
use crate::analysis::{AnalysisConfig, FindingKind as K, Outcome};
use crate::mqtt::PacketType;
use crate::tcp::CloseKind;
use std::time::Duration;

fn live() -> H {
    H::with(AnalysisConfig {
        live: true,
        ack_timeout: Duration::from_secs(2),
        ..Default::default()
    })
}

#[test]
fn overdue_flow_is_missing_then_late() {
    let mut h = live();
    h.open(0, 0);
    h.connect(0, 0, "lv", true, 600);
    let p = h.send(0, C2S, 1_000_000, publish(1, false, Some(5), "t"));
    h.tick(2_999_999);
    assert!(h.findings().is_empty());
    // one scan per 100 ms at most: the next look is at 3.099999 s
    h.tick(3_000_000);
    assert!(h.findings().is_empty());
    h.tick(3_100_000);
    let f = h.only(K::MissingAck);
    assert_eq!(f.frames, vec![p]);
    assert_eq!(f.expected, Some(PacketType::Puback));
    // reported once
    h.tick(10_000_000);
    assert_eq!(h.findings().len(), 1);
    // the ack comes after all: late, and the flow completes
    h.send(0, S2C, 11_000_000, puback(5));
    assert_eq!(h.kinds(), vec!["missing_ack", "late_ack"]);
    assert!(h.flow(C2S, 5).complete);
    h.end(0, 12_000_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.findings().len(), 2);
}

#[test]
fn overdue_flow_reported_live_is_not_reported_again_at_close() {
    let mut h = live();
    h.open(0, 0);
    h.connect(0, 0, "lv", true, 600);
    h.send(0, C2S, 1_000, publish(2, false, Some(1), "t"));
    h.tick(5_000_000);
    h.end(0, 6_000_000, CloseKind::Rst);
    let s = h.finish();
    assert_eq!(h.kinds(), vec!["missing_ack"]);
    assert_eq!(h.flow(C2S, 1).outcome, Some(Outcome::Missing));
    assert_eq!(s.flows.qos2.missing, 1);
}

#[test]
fn silent_client_and_unanswered_requests() {
    let mut h = live();
    h.open(0, 0);
    h.connect(0, 0, "quiet", true, 4);
    h.send(0, C2S, 1_000, subscribe(3, &[("a", 1)]));
    h.tick(2_000_000);
    assert!(h.findings().is_empty());
    h.tick(3_100_000);
    assert_eq!(h.kinds(), vec!["missing_ack"]);
    assert_eq!(h.findings()[0].expected, Some(PacketType::Suback));
    h.tick(6_002_000);
    assert_eq!(h.kinds(), vec!["missing_ack", "keepalive_exceeded"]);
    h.end(0, 9_000_000, CloseKind::Fin);
    h.finish();
    assert_eq!(h.findings().len(), 2);
}

#[test]
fn tick_does_nothing_in_file_mode() {
    let mut h = H::new();
    h.open(0, 0);
    h.connect(0, 0, "f", true, 1);
    h.send(0, C2S, 1_000, publish(1, false, Some(1), "t"));
    h.tick(600_000_000);
    assert!(h.findings().is_empty());
}
