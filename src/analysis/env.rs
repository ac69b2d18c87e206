//! What every handler of the analysis works with: the fold and the output
//! callback borrowed together ([`Env`]), and the small helpers all of them
//! share — time differences, frame lists, concluding a flow, the latency
//! sample that may be late.

use super::catalogue::FindingKind;
use super::conn::ConnAnalysis;
use super::finding::Finding;
use super::flow::{Flow, FlowLatency, FlowRecord, Outcome};
use super::latency::LatencyKey;
use super::rules;
use super::shared::{AnalysisConfig, AnalysisEvent};
use super::summary::Tally;
use crate::base::{At, ConnId, Direction, Timestamp, Warning};
use crate::mqtt::{PacketType, ProtocolVersion};
use std::sync::Arc;

/// A live tick looks at the open flows when the earliest
/// deadline is due, but at most once per this much capture time, so that
/// thousands of busy connections cannot make every tick a full scan.
pub(super) const TICK_EVERY_NS: u64 = 100_000_000;

/// The fold and the callback, borrowed together by the handlers.
pub(super) struct Env<'a, 'o> {
    pub cfg: &'a AnalysisConfig,
    pub timeout_ns: u64,
    pub tally: &'a mut Tally,
    pub warnings: &'a mut Vec<Warning>,
    pub out: &'a mut (dyn FnMut(AnalysisEvent<'_>) + 'o),
}

impl Env<'_, '_> {
    /// Reports a finding (an event now, and into the summary), when the
    /// run's filters select it.
    pub fn raise(&mut self, f: Finding) {
        if self.cfg.select.finding(&f) {
            (self.out)(AnalysisEvent::Finding(&f));
            self.tally.finding(&f);
        }
    }

    /// Reports a concluded flow, when the run's filters select it.
    pub fn flow(&mut self, r: FlowRecord) {
        if self.cfg.select.flow(&r) {
            (self.out)(AnalysisEvent::Flow(&r));
            self.tally.flow(&r);
        }
    }
}

/// Nanoseconds from `from` to `to`; `None` if the clock went backwards.
pub(super) fn ns_between(from: Timestamp, to: Timestamp) -> Option<u64> {
    let d = to.nanos_since(&from);
    if d < 0 {
        None
    } else {
        Some(u64::try_from(d).unwrap_or(u64::MAX))
    }
}

/// Milliseconds for messages.
pub(super) fn ms(ns: u64) -> String {
    let v = ns as f64 / 1e6;
    if v >= 1000.0 {
        format!("{:.3} s", v / 1000.0)
    } else {
        format!("{v:.3} ms")
    }
}

/// Frames sorted and deduplicated, `last` appended last.
pub(super) fn frames_then(mut frames: Vec<u64>, last: u64) -> Vec<u64> {
    frames.retain(|&f| f != last);
    frames.sort_unstable();
    frames.dedup();
    frames.push(last);
    frames
}

/// The record of a concluded flow.
pub(super) fn record(
    flow: Flow,
    ts: Timestamp,
    client_id: Option<&Arc<str>>,
    complete: bool,
    outcome: Option<Outcome>,
    reason_code: Option<u8>,
) -> FlowRecord {
    let expected = (!complete && outcome != Some(Outcome::WrongAck)).then(|| flow.stage.expected());
    let connections = if !flow.later.is_empty() {
        flow.connections()
    } else {
        Vec::new()
    };
    FlowRecord {
        connection: flow.origin(),
        direction: flow.dir,
        packet_id: flow.id,
        qos: flow.qos,
        frames: flow.frames,
        latency_ms: FlowLatency {
            samples: flow.samples.samples,
        },
        complete,
        outcome,
        reason_code,
        expected,
        topic: flow.topic,
        client_id: client_id.cloned(),
        connections,
        resends: flow.resends,
        ts,
        peers: flow.peers,
    }
}

/// `missing_ack` for a flow that will not get its next ack, and its record.
///
/// `why` completes "… never got its PUBACK: {why}". A flow whose ack may
/// have been in bytes the capture lost is concluded as unverifiable, without
/// a finding; one already reported (live timeout) only gets its record.
pub(super) fn give_up(
    env: &mut Env<'_, '_>,
    flow: Flow,
    client_id: Option<&Arc<str>>,
    version: Option<ProtocolVersion>,
    why: &str,
    ts: Timestamp,
) {
    if flow.reported_missing {
        env.flow(record(
            flow,
            ts,
            client_id,
            false,
            Some(Outcome::Missing),
            None,
        ));
        return;
    }
    if flow.ack_maybe_lost {
        env.flow(record(
            flow,
            ts,
            client_id,
            false,
            Some(Outcome::Unverifiable),
            None,
        ));
        return;
    }
    env.raise(missing_finding(&flow, client_id, version, why, ts));
    env.flow(record(
        flow,
        ts,
        client_id,
        false,
        Some(Outcome::Missing),
        None,
    ));
}

/// The `missing_ack` finding of `flow`.
pub(super) fn missing_finding(
    flow: &Flow,
    client_id: Option<&Arc<str>>,
    version: Option<ProtocolVersion>,
    why: &str,
    ts: Timestamp,
) -> Finding {
    let expected = flow.stage.expected();
    let what = if flow.stage == super::qos::Stage::AwaitPubcomp {
        format!("QoS 2 PUBREL id {}", flow.id)
    } else if flow.stage == super::qos::Stage::AwaitPubrel {
        format!("QoS 2 PUBREC id {}", flow.id)
    } else {
        format!("QoS {} PUBLISH id {}", flow.qos, flow.id)
    };
    let waiter = if expected == PacketType::Pubrel {
        "the sender never sent"
    } else {
        "never got"
    };
    let message = format!(
        "{what} (topic {:?}): {waiter} its {expected}: {why}",
        &*flow.topic
    );
    Finding::new(
        FindingKind::MissingAck,
        flow.origin(),
        flow.dir,
        flow.frames.to_vec(),
        ts,
        message,
    )
    .cites(rules::ack_duty(expected, version))
    .packet_id(flow.id)
    .expected(expected)
    .client(client_id.map(|id| &**id))
    .topic(&*flow.topic)
    .peers(flow.peers.as_ref())
}

/// A request/response latency sample, with `late_ack` when it exceeds the
/// timeout. `owner` is the connection the sample belongs to for the
/// filters: a flow's is the connection of its PUBLISH (its `connection`).
#[allow(clippy::too_many_arguments)]
pub(super) fn sample(
    c: &ConnAnalysis,
    env: &mut Env<'_, '_>,
    owner: ConnId,
    key: LatencyKey,
    dir: Direction,
    topic: Option<&str>,
    from: At,
    to: At,
    expected: PacketType,
    what: &dyn std::fmt::Display,
    packet_id: Option<u16>,
) -> Option<u64> {
    let Some(ns) = ns_between(from.ts, to.ts) else {
        env.tally.counters.negative_latencies += 1;
        return None;
    };
    if env.cfg.select.traffic(owner, c.client_id(), topic) {
        env.tally.latency(key, Some(dir), c.client_id(), topic, ns);
    }
    if ns > env.timeout_ns {
        let rule = rules::ack_duty(expected, c.rules_version());
        env.raise(
            c.finding(
                FindingKind::LateAck,
                dir,
                to,
                format!(
                    "{expected} for {what} came after {}, more than the ack timeout of {}",
                    ms(ns),
                    ms(env.timeout_ns)
                ),
            )
            .frames(frames_then(vec![from.frame], to.frame))
            .cites(rule)
            .packet_id(packet_id)
            .expected(expected)
            .topic(topic),
        );
    }
    Some(ns)
}
