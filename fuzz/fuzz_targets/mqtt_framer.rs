//! The MQTT decoding of one TCP connection, driven the way the TCP layer
//! drives it, with the fuzz input as both the script and the bytes.
//!
//! Input layout: `[mode, cap, preview, ops...]`
//! * `mode` bit 0: picked up mid-stream (`new_mid_stream`) or not (`new`);
//! * `cap`: the packet buffer limit, `16 << (cap % 8)` bytes (small, so
//!   that oversized packets and full scan windows are reached);
//! * `preview`: the payload preview size;
//! * each op byte: bit 0 the direction; bits 1-2 the kind — data (0, 1, 2)
//!   with one length byte then that many bytes, or a gap (3) whose size
//!   comes from the op's high bits and one or eight more bytes.
//!   Every op is one capture frame.
//!
//! Checked after every call and after `on_close`:
//! * events never name a frame that has not happened yet, and a packet
//!   starts no later than it ends; events of each direction never go back
//!   in frame number, and every event carries its own frame's timestamp
//!   (unless `FUZZ_FRAMER_LENIENT=1`, see `strict`);
//! * `buffered_bytes()` stays within what the configuration allows (see
//!   `memory_bound`);
//! * every decoded packet and malformed error renders as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::base::{Direction, Timestamp};
use mqtt_inspect::mqtt::{MqttConfig, MqttConnection, MqttEvent};
use mqtt_inspect::report::{MalformedJson, PacketJson, RenderOptions};
use std::sync::OnceLock;

/// Bytes a framer may hold beyond its limits: a fixed header (5) plus the
/// 16 bytes a scan window may read past `window`.
const SLACK: usize = 32;

/// The most `buffered_bytes()` may report: per direction a packet of up to
/// `cap` bytes plus a payload preview plus slack, held in a `Vec` whose
/// amortised growth can reserve up to twice what it holds; plus one topic
/// alias table per direction, each limited to `cap` bytes of topics. (The
/// payload a streamed PUBLISH keeps as evidence against its length is at
/// most `min(64 KiB, cap)` bytes with its prefix, and its buffer grows to
/// no more than that: within the same bound.)
fn memory_bound(cfg: &MqttConfig) -> usize {
    let held = cfg.max_packet_buffer.max(16) + cfg.payload_preview + SLACK;
    2 * (2 * held) + 2 * cfg.max_packet_buffer
}

/// Frame order and event timestamps are checked unless
/// `FUZZ_FRAMER_LENIENT=1`: should an input break them again, lenient mode
/// lets fuzzing go on looking for other problems while it is fixed.
fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("FUZZ_FRAMER_LENIENT").is_none_or(|v| v != "1"))
}

/// The capture timestamp of frame `n`.
fn ts_of(n: u64) -> Timestamp {
    Timestamp::new(1_700_000_000 + n as i64, 0, 6)
}

struct Check {
    last: [u64; 2],
    now: u64,
    render: RenderOptions,
}

impl Check {
    fn event(&mut self, ev: &MqttEvent<'_>) {
        let d = match ev.dir() {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        };
        let frame = ev.frame();
        assert!(
            frame <= self.now,
            "event at frame {frame} before frame {} happened: {ev:?}",
            self.now
        );
        if strict() {
            assert!(
                frame >= self.last[d],
                "frame went back from {} to {frame}: {ev:?}",
                self.last[d]
            );
            assert_eq!(ev.ts(), ts_of(frame), "ts is not its frame's: {ev:?}");
        }
        self.last[d] = frame;
        match ev {
            MqttEvent::Packet(p) => {
                assert!(p.start_frame <= p.frame, "{ev:?}");
                let text = serde_json::to_string(&PacketJson::new(p.packet, &self.render))
                    .expect("packet JSON");
                assert!(text.starts_with('{'));
                let _ = p.packet.summary();
            }
            MqttEvent::Malformed(m) => {
                assert!(m.start_frame <= m.frame, "{ev:?}");
                serde_json::to_string(&MalformedJson::new(&m.error)).expect("malformed JSON");
            }
            MqttEvent::Oversized(o) => {
                assert!(o.start_frame <= o.frame, "{ev:?}");
                // The whole packet (fixed header of at most 5 bytes included) was over the limit.
                assert!(o.length as usize + 5 > o.limit.max(16), "{ev:?}");
            }
            MqttEvent::Truncated(t) => assert!(t.start_frame <= t.frame, "{ev:?}"),
            MqttEvent::Gap(_) | MqttEvent::Resync(_) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, mut ops)) = data.split_first_chunk::<3>() else {
        return;
    };
    let [mode, cap, preview] = *head;
    let cfg = MqttConfig {
        payload_preview: usize::from(preview),
        max_packet_buffer: 16 << (cap % 8),
    };
    let bound = memory_bound(&cfg);
    let mut conn = if mode & 1 == 1 {
        MqttConnection::new_mid_stream(&cfg)
    } else {
        MqttConnection::new(&cfg)
    };
    let mut check = Check {
        last: [0; 2],
        now: 0,
        render: RenderOptions {
            payload_bytes: usize::from(preview),
            show_secrets: mode & 2 == 2,
        },
    };
    let mut frame = 0u64;
    while let Some((&op, rest)) = ops.split_first() {
        frame += 1;
        check.now = frame;
        let ts = ts_of(frame);
        let dir = if op & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let kind = (op >> 1) & 3;
        if kind < 3 {
            let Some((&len, rest)) = rest.split_first() else {
                break;
            };
            let n = usize::from(len).min(rest.len());
            let (chunk, rest) = rest.split_at(n);
            conn.on_data(dir, frame, ts, chunk, &mut |ev| check.event(&ev));
            ops = rest;
        } else {
            let (missing, rest) = if op & 0x80 == 0 {
                let Some((&b, rest)) = rest.split_first() else {
                    break;
                };
                (u64::from(b) + u64::from(op >> 3 & 0x0f) * 256, rest)
            } else {
                let Some((b, rest)) = rest.split_first_chunk::<8>() else {
                    break;
                };
                (u64::from_le_bytes(*b), rest)
            };
            conn.on_gap(dir, frame, ts, missing, &mut |ev| check.event(&ev));
            ops = rest;
        }
        let held = conn.buffered_bytes();
        assert!(
            held <= bound,
            "{held} bytes buffered, limit {bound} ({cfg:?})"
        );
    }
    frame += 1;
    check.now = frame;
    let ts = ts_of(frame);
    conn.on_close(frame, ts, &mut |ev| check.event(&ev));
    let held = conn.buffered_bytes();
    assert!(
        held <= bound,
        "{held} bytes buffered after close, limit {bound} ({cfg:?})"
    );
});
