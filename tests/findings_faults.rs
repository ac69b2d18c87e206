//! The flow tracker on the real fault captures of `samples/faults/`: each
//! produces exactly the findings its README names, with the frames and
//! packet identifiers it lists.
//!
//! Each capture goes through the whole pipeline (capture → netdecode → tcp →
//! mqtt → analysis); the findings and flows are the events a sink receives.

use mqtt_inspect::analysis::{
    AnalysisConfig, AnalysisSummary, Finding, FindingKind, FlowRecord, Outcome,
};
use mqtt_inspect::base::Direction;
use mqtt_inspect::capture::open_captures;
use mqtt_inspect::mqtt::PacketType;
use mqtt_inspect::pipeline::{Pipeline, PipelineOptions};
use mqtt_inspect::report::{Event, Sink, Summary};
use std::path::Path;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// Keeps every finding and flow the pipeline reports, as they come.
#[derive(Default)]
struct Collect {
    findings: Vec<Finding>,
    flows: Vec<FlowRecord>,
}

impl Sink for Collect {
    fn event(&mut self, ev: &Event<'_>) -> std::io::Result<()> {
        match ev {
            Event::Finding(f) => self.findings.push((*f).clone()),
            Event::Flow(f) => self.flows.push((*f).clone()),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

struct Run {
    findings: Vec<Finding>,
    flows: Vec<FlowRecord>,
    summary: AnalysisSummary,
}

impl Run {
    fn of(&self, kind: FindingKind) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.kind == kind).collect()
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.kind.as_str()).collect()
    }

    /// Exactly `n` findings, all of `kind`.
    fn only(&self, kind: FindingKind, n: usize) -> Vec<&Finding> {
        assert_eq!(
            self.findings.len(),
            n,
            "expected {n} × {kind}, got {:#?}",
            self.findings
        );
        assert!(
            self.findings.iter().all(|f| f.kind == kind),
            "{:#?}",
            self.findings
        );
        self.of(kind)
    }
}

fn run_with(name: &str, cfg: AnalysisConfig) -> Run {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/faults")
        .join(name);
    let mut reader = open_captures(&[path.to_string_lossy().into_owned()]).expect("capture opens");
    let opts = PipelineOptions {
        analysis: cfg,
        ..PipelineOptions::default()
    };
    let mut out = Collect::default();
    let summary = Pipeline::new(opts)
        .run(&mut reader, &mut out)
        .expect("pipeline runs");
    Run {
        findings: out.findings,
        flows: out.flows,
        summary: summary.analysis,
    }
}

fn run(name: &str) -> Run {
    run_with(name, AnalysisConfig::default())
}

#[test]
fn missing_ack_broker_killed() {
    let r = run("missing_ack_broker_killed.pcap");
    let all = r.only(FindingKind::MissingAck, 12);
    let mut got: Vec<(u16, PacketType, Vec<u64>)> = all
        .iter()
        .map(|f| (f.packet_id.unwrap(), f.expected.unwrap(), f.frames.clone()))
        .collect();
    got.sort();
    let mut want = vec![(9, PacketType::Pubcomp, vec![26, 47, 73])];
    for (id, frame) in (10..=17).zip(74..=81) {
        want.push((id, PacketType::Puback, vec![frame]));
    }
    want.push((18, PacketType::Pubrec, vec![82]));
    want.push((19, PacketType::Pubrec, vec![83]));
    want.push((20, PacketType::Pubrec, vec![85]));
    assert_eq!(got, want);
    assert!(all.iter().all(|f| f.direction == C2S && f.connection == 1));
    // everything else completes: publisher 1-6 (QoS 1) and 7-8 (QoS 2), subscriber 1-8
    let s = &r.summary;
    assert_eq!(s.flows.qos1.completed, 6 + 8);
    assert_eq!(s.flows.qos2.completed, 2);
    assert_eq!(s.flows.qos1.missing, 8);
    assert_eq!(s.flows.qos2.missing, 4);
}

#[test]
fn missing_ack_qos2_stalled() {
    let r = run("missing_ack_qos2_stalled.pcap");
    let f = r.only(FindingKind::MissingAck, 1)[0];
    assert_eq!(f.packet_id, Some(3));
    assert_eq!(f.direction, C2S);
    assert_eq!(f.expected, Some(PacketType::Pubcomp));
    assert_eq!(f.frames[..], [17, 19, 20]);
    assert_eq!(r.summary.flows.qos1.completed, 1);
    assert_eq!(r.summary.flows.qos2.completed, 1);
}

#[test]
fn late_ack() {
    let r = run("late_ack.pcap");
    let f = r.only(FindingKind::LateAck, 1)[0];
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.frames[..], [11, 13]);
    let slow = r.flows.iter().find(|f| f.packet_id == 2).unwrap();
    assert!(slow.complete);
    let cfg = AnalysisConfig {
        ack_timeout: std::time::Duration::from_secs(15),
        ..Default::default()
    };
    let r = run_with("late_ack.pcap", cfg);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn duplicate_publish() {
    let r = run("duplicate_publish.pcap");
    let f = r.only(FindingKind::DuplicatePublish, 1)[0];
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.frames[..], [11, 13]);
    let flow = r.flows.iter().find(|f| f.packet_id == 2).unwrap();
    assert!(flow.complete);
    assert_eq!(flow.frames[..], [11, 13, 15]);
}

