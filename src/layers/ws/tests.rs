use super::*;
use crate::base::Timestamp;

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn at(frame: u64) -> At {
    At {
        frame,
        ts: Timestamp::new(100, frame * 1_000_000, 6),
    }
}

/// A frame as a peer writes it (RFC 6455 5.2), masked with `mask`.
fn frame(fin: bool, rsv: u8, op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | (rsv << 4) | op];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => f.push(m | n as u8),
        n if n <= 0xffff => {
            f.push(m | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(m | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if let Some(k) = mask {
        f.extend_from_slice(&k);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

const KEY: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);
const REQ: &[u8] = b"GET /mqtt HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";

/// What came out, per kind.
#[derive(Default, Debug)]
struct Seen {
    data: Vec<(Direction, u64, Vec<u8>)>,
    gaps: Vec<(Direction, u64)>,
    errors: Vec<(Direction, u64, WsError)>,
    resyncs: Vec<u64>,
}

impl Seen {
    fn bytes(&self, dir: Direction) -> Vec<u8> {
        self.data
            .iter()
            .filter(|d| d.0 == dir)
            .flat_map(|d| d.2.clone())
            .collect()
    }
}

fn feed(ws: &mut WsLayer, seen: &mut Seen, dir: Direction, frame: u64, data: &[u8]) {
    ws.on_data(dir, at(frame), data, &mut |e| match e {
        WsEvent::Data { dir, at, bytes } => seen.data.push((dir, at.frame, bytes.to_vec())),
        WsEvent::Gap { dir, len, .. } => seen.gaps.push((dir, len)),
        WsEvent::Error { dir, at, error } => seen.errors.push((dir, at.frame, error)),
        WsEvent::Resync { skipped, .. } => seen.resyncs.push(skipped),
    });
}

fn opened() -> (WsLayer, Seen) {
    let mut ws = WsLayer::new();
    let mut seen = Seen::default();
    // The request's end straddles two segments.
    feed(&mut ws, &mut seen, C2S, 1, &REQ[..REQ.len() - 2]);
    feed(&mut ws, &mut seen, C2S, 2, &REQ[REQ.len() - 2..]);
    feed(&mut ws, &mut seen, S2C, 5, RESP);
    (ws, seen)
}

#[test]
fn handshake_is_read_and_timed() {
    let (ws, seen) = opened();
    let s = ws.summary();
    assert_eq!(s.path.as_deref(), Some("/mqtt"));
    assert_eq!(s.offered, ["mqtt"]);
    assert_eq!(s.subprotocol.as_deref(), Some("mqtt"));
    assert_eq!(s.status, Some(101));
    assert_eq!((s.request_frame, s.response_frame), (Some(2), Some(5)));
    let ms = s.handshake_ms.unwrap();
    assert!((ms - 3.0).abs() < 1e-9, "{ms}");
    assert!(!s.deflate);
    assert!(seen.errors.is_empty() && seen.data.is_empty());
}

#[test]
fn masked_frames_spanning_segments_unmask_to_the_payload() {
    let (mut ws, mut seen) = opened();
    let connect: Vec<u8> = (0u8..200).collect();
    let f = frame(true, 0, 2, KEY, &connect);
    // header split after one byte, payload split at odd offsets
    feed(&mut ws, &mut seen, C2S, 10, &f[..1]);
    feed(&mut ws, &mut seen, C2S, 11, &f[1..7]);
    feed(&mut ws, &mut seen, C2S, 12, &f[7..]);
    assert_eq!(seen.bytes(C2S), connect);
    // each piece names the frame that carried it
    assert_eq!(seen.data.last().unwrap().1, 12);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    // unmasked server frames; two frames in one segment, a packet spanning two frames
    let mut two = frame(true, 0, 2, None, b"abc");
    two.extend(frame(true, 0, 2, None, b"defg"));
    feed(&mut ws, &mut seen, S2C, 13, &two);
    assert_eq!(seen.bytes(S2C), b"abcdefg");
    assert_eq!(ws.summary().frames, PerDir::new(1, 2));
}

#[test]
fn fragmentation_control_frames_and_close() {
    let (mut ws, mut seen) = opened();
    let mut s = frame(false, 0, 2, KEY, b"hello ");
    s.extend(frame(true, 0, 9, KEY, b"ping-1")); // a ping between fragments is allowed
    s.extend(frame(true, 0, 0, KEY, b"world"));
    let mut close = vec![0x03, 0xe8];
    close.extend_from_slice(b"bye");
    s.extend(frame(true, 0, 8, KEY, &close));
    feed(&mut ws, &mut seen, C2S, 20, &s);
    feed(
        &mut ws,
        &mut seen,
        S2C,
        21,
        &frame(true, 0, 10, None, b"ping-1"),
    );
    assert_eq!(seen.bytes(C2S), b"hello world");
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    let sum = ws.summary();
    assert_eq!((sum.pings, sum.pongs), (1, 1));
    let c = sum.close.client_to_server.as_ref().unwrap();
    assert_eq!(
        (c.code, c.reason.as_str(), c.frame),
        (Some(1000), "bye", 20)
    );
    assert!(sum.close.server_to_client.is_none());
    // anything after the close is an error
    feed(&mut ws, &mut seen, C2S, 22, &frame(true, 0, 2, KEY, b"x"));
    assert_eq!(
        seen.errors,
        [(C2S, 22, WsError::AfterClose(Opcode::BINARY))]
    );
}

#[test]
fn protocol_errors_are_reported_with_their_frame() {
    let (mut ws, mut seen) = opened();
    feed(
        &mut ws,
        &mut seen,
        C2S,
        30,
        &frame(true, 0, 2, None, b"\xc0\x00"),
    );
    feed(&mut ws, &mut seen, C2S, 31, &frame(true, 0, 0, KEY, b"x"));
    feed(&mut ws, &mut seen, C2S, 32, &frame(true, 0, 3, KEY, b"x"));
    feed(
        &mut ws,
        &mut seen,
        C2S,
        33,
        &frame(true, 0, 1, KEY, b"text"),
    );
    feed(&mut ws, &mut seen, C2S, 34, &frame(false, 0, 9, KEY, b""));
    feed(
        &mut ws,
        &mut seen,
        C2S,
        35,
        &frame(true, 0b010, 2, KEY, b""),
    );
    feed(&mut ws, &mut seen, S2C, 36, &frame(true, 0, 2, KEY, b"m"));
    feed(
        &mut ws,
        &mut seen,
        S2C,
        37,
        &frame(true, 0, 8, None, &[0x03, 0xed]),
    );
    let want = [
        (C2S, 30, WsError::Unmasked),
        (C2S, 31, WsError::StrayContinuation),
        (C2S, 32, WsError::ReservedOpcode(3)),
        (C2S, 33, WsError::TextFrame),
        (C2S, 34, WsError::ControlFragmented(Opcode::PING)),
        (C2S, 35, WsError::ReservedBits(0b010)),
        (S2C, 36, WsError::Masked),
        (S2C, 37, WsError::BadCloseCode(1005)),
    ];
    assert_eq!(seen.errors, want);
    // the unmasked client frame still went up (as libwebsockets takes it), the
    // text frame and the stray continuation did not
    assert_eq!(seen.bytes(C2S), b"\xc0\x00");
    assert_eq!(seen.bytes(S2C), b"m");
    assert_eq!(ws.summary().errors, want.len() as u64);
}

#[test]
fn long_lengths_and_non_minimal_ones() {
    let (mut ws, mut seen) = opened();
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let f = frame(true, 0, 2, KEY, &big);
    assert_eq!(f[1] & 0x7f, 127);
    for (i, piece) in f.chunks(1448).enumerate() {
        feed(&mut ws, &mut seen, C2S, 100 + i as u64, piece);
    }
    assert_eq!(seen.bytes(C2S), big);
    // no piece above the scratch size: nothing buffered whole
    assert!(seen.data.iter().all(|d| d.2.len() <= SCRATCH));
    // a 3-byte payload in the 16-bit form
    let mut nm = vec![0x82, 0x80 | 126, 0, 3];
    nm.extend_from_slice(&KEY.unwrap());
    nm.extend_from_slice(&[1 ^ 0x37, 2 ^ 0xfa, 3 ^ 0x21]);
    feed(&mut ws, &mut seen, C2S, 200, &nm);
    assert_eq!(seen.errors, [(C2S, 200, WsError::NonMinimalLength(3))]);
    assert!(seen.bytes(C2S).ends_with(&[1, 2, 3]));
}

#[test]
fn a_gap_inside_a_payload_keeps_the_framing_and_the_mask() {
    let (mut ws, mut seen) = opened();
    let payload: Vec<u8> = (0u8..100).collect();
    let f = frame(true, 0, 2, KEY, &payload);
    let hdr = 6;
    feed(&mut ws, &mut seen, C2S, 40, &f[..hdr + 10]);
    ws.on_gap(C2S, at(41), 7, &mut |e| {
        if let WsEvent::Gap { len, .. } = e {
            seen.gaps.push((C2S, len));
        }
    });
    feed(&mut ws, &mut seen, C2S, 42, &f[hdr + 17..]);
    feed(
        &mut ws,
        &mut seen,
        C2S,
        43,
        &frame(true, 0, 2, KEY, b"next"),
    );
    assert_eq!(seen.gaps, [(C2S, 7)]);
    let mut want = payload[..10].to_vec();
    want.extend_from_slice(&payload[17..]);
    want.extend_from_slice(b"next");
    assert_eq!(seen.bytes(C2S), want);
    assert!(seen.errors.is_empty() && seen.resyncs.is_empty());
}

#[test]
fn a_gap_over_a_header_resynchronises_at_the_next_frame() {
    let (mut ws, mut seen) = opened();
    let a = frame(true, 0, 2, KEY, &[9u8; 40]);
    let b = frame(true, 0, 2, KEY, b"\x30\x05\x00\x01tab");
    let c = frame(true, 0, 2, KEY, b"\xc0\x00");
    feed(&mut ws, &mut seen, C2S, 50, &a[..20]);
    ws.on_gap(C2S, at(51), 100, &mut |e| {
        if let WsEvent::Gap { len, .. } = e {
            seen.gaps.push((C2S, len));
        }
    });
    // The capture resumes 5 bytes before the end of some frame.
    let mut tail = vec![1, 2, 3, 4, 5];
    tail.extend_from_slice(&b);
    tail.extend_from_slice(&c);
    feed(&mut ws, &mut seen, C2S, 52, &tail);
    assert_eq!(seen.gaps, [(C2S, 100)]);
    assert_eq!(seen.resyncs, [5]);
    assert!(seen.bytes(C2S).ends_with(b"\x30\x05\x00\x01tab\xc0\x00"));
    assert_eq!(ws.summary().resync_bytes, 5);
}

#[test]
fn refused_upgrade_ends_the_layer() {
    let mut ws = WsLayer::new();
    let mut seen = Seen::default();
    feed(&mut ws, &mut seen, C2S, 1, REQ);
    feed(
        &mut ws,
        &mut seen,
        S2C,
        2,
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    feed(&mut ws, &mut seen, S2C, 3, &frame(true, 0, 2, None, b"zz"));
    assert_eq!(seen.errors, [(S2C, 2, WsError::Refused(404))]);
    assert!(seen.data.is_empty());
    assert_eq!(ws.summary().status, Some(404));
    // a head that never ends is capped
    let mut ws = WsLayer::new();
    let mut seen = Seen::default();
    feed(&mut ws, &mut seen, C2S, 1, b"GET / HTTP/1.1\r\n");
    feed(&mut ws, &mut seen, C2S, 2, &vec![b'a'; MAX_HEAD + 10]);
    assert_eq!(seen.errors, [(C2S, 2, WsError::HeadTooLong)]);
    assert!(ws.buffered_bytes() < MAX_HEAD);
}

/// A message as permessage-deflate sends it: raw deflate, sync-flushed, the
/// 4-byte tail removed (RFC 7692 7.2.1).
fn deflate_msg(c: &mut flate2::Compress, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 64);
    c.compress_vec(msg, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

#[test]
fn permessage_deflate_is_inflated_with_context_takeover() {
    let mut ws = WsLayer::new();
    let mut seen = Seen::default();
    feed(&mut ws, &mut seen, C2S, 1, REQ);
    let resp = String::from_utf8_lossy(RESP).replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
    );
    feed(&mut ws, &mut seen, S2C, 2, resp.as_bytes());
    assert!(ws.summary().deflate);
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let m1: Vec<u8> = b"\x30\x20\x00\x0asensors/t1"
        .iter()
        .chain(&[b'x'; 20])
        .copied()
        .collect();
    let m2 = m1.clone(); // the second compresses against the first (shared window)
    let z1 = deflate_msg(&mut c, &m1);
    let z2 = deflate_msg(&mut c, &m2);
    assert!(
        z2.len() < z1.len(),
        "context takeover makes the repeat smaller"
    );
    let f1 = frame(true, 0b100, 2, KEY, &z1);
    feed(&mut ws, &mut seen, C2S, 3, &f1[..5]);
    feed(&mut ws, &mut seen, C2S, 4, &f1[5..]);
    // a compressed message in two fragments (RSV1 only on the first)
    let (a, b) = z2.split_at(z2.len() / 2);
    feed(&mut ws, &mut seen, C2S, 5, &frame(false, 0b100, 2, KEY, a));
    feed(&mut ws, &mut seen, C2S, 6, &frame(true, 0, 0, KEY, b));
    // an uncompressed message in between is fine too
    feed(
        &mut ws,
        &mut seen,
        C2S,
        7,
        &frame(true, 0, 2, KEY, b"\xc0\x00"),
    );
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    let mut want = m1.clone();
    want.extend_from_slice(&m2);
    want.extend_from_slice(b"\xc0\x00");
    assert_eq!(seen.bytes(C2S), want);
    assert_eq!(ws.summary().compressed_messages.client_to_server, 2);
    // garbage with RSV1 does not inflate: an error and a gap, no crash
    feed(
        &mut ws,
        &mut seen,
        C2S,
        8,
        &frame(true, 0b100, 2, KEY, &[0xff; 30]),
    );
    assert!(seen.errors.iter().any(|e| e.2 == WsError::Inflate));
}

#[test]
fn detection_judges_the_request_and_the_first_frame() {
    let connect = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01c";
    let like = |b: &[u8]| crate::mqtt::looks_like_connect(b);
    assert_eq!(judge_upgrade(REQ, 12, like), UpgradeVerdict::Mqtt);
    assert_eq!(
        judge_upgrade(&REQ[..40], 12, like),
        UpgradeVerdict::Undecided
    );
    let plain = String::from_utf8_lossy(REQ).replace("Sec-WebSocket-Protocol: mqtt\r\n", "");
    let mut with_frame = plain.as_bytes().to_vec();
    assert_eq!(
        judge_upgrade(&with_frame, 12, like),
        UpgradeVerdict::Undecided
    );
    with_frame.extend(frame(true, 0, 2, KEY, connect));
    assert_eq!(judge_upgrade(&with_frame, 12, like), UpgradeVerdict::Mqtt);
    let mut other = plain.as_bytes().to_vec();
    other.extend(frame(true, 0, 1, KEY, b"{\"hello\": 1}"));
    assert_eq!(judge_upgrade(&other, 12, like), UpgradeVerdict::NotMqtt);
    assert_eq!(
        judge_upgrade(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 12, like),
        UpgradeVerdict::NotMqtt
    );
}

#[test]
fn resync_candidates_must_look_like_frames() {
    let good = frame(true, 0, 2, KEY, b"abc");
    assert!(plausible_header(&good, true, false));
    assert!(
        !plausible_header(&good, false, false),
        "mask bit must match the direction"
    );
    assert!(!plausible_header(&[0x83, 0x80, 0, 0, 0, 0], true, false));
    // a control frame claiming 126+ bytes
    assert!(!plausible_header(
        &[0x89, 0xfe, 0, 200, 1, 2, 3, 4],
        true,
        false
    ));
    // followed by junk where the next header should be
    let mut g = good.clone();
    g.extend_from_slice(&[0x00, 0x00]);
    assert!(!plausible_header(&g, true, false));
}
