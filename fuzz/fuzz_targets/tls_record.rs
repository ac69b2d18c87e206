//! The TLS layer of one connection (src/layers/tls): record framing, the
//! hellos, key set-up and decryption attempts, gaps and resynchronisation,
//! driven the way the connection drives it, with the fuzz input as both
//! the script and the bytes.
//!
//! Input layout: `[mode, ops...]`
//! * `mode` bit 0: a key log is given; it holds TLS 1.2 and TLS 1.3
//!   secrets for the client random of 32 zero bytes and of 32 0x41 bytes,
//!   so that the fuzzer reaches key set-up and decryption (tags will not
//!   verify: that is the failure path, which must not crash either);
//! * each op byte: bit 0 the direction; bits 1-2 the kind — data (0, 1, 2)
//!   with a two-byte little-endian length then that many bytes, or a gap
//!   (3) whose size is the next byte (or, with the op's top bit, eight bytes).
//!
//! Checked after every call:
//! * events never name a frame that has not happened yet, and a
//!   direction's events never go back in frame;
//! * `buffered_bytes()` stays within the caps: per direction a record
//!   buffer of `MAX_FRAGMENT` and a handshake buffer of `MAX_HANDSHAKE` + 4
//!   (capacity may double while growing);
//! * problems render as text and never contain a secret of the key log;
//! * the summary is consistent (decrypted implies no undecoded reason).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::base::{At, Direction, Timestamp};
use mqtt_inspect::layers::tls::{KeyLog, MAX_FRAGMENT, MAX_HANDSHAKE, TlsEvent, TlsLayer};
use std::sync::OnceLock;

const SECRET_HEX: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e7";

fn keylog_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut t = String::new();
        for r in ["00".repeat(32), "41".repeat(32)] {
            t += &format!("CLIENT_RANDOM {r} {SECRET_HEX}\n");
            for l in [
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
            ] {
                t += &format!("{l} {r} {}\n", &SECRET_HEX[..64]);
            }
        }
        t
    })
}

fn at(n: u64) -> At {
    At {
        frame: n,
        ts: Timestamp::new(1_700_000_000 + n as i64, 0, 6),
    }
}

const BOUND: usize = 2 * (2 * MAX_FRAGMENT) + 2 * (2 * (MAX_HANDSHAKE + 4));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut ops)) = data.split_first() else {
        return;
    };
    let keys = (mode & 1 == 1).then(|| KeyLog::parse(keylog_text()));
    let mut tls = TlsLayer::new(keys.is_some());
    let mut now = 0u64;
    let mut last = [0u64; 2];
    let mut check = |now: u64, ev: TlsEvent<'_>| {
        let (dir, at) = match &ev {
            TlsEvent::Plain { dir, at, .. }
            | TlsEvent::Lost { dir, at, .. }
            | TlsEvent::Alert { dir, at, .. } => (*dir, *at),
            TlsEvent::Problem { dir, at, problem } => {
                let text = problem.to_string();
                assert!(!text.contains("5ec2e7"), "a secret in a message: {text}");
                (*dir, *at)
            }
        };
        let d = usize::from(dir == Direction::ServerToClient);
        assert!(at.frame <= now, "event at frame {} before frame {now}", at.frame);
        assert!(at.frame >= last[d], "frame went back from {} to {}", last[d], at.frame);
        last[d] = at.frame;
    };
    while let Some((&op, rest)) = ops.split_first() {
        now += 1;
        let dir = if op & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        if (op >> 1) & 3 < 3 {
            let Some((len, rest)) = rest.split_first_chunk::<2>() else {
                break;
            };
            let len = usize::from(u16::from_le_bytes(*len));
            let (chunk, rest) = rest.split_at(len.min(rest.len()));
            tls.on_data(dir, at(now), chunk, keys.as_ref(), &mut |e| check(now, e));
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
            tls.on_gap(dir, at(now), len, &mut |e| check(now, e));
            ops = rest;
        }
        let held = tls.buffered_bytes();
        assert!(held <= BOUND, "{held} bytes buffered, bound {BOUND}");
    }
    let s = tls.summary();
    assert!(!(s.decrypted && s.undecoded.is_some()), "{s:?}");
    assert!(!format!("{s:?}").contains("5ec2e7"));
});
