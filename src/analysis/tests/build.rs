//! Packet constructors and a harness that drives a [`Tracker`] and keeps
//! what it emits.

use crate::analysis::{
    AnalysisConfig, AnalysisEvent, AnalysisSummary, ConnAnalysis, Finding, FindingKind, FlowRecord,
    Shared,
};
use crate::base::{At, ConnId, Direction, Endpoint, Timestamp};
pub use crate::mqtt::spec::Rule;
use crate::mqtt::{
    Connack, Connect, Disconnect, FixedHeader, GapEvent, Malformed, MalformedEvent, Packet,
    PacketEvent, PacketType, Properties, ProtocolVersion, PubResp, Publish, Reason, ReasonCode,
    Suback, Subscribe, Subscription, Unsuback, Unsubscribe, Violation,
};
pub use crate::report::{AnalysisJson, FlowJson};
use crate::tcp::{CloseKind, Handshake};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

pub const C2S: Direction = Direction::ClientToServer;
pub const S2C: Direction = Direction::ServerToClient;

/// Capture time `us` microseconds after a fixed epoch.
pub fn ts(us: u64) -> Timestamp {
    Timestamp::new(
        1_700_000_000 + (us / 1_000_000) as i64,
        (us % 1_000_000) * 1000,
        6,
    )
}

fn hdr(t: PacketType, flags: u8) -> FixedHeader {
    FixedHeader {
        packet_type: t,
        flags,
        length: 0,
        header_len: 2,
    }
}

pub fn connect(client_id: &str, clean: bool, keepalive: u16) -> Packet<'_> {
    connect_v(client_id, clean, keepalive, 4, Properties::default())
}

pub fn connect_v<'a>(
    client_id: &'a str,
    clean: bool,
    keepalive: u16,
    level: u8,
    properties: Properties<'a>,
) -> Packet<'a> {
    Packet::Connect(Connect {
        header: hdr(PacketType::Connect, 0),
        protocol_name: if level == 3 { "MQIsdp" } else { "MQTT" },
        protocol_level: level,
        connect_flags: if clean { 2 } else { 0 },
        clean_start: clean,
        keepalive,
        properties,
        client_id,
        will: None,
        username: None,
        password: None,
    })
}

pub fn connack(session_present: bool) -> Packet<'static> {
    connack_v(
        session_present,
        0,
        ProtocolVersion::V311,
        Properties::default(),
    )
}

pub fn connack_v(
    session_present: bool,
    code: u8,
    version: ProtocolVersion,
    properties: Properties<'static>,
) -> Packet<'static> {
    Packet::Connack(Connack {
        header: hdr(PacketType::Connack, 0),
        version,
        ack_flags: u8::from(session_present),
        session_present,
        reason_code: ReasonCode(code),
        properties,
    })
}

pub fn publish(qos: u8, dup: bool, id: Option<u16>, topic: &str) -> Packet<'_> {
    publish_h(qos, dup, id, topic, 0)
}

pub fn publish_h(qos: u8, dup: bool, id: Option<u16>, topic: &str, hash: u64) -> Packet<'_> {
    Packet::Publish(Publish {
        header: hdr(PacketType::Publish, (u8::from(dup) << 3) | (qos << 1)),
        dup,
        qos,
        retain: false,
        topic,
        packet_id: id,
        properties: Properties::default(),
        payload_len: 0,
        payload_preview: &[],
        hash: crate::mqtt::PayloadHash::Known(hash),
        payload_missing: 0,
        resolved_topic: None,
    })
}

fn resp(t: PacketType, id: u16, rc: Option<u8>) -> PubResp<'static> {
    PubResp {
        header: hdr(t, if t == PacketType::Pubrel { 2 } else { 0 }),
        packet_id: id,
        reason_code: rc.map(ReasonCode),
        properties: Properties::default(),
    }
}

pub fn puback(id: u16) -> Packet<'static> {
    Packet::Puback(resp(PacketType::Puback, id, None))
}
pub fn puback_rc(id: u16, rc: u8) -> Packet<'static> {
    Packet::Puback(resp(PacketType::Puback, id, Some(rc)))
}
pub fn pubrec(id: u16) -> Packet<'static> {
    Packet::Pubrec(resp(PacketType::Pubrec, id, None))
}
pub fn pubrec_rc(id: u16, rc: u8) -> Packet<'static> {
    Packet::Pubrec(resp(PacketType::Pubrec, id, Some(rc)))
}
pub fn pubrel(id: u16) -> Packet<'static> {
    Packet::Pubrel(resp(PacketType::Pubrel, id, None))
}
pub fn pubcomp(id: u16) -> Packet<'static> {
    Packet::Pubcomp(resp(PacketType::Pubcomp, id, None))
}

