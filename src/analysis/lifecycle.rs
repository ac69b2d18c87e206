//! The ends of things: a connection that closes (its open flows are lost,
//! saved for a reconnect, or cut off by the end of the capture), the live
//! timer that declares overdue flows missing, and the end of the capture.

use super::catalogue::FindingKind;
use super::conn::{ConnAnalysis, ConnectionMqtt, Pending};
use super::control::check_keepalive;
use super::env::{Env, TICK_EVERY_NS, give_up, missing_finding, ms, ns_between, record};
use super::flow::{Flow, Outcome};
use super::rules;
use super::shared::{AnalysisEvent, Shared};
use super::store::SavedSession;
use super::summary::AnalysisSummary;
use crate::base::{At, Direction, Timestamp, Warning};
use crate::mqtt::PacketType;
use crate::tcp::CloseKind;
use std::sync::Arc;

/// `ts + ns`.
fn plus(ts: Timestamp, ns: u64) -> Timestamp {
    Timestamp::new(ts.secs, u64::from(ts.nanos).saturating_add(ns), ts.digits)
}

/// Whether the ack `flow` awaits may have been in bytes lost after its last packet.
fn ack_maybe_lost(c: &ConnAnalysis, flow: &Flow) -> bool {
    let ack_dir = if flow.stage.awaits_receiver() {
        flow.dir.reverse()
    } else {
        flow.dir
    };
    c.lost_since(ack_dir, flow.last_ts)
}

/// The requests of `c` still waiting, oldest first.
fn pending_requests(c: &mut ConnAnalysis) -> Vec<(PacketType, u16, Pending)> {
    let mut all: Vec<(PacketType, u16, Pending)> = c
        .subscribes
        .drain()
        .map(|(id, p)| (PacketType::Suback, id, p))
        .chain(
            c.unsubscribes
                .drain()
                .map(|(id, p)| (PacketType::Unsuback, id, p)),
        )
        .collect();
    if let Some(connect) = c.connect.as_ref().filter(|_| c.connack.is_none()) {
        all.push((
            PacketType::Connack,
            0,
            Pending {
                at: connect.at,
                filters: Vec::new(),
                reported: c.connack_missing_reported,
            },
        ));
    }
    for ping in c.pings.drain(..) {
        all.push((
            PacketType::Pingresp,
            0,
            Pending {
                at: ping.at,
                filters: Vec::new(),
                reported: ping.reported,
            },
        ));
    }
    all.sort_by_key(|(_, id, p)| (p.at.ts, p.at.frame, *id));
    all
}

/// `missing_ack` for a CONNECT / SUBSCRIBE / UNSUBSCRIBE / PINGREQ unanswered for `waited`.
fn missing_answer(
    c: &ConnAnalysis,
    env: &mut Env<'_, '_>,
    (expected, id, p): (PacketType, u16, &Pending),
    waited: u64,
    now: Timestamp,
    why: &str,
) {
    let request = match expected {
        PacketType::Suback => format!("SUBSCRIBE id {id}"),
        PacketType::Unsuback => format!("UNSUBSCRIBE id {id}"),
        PacketType::Connack => "CONNECT".to_string(),
        _ => "PINGREQ".to_string(),
    };
    env.raise(
        c.finding(
            FindingKind::MissingAck,
            Direction::ClientToServer,
            At {
                frame: p.at.frame,
                ts: now,
            },
            format!("{request} got no {expected} in {} ({why})", ms(waited)),
        )
        .cites(rules::ack_duty(expected, c.rules_version()))
        .expected(expected)
        .packet_id(matches!(expected, PacketType::Suback | PacketType::Unsuback).then_some(id)),
    );
}

