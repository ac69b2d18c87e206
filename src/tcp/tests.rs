//! Whole-connection reassembly cases, driven by hand-made segments.

use super::*;
use crate::base::{At, ConnId, Direction, Endpoint, Segment, TcpFlags, Timestamp};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// What a consumer saw, flattened for assertions.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Open {
        conn: ConnId,
        client_port: u16,
        frame: u64,
        midstream: bool,
    },
    Data {
        conn: ConnId,
        dir: Direction,
        frame: u64,
        data: Vec<u8>,
    },
    Gap {
        conn: ConnId,
        dir: Direction,
        len: u64,
    },
    End {
        conn: ConnId,
        how: CloseKind,
    },
    Retired(Box<ConnRecord>),
}

#[derive(Default)]
struct Rec {
    evs: Vec<Ev>,
    ignore_port: Option<u16>,
}

impl ConnectionFactory for Rec {
    /// The connection's id: the recorder itself keeps what it saw.
    type Consumer = ConnId;

    fn open(&mut self, o: &Opened) -> Option<ConnId> {
        self.evs.push(Ev::Open {
            conn: o.conn,
            client_port: o.client.port,
            frame: o.first.frame,
            midstream: o.midstream,
        });
        (Some(o.server.port) != self.ignore_port).then_some(o.conn)
    }

    fn data(&mut self, c: &mut ConnId, dir: Direction, at: At, data: &[u8]) -> Interest {
        self.evs.push(Ev::Data {
            conn: *c,
            dir,
            frame: at.frame,
            data: data.to_vec(),
        });
        Interest::Keep
    }

    fn gap(&mut self, c: &mut ConnId, dir: Direction, _at: At, len: u64) -> Interest {
        self.evs.push(Ev::Gap { conn: *c, dir, len });
        Interest::Keep
    }

    fn end(&mut self, c: &mut ConnId, _at: At, how: CloseKind, _record: &ConnRecord) {
        self.evs.push(Ev::End { conn: *c, how });
    }

    fn retire(&mut self, _c: Option<ConnId>, record: &ConnRecord) {
        self.evs.push(Ev::Retired(Box::new(record.clone())));
    }
}

impl Rec {
    /// All bytes delivered for (conn, dir), gaps shown as `#` runs (capped) for readability.
    fn stream(&self, conn: ConnId, dir: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.evs {
            match e {
                Ev::Data {
                    conn: c,
                    dir: d,
                    data,
                    ..
                } if *c == conn && *d == dir => out.extend_from_slice(data),
                Ev::Gap {
                    conn: c,
                    dir: d,
                    len,
                } if *c == conn && *d == dir => {
                    out.extend(std::iter::repeat_n(b'#', *len as usize))
                }
                _ => {}
            }
        }
        out
    }
    fn record(&self, conn: ConnId) -> &ConnRecord {
        self.evs
            .iter()
            .find_map(|e| match e {
                Ev::Retired(r) if r.id == conn => Some(&**r),
                _ => None,
            })
            .expect("connection retired")
    }
    fn ends(&self) -> Vec<(ConnId, CloseKind)> {
        self.evs
            .iter()
            .filter_map(|e| match e {
                Ev::End { conn, how } => Some((*conn, *how)),
                _ => None,
            })
            .collect()
    }
}

fn ep(last: u8, port: u16) -> Endpoint {
    Endpoint {
        ip: [10, 0, 0, last].into(),
        port,
    }
}

/// A test conversation between a client 10.0.0.2:port and a server 10.0.0.1:1883.
struct Talk {
    r: Reassembler<ConnId>,
    rec: Rec,
    frame: u64,
    usecs: u64,
    client: Endpoint,
    server: Endpoint,
}