#[test]
fn packet_id_in_use() {
    let r = run("packet_id_in_use.pcap");
    let f = r.only(FindingKind::PacketIdInUse, 1)[0];
    assert_eq!(f.packet_id, Some(7));
    assert_eq!(f.frames[..], [11, 13]);
}

#[test]
fn unexpected_ack() {
    let r = run("unexpected_ack.pcap");
    let all = r.only(FindingKind::UnexpectedAck, 3);
    let got: Vec<(Vec<u64>, Option<u16>)> = all
        .iter()
        .map(|f| (f.frames.clone(), f.packet_id))
        .collect();
    assert_eq!(
        got,
        vec![
            (vec![12], Some(4242)),
            (vec![14], Some(4343)),
            (vec![16], Some(4343))
        ]
    );
}

#[test]
fn wrong_ack_type() {
    let r = run("wrong_ack_type.pcap");
    let f = r.only(FindingKind::WrongAckType, 1)[0];
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.frames[..], [11, 13]);
    assert_eq!(r.summary.flows.qos2.completed, 1);
    assert_eq!(r.summary.flows.qos2.wrong_ack, 1);
}

#[test]
fn invalid_qos() {
    let r = run("invalid_qos.pcap");
    let f = r.only(FindingKind::InvalidQos, 1)[0];
    assert_eq!(f.frames[..], [33]);
    assert!(
        r.flows
            .iter()
            .all(|f| f.packet_id != 2 || f.direction != C2S)
    );
}

#[test]
fn dup_on_qos0() {
    let r = run("dup_on_qos0.pcap");
    let f = r.only(FindingKind::DupOnQos0, 1)[0];
    assert_eq!(f.frames[..], [30]);
}

#[test]
fn packet_id_zero() {
    let r = run("packet_id_zero.pcap");
    let all = r.only(FindingKind::PacketIdZero, 2);
    let frames: Vec<Vec<u64>> = all.iter().map(|f| f.frames.clone()).collect();
    assert_eq!(frames, vec![vec![25], vec![48]]);
}

#[test]
fn qos_exceeds_grant() {
    let r = run("qos_exceeds_grant.pcap");
    let f = r.only(FindingKind::QosExceedsGrant, 1)[0];
    assert_eq!(f.frames.last(), Some(&14));
    assert_eq!(f.direction, S2C);
}

#[test]
fn receive_maximum_exceeded() {
    let r = run("receive_maximum_exceeded.pcap");
    let f = r.only(FindingKind::ReceiveMaximumExceeded, 1)[0];
    assert_eq!(f.packet_id, Some(4));
    assert_eq!(f.frames[..], [16]);
    assert_eq!(r.summary.flows.qos1.completed, 4);
}

#[test]
fn protocol_violation() {
    let r = run("protocol_violation.pcap");
    let all = r.only(FindingKind::ProtocolViolation, 3);
    let last: Vec<u64> = all.iter().map(|f| *f.frames.last().unwrap()).collect();
    assert_eq!(last, vec![25, 33, 54]);
}

#[test]
fn malformed_packet() {
    let r = run("malformed_packet.pcap");
    let all = r.of(FindingKind::MalformedPacket);
    assert_eq!(r.kinds().len(), all.len(), "{:#?}", r.findings);
    let frames: Vec<u64> = all.iter().map(|f| *f.frames.last().unwrap()).collect();
    assert!(frames.contains(&11) && frames.contains(&23), "{frames:?}");
    // the valid traffic of stream 2 completes
    assert!(
        r.flows
            .iter()
            .filter(|f| f.connection == 2)
            .all(|f| f.complete)
    );
}

#[test]
fn keepalive_exceeded() {
    let r = run("keepalive_exceeded.pcap");
    let f = r.only(FindingKind::KeepaliveExceeded, 1)[0];
    assert_eq!(f.connection, 1);
    assert_eq!(f.frames.first(), Some(&18));
}

#[test]
fn tcp_gap() {
    let r = run("tcp_gap.pcap");
    let f = r.only(FindingKind::TcpGap, 1)[0];
    assert_eq!(f.connection, 1);
    assert_eq!(f.direction, C2S);
    assert!(f.message.starts_with("34 bytes"), "{}", f.message);
    assert_eq!(r.summary.flows.qos1.incomplete, 0);
}

#[test]
fn session_redelivery() {
    let r = run("session_redelivery.pcap");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let f = r
        .flows
        .iter()
        .find(|f| f.direction == S2C && f.packet_id == 2 && f.connection == 0)
        .unwrap();
    assert!(f.complete);
    assert_eq!(f.outcome, Some(Outcome::Redelivered));
    assert_eq!(f.frames[..], [36, 53, 55]);
    assert_eq!(f.connections, vec![0, 3]);
    assert_eq!(r.summary.flows.qos1.incomplete, 0);
}

#[test]
fn session_lost_clean() {
    let r = run("session_lost_clean.pcap");
    let f = r.only(FindingKind::MissingAck, 1)[0];
    assert_eq!(f.packet_id, Some(2));
    assert_eq!(f.direction, S2C);
    assert_eq!(f.connection, 0);
    assert_eq!(f.expected, Some(PacketType::Puback));
    assert_eq!(f.frames[..], [36]);
}