impl Shared {
    /// The TCP connection ended (`how`: FIN, RST, or still open when the
    /// capture or the idle timeout ended it). Its open flows are reported as
    /// `missing_ack` — unless the session outlives the connection (clean
    /// session 0, or 5.0 session expiry > 0) and the connection really
    /// closed: then they wait for the client's next connection. A flow of a
    /// connection still open at the end that has waited less than the ack
    /// timeout is only "cut off" by the end of the capture.
    ///
    /// Returns the MQTT side of the connection for the report (`None` when
    /// no MQTT packet was seen); the connection's state is dropped.
    pub fn end(
        &mut self,
        mut c: ConnAnalysis,
        end: At,
        how: CloseKind,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) -> Option<ConnectionMqtt> {
        let At { frame, ts } = end;
        let (store, mut env) = self.split(out);
        if how == CloseKind::Open {
            // Still open when the capture (or the idle timeout, or the
            // table cap) stopped following it: the silence is proven up to
            // then, and the frame cited is the connection's own last one.
            let own = At {
                frame: c.last_at.map_or(frame, |a| a.frame),
                ts,
            };
            let until = "until the capture stopped following the still-open connection";
            check_keepalive(&mut c, &mut env, own, until);
        } else {
            check_keepalive(&mut c, &mut env, end, "until the connection ended");
        }
        let summary = c.has_mqtt().then(|| c.mqtt_summary());
        let client = c.client().cloned();
        let version = c.version;
        for (expected, id, p) in pending_requests(&mut c) {
            if p.reported {
                continue;
            }
            let waited = ns_between(p.at.ts, ts).unwrap_or(0);
            if waited >= env.timeout_ns && !c.lost_since(Direction::ServerToClient, p.at.ts) {
                missing_answer(
                    &c,
                    &mut env,
                    (expected, id, &p),
                    waited,
                    ts,
                    "the connection stayed up longer than the ack timeout",
                );
            } else {
                env.tally.counters.requests_unanswered_at_close += 1;
            }
        }
        let mut flows = c.drain_flows();
        for f in &mut flows {
            f.ack_maybe_lost |= ack_maybe_lost(&c, f);
        }
        if how == CloseKind::Open {
            for f in flows {
                let waited = ns_between(f.stage_at.ts, ts).unwrap_or(0);
                if !f.reported_missing && !f.ack_maybe_lost && waited < env.timeout_ns {
                    env.flow(record(
                        f,
                        ts,
                        client.as_ref(),
                        false,
                        Some(Outcome::CutOff),
                        None,
                    ));
                } else {
                    let why = format!(
                        "still unanswered {} later, when the capture stopped following the open connection",
                        ms(waited)
                    );
                    give_up(&mut env, f, client.as_ref(), version, &why, ts);
                }
            }
        } else if let Some(id) = client.as_ref().filter(|_| c.session_persists()) {
            env.tally.counters.sessions_saved += 1;
            let subs = std::mem::take(&mut c.subs);
            let subs = subs.is_complete().then_some(subs);
            let saved = SavedSession::new(Arc::clone(id), flows, subs, c.id, end, version);
            let (lost, evicted) = store.save(saved);
            for f in lost {
                give_up(
                    &mut env,
                    f,
                    Some(id),
                    version,
                    "a later connection of the session left a newer message with the same identifier",
                    ts,
                );
            }
            for s in evicted {
                env.tally.counters.sessions_evicted += 1;
                env.warnings.push(Warning::at(
                    frame,
                    format!(
                        "more than {} closed sessions kept for a reconnect: gave up the oldest (client {:?}, closed at frame {})",
                        env.cfg.max_saved_sessions, s.client_id, s.ended.frame
                    ),
                ));
                let why = "its session was dropped from the analysis (too many sessions waiting for a reconnect)";
                for f in s.flows {
                    give_up(&mut env, f, Some(&s.client_id), s.version, why, ts);
                }
            }
        } else {
            let closed = match how {
                CloseKind::Rst => "the connection was reset (RST) first",
                _ => "the connection was closed (FIN) first",
            };
            let why = match &c.connack {
                Some(a) if !a.accepted => format!(
                    "the server refused the CONNECT (CONNACK frame {}), so it processes nothing the client sent, and {closed}",
                    a.at.frame
                ),
                _ if c.connect.is_some() => format!("{closed}, and the session ended with it"),
                _ => closed.to_string(),
            };
            for f in flows {
                give_up(&mut env, f, client.as_ref(), version, &why, ts);
            }
        }
        summary
    }

    /// Whether a live [`tick`](Self::tick) has anything to look at by `now`
    /// (cheap: callers check it before gathering the connections).
    pub fn tick_due(&self, now: Timestamp) -> bool {
        self.cfg.live && self.next_tick.is_some_and(|t| now >= t)
    }

