//! PUBLISH and its acknowledgements: the QoS machine of [`super::qos`]
//! applied to each packet identifier of each direction, with the
//! bookkeeping around it — frames, latencies, Receive Maximum, granted QoS,
//! session redelivery, and the findings.

use super::catalogue::FindingKind;

use super::conn::{ConnAnalysis, Recent};
use super::env::{Env, frames_then, record, sample};
use super::flow::{Flow, Outcome};
use super::latency::LatencyKey;
use super::qos::{Fault, Msg, Next, Stage, transition};
use super::rules;
use super::store::SessionStore;
use super::subscriptions::Verdict;
use crate::base::{At, Direction};
use crate::mqtt::{PacketEvent, PacketType, ProtocolVersion, PubResp, Publish};
use std::sync::Arc;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// A PUBLISH in `ev.dir`.
pub(super) fn on_publish(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    ev: &PacketEvent<'_>,
    p: &Publish<'_>,
) {
    let dir = ev.dir;
    let at = ev.at();
    let topic = p.topic_name();
    if env.cfg.select.traffic(c.id, c.client_id(), Some(topic)) {
        env.tally.topic_message(topic);
    }
    let v5 = c.rules_version().is_some_and(ProtocolVersion::is_v5);
    if p.qos == 3 {
        let text = "PUBLISH has both QoS bits set (QoS 3): not a flow, the receiver must close the connection";
        env.raise(
            c.finding(FindingKind::InvalidQos, dir, at, text)
                .cites(rules::QOS_BITS)
                .packet_id(p.packet_id)
                .topic(topic),
        );
        return;
    }
    if p.dup && p.qos == 0 {
        env.raise(
            c.finding(
                FindingKind::DupOnQos0,
                dir,
                at,
                "QoS 0 PUBLISH has the DUP flag set",
            )
            .cites(rules::DUP_ZERO_ON_QOS0)
            .topic(topic),
        );
    }
    if v5 && dir == C2S {
        check_connack_limits(c, env, at, p);
    }
    if p.qos == 0 {
        if env.cfg.select.traffic(c.id, c.client_id(), Some(topic)) {
            env.tally.qos0(dir);
        }
        return;
    }
    let Some(id) = p.packet_id else {
        return;
    };
    if id == 0 {
        let text = format!(
            "QoS {} PUBLISH has packet identifier 0, which is never valid: no flow can follow",
            p.qos
        );
        env.raise(
            c.finding(FindingKind::PacketIdZero, dir, at, text)
                .cites(rules::nonzero_packet_id(dir, c.rules_version()))
                .packet_id(0)
                .topic(topic),
        );
        return;
    }
    if dir == S2C {
        check_grant(c, env, at, p, topic);
    }
    if dir == C2S && c.connect.is_none() && !c.midstream && c.unsure.client_to_server.is_none() {
        // Before any CONNECT (already a protocol_violation): the server must
        // close the connection, not acknowledge; no flow to lose.
        return;
    }
    let open = c.flows[dir].get(&id).map(|f| f.stage);
    let t = transition(
        open,
        Msg::Publish {
            qos: p.qos,
            dup: p.dup,
        },
    );
    match (open, t.next, t.fault) {
        (None, Next::Start(stage), _) => {
            if resume(c, store, env, ev, p, dir, id) {
                return;
            }
            if p.dup
                && let Some(r) = c.recent_mut(dir, id).copied()
            {
                let text = format!(
                    "PUBLISH id {id} re-sent with DUP=1 after its flow was already acknowledged (frame {}): the receiver takes it as a new message",
                    r.frame
                );
                env.raise(
                    c.finding(FindingKind::DuplicatePublish, dir, at, text)
                        .frames(frames_then(vec![r.frame], at.frame))
                        .cites(rules::RESEND_ON_RECONNECT)
                        .packet_id(id)
                        .topic(topic),
                );
            }
            if dir == C2S {
                publish_id_in_use(c, env, at, id, topic);
            }
            start(c, env, dir, id, stage, at, p, topic);
        }
        (Some(_), Next::Stay, Some(Fault::Duplicate)) => {
            let Some(flow) = c.flows[dir].get_mut(&id) else {
                return;
            };
            flow.resends = flow.resends.saturating_add(1);
            let frames = frames_then(flow.frames.to_vec(), at.frame);
            flow.touch(at.frame, at.ts);
            let (stage, first) = (flow.stage, flow.frames.first().copied().unwrap_or(at.frame));
            let after_pubrel = stage == Stage::AwaitPubcomp;
            let (text, rule) = if after_pubrel {
                (
                    format!(
                        "PUBLISH id {id} re-sent with DUP=1 after its PUBREL: the sender may not re-send it any more"
                    ),
                    rules::NO_PUBLISH_AFTER_PUBREL,
                )
            } else {
                (
                    format!(
                        "PUBLISH id {id} re-sent with DUP=1 while its first copy (frame {first}) is unacknowledged; re-sending is only called for after a reconnect"
                    ),
                    rules::RESEND_ON_RECONNECT,
                )
            };
            env.raise(
                c.finding(FindingKind::DuplicatePublish, dir, at, text)
                    .frames(frames)
                    .cites(rule)
                    .packet_id(id)
                    .topic(topic),
            );
        }
        (Some(_), Next::Start(stage), Some(Fault::IdInUse)) => {
            let Some(old) = c.flows[dir].remove(&id) else {
                return;
            };
            let text = format!(
                "new PUBLISH (DUP=0) reuses packet identifier {id} while the flow of frame {} is unfinished (awaiting {}); that message was never acknowledged",
                old.frames.first().copied().unwrap_or_default(),
                old.stage.expected()
            );
            env.raise(
                c.finding(FindingKind::PacketIdInUse, dir, at, text)
                    .frames(frames_then(old.frames.to_vec(), at.frame))
                    .cites(rules::unused_packet_id(dir, c.rules_version()))
                    .packet_id(id)
                    .topic(topic),
            );
            let client = c.client().cloned();
            env.flow(record(
                old,
                at.ts,
                client.as_ref(),
                false,
                Some(Outcome::Superseded),
                None,
            ));
            start(c, env, dir, id, stage, at, p, topic);
        }
        _ => {}
    }
}

