//! The WebSocket layer of one connection (src/layers/ws.rs), driven the way
//! the connection drives it, with the fuzz input as both the script and
//! the bytes.
//!
//! Input layout: `[mode, ops...]`
//! * `mode` bit 0: the opening handshake is fed first (a canned request
//!   and 101 response) so that frames are reached at once; bit 1: the
//!   response accepts permessage-deflate (bit 2: without context takeover);
//! * each op byte: bit 0 the direction; bits 1-2 the kind — data (0, 1, 2)
//!   with one length byte then that many bytes, or a gap (3) whose size is
//!   the next byte (or, with the op's top bit, the next eight bytes).
//!   Every op is one capture frame.
//!
//! Checked after every call:
//! * events never name a frame that has not happened yet, and a
//!   direction's events never go back in frame;
//! * data goes up in pieces of at most `SCRATCH` bytes;
//! * `buffered_bytes()` stays within the documented caps (two heads of
//!   `MAX_HEAD`, two scratch buffers, two inflaters and their buffers);
//! * every error renders as text, the summary's counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::base::{At, Direction, Timestamp};
use mqtt_inspect::layers::ws::{MAX_HEAD, SCRATCH, WsEvent, WsLayer};

const REQ: &[u8] = b"GET /mqtt HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn at(n: u64) -> At {
    At {
        frame: n,
        ts: Timestamp::new(1_700_000_000 + n as i64, 0, 6),
    }
}

/// Heads (capacity may double while growing), scratch, and per inflater
/// its window state (~48 KiB in miniz_oxide) and output buffer.
const BOUND: usize = 2 * (2 * MAX_HEAD) + 2 * (2 * SCRATCH) + 2 * (48 * 1024 + SCRATCH);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut ops)) = data.split_first() else {
        return;
    };
    let mut ws = WsLayer::new();
    let mut now = 0u64;
    let mut last = [0u64; 2];
    let mut errors = 0u64;
    let mut check = |now: u64, ev: WsEvent<'_>| {
        let (dir, at) = match &ev {
            WsEvent::Data { dir, at, bytes } => {
                assert!(bytes.len() <= SCRATCH, "{} bytes in one piece", bytes.len());
                (*dir, *at)
            }
            WsEvent::Gap { dir, at, .. } | WsEvent::Resync { dir, at, .. } => (*dir, *at),
            WsEvent::Error { dir, at, error } => {
                errors += 1;
                assert!(!error.to_string().is_empty());
                (*dir, *at)
            }
        };
        let d = usize::from(dir == Direction::ServerToClient);
        assert!(at.frame <= now, "event at frame {} before frame {now}", at.frame);
        assert!(at.frame >= last[d], "frame went back from {} to {}", last[d], at.frame);
        last[d] = at.frame;
    };
    if mode & 1 == 1 {
        now += 1;
        ws.on_data(Direction::ClientToServer, at(now), REQ, &mut |e| check(now, e));
        let ext = match mode & 6 {
            2 => "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            6 => "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n",
            _ => "",
        };
        let resp = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n{ext}\r\n");
        now += 1;
        ws.on_data(Direction::ServerToClient, at(now), resp.as_bytes(), &mut |e| check(now, e));
    }
    while let Some((&op, rest)) = ops.split_first() {
        now += 1;
        let dir = if op & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        if (op >> 1) & 3 < 3 {
            let Some((&len, rest)) = rest.split_first() else {
                break;
            };
            let (chunk, rest) = rest.split_at(usize::from(len).min(rest.len()));
            ws.on_data(dir, at(now), chunk, &mut |e| check(now, e));
            ops = rest;
        } else {
            let (len, rest) = if op & 0x80 == 0 {
                let Some((&b, rest)) = rest.split_first() else {
                    break;
                };
                (u64::from(b), rest)
            } else {
                let Some((b, rest)) = rest.split_first_chunk::<8>() else {
                    break;
                };
                (u64::from_le_bytes(*b), rest)
            };
            ws.on_gap(dir, at(now), len, &mut |e| check(now, e));
            ops = rest;
        }
        let held = ws.buffered_bytes();
        assert!(held <= BOUND, "{held} bytes buffered, bound {BOUND}");
    }
    assert_eq!(ws.summary().errors, errors, "every error counted once");
});