    /// Live mode: reports flows and requests unanswered for longer than
    /// the ack timeout (`missing_ack`, once each; a late answer still
    /// completes the flow and adds `late_ack`) and clients silent for more
    /// than 1.5 × their keep alive. Does nothing before the earliest
    /// deadline, and looks at all connections at most once per 100 ms of
    /// capture time (so a report may come up to that much after its
    /// deadline); it may be called for every frame. `conns` are all open
    /// connections, in connection order (the order of the reports).
    pub fn tick<'c>(
        &mut self,
        now: Timestamp,
        conns: impl IntoIterator<Item = &'c mut ConnAnalysis>,
        out: &mut dyn FnMut(AnalysisEvent<'_>),
    ) {
        if !self.tick_due(now) {
            return;
        }
        let (_, mut env) = self.split(out);
        let timeout = env.timeout_ns;
        let mut next: Option<Timestamp> = None;
        let mut soonest = |t: Timestamp| {
            if next.is_none_or(|n| t < n) {
                next = Some(t);
            }
        };
        for c in conns {
            let frame = c.last_at.map_or(0, |a| a.frame);
            check_keepalive(c, &mut env, At { frame, ts: now }, "until now");
            if let (Some(ka), Some(last)) = (c.keepalive_ns(), c.last_client)
                && !c.keepalive_off
                && !c.keepalive_reported
            {
                soonest(plus(last.ts, ka.saturating_mul(3) / 2));
            }
            let client = c.client().cloned();
            let version = c.version;
            let mut due: Vec<(Direction, u16)> = Vec::new();
            for table in c.flows.values() {
                for f in table.values().filter(|f| !f.reported_missing) {
                    let deadline = plus(f.stage_at.ts, timeout);
                    if now >= deadline {
                        due.push((f.dir, f.id));
                    } else {
                        soonest(deadline);
                    }
                }
            }
            due.sort_unstable();
            for (dir, fid) in due {
                let Some(f) = c.flows[dir].get(&fid) else {
                    continue;
                };
                if ack_maybe_lost(c, f) {
                    // Not proven: the connection's end calls it unverifiable.
                    continue;
                }
                let why = format!("no answer within the ack timeout of {}", ms(timeout));
                let finding = missing_finding(f, client.as_ref(), version, &why, now);
                if let Some(f) = c.flows[dir].get_mut(&fid) {
                    f.reported_missing = true;
                }
                env.raise(finding);
            }
            let mut late_requests: Vec<(PacketType, u16, Pending)> = Vec::new();
            for (t, table) in [
                (PacketType::Suback, &mut c.subscribes),
                (PacketType::Unsuback, &mut c.unsubscribes),
            ] {
                for (rid, p) in table.iter_mut().filter(|(_, p)| !p.reported) {
                    let deadline = plus(p.at.ts, timeout);
                    if now >= deadline {
                        p.reported = true;
                        late_requests.push((t, *rid, p.clone()));
                    } else {
                        soonest(deadline);
                    }
                }
            }
            if let Some(connect) = c.connect.as_ref().filter(|_| c.connack.is_none())
                && !c.connack_missing_reported
            {
                let deadline = plus(connect.at.ts, timeout);
                if now >= deadline {
                    let at = connect.at;
                    c.connack_missing_reported = true;
                    late_requests.push((
                        PacketType::Connack,
                        0,
                        Pending {
                            at,
                            filters: Vec::new(),
                            reported: true,
                        },
                    ));
                } else {
                    soonest(deadline);
                }
            }
            for ping in c.pings.iter_mut().filter(|p| !p.reported) {
                let deadline = plus(ping.at.ts, timeout);
                if now >= deadline {
                    ping.reported = true;
                    late_requests.push((
                        PacketType::Pingresp,
                        0,
                        Pending {
                            at: ping.at,
                            filters: Vec::new(),
                            reported: true,
                        },
                    ));
                } else {
                    soonest(deadline);
                }
            }
            late_requests.sort_by_key(|(_, rid, p)| (p.at.ts, *rid));
            for (t, rid, p) in late_requests {
                let waited = ns_between(p.at.ts, now).unwrap_or(0);
                missing_answer(
                    c,
                    &mut env,
                    (t, rid, &p),
                    waited,
                    now,
                    "no answer within the ack timeout",
                );
            }
        }
        self.next_tick = next.map(|n| n.max(plus(now, TICK_EVERY_NS)));
    }

    /// Live mode: a packet of `c` may have opened something with a
    /// deadline; make sure `tick` looks again by then.
    pub(super) fn arm_tick(&mut self, c: &ConnAnalysis) {
        let Some(last) = c.last_at else {
            return;
        };
        let mut wait = self.timeout_ns;
        if let Some(ka) = c.keepalive_ns() {
            wait = wait.min(ka.saturating_mul(3) / 2);
        }
        let candidate = plus(last.ts, wait);
        if self.next_tick.is_none_or(|t| candidate < t) {
            self.next_tick = Some(candidate);
        }
    }

    /// The end of the capture, after every connection [`end`](Self::end)ed:
    /// gives up every saved session that no connection resumed
    /// (`missing_ack`), and returns the summary.
    pub fn finish(&mut self, out: &mut dyn FnMut(AnalysisEvent<'_>)) -> AnalysisSummary {
        let last = self.last;
        let (store, mut env) = self.split(out);
        for s in store.drain() {
            let ts = last.map_or(s.ended.ts, |l| l.ts.max(s.ended.ts));
            let why = format!(
                "connection {} closed (frame {}) and no later connection resumed the session of client {:?} before the capture ended",
                s.conn, s.ended.frame, s.client_id
            );
            for f in s.flows {
                give_up(&mut env, f, Some(&s.client_id), s.version, &why, ts);
            }
        }
        self.tally.summary()
    }
}