/// 5.0: the CONNACK's Maximum QoS and Retain Available bind the client.
fn check_connack_limits(c: &ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Publish<'_>) {
    let Some(a) = &c.connack else {
        return;
    };
    if let Some(max) = a.maximum_qos
        && p.qos > max
        && p.qos <= 2
    {
        env.raise(
            c.finding(
                FindingKind::ProtocolViolation,
                C2S,
                at,
                format!(
                    "QoS {} PUBLISH although the CONNACK (frame {}) allows at most QoS {max}",
                    p.qos, a.at.frame
                ),
            )
            .frames(frames_then(vec![a.at.frame], at.frame))
            .cites(rules::MAXIMUM_QOS),
        );
    }
    if p.retain && a.retain_available == Some(0) {
        env.raise(
            c.finding(
                FindingKind::ProtocolViolation,
                C2S,
                at,
                format!(
                    "retained PUBLISH although the CONNACK (frame {}) says Retain Available = 0",
                    a.at.frame
                ),
            )
            .frames(frames_then(vec![a.at.frame], at.frame))
            .cites(rules::RETAIN_AVAILABLE),
        );
    }
}

/// A broker delivery above every matching subscription's grant.
fn check_grant(c: &ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Publish<'_>, topic: &str) {
    if c.unsure.client_to_server.is_some() {
        return;
    }
    if let Verdict::Limit { qos, frames } = c.subs.limit_for(topic)
        && p.qos > qos
    {
        let text = format!(
            "broker delivers {topic:?} at QoS {} but granted at most QoS {qos} to the matching subscriptions",
            p.qos
        );
        env.raise(
            c.finding(FindingKind::QosExceedsGrant, S2C, at, text)
                .frames(frames_then(frames, at.frame))
                .cites(rules::granted_qos(c.rules_version()))
                .packet_id(p.packet_id)
                .topic(topic),
        );
    }
}