pub fn subscribe<'a>(id: u16, filters: &[(&'a str, u8)]) -> Packet<'a> {
    Packet::Subscribe(Subscribe {
        header: hdr(PacketType::Subscribe, 2),
        version: ProtocolVersion::V311,
        packet_id: id,
        properties: Properties::default(),
        topics: filters
            .iter()
            .map(|&(filter, qos)| Subscription {
                filter,
                options: qos,
                qos,
                no_local: false,
                retain_as_published: false,
                retain_handling: 0,
            })
            .collect(),
    })
}

pub fn suback(id: u16, codes: &'static [u8]) -> Packet<'static> {
    Packet::Suback(Suback {
        header: hdr(PacketType::Suback, 0),
        version: ProtocolVersion::V311,
        packet_id: id,
        properties: Properties::default(),
        reason_codes: codes,
    })
}

pub fn unsubscribe<'a>(id: u16, filters: &[&'a str]) -> Packet<'a> {
    Packet::Unsubscribe(Unsubscribe {
        header: hdr(PacketType::Unsubscribe, 2),
        packet_id: id,
        properties: Properties::default(),
        topics: filters.to_vec(),
    })
}

pub fn unsuback(id: u16) -> Packet<'static> {
    Packet::Unsuback(Unsuback {
        header: hdr(PacketType::Unsuback, 0),
        packet_id: id,
        properties: Properties::default(),
        reason_codes: None,
    })
}

pub fn pingreq() -> Packet<'static> {
    Packet::Pingreq(hdr(PacketType::Pingreq, 0))
}

pub fn pingresp() -> Packet<'static> {
    Packet::Pingresp(hdr(PacketType::Pingresp, 0))
}

pub fn disconnect() -> Packet<'static> {
    disconnect_p(None, Properties::default())
}

pub fn disconnect_p(rc: Option<u8>, properties: Properties<'static>) -> Packet<'static> {
    Packet::Disconnect(Disconnect {
        header: hdr(PacketType::Disconnect, 0),
        reason_code: rc.map(ReasonCode),
        properties,
    })
}

/// What the tracker emitted, owned.
#[derive(Debug, Clone)]
pub enum Ev {
    Flow(FlowRecord),
    Finding(Finding),
}

fn ep(port: u16) -> Endpoint {
    Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        port,
    }
}

/// Drives the analysis (the shared state and each connection's own, as
/// the connection owner does) with frames numbered in order.
pub struct H {
    pub t: Shared,
    pub conns: BTreeMap<ConnId, ConnAnalysis>,
    pub events: Vec<Ev>,
    pub frame: u64,
    pub version: ProtocolVersion,
}

impl H {
    pub fn new() -> Self {
        H::with(AnalysisConfig::default())
    }

    pub fn with(cfg: AnalysisConfig) -> Self {
        H {
            t: Shared::new(cfg),
            conns: BTreeMap::new(),
            events: Vec::new(),
            frame: 0,
            version: ProtocolVersion::V311,
        }
    }

    pub fn v5(mut self) -> Self {
        self.version = ProtocolVersion::V5;
        self
    }

