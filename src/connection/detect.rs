//! Which TCP connections carry MQTT: decided from the server port, from a
//! server already proven to speak MQTT, from the client's first bytes (a
//! CONNECT, or a WebSocket upgrade for MQTT: the `mqtt` subprotocol or a
//! CONNECT in the first binary frame), or — for a connection the capture
//! picked up in the middle — from a run of well-formed packets
//! (`mqtt::judge_run`). TLS is judged by its own layer (ALPN, server, or
//! the decrypted first bytes judged here again). The judging functions are
//! pure: they look at what has been seen, nothing else.

use crate::base::{At, Direction, Endpoint};
use crate::layers::ws::{UpgradeVerdict, judge_upgrade};
use crate::mqtt::{RunVerdict, judge_run, looks_like_connect};
use std::collections::{HashSet, VecDeque};

/// Bytes of the client's first data needed to recognise a CONNECT
/// (fixed header, protocol name "MQIsdp", level).
pub const DETECT_PREFIX: usize = 12;
/// Bytes held per undecided connection; a connection still undecided
/// beyond this is not MQTT.
pub const HELD_LIMIT: usize = 2048;
/// Server endpoints remembered as proven MQTT.
const PROVEN_LIMIT: usize = 65_536;

/// The bytes an undecided connection has carried so far, each with its
/// frame, to replay into the decoder once it is decided.
#[derive(Debug, Default)]
pub struct Held {
    chunks: Vec<(Direction, At, Vec<u8>)>,
    bytes: usize,
}

impl Held {
    /// Holds what fits of `data`; returns how many of its bytes were held.
    pub fn push(&mut self, dir: Direction, at: At, data: &[u8]) -> usize {
        let room = HELD_LIMIT.saturating_sub(self.bytes);
        let kept = data.get(..room.min(data.len())).unwrap_or_default();
        if !kept.is_empty() {
            self.bytes += kept.len();
            self.chunks.push((dir, at, kept.to_vec()));
        }
        kept.len()
    }

    pub fn is_full(&self) -> bool {
        self.bytes >= HELD_LIMIT
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// One direction's bytes and where its segments ended.
    fn stream(&self, dir: Direction) -> (Vec<u8>, Vec<usize>) {
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for (_, _, d) in self.chunks.iter().filter(|(d, ..)| *d == dir) {
            bytes.extend_from_slice(d);
            ends.push(bytes.len());
        }
        (bytes, ends)
    }

    /// The chunks, in arrival order.
    pub fn into_chunks(self) -> Vec<(Direction, At, Vec<u8>)> {
        self.chunks
    }
}

/// A connection with a handshake: MQTT when the client's first bytes are a CONNECT.
pub fn judge_handshake(held: &Held) -> Verdict {
    let Some((first_dir, ..)) = held.chunks.first() else {
        return Verdict::Undecided;
    };
    if *first_dir == Direction::ServerToClient {
        // MQTT clients speak first; a server that talks first is something else.
        return Verdict::NotMqtt;
    }
    let (client, _) = held.stream(Direction::ClientToServer);
    if client.starts_with(b"GET ") {
        // A WebSocket upgrade (RFC 6455 4.1) that may carry MQTT.
        return match judge_upgrade(&client, DETECT_PREFIX, looks_like_connect) {
            UpgradeVerdict::Mqtt => Verdict::WebSocket,
            UpgradeVerdict::NotMqtt => Verdict::NotMqtt,
            UpgradeVerdict::Undecided => Verdict::Undecided,
        };
    }
    let prefix = client
        .get(..DETECT_PREFIX.min(client.len()))
        .unwrap_or_default();
    judge(Direction::ClientToServer, false, prefix)
}

/// A connection picked up mid-stream: MQTT when either direction's first
/// bytes are a run of well-formed packets; not MQTT when every direction
/// that carried bytes says so.
pub fn judge_midstream(held: &Held) -> Verdict {
    let mut any_undecided = false;
    for dir in Direction::BOTH {
        let (bytes, ends) = held.stream(dir);
        if bytes.is_empty() {
            continue;
        }
        match judge_run(&bytes, &ends) {
            RunVerdict::Mqtt => return Verdict::Mqtt,
            RunVerdict::Undecided => any_undecided = true,
            RunVerdict::NotMqtt => {}
        }
    }
    if any_undecided && !held.is_full() {
        Verdict::Undecided
    } else {
        Verdict::NotMqtt
    }
}

/// Server endpoints that proved to speak MQTT: their other connections are
/// MQTT too, whatever their port (bounded; the oldest are forgotten).
#[derive(Debug, Default)]
pub struct ProvenServers {
    set: HashSet<Endpoint>,
    order: VecDeque<Endpoint>,
}

impl ProvenServers {
    pub fn contains(&self, server: &Endpoint) -> bool {
        self.set.contains(server)
    }