/// A client PUBLISH reusing the identifier of an unanswered SUBSCRIBE / UNSUBSCRIBE.
fn publish_id_in_use(c: &ConnAnalysis, env: &mut Env<'_, '_>, at: At, id: u16, topic: &str) {
    let pending = c.subscribes.get(&id).or_else(|| c.unsubscribes.get(&id));
    if let Some(p) = pending {
        let text = format!(
            "PUBLISH uses packet identifier {id}, still in use by the unanswered request of frame {}",
            p.at.frame
        );
        env.raise(
            c.finding(FindingKind::PacketIdInUse, C2S, at, text)
                .frames(frames_then(vec![p.at.frame], at.frame))
                .cites(rules::unused_packet_id(C2S, c.rules_version()))
                .packet_id(id)
                .topic(topic),
        );
    }
}

/// Opens a flow (unless the in-flight cap is reached) and checks Receive Maximum.
#[allow(clippy::too_many_arguments)]
fn start(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    dir: Direction,
    id: u16,
    stage: Stage,
    at: At,
    p: &Publish<'_>,
    topic: &str,
) {
    let cap = env.cfg.max_inflight_per_direction;
    if c.flows[dir].len() >= cap {
        env.tally.counters.flows_not_tracked += 1;
        c.untracked[dir] = true;
        if !c.inflight_reported[dir] {
            c.inflight_reported[dir] = true;
            env.warnings.push(crate::base::Warning::at(
                at.frame,
                format!(
                    "connection {}: more than {cap} QoS 1/2 messages in flight {}; further ones are not followed",
                    c.id,
                    dir.as_str()
                ),
            ));
            let text = format!(
                "{cap} QoS 1/2 flows are open in this direction (the analyzer's limit): PUBLISH id {id} and later ones are not followed"
            );
            env.raise(
                c.finding(FindingKind::InflightLimit, dir, at, text)
                    .packet_id(id),
            );
        }
        return;
    }
    let topic = c.topics.get(topic);
    let flow = Flow::new(c.id, dir, id, stage, at, topic, p.payload_hash()).on(c.peers.as_ref());
    c.flows[dir].insert(id, flow);
    check_receive_maximum(c, env, dir, id, at);
}

fn check_receive_maximum(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    dir: Direction,
    id: u16,
    at: At,
) {
    let Some(max) = c.receive_maximum(dir) else {
        return;
    };
    let open = c.flows[dir].len();
    if open <= usize::from(max) || c.rm_exceeded[dir] {
        return;
    }
    c.rm_exceeded[dir] = true;
    let (by, from) = match dir {
        C2S => ("CONNACK", c.connack.as_ref().map(|a| a.at.frame)),
        S2C => ("CONNECT", c.connect.as_ref().map(|x| x.at.frame)),
    };
    let mut others: Vec<u16> = c.flows[dir].keys().copied().filter(|&k| k != id).collect();
    others.sort_unstable();
    let listed: Vec<String> = others.iter().take(8).map(u16::to_string).collect();
    let more = if others.len() > 8 { ", …" } else { "" };
    let text = format!(
        "PUBLISH id {id} makes {open} unacknowledged QoS 1/2 PUBLISHes in flight (ids {}{more} before it), above the Receive Maximum {max} of the {by}{}",
        listed.join(", "),
        from.map(|f| format!(" (frame {f})")).unwrap_or_default()
    );
    env.raise(
        c.finding(FindingKind::ReceiveMaximumExceeded, dir, at, text)
            .cites(rules::receive_maximum(dir))
            .packet_id(id),
    );
}

