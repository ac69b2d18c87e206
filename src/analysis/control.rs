//! Everything about a packet that is not a QoS flow: the checks every
//! packet goes through (parser violations, packet order, keep alive), then
//! CONNECT / CONNACK (session start and resumption), SUBSCRIBE / SUBACK,
//! UNSUBSCRIBE / UNSUBACK, PINGREQ / PINGRESP and DISCONNECT.

use super::catalogue::FindingKind;
use super::conn::{
    ConnAnalysis, ConnackInfo, ConnectInfo, MAX_PENDING_PINGS, MAX_PENDING_REQUESTS, Pending, Ping,
};
use super::env::{Env, frames_then, give_up, ms, ns_between, sample};
use super::finding::Finding;
use super::latency::LatencyKey;
use super::publish;
use super::rules;
use super::store::SessionStore;
use super::subscriptions::Subscriptions;
use crate::base::At;
use crate::base::{Direction, PerDir};
use crate::mqtt::spec::Rule;
use crate::mqtt::{
    Connack, Connect, Packet, PacketEvent, PacketType, ProtocolVersion, Suback, Subscribe,
    Unsuback, Unsubscribe,
};
use std::sync::Arc;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

/// One decoded packet of connection `c`.
pub(super) fn on_packet(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    ev: &PacketEvent<'_>,
) {
    let p = ev.packet;
    let t = p.packet_type();
    let dir = ev.dir;
    let at = ev.at();
    c.count(t);
    c.last_at = Some(at);
    if c.connect.is_none() {
        c.version = Some(ev.version);
    }
    // A capture that started just before the client's first packet has
    // seen everything after all.
    if c.midstream
        && dir == C2S
        && t == PacketType::Connect
        && !c.seen.client_to_server
        && !c.seen.server_to_client
    {
        c.midstream = false;
        c.unsure = PerDir::default();
    }
    if dir == C2S {
        check_keepalive(c, env, at, "until this packet");
        c.last_client = Some(at);
        c.keepalive_reported = false;
    }
    for v in ev.violations {
        if FindingKind::absorbing(v).is_none() {
            env.raise(
                c.finding(
                    FindingKind::ProtocolViolation,
                    dir,
                    ev.at(),
                    v.message.clone(),
                )
                .frames(frames_then(vec![ev.start_frame], ev.frame))
                .cites(v.rule),
            );
        }
    }
    let proceed = check_order(c, env, t, dir, at);
    c.seen[dir] = true;
    if proceed {
        match p {
            Packet::Connect(x) => on_connect(c, store, env, at, x),
            Packet::Connack(x) => on_connack(c, store, env, at, x),
            Packet::Publish(x) => publish::on_publish(c, store, env, ev, x),
            Packet::Puback(x) | Packet::Pubrec(x) | Packet::Pubrel(x) | Packet::Pubcomp(x) => {
                publish::on_ack(c, store, env, ev, t, x)
            }
            Packet::Subscribe(x) => on_subscribe(c, env, at, x),
            Packet::Suback(x) => on_suback(c, env, at, x),
            Packet::Unsubscribe(x) => on_unsubscribe(c, env, at, x),
            Packet::Unsuback(x) => on_unsuback(c, env, at, x),
            Packet::Pingreq(_) => on_pingreq(c, at),
            Packet::Pingresp(_) => on_pingresp(c, env, at),
            Packet::Disconnect(x) => on_disconnect(c, env, at, dir, x),
            Packet::Auth(_) => {}
        }
    }
}

fn violation(c: &ConnAnalysis, dir: Direction, at: At, rule: Rule, text: String) -> Finding {
    c.finding(FindingKind::ProtocolViolation, dir, at, text)
        .cites(rule)
}

/// Which side may send a packet type (5.0 section 2.1.2; 3.x servers send
/// no DISCONNECT and there is no AUTH).
fn sent_by(t: PacketType, v5: bool) -> (bool, bool) {
    use PacketType::*;
    match t {
        Connect | Subscribe | Unsubscribe | Pingreq => (true, false),
        Connack | Suback | Unsuback | Pingresp => (false, true),
        Disconnect => (true, v5),
        _ => (true, true),
    }
}