    pub fn add(&mut self, server: Endpoint) {
        if self.set.insert(server) {
            if self.order.len() >= PROVEN_LIMIT
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
            self.order.push_back(server);
        }
    }
}

/// What the first bytes of a connection not on an MQTT port say so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A CONNECT: the connection is MQTT.
    Mqtt,
    /// A WebSocket upgrade for MQTT: MQTT inside WebSocket.
    WebSocket,
    /// Not MQTT (the server spoke first, or the client's bytes are no CONNECT).
    NotMqtt,
    /// Not enough bytes yet.
    Undecided,
}

/// Judges the client's first bytes (`prefix`, at most [`DETECT_PREFIX`])
/// once data of `dir` arrived; `prefix_empty` says whether nothing of the
/// client was seen before this data.
pub fn judge(dir: Direction, prefix_empty: bool, prefix: &[u8]) -> Verdict {
    if dir == Direction::ServerToClient && prefix_empty {
        // MQTT clients speak first; a server that talks first is something else.
        return Verdict::NotMqtt;
    }
    if looks_like_connect(prefix) {
        Verdict::Mqtt
    } else if prefix.len() >= DETECT_PREFIX {
        Verdict::NotMqtt
    } else {
        Verdict::Undecided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    fn held(parts: &[(Direction, &[u8])]) -> Held {
        let mut h = Held::default();
        for (i, (d, b)) in parts.iter().enumerate() {
            let at = At {
                frame: i as u64 + 1,
                ts: Default::default(),
            };
            h.push(*d, at, b);
        }
        h
    }

    #[test]
    fn handshake_connections_need_a_connect_from_the_client() {
        let connect = [
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c',
        ];
        assert_eq!(
            judge_handshake(&held(&[(C2S, &connect[..5])])),
            Verdict::Undecided
        );
        // the server's bytes never mix into the client's prefix
        let split = held(&[
            (C2S, &connect[..5]),
            (S2C, &[0x20, 2, 0, 0]),
            (C2S, &connect[5..]),
        ]);
        assert_eq!(judge_handshake(&split), Verdict::Mqtt);
        assert_eq!(
            judge_handshake(&held(&[(S2C, b"220 smtp ready")])),
            Verdict::NotMqtt
        );
        // an HTTP request waits for its head (it may be a WebSocket upgrade)
        assert_eq!(
            judge_handshake(&held(&[(C2S, b"GET / HTTP/1.1\r\n")])),
            Verdict::Undecided
        );
        assert_eq!(
            judge_handshake(&held(&[(C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")])),
            Verdict::NotMqtt
        );
    }

    #[test]
    fn midstream_connections_need_a_run_of_packets() {
        let publish: &[u8] = &[0x30, 5, 0, 1, b't', b'h', b'i'];
        let pingresp: &[u8] = &[0xd0, 0];
        let h = held(&[(C2S, publish), (S2C, pingresp), (C2S, publish)]);
        assert_eq!(judge_midstream(&h), Verdict::Mqtt);
        assert_eq!(
            judge_midstream(&held(&[(C2S, publish)])),
            Verdict::Undecided
        );
        let tls = held(&[
            (C2S, &[0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]),
            (S2C, b"\x15\x03"),
        ]);
        assert_eq!(judge_midstream(&tls), Verdict::NotMqtt);
    }

    #[test]
    fn proven_servers_are_bounded() {
        let mut p = ProvenServers::default();
        let ep = |port| Endpoint {
            ip: [10, 0, 0, 1].into(),
            port,
        };
        p.add(ep(17501));
        assert!(p.contains(&ep(17501)) && !p.contains(&ep(1)));
    }

    #[test]
    fn connect_prefix_decides() {
        let connect = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
        assert_eq!(judge(C2S, true, &connect), Verdict::Mqtt);
        assert_eq!(judge(C2S, true, &connect[..3]), Verdict::Undecided);
        assert_eq!(judge(C2S, true, b"GET / HTTP/1.1"), Verdict::NotMqtt);
        assert_eq!(
            judge(Direction::ServerToClient, true, b""),
            Verdict::NotMqtt
        );
    }

    #[test]
    fn websocket_upgrades_for_mqtt() {
        let req = b"GET /mqtt HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
        assert_eq!(
            judge_handshake(&held(&[(C2S, &req[..30])])),
            Verdict::Undecided
        );
        assert_eq!(judge_handshake(&held(&[(C2S, req)])), Verdict::WebSocket);
        let other = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82abcd\x00\x00";
        assert_eq!(judge_handshake(&held(&[(C2S, other)])), Verdict::NotMqtt);
    }
}