/// The packet continues a flow of the resumed session (MQTT-4.4.0-1):
/// moves it from the session into this connection's open flows.
fn take_resumable(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    dir: Direction,
    id: u16,
) -> Option<Flow> {
    if let Some(f) = c.resumable[dir].remove(&id) {
        return Some(f);
    }
    if c.connack.as_ref().is_some_and(|a| a.session_present) {
        let client = Arc::clone(c.client()?);
        return store.take_flow(&client, dir, id);
    }
    None
}

/// A PUBLISH that re-sends a flow of the resumed session; `true` if it did.
#[allow(clippy::too_many_arguments)]
fn resume(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    ev: &PacketEvent<'_>,
    p: &Publish<'_>,
    dir: Direction,
    id: u16,
) -> bool {
    let at = ev.at();
    let Some(mut flow) = take_resumable(c, store, dir, id) else {
        return false;
    };
    let same = flow.payload_hash == p.payload_hash()
        && *flow.topic == *super::flow::clip(p.topic_name(), super::flow::MAX_TOPIC_LEN);
    if !p.dup && !same {
        // A different message under the identifier of an unacknowledged one.
        let text = format!(
            "new PUBLISH (DUP=0) reuses packet identifier {id} of the resumed session's unacknowledged message (frame {} on connection {}), which is never re-sent",
            flow.frames.first().copied().unwrap_or_default(),
            flow.origin()
        );
        env.raise(
            c.finding(FindingKind::PacketIdInUse, dir, at, text)
                .frames(frames_then(flow.frames.to_vec(), at.frame))
                .cites(rules::unused_packet_id(dir, c.rules_version()))
                .packet_id(id),
        );
        let client = c.client().cloned();
        flow.resume_on(c.id);
        env.flow(record(
            flow,
            at.ts,
            client.as_ref(),
            false,
            Some(Outcome::Superseded),
            None,
        ));
        return false;
    }
    if !p.dup {
        env.raise(
            c.finding(
                FindingKind::ProtocolViolation,
                dir,
                at,
                format!("PUBLISH id {id} re-delivered after the reconnect with DUP=0"),
            )
            .frames(frames_then(flow.frames.to_vec(), at.frame))
            .cites(rules::DUP_ON_REDELIVERY),
        );
    }
    flow.resume_on(c.id);
    flow.resends = flow.resends.saturating_add(1);
    flow.touch(at.frame, at.ts);
    if matches!(flow.stage, Stage::AwaitPuback | Stage::AwaitPubrec) {
        flow.stage_at = at;
    }
    c.flows[dir].insert(id, flow);
    check_receive_maximum(c, env, dir, id, at);
    true
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP in `ev.dir`.
pub(super) fn on_ack(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    ev: &PacketEvent<'_>,
    t: PacketType,
    p: &PubResp<'_>,
) {
    let at = ev.at();
    let id = p.packet_id;
    // PUBREL travels with the PUBLISH, the others against it.
    let flow_dir = if t == PacketType::Pubrel {
        ev.dir
    } else {
        ev.dir.reverse()
    };
    if id == 0 {
        env.raise(
            c.finding(
                FindingKind::PacketIdZero,
                ev.dir,
                at,
                format!("{t} has packet identifier 0, which no flow can have"),
            )
            .cites(rules::ack_matches_request(t, c.rules_version()))
            .packet_id(0),
        );
        return;
    }
    let code = p.reason_code.map(|r| r.0);
    let error = code.is_some_and(|r| r >= 0x80);
    let Some(msg) = Msg::ack(t, error) else {
        return;
    };
    let mut resumed_now = false;
    let mut flow = match c.flows[flow_dir].remove(&id) {
        Some(f) => f,
        None => match take_resumable(c, store, flow_dir, id) {
            Some(mut f) => {
                f.resume_on(c.id);
                if t == PacketType::Pubrel {
                    f.resends = f.resends.saturating_add(1);
                }
                resumed_now = true;
                f
            }
            None => {
                stray_ack(c, env, at, t, flow_dir, id);
                return;
            }
        },
    };
    let before = flow.stage;
    let tr = transition(Some(before), msg);
    flow.touch(at.frame, at.ts);
    // An ack at the wrong stage (e.g. PUBCOMP before PUBREL) is reported
    // once, whether the flow moves on or stays where it was.
    let faulty = tr.fault.is_some() && matches!(tr.next, Next::Advance(_) | Next::Stay);
    if faulty {
        wrong_stage(
            c,
            env,
            at,
            t,
            flow_dir,
            id,
            before,
            frames_then(flow.frames.to_vec(), at.frame),
        );
    }
    match tr.next {
        Next::Complete { error } => {
            if !resumed_now {
                measure(c, env, &mut flow, before, at, t);
            }
            c.remember(
                flow_dir,
                Recent {
                    id,
                    frame: at.frame,
                    extra_acks: flow.resends,
                },
            );
            release_quota(c, flow_dir);
            let outcome = if error {
                Some(Outcome::Error)
            } else if flow.redelivered {
                Some(Outcome::Redelivered)
            } else {
                None
            };
            env.flow(record(
                flow,
                at.ts,
                c.client(),
                true,
                outcome,
                code.filter(|_| error),
            ));
        }
        Next::Advance(next) => {
            if !faulty && !resumed_now {
                measure(c, env, &mut flow, before, at, t);
            }
            flow.stage = next;
            flow.stage_at = at;
            c.flows[flow_dir].insert(id, flow);
        }
        Next::Stay => {
            if !faulty && resumed_now {
                // A PUBREL re-sent after the reconnect: PUBCOMP answers it.
                flow.stage_at = at;
            }
            c.flows[flow_dir].insert(id, flow);
        }
        Next::Abort => {
            release_quota(c, flow_dir);
            env.raise(
                c.finding(
                    FindingKind::WrongAckType,
                    flow_dir,
                    at,
                    format!(
                        "QoS {} PUBLISH id {id} answered with {t}; QoS {} calls for {}",
                        flow.qos,
                        flow.qos,
                        if flow.qos == 1 {
                            "PUBACK"
                        } else {
                            "PUBREC, PUBREL, PUBCOMP"
                        }
                    ),
                )
                .frames(frames_then(flow.frames.to_vec(), at.frame))
                .cites(rules::RESPONSE_BY_QOS)
                .packet_id(id)
                .topic(&*flow.topic),
            );
            env.flow(record(
                flow,
                at.ts,
                c.client(),
                false,
                Some(Outcome::WrongAck),
                None,
            ));
        }
        Next::Start(_) | Next::Ignore => {
            c.flows[flow_dir].insert(id, flow);
        }
    }
}

/// The latency sample(s) of the step `before --t--> …` of `flow`.
fn measure(
    c: &ConnAnalysis,
    env: &mut Env<'_, '_>,
    flow: &mut Flow,
    before: Stage,
    at: At,
    t: PacketType,
) {
    let key = match (before, t) {
        (Stage::AwaitPuback, PacketType::Puback) => LatencyKey::Puback,
        (Stage::AwaitPubrec, PacketType::Pubrec) => LatencyKey::Pubrec,
        (Stage::AwaitPubrel, PacketType::Pubrel) => LatencyKey::Pubrel,
        (Stage::AwaitPubcomp, PacketType::Pubcomp) => LatencyKey::Pubcomp,
        _ => return,
    };
    // Formatted only when a late ack is reported: this runs for every ack.
    let what = format_args!("QoS {} PUBLISH id {}", flow.qos, flow.id);
    if let Some(ns) = sample(
        c,
        env,
        flow.origin,
        key,
        flow.dir,
        Some(&flow.topic),
        flow.stage_at,
        at,
        t,
        &what,
        Some(flow.id),
    ) {
        flow.samples.samples.push((key, ns));
    }
    if key == LatencyKey::Pubcomp
        && !flow.redelivered
        && let Some(ns) = super::env::ns_between(flow.publish_ts, at.ts)
        && env
            .cfg
            .select
            .traffic(flow.origin, c.client_id(), Some(&flow.topic))
    {
        env.tally.latency(
            LatencyKey::Qos2Total,
            Some(flow.dir),
            c.client_id(),
            Some(&flow.topic),
            ns,
        );
        flow.samples.samples.push((LatencyKey::Qos2Total, ns));
    }
}

/// A flow left the in-flight count of `dir`.
fn release_quota(c: &mut ConnAnalysis, dir: Direction) {
    if let Some(max) = c.receive_maximum(dir)
        && c.flows[dir].len() <= usize::from(max)
    {
        c.rm_exceeded[dir] = false;
    }
}

/// An ack of the flow's QoS that is not the one awaited.
#[allow(clippy::too_many_arguments)]
fn wrong_stage(
    c: &ConnAnalysis,
    env: &mut Env<'_, '_>,
    at: At,
    t: PacketType,
    flow_dir: Direction,
    id: u16,
    before: Stage,
    frames: Vec<u64>,
) {
    let v = c.rules_version();
    let (text, rule) = match (t, before) {
        (PacketType::Pubrel, Stage::AwaitPuback) => (
            format!("PUBREL id {id} for a QoS 1 flow (PUBREL belongs to QoS 2)"),
            rules::RESPONSE_BY_QOS,
        ),
        (PacketType::Pubcomp, Stage::AwaitPuback) => (
            format!("PUBCOMP id {id} for a QoS 1 flow (PUBCOMP belongs to QoS 2)"),
            rules::RESPONSE_BY_QOS,
        ),
        (PacketType::Pubrel, _) => (
            format!("PUBREL id {id} before any PUBREC: the sender may only release after PUBREC"),
            rules::ack_duty(PacketType::Pubrel, v),
        ),
        (PacketType::Pubcomp, _) => (
            format!(
                "PUBCOMP id {id} while the flow awaits {}: PUBCOMP answers a PUBREL",
                before.expected()
            ),
            rules::ack_duty(PacketType::Pubcomp, v),
        ),
        _ => (
            format!(
                "{t} id {id} while the flow awaits {}: it answers nothing",
                before.expected()
            ),
            rules::ack_matches_request(t, v),
        ),
    };
    env.raise(
        c.finding(FindingKind::UnexpectedAck, at_dir(t, flow_dir), at, text)
            .frames(frames)
            .cites(rule)
            .packet_id(id),
    );
}

/// An ack with no open flow.
fn stray_ack(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    at: At,
    t: PacketType,
    flow_dir: Direction,
    id: u16,
) {
    let receiver_ack = t != PacketType::Pubrel;
    if receiver_ack
        && let Some(r) = c.recent_mut(flow_dir, id)
        && r.extra_acks > 0
    {
        // The second ack of a PUBLISH that was sent twice.
        r.extra_acks -= 1;
        return;
    }
    if c.publishes_unknown(flow_dir) {
        env.tally.counters.acks_without_publish += 1;
        return;
    }
    let text = match t {
        PacketType::Pubrel => format!(
            "PUBREL id {id} with no PUBLISH / PUBREC before it: the sender released a message it never sent"
        ),
        _ => format!("{t} id {id} acknowledges no PUBLISH (none is open with that identifier)"),
    };
    env.raise(
        c.finding(FindingKind::UnexpectedAck, at_dir(t, flow_dir), at, text)
            .cites(rules::ack_matches_request(t, c.rules_version()))
            .packet_id(id),
    );
}

/// The direction the ack itself travelled.
fn at_dir(t: PacketType, flow_dir: Direction) -> Direction {
    if t == PacketType::Pubrel {
        flow_dir
    } else {
        flow_dir.reverse()
    }
}