/// Packet order checks; `false` when the packet must not be processed further.
fn check_order(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    t: PacketType,
    dir: Direction,
    at: At,
) -> bool {
    let v = c.rules_version();
    let v5 = v.is_some_and(ProtocolVersion::is_v5);
    let (by_client, by_server) = sent_by(t, v5);
    let allowed = match dir {
        C2S => by_client,
        S2C => by_server,
    };
    if !allowed {
        if !c.midstream && !c.wrong_direction_reported {
            c.wrong_direction_reported = true;
            let who = if dir == C2S { "client" } else { "server" };
            let text = format!("{t} sent by the {who}, which may not send it");
            env.raise(violation(
                c,
                dir,
                at,
                if v5 {
                    Rule::new("2.1.2")
                } else {
                    Rule::new("2.2.1")
                },
                text,
            ));
        }
        return false;
    }
    let mut proceed = true;
    match dir {
        C2S => {
            if t == PacketType::Connect {
                if let Some(first) = &c.connect {
                    let frames = frames_then(vec![first.at.frame], at.frame);
                    let text = format!(
                        "second CONNECT on the connection (the first was frame {})",
                        first.at.frame
                    );
                    env.raise(violation(c, dir, at, rules::CONNECT_ONCE, text).frames(frames));
                    proceed = false;
                }
            } else if c.connect.is_none()
                && !c.midstream
                && c.unsure.client_to_server.is_none()
                && !c.before_connect_reported
            {
                c.before_connect_reported = true;
                let text =
                    format!("{t} before any CONNECT: the client's first packet must be CONNECT");
                env.raise(violation(c, dir, at, rules::CONNECT_FIRST, text));
            }
            if c.connect.as_ref().is_some_and(|x| x.auth_method)
                && c.connack.is_none()
                && !matches!(
                    t,
                    PacketType::Auth | PacketType::Disconnect | PacketType::Connect
                )
                && !c.auth_order_reported
            {
                c.auth_order_reported = true;
                let text = format!(
                    "{t} before CONNACK although the CONNECT asked for enhanced authentication"
                );
                env.raise(violation(c, dir, at, rules::AUTH_BEFORE_CONNACK, text));
            }
        }
        S2C => {
            if t == PacketType::Connack {
                if let Some(first) = &c.connack {
                    let frames = frames_then(vec![first.at.frame], at.frame);
                    let text = format!(
                        "second CONNACK on the connection (the first was frame {})",
                        first.at.frame
                    );
                    env.raise(violation(c, dir, at, rules::connack_once(v), text).frames(frames));
                    proceed = false;
                } else if c.connect.is_none() && !c.midstream && c.unsure.client_to_server.is_none()
                {
                    let text = "CONNACK although the client sent no CONNECT".into();
                    env.raise(violation(c, dir, at, rules::CONNACK_FIRST, text));
                }
            } else if c.connack.is_none()
                && !c.midstream
                && c.unsure.server_to_client.is_none()
                && !(v5 && t == PacketType::Auth)
                && !c.before_connack_reported
            {
                c.before_connack_reported = true;
                let text = format!("{t} before CONNACK: the server's first packet must be CONNACK");
                env.raise(violation(c, dir, at, rules::CONNACK_FIRST, text));
            }
        }
    }
    if let Some(d) = c.disconnect[dir]
        && !c.after_disconnect_reported[dir]
    {
        c.after_disconnect_reported[dir] = true;
        let text = format!("{t} after the same side's DISCONNECT (frame {d})");
        env.raise(
            violation(c, dir, at, rules::nothing_after_disconnect(v), text)
                .frames(frames_then(vec![d], at.frame)),
        );
    }
    proceed
}