impl Talk {
    fn new() -> Self {
        Self::with(TcpConfig::default())
    }
    fn with(cfg: TcpConfig) -> Self {
        Talk {
            r: Reassembler::new(cfg),
            rec: Rec::default(),
            frame: 0,
            usecs: 0,
            client: ep(2, 50000),
            server: ep(1, 1883),
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn send(&mut self, dir: Direction, seq: u32, ack: u32, flags: &str, data: &[u8]) -> u64 {
        self.frame += 1;
        self.usecs += 100;
        let (src, dst) = match dir {
            Direction::ClientToServer => (self.client, self.server),
            Direction::ServerToClient => (self.server, self.client),
        };
        let seg = Segment {
            frame: self.frame,
            ts: Timestamp::new(1000, self.usecs * 1000, 6),
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags {
                syn: flags.contains('S'),
                ack: flags.contains('A'),
                fin: flags.contains('F'),
                rst: flags.contains('R'),
            },
            window: if flags.contains('0') { 0 } else { 1024 },
            payload: data,
            missing: 0,
        };
        self.r.segment(&seg, &mut self.rec);
        self.frame
    }
    /// SYN (isn 100), SYN/ACK (isn 500), ACK.
    fn handshake(&mut self) {
        self.send(C, 100, 0, "S", b"");
        self.send(S, 500, 101, "SA", b"");
        self.send(C, 101, 501, "A", b"");
    }
    fn finish(&mut self) {
        self.r.finish(&mut self.rec);
    }
}

#[test]
fn handshake_rtt_data_and_fin() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 101, 501, "A", b"hello");
    t.send(S, 501, 106, "A", b"world!");
    t.send(C, 106, 507, "FA", b"");
    t.send(S, 507, 107, "FA", b"");
    t.send(C, 107, 508, "A", b"");
    t.finish();
    assert_eq!(
        t.rec.evs[0],
        Ev::Open {
            conn: 0,
            client_port: 50000,
            frame: 1,
            midstream: false
        }
    );
    assert_eq!(t.rec.stream(0, C), b"hello");
    assert_eq!(t.rec.stream(0, S), b"world!");
    assert_eq!(t.rec.ends(), vec![(0, CloseKind::Fin)]);
    let r = t.rec.record(0);
    let hs = r.handshake.expect("handshake");
    assert_eq!(
        (hs.syn_frame, hs.synack_frame, hs.ack_frame),
        (Some(1), Some(2), Some(3))
    );
    assert!(hs.rtt_ns == Some(200_000), "SYN at 100 µs, ACK at 300 µs");
    assert_eq!((r.first_frame, r.last_frame), (1, 8));
    assert_eq!(r.close, CloseKind::Fin);
    assert_eq!(r.client_to_server.segments, 5);
    assert_eq!(r.client_to_server.bytes, 5);
    assert_eq!(r.server_to_client.bytes, 6);
    // End comes when the second FIN is in, before the last ACK
    let end_pos = t
        .rec
        .evs
        .iter()
        .position(|e| matches!(e, Ev::End { .. }))
        .unwrap();
    assert!(end_pos < t.rec.evs.len() - 1);
}

#[test]
fn out_of_order_and_retransmission_in_a_connection() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 104, 501, "A", b"def"); // ahead of the hole
    t.send(C, 101, 501, "A", b"abc"); // fills it
    t.send(C, 101, 501, "A", b"abc"); // TCP retransmission
    t.send(C, 104, 501, "A", b"defgh"); // overlap + 2 new
    t.finish();
    assert_eq!(t.rec.stream(0, C), b"abcdefgh");
    let r = t.rec.record(0);
    assert_eq!(r.client_to_server.out_of_order, 1);
    assert_eq!(r.client_to_server.retransmissions, 2);
    assert_eq!(r.client_to_server.bytes, 8);
    assert_eq!(r.close, CloseKind::Open);
    // the buffered bytes came out with the frame they came from
    let frames: Vec<u64> = t
        .rec
        .evs
        .iter()
        .filter_map(|e| match e {
            Ev::Data { frame, .. } => Some(*frame),
            _ => None,
        })
        .collect();
    assert_eq!(frames, vec![5, 4, 7]);
}

