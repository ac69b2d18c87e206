//! For the framer's unit tests: a consumer that records what the framer
//! hands out as owned values, checking on every unit the two frame rules
//! any input must keep (a unit carries its own frame's timestamp, and the
//! frames a stream's units name never go back), and packet builders.

use super::{Framer, FramerConfig, ResyncCause, Unit, Verdict};
use crate::base::{At, Timestamp};
use crate::mqtt::header::{PacketType, ProtocolVersion};
use crate::mqtt::parse::{Layout, decode_body, decode_streamed_publish};

/// The timestamp of frame `n` in these tests: distinct per frame.
pub fn ts(n: u64) -> Timestamp {
    Timestamp::new(1_600_000_000 + n as i64, 250_000, 6)
}

pub fn at(n: u64) -> At {
    At {
        frame: n,
        ts: ts(n),
    }
}

/// A unit, owned, without what the tests do not look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    Packet {
        bytes: Vec<u8>,
        start: u64,
    },
    Streamed {
        prefix: Vec<u8>,
        digests: Vec<(Layout, u64)>,
        missing: u64,
        start: u64,
    },
    HeaderMalformed {
        start: u64,
    },
    Oversized {
        packet_type: PacketType,
        length: u32,
        start: u64,
    },
    Disproved {
        length: u32,
        offset: usize,
        answer: PacketType,
        start: u64,
    },
    TooLarge {
        length: u32,
        limit: u32,
        start: u64,
    },
    Gap {
        missing: u64,
        lost: Option<PacketType>,
        resync: bool,
    },
    Resync {
        skipped: u64,
        cause: ResyncCause,
        resumed: bool,
    },
    Truncated {
        packet_type: Option<PacketType>,
        length: Option<u32>,
        received: u64,
        start: u64,
    },
}

impl Out {
    fn of(unit: &Unit<'_>) -> Out {
        match *unit {
            Unit::Packet {
                bytes, start_frame, ..
            } => Out::Packet {
                bytes: bytes.to_vec(),
                start: start_frame,
            },
            Unit::StreamedPublish {
                prefix,
                digests,
                missing,
                start_frame,
                ..
            } => Out::Streamed {
                prefix: prefix.to_vec(),
                digests: digests.iter().map(|d| (d.layout, d.hash)).collect(),
                missing,
                start: start_frame,
            },
            Unit::HeaderMalformed { start_frame, .. } => {
                Out::HeaderMalformed { start: start_frame }
            }
            Unit::Oversized {
                header,
                start_frame,
            } => Out::Oversized {
                packet_type: header.packet_type,
                length: header.length,
                start: start_frame,
            },
            Unit::Disproved {
                header,
                offset,
                answer,
                start_frame,
            } => Out::Disproved {
                length: header.length,
                offset,
                answer,
                start: start_frame,
            },
            Unit::TooLarge {
                header,
                limit,
                start_frame,
            } => Out::TooLarge {
                length: header.length,
                limit,
                start: start_frame,
            },
            Unit::Gap {
                missing,
                lost,
                resync,
            } => Out::Gap {
                missing,
                lost,
                resync,
            },
            Unit::Resync {
                skipped,
                cause,
                resumed,
            } => Out::Resync {
                skipped,
                cause,
                resumed,
            },
            Unit::Truncated {
                packet_type,
                length,
                received,
                start_frame,
            } => Out::Truncated {
                packet_type,
                length,
                received,
                start: start_frame,
            },
        }
    }
}

/// The consumer's answer the way `MqttConnection` gives it: a packet that
/// does not decode (as `version`, 3.1.1 when unknown) is malformed, and so
/// is a bad fixed header.
pub fn verdict_of(unit: &Unit<'_>, version: Option<ProtocolVersion>) -> Verdict {
    let v = version.unwrap_or(ProtocolVersion::V311);
    let malformed = match *unit {
        Unit::Packet { bytes, header, .. } => {
            let body = bytes
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            decode_body(header, body, v, 0).is_err()
        }
        Unit::StreamedPublish {
            prefix,
            header,
            digests,
            missing,
            ..
        } => {
            let body = prefix
                .get(usize::from(header.header_len)..)
                .unwrap_or_default();
            let digest = digests.iter().find(|d| d.layout == Layout::of(v));
            let hash = digest.map_or(0, |d| d.hash);
            digest.is_none() || decode_streamed_publish(header, body, v, 0, hash, missing).is_err()
        }
        Unit::HeaderMalformed { .. } | Unit::Disproved { .. } | Unit::TooLarge { .. } => true,
        _ => false,
    };
    Verdict {
        malformed,
        hint: version,
    }
}

/// A framer with a recording consumer.
pub struct Rig {
    pub framer: Framer,
    /// The version the consumer decodes as, handed to the framer as the
    /// CONNECT's (None: unknown, decoded as 3.1.1).
    pub version: Option<ProtocolVersion>,
    /// What was handed out, with the frame each unit was reported at.
    pub seen: Vec<(Out, u64)>,
    last: u64,
}

impl Rig {
    pub fn new(cfg: FramerConfig, mid_stream: bool) -> Rig {
        Rig {
            framer: Framer::new(cfg, mid_stream),
            version: None,
            seen: Vec::new(),
            last: 0,
        }
    }

    /// Each slice one frame (1, 2, ...), then the close.
    pub fn frames(cfg: FramerConfig, mid_stream: bool, slices: &[&[u8]]) -> Vec<(Out, u64)> {
        let mut rig = Rig::new(cfg, mid_stream);
        let mut frame = 0;
        for s in slices {
            frame += 1;
            rig.data(frame, s);
        }
        rig.close(frame + 1);
        rig.seen
    }

    fn run(&mut self, f: impl FnOnce(&mut Framer, &mut super::Sink<'_>)) {
        let (seen, last, version) = (&mut self.seen, &mut self.last, self.version);
        self.framer.set_hint(version);
        let mut sink = |unit: Unit<'_>, a: At| {
            assert_eq!(a.ts, ts(a.frame), "{unit:?} at {a:?}: not its frame's time");
            assert!(a.frame >= *last, "{unit:?} at {a:?} after frame {last}");
            *last = a.frame;
            seen.push((Out::of(&unit), a.frame));
            verdict_of(&unit, version)
        };
        f(&mut self.framer, &mut sink);
    }

    pub fn data(&mut self, frame: u64, bytes: &[u8]) {
        self.run(|f, sink| f.push(bytes, at(frame), sink));
    }

    pub fn gap(&mut self, frame: u64, missing: u64) {
        self.run(|f, sink| f.gap(missing, at(frame), sink));
    }

    pub fn close(&mut self, frame: u64) {
        self.run(|f, sink| f.close(at(frame), sink));
    }

    /// The peer sent `answer` for packet id `id` (what `MqttConnection`
    /// tells the framer); returns whether the framer acted on it.
    pub fn answer(&mut self, answer: PacketType, id: u16) -> bool {
        let mut acted = false;
        self.run(|f, sink| acted = f.answered(answer, id, sink));
        acted
    }
}

/// A packet: first byte, remaining length, body.
pub fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

pub const PINGREQ: [u8; 2] = [0xc0, 0x00];

/// A 3.1.1 PUBLISH at QoS 0.
pub fn publish311(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(payload);
    pkt(0x30, &body)
}

/// `Out::Packet` of these bytes, started in frame `start`.
pub fn packet(bytes: &[u8], start: u64) -> Out {
    Out::Packet {
        bytes: bytes.to_vec(),
        start,
    }
}