/// `keepalive_exceeded` when the client has been silent for more than 1.5 ×
/// its keep alive by `now` (a packet, a server DISCONNECT, the connection
/// end, a live tick). Silence is only proven while no client bytes were lost.
pub(super) fn check_keepalive(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, now: At, until: &str) {
    if c.keepalive_off || c.keepalive_reported {
        return;
    }
    let (Some(ka), Some(last)) = (c.keepalive_ns(), c.last_client) else {
        return;
    };
    if c.lost_since(C2S, last.ts) {
        return;
    }
    let limit = ka.saturating_mul(3) / 2;
    let Some(silence) = ns_between(last.ts, now.ts) else {
        return;
    };
    if silence <= limit {
        return;
    }
    c.keepalive_reported = true;
    let text = format!(
        "no packet from the client for {} (from frame {} {until}), more than 1.5 × its keep alive of {} s",
        ms(silence),
        last.frame,
        ka / 1_000_000_000
    );
    let frames = frames_then(vec![last.frame], now.frame);
    env.raise(
        c.finding(FindingKind::KeepaliveExceeded, C2S, now, text)
            .frames(frames)
            .cites(rules::keepalive(c.rules_version())),
    );
}

fn on_connect(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    at: At,
    p: &Connect<'_>,
) {
    if let Some(v) = p.version() {
        c.version = Some(v);
    }
    c.connect = Some(ConnectInfo {
        at,
        client_id: p.client_id.into(),
        clean_start: p.clean_start,
        keepalive: p.keepalive,
        session_expiry: p.properties.session_expiry_interval,
        receive_maximum: p.properties.receive_maximum,
        auth_method: p.properties.authentication_method.is_some(),
    });
    if p.clean_start {
        // A new, empty session: every subscription will be seen.
        c.subs = Subscriptions::new(!c.midstream && c.unsure.client_to_server.is_none());
        if let Some(id) = c.client().cloned()
            && let Some(saved) = store.take(&id)
        {
            env.tally.counters.sessions_discarded += 1;
            let why = format!(
                "connection {} closed (frame {}) and the client reconnected with clean start on connection {} (frame {}), which discards the session",
                saved.conn, saved.ended.frame, c.id, at.frame
            );
            for flow in saved.flows {
                give_up(env, flow, Some(&id), c.version, &why, at.ts);
            }
        }
    }
}

fn on_connack(
    c: &mut ConnAnalysis,
    store: &mut SessionStore,
    env: &mut Env<'_, '_>,
    at: At,
    p: &Connack<'_>,
) {
    if let Some(con) = c.connect.as_ref().map(|x| x.at) {
        sample(
            c,
            env,
            c.id,
            LatencyKey::Connack,
            C2S,
            None,
            con,
            at,
            PacketType::Connack,
            &"the CONNECT",
            None,
        );
    }
    let accepted = !p.reason_code.is_error(PacketType::Connack, p.version);
    c.connack = Some(ConnackInfo {
        at,
        session_present: p.session_present,
        accepted,
        receive_maximum: p.properties.receive_maximum,
        maximum_qos: p.properties.maximum_qos,
        retain_available: p.properties.retain_available,
        server_keep_alive: p.properties.server_keep_alive,
        session_expiry: p.properties.session_expiry_interval,
        assigned_client_id: p.properties.assigned_client_identifier.map(Arc::from),
    });
    let Some(clean) = c.connect.as_ref().map(|x| x.clean_start) else {
        return;
    };
    if !accepted {
        return;
    }
    let v5 = p.version.is_v5();
    if p.session_present && clean {
        let text =
            "CONNACK says session present = 1 although the CONNECT asked for a clean start".into();
        env.raise(violation(
            c,
            S2C,
            at,
            if v5 {
                Rule::new("MQTT-3.2.2-2")
            } else {
                Rule::new("MQTT-3.2.2-1")
            },
            text,
        ));
    }
    let known_start = !c.midstream && c.unsure.client_to_server.is_none();
    let id = c.client().cloned();
    if p.session_present {
        let seen_here = std::mem::take(&mut c.subs);
        match id.as_deref().and_then(|i| store.take(i)) {
            Some(saved) => {
                env.tally.counters.sessions_resumed += 1;
                let cap = env.cfg.max_inflight_per_direction;
                for flow in saved.flows {
                    let table = &mut c.resumable[flow.dir];
                    if table.len() < cap {
                        table.insert(flow.id, flow);
                    } else {
                        let why =
                            "too many unacknowledged messages in the resumed session to follow";
                        give_up(env, flow, id.as_ref(), c.version, why, at.ts);
                    }
                }
                let mut subs = saved.subs.unwrap_or_default();
                let complete = subs.is_complete() && known_start;
                subs.absorb(seen_here);
                subs.set_complete(complete);
                c.subs = subs;
            }
            None => {
                let mut subs = seen_here;
                subs.set_complete(false);
                c.subs = subs;
            }
        }
    } else {
        if let Some(saved) = id.as_deref().and_then(|i| store.take(i)) {
            env.tally.counters.sessions_discarded += 1;
            let why = format!(
                "connection {} closed (frame {}) and the broker did not keep the session: CONNACK session present = 0 on connection {} (frame {})",
                saved.conn, saved.ended.frame, c.id, at.frame
            );
            for flow in saved.flows {
                give_up(env, flow, id.as_ref(), c.version, &why, at.ts);
            }
        }
        c.subs.set_complete(known_start);
    }
}