    fn sink(events: &mut Vec<Ev>) -> impl FnMut(AnalysisEvent<'_>) + '_ {
        move |e| match e {
            AnalysisEvent::Flow(f) => events.push(Ev::Flow(f.clone())),
            AnalysisEvent::Finding(f) => events.push(Ev::Finding(f.clone())),
        }
    }

    /// Opens `conn` with a handshake (not mid-stream).
    pub fn open(&mut self, conn: ConnId, us: u64) {
        self.open_as(conn, us, false, None);
    }

    pub fn open_as(&mut self, conn: ConnId, _us: u64, midstream: bool, hs: Option<Handshake>) {
        self.frame += 1;
        let c = self.t.open(
            conn,
            ep(50000 + conn as u16),
            ep(1883),
            hs.as_ref(),
            midstream,
        );
        self.conns.insert(conn, c);
    }

    /// The analysis of `conn`; one never opened counts as picked up mid-stream.
    fn conn(&mut self, conn: ConnId) -> &mut ConnAnalysis {
        self.conns
            .entry(conn)
            .or_insert_with(|| ConnAnalysis::new(conn, None, true))
    }

    /// Sends `p` on `conn` in `dir` at `us`; returns its frame.
    pub fn send(&mut self, conn: ConnId, dir: Direction, us: u64, p: Packet<'_>) -> u64 {
        self.send_v(conn, dir, us, p, &[])
    }

    pub fn send_v(
        &mut self,
        conn: ConnId,
        dir: Direction,
        us: u64,
        p: Packet<'_>,
        violations: &[Violation],
    ) -> u64 {
        self.frame += 1;
        let version = match &p {
            Packet::Connect(c) => c.version().unwrap_or(self.version),
            _ => self.version,
        };
        let ev = PacketEvent {
            dir,
            frame: self.frame,
            ts: ts(us),
            start_frame: self.frame,
            version,
            packet: &p,
            violations,
        };
        self.conn(conn);
        let (Some(c), mut sink) = (self.conns.get_mut(&conn), Self::sink(&mut self.events)) else {
            return self.frame;
        };
        self.t.packet(c, &ev, &mut sink);
        self.frame
    }

    /// CONNECT at `us` and CONNACK 100 µs later (3.1.1, session present 0).
    pub fn connect(&mut self, conn: ConnId, us: u64, client_id: &str, clean: bool, ka: u16) {
        self.send(conn, C2S, us, connect(client_id, clean, ka));
        self.send(conn, S2C, us + 100, connack(false));
    }

    pub fn malformed(&mut self, conn: ConnId, dir: Direction, us: u64) -> u64 {
        self.frame += 1;
        let ev = MalformedEvent {
            dir,
            frame: self.frame,
            ts: ts(us),
            start_frame: self.frame,
            error: Malformed {
                packet_type: Some(PacketType::Subscribe),
                flags: Some(2),
                length: Some(9),
                header_len: Some(2),
                offset: 6,
                reason: Reason::LengthPastEnd {
                    what: "topic filter",
                    len: 200,
                    limit: "packet end",
                },
            },
        };
        self.conn(conn);
        let (Some(c), mut sink) = (self.conns.get_mut(&conn), Self::sink(&mut self.events)) else {
            return self.frame;
        };
        self.t.malformed(c, &ev, &mut sink);
        self.frame
    }

    pub fn gap(&mut self, conn: ConnId, dir: Direction, us: u64, missing: u64) -> u64 {
        self.frame += 1;
        let ev = GapEvent {
            dir,
            frame: self.frame,
            ts: ts(us),
            missing,
            lost: None,
            resync: false,
        };
        self.conn(conn);
        let (Some(c), mut sink) = (self.conns.get_mut(&conn), Self::sink(&mut self.events)) else {
            return self.frame;
        };
        self.t.gap(c, &ev, &mut sink);
        self.frame
    }

    pub fn end(&mut self, conn: ConnId, us: u64, how: CloseKind) -> u64 {
        self.frame += 1;
        let mut sink = Self::sink(&mut self.events);
        if let Some(c) = self.conns.remove(&conn) {
            let at = At {
                frame: self.frame,
                ts: ts(us),
            };
            self.t.end(c, at, how, &mut sink);
        }
        self.frame
    }

    pub fn tick(&mut self, us: u64) {
        let mut sink = Self::sink(&mut self.events);
        self.t.tick(ts(us), self.conns.values_mut(), &mut sink);
    }

    /// The end of the capture: connections still open end at the latest
    /// packet, then the shared state concludes.
    pub fn finish(&mut self) -> AnalysisSummary {
        let mut sink = Self::sink(&mut self.events);
        for (_, c) in std::mem::take(&mut self.conns) {
            let end = self.t.last.or(c.last_at).unwrap_or_default();
            self.t.end(c, end, CloseKind::Open, &mut sink);
        }
        self.t.finish(&mut sink)
    }

    pub fn findings(&self) -> Vec<&Finding> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Finding(f) => Some(f),
                Ev::Flow(_) => None,
            })
            .collect()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.findings().iter().map(|f| f.kind.as_str()).collect()
    }

    /// The only finding; fails unless there is exactly one, of `kind`.
    pub fn only(&self, kind: FindingKind) -> &Finding {
        let all = self.findings();
        assert_eq!(all.len(), 1, "expected one {kind}, got {all:#?}");
        assert_eq!(all[0].kind, kind, "{all:#?}");
        all[0]
    }

    pub fn flows(&self) -> Vec<&FlowRecord> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Flow(f) => Some(f),
                Ev::Finding(_) => None,
            })
            .collect()
    }

    pub fn flow(&self, dir: Direction, id: u16) -> &FlowRecord {
        let found: Vec<&FlowRecord> = self
            .flows()
            .into_iter()
            .filter(|f| f.direction == dir && f.packet_id == id)
            .collect();
        assert_eq!(found.len(), 1, "flow {dir:?} {id}: {found:#?}");
        found[0]
    }
}

/// A violation the parser would have attached.
pub fn violation(rule: &'static str, message: &str) -> Violation {
    Violation {
        rule: Rule::new(rule),
        message: message.to_string(),
    }
}
