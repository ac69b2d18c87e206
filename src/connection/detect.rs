//! Which TCP connections carry MQTT: decided from the server port, or from
//! the client's first bytes, as pure functions of what has been seen.

use crate::base::Direction;
use crate::mqtt::looks_like_connect;

/// Bytes of the client's first data needed to recognise a CONNECT
/// (fixed header, protocol name "MQIsdp", level).
pub const DETECT_PREFIX: usize = 12;

/// What the first bytes of a connection not on an MQTT port say so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A CONNECT: the connection is MQTT.
    Mqtt,
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

/// A TLS record header (handshake, version 3.x): MQTT over TLS on 8883.
pub fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [0x16, 0x03, 0x00..=0x04, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const C2S: Direction = Direction::ClientToServer;

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
    fn tls_client_hello() {
        assert!(looks_like_tls(&[0x16, 0x03, 0x01, 0x02, 0x00]));
        assert!(!looks_like_tls(&[0x10, 0x03, 0x01]));
    }
}