/// Whether a client packet identifier is taken by an open flow or request.
fn client_id_in_use(c: &ConnAnalysis, id: u16) -> Option<u64> {
    if let Some(f) = c.flows.client_to_server.get(&id) {
        return f.frames.first().copied();
    }
    c.subscribes
        .get(&id)
        .or_else(|| c.unsubscribes.get(&id))
        .map(|p| p.at.frame)
}

fn id_zero(c: &ConnAnalysis, env: &mut Env<'_, '_>, dir: Direction, at: At, t: PacketType) {
    env.raise(
        c.finding(
            FindingKind::PacketIdZero,
            dir,
            at,
            format!("{t} has packet identifier 0, which is never valid"),
        )
        .cites(rules::nonzero_packet_id(dir, c.rules_version()))
        .packet_id(0),
    );
}

fn request_id_in_use(c: &ConnAnalysis, env: &mut Env<'_, '_>, at: At, t: PacketType, id: u16) {
    if let Some(first) = client_id_in_use(c, id) {
        let text = format!(
            "{t} uses packet identifier {id}, still in use by the unanswered packet of frame {first}"
        );
        env.raise(
            c.finding(FindingKind::PacketIdInUse, C2S, at, text)
                .frames(frames_then(vec![first], at.frame))
                .cites(rules::unused_packet_id(C2S, c.rules_version()))
                .packet_id(id),
        );
    }
}

fn on_subscribe(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Subscribe<'_>) {
    if p.packet_id == 0 {
        id_zero(c, env, C2S, at, PacketType::Subscribe);
        c.subs.mark_incomplete();
        return;
    }
    request_id_in_use(c, env, at, PacketType::Subscribe, p.packet_id);
    if c.subscribes.len() >= MAX_PENDING_REQUESTS {
        c.untracked_requests = true;
        c.subs.mark_incomplete();
        return;
    }
    for t in &p.topics {
        c.subs.subscribe(t.filter);
    }
    c.subscribes.insert(
        p.packet_id,
        Pending {
            at,
            filters: p.topics.iter().map(|t| t.filter.into()).collect(),
            reported: false,
        },
    );
}

/// An answer with no request.
fn stray_answer(c: &ConnAnalysis, env: &mut Env<'_, '_>, at: At, t: PacketType, id: u16) {
    // Requests are not re-sent after a reconnect: only a late start of the
    // capture or lost client bytes can hide the SUBSCRIBE / UNSUBSCRIBE.
    if c.midstream || c.unsure.client_to_server.is_some() || c.untracked_requests {
        env.tally.counters.acks_without_publish += 1;
        return;
    }
    let request = if t == PacketType::Suback {
        "SUBSCRIBE"
    } else {
        "UNSUBSCRIBE"
    };
    env.raise(
        c.finding(
            FindingKind::UnexpectedAck,
            S2C,
            at,
            format!("{t} id {id} answers no {request} (none is waiting with that identifier)"),
        )
        .cites(rules::ack_matches_request(t, c.rules_version()))
        .packet_id(id),
    );
}