#[test]
fn sequence_wrap_in_a_connection() {
    let mut t = Talk::new();
    let isn = u32::MAX - 3;
    t.send(C, isn, 0, "S", b"");
    t.send(S, 7, isn.wrapping_add(1), "SA", b"");
    t.send(C, isn.wrapping_add(1), 8, "A", b"");
    t.send(C, isn.wrapping_add(1), 8, "A", b"0123456789"); // crosses 2^32
    t.send(C, isn.wrapping_add(11), 8, "A", b"ab");
    t.send(C, isn.wrapping_add(5), 8, "A", b"456"); // old data after the wrap point
    t.finish();
    assert_eq!(t.rec.stream(0, C), b"0123456789ab");
    assert_eq!(t.rec.record(0).client_to_server.retransmissions, 1);
}

#[test]
fn gap_after_peer_acks_past_hole() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 101, 501, "A", b"aaaa");
    // 105..110 never captured
    t.send(C, 110, 501, "A", b"zz");
    assert_eq!(t.rec.stream(0, C), b"aaaa", "held until proven lost");
    t.send(S, 501, 112, "A", b""); // server acked everything
    assert_eq!(t.rec.stream(0, C), b"aaaa#####zz");
    t.finish();
    assert_eq!(t.rec.record(0).client_to_server.gap_bytes, 5);
}

#[test]
fn gap_at_end_of_capture() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 101, 501, "A", b"aa");
    t.send(C, 106, 501, "A", b"bb");
    t.finish();
    assert_eq!(t.rec.stream(0, C), b"aa###bb");
    assert_eq!(t.rec.record(0).client_to_server.gap_bytes, 3);
}

#[test]
fn midstream_capture_starts_at_first_data() {
    let mut t = Talk::new();
    t.send(S, 9000, 4000, "A", b""); // a pure ACK from the server first
    t.send(C, 4000, 9000, "A", b"xyz");
    t.send(S, 9000, 4003, "A", b"ok");
    t.send(C, 4003, 9002, "A", b"!");
    t.finish();
    assert_eq!(
        t.rec.evs[0],
        Ev::Open {
            conn: 0,
            client_port: 50000,
            frame: 1,
            midstream: true
        }
    );
    assert_eq!(t.rec.stream(0, C), b"xyz!");
    assert_eq!(t.rec.stream(0, S), b"ok");
    let r = t.rec.record(0);
    assert!(r.handshake.is_none());
    assert_eq!(
        r.client.port, 50000,
        "the side not on port 1883 is the client"
    );
}

#[test]
fn client_found_by_connect_bytes_when_ports_say_nothing() {
    let mut cfg = TcpConfig {
        client_hello: |b| b.starts_with(b"\x10"),
        ..Default::default()
    };
    cfg.server_ports = vec![];
    let mut t = Talk::with(cfg);
    t.client = ep(2, 7000); // the client has the lower port
    t.server = ep(1, 40000);
    t.send(S, 1, 1, "A", b""); // pure ACK from the server: provisional roles
    t.send(C, 1, 1, "A", b"\x10\x0c...");
    t.finish();
    assert_eq!(t.rec.record(0).client.port, 7000);
    assert_eq!(t.rec.stream(0, C), b"\x10\x0c...");
    assert_eq!(t.rec.record(0).client_to_server.segments, 1);
    assert_eq!(t.rec.record(0).server_to_client.segments, 1);
}

#[test]
fn rst_ends_the_connection_and_flushes() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 101, 501, "A", b"a");
    t.send(C, 104, 501, "A", b"d"); // hole at 102..104
    t.send(S, 501, 102, "RA", b"");
    t.send(C, 105, 501, "A", b"late"); // after the end: counted, not delivered
    t.finish();
    assert_eq!(t.rec.ends(), vec![(0, CloseKind::Rst)]);
    assert_eq!(t.rec.stream(0, C), b"a##d");
    let r = t.rec.record(0);
    assert_eq!(r.close, CloseKind::Rst);
    assert_eq!(r.last_frame, 7);
    assert_eq!(r.client_to_server.segments, 5);
}