/// A SUBACK / UNSUBACK: the request it answers (its latency sampled), or
/// `None` after reporting an id of 0 or an answer to no request.
fn answered(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    at: At,
    answer: PacketType,
    id: u16,
) -> Option<Pending> {
    if id == 0 {
        id_zero(c, env, S2C, at, answer);
        return None;
    }
    let (pending, key, request) = if answer == PacketType::Suback {
        (c.subscribes.remove(&id), LatencyKey::Suback, "SUBSCRIBE")
    } else {
        (
            c.unsubscribes.remove(&id),
            LatencyKey::Unsuback,
            "UNSUBSCRIBE",
        )
    };
    let Some(pending) = pending else {
        stray_answer(c, env, at, answer, id);
        return None;
    };
    let what = format_args!("{request} id {id}");
    sample(
        c,
        env,
        c.id,
        key,
        C2S,
        None,
        pending.at,
        at,
        answer,
        &what,
        Some(id),
    );
    Some(pending)
}

fn on_suback(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Suback<'_>) {
    let Some(pending) = answered(c, env, at, PacketType::Suback, p.packet_id) else {
        return;
    };
    for (filter, &code) in pending.filters.iter().zip(p.reason_codes.iter()) {
        c.subs.granted(filter, code, at.frame);
    }
    if p.reason_codes.len() != pending.filters.len() {
        for filter in pending.filters.iter().skip(p.reason_codes.len()) {
            // No grant came for it: whatever the broker does with it is unknown.
            c.subs.granted(filter, 0x03, at.frame);
        }
        let v5 = p.version.is_v5();
        let text = format!(
            "SUBACK id {} has {} reason codes for the {} topic filters of its SUBSCRIBE",
            p.packet_id,
            p.reason_codes.len(),
            pending.filters.len()
        );
        env.raise(
            violation(
                c,
                S2C,
                at,
                if v5 {
                    Rule::new("MQTT-3.8.4-6")
                } else {
                    Rule::new("MQTT-3.8.4-5")
                },
                text,
            )
            .frames(frames_then(vec![pending.at.frame], at.frame)),
        );
    }
}

fn on_unsubscribe(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Unsubscribe<'_>) {
    if p.packet_id == 0 {
        id_zero(c, env, C2S, at, PacketType::Unsubscribe);
        c.subs.mark_incomplete();
        return;
    }
    request_id_in_use(c, env, at, PacketType::Unsubscribe, p.packet_id);
    for f in &p.topics {
        c.subs.unsubscribe(f);
    }
    if c.unsubscribes.len() >= MAX_PENDING_REQUESTS {
        c.untracked_requests = true;
        c.subs.mark_incomplete();
        return;
    }
    c.unsubscribes.insert(
        p.packet_id,
        Pending {
            at,
            filters: p.topics.iter().map(|&t| t.into()).collect(),
            reported: false,
        },
    );
}

fn on_unsuback(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, at: At, p: &Unsuback<'_>) {
    let Some(pending) = answered(c, env, at, PacketType::Unsuback, p.packet_id) else {
        return;
    };
    let codes = p.reason_codes.unwrap_or_default();
    for (i, filter) in pending.filters.iter().enumerate() {
        let failed = codes.get(i).is_some_and(|&code| code >= 0x80);
        c.subs.unsubscribed(filter, failed);
    }
}

fn on_pingreq(c: &mut ConnAnalysis, at: At) {
    if c.pings.len() >= MAX_PENDING_PINGS {
        c.pings.pop_front();
    }
    c.pings.push_back(Ping {
        at,
        reported: false,
    });
}

fn on_pingresp(c: &mut ConnAnalysis, env: &mut Env<'_, '_>, at: At) {
    if let Some(ping) = c.pings.pop_front() {
        sample(
            c,
            env,
            c.id,
            LatencyKey::Pingresp,
            C2S,
            None,
            ping.at,
            at,
            PacketType::Pingresp,
            &"the PINGREQ",
            None,
        );
    }
}

fn on_disconnect(
    c: &mut ConnAnalysis,
    env: &mut Env<'_, '_>,
    at: At,
    dir: Direction,
    p: &crate::mqtt::Disconnect<'_>,
) {
    c.disconnect[dir] = Some(at.frame);
    if dir == C2S {
        if let Some(e) = p.properties.session_expiry_interval {
            c.disconnect_expiry = Some(e);
        }
    } else {
        check_keepalive(c, env, at, "until the server's DISCONNECT");
    }
    c.keepalive_off = true;
}