#[test]
fn port_reuse_starts_a_new_connection() {
    let mut t = Talk::new();
    t.handshake();
    t.send(C, 101, 501, "FA", b"one");
    t.send(S, 501, 105, "FA", b"");
    t.send(C, 105, 502, "A", b"");
    t.send(C, 9000, 0, "S", b""); // same 4-tuple, new SYN
    t.send(S, 7000, 9001, "SA", b"");
    t.send(C, 9001, 7001, "A", b"two");
    t.finish();
    assert_eq!(t.rec.stream(0, C), b"one");
    assert_eq!(t.rec.stream(1, C), b"two");
    assert_eq!(
        t.rec.ends(),
        vec![(0, CloseKind::Fin), (1, CloseKind::Open)]
    );
    assert_eq!(t.rec.record(1).first_frame, 7);
    assert_eq!(t.rec.record(0).last_frame, 6);
}

#[test]
fn syn_retransmission_is_not_a_new_connection() {
    let mut t = Talk::new();
    t.send(C, 100, 0, "S", b"");
    t.send(C, 100, 0, "S", b"");
    t.send(S, 500, 101, "SA", b"");
    t.send(C, 101, 501, "A", b"x");
    t.finish();
    assert_eq!(t.r.counters().connections, 1);
    assert_eq!(t.rec.record(0).handshake.unwrap().syn_frame, Some(1));
}

#[test]
fn buffer_cap_declares_a_gap_and_warns() {
    // The cap counts what the buffered bytes cost: one run, one segment's mark.
    let cfg = TcpConfig {
        max_pending_bytes: 10 + super::half::ENTRY_COST + super::half::MARK_COST,
        ..Default::default()
    };
    let mut t = Talk::with(cfg);
    t.handshake();
    t.send(C, 111, 501, "A", b"0123456789"); // 10 bytes behind a 10-byte hole: at the cap
    assert!(t.rec.stream(0, C).is_empty());
    t.send(C, 121, 501, "A", b"X"); // over the cap
    assert_eq!(t.rec.stream(0, C), b"##########0123456789X");
    assert_eq!(t.r.counters().buffer_cap_gaps, 1);
    let w = t.r.take_warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].frame, Some(5));
}

#[test]
fn connection_cap_retires_least_recently_active() {
    let cfg = TcpConfig {
        max_connections: 2,
        ..Default::default()
    };
    let mut t = Talk::with(cfg);
    for port in [1000u16, 1001, 1002] {
        t.client = ep(2, port);
        t.send(C, 1, 0, "S", b"");
    }
    assert_eq!(t.r.tracked_connections(), 2);
    assert_eq!(t.r.open_connections(), 2);
    assert_eq!(t.r.counters().evicted_table_full, 1);
    // the oldest (port 1000, id 0) went first
    assert_eq!(t.rec.ends(), vec![(0, CloseKind::Open)]);
    assert!(!t.r.take_warnings().is_empty());
}

#[test]
fn idle_connections_expire() {
    let cfg = TcpConfig {
        idle_timeout_secs: 30,
        ..Default::default()
    };
    let mut t = Talk::with(cfg);
    t.handshake();
    t.send(C, 101, 501, "A", b"a");
    t.usecs += 120_000_000; // two minutes later, another connection
    t.client = ep(3, 1234);
    t.send(C, 1, 0, "S", b"");
    assert_eq!(t.rec.ends(), vec![(0, CloseKind::Open)]);
    assert_eq!(t.r.counters().expired_idle, 1);
}

#[test]
fn ignored_connection_gets_no_data_but_keeps_stats() {
    let mut t = Talk::new();
    t.rec.ignore_port = Some(1883);
    t.handshake();
    t.send(C, 101, 501, "A", b"GET / HTTP/1.1");
    t.finish();
    assert!(t.rec.stream(0, C).is_empty());
    assert_eq!(t.rec.record(0).client_to_server.segments, 3);
}
