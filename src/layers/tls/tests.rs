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

fn record(t: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![t, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn handshake_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn client_hello(random: [u8; 32]) -> Vec<u8> {
    hello::tests_support::client_hello(random, "broker.example", &[b"mqtt"], &[0x0304, 0x0303])
}

fn server_hello(version: u16, suite: u16) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    if version == 0x0304 {
        b.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
    } else {
        b.extend_from_slice(&[0, 0]);
    }
    b
}

#[derive(Default)]
struct Seen {
    plain: Vec<u8>,
    lost: u64,
    alerts: Vec<(Direction, u64, u8)>,
    problems: Vec<TlsProblem>,
    /// Where each problem was said.
    problem_at: Vec<(Direction, u64)>,
}

fn feed(
    t: &mut TlsLayer,
    seen: &mut Seen,
    dir: Direction,
    f: u64,
    data: &[u8],
    keys: Option<&KeyLog>,
) {
    t.on_data(dir, at(f), data, keys, &mut |e| match e {
        TlsEvent::Plain { bytes, .. } => seen.plain.extend_from_slice(bytes),
        TlsEvent::Lost { len, .. } => seen.lost += len,
        TlsEvent::Alert {
            dir,
            at,
            description,
            ..
        } => seen.alerts.push((dir, at.frame, description)),
        TlsEvent::Problem { dir, at, problem } => {
            seen.problems.push(problem);
            seen.problem_at.push((dir, at.frame));
        }
    });
}

#[test]
fn hellos_in_the_clear_across_segments() {
    let mut t = TlsLayer::new(false);
    let mut seen = Seen::default();
    let ch = record(22, &handshake_msg(1, &client_hello([4; 32])));
    // header split, body split
    feed(&mut t, &mut seen, C2S, 1, &ch[..3], None);
    feed(&mut t, &mut seen, C2S, 2, &ch[3..50], None);
    assert!(!t.client_hello_seen());
    feed(&mut t, &mut seen, C2S, 3, &ch[50..], None);
    assert!(t.client_hello_seen() && t.offers_mqtt());
    // ServerHello and the next handshake message split across two records
    let mut hs = handshake_msg(2, &server_hello(0x0303, 0xc02b));
    hs.extend(handshake_msg(11, &[0u8; 3000]));
    let (a, b) = hs.split_at(100);
    let mut wire = record(22, a);
    wire.extend(record(22, b));
    feed(&mut t, &mut seen, S2C, 5, &wire, None);
    let s = t.summary();
    assert_eq!(s.version_name(), Some("TLS 1.2"));
    assert_eq!(
        s.cipher_name().as_deref(),
        Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    );
    assert_eq!(s.sni.as_deref(), Some("broker.example"));
    assert_eq!(s.alpn_offered, ["mqtt"]);
    assert_eq!(
        (s.client_hello_frame, s.server_hello_frame),
        (Some(3), Some(5))
    );
    assert!((s.hello_ms.unwrap() - 2.0).abs() < 1e-9);
    // no client Finished yet: were it to end here, its handshake failed
    assert_eq!(s.undecoded, Some(Undecoded::HandshakeFailed));
    // the client's ChangeCipherSpec ends its handshake; what follows is skipped unread
    feed(&mut t, &mut seen, C2S, 7, &record(20, &[1]), None);
    feed(&mut t, &mut seen, C2S, 8, &record(22, &[0x55; 40]), None);
    feed(&mut t, &mut seen, C2S, 9, &record(23, &[0x66; 4000]), None);
    assert!((t.summary().handshake_ms.unwrap() - 4.0).abs() < 1e-9);
    assert_eq!(t.summary().undecoded, Some(Undecoded::NoKeyLog));
    assert_eq!(t.summary().records.client_to_server, 4);
    assert!(seen.plain.is_empty() && seen.problems.is_empty());
    // nothing of the skipped records was kept
    assert!(t.buffered_bytes() < 8192, "{}", t.buffered_bytes());
}

#[test]
fn alerts_and_the_missing_key() {
    let mut t = TlsLayer::new(true);
    let mut seen = Seen::default();
    let keys = KeyLog::parse("");
    let ch = record(22, &handshake_msg(1, &client_hello([4; 32])));
    feed(&mut t, &mut seen, C2S, 1, &ch, Some(&keys));
    let sh = record(22, &handshake_msg(2, &server_hello(0x0304, 0x1301)));
    feed(&mut t, &mut seen, S2C, 2, &sh, Some(&keys));
    // the missing key is a warning only once there is something to decrypt
    assert!(seen.problems.is_empty());
    assert_eq!(t.summary().undecoded, Some(Undecoded::HandshakeFailed));
    feed(
        &mut t,
        &mut seen,
        S2C,
        3,
        &record(23, &[0x77; 40]),
        Some(&keys),
    );
    feed(
        &mut t,
        &mut seen,
        C2S,
        4,
        &record(23, &[0x78; 40]),
        Some(&keys),
    );
    assert!(
        matches!(seen.problems.as_slice(), [TlsProblem::NoKey { client_random, tls13: true }] if *client_random == [4; 32]),
        "{:?}",
        seen.problems
    );
    // said at the first encrypted record (frame 3), not back at the
    // ServerHello (frame 2): a direction's events never go back in frame
    assert_eq!(seen.problem_at, [(S2C, 3)]);
    let shown = seen.problems[0].to_string();
    assert!(shown.contains(&"04".repeat(32)), "{shown}");
    assert_eq!(t.summary().undecoded, Some(Undecoded::NoKey));
    assert_eq!(t.summary().version_name(), Some("TLS 1.3"));
    // a plaintext fatal alert from the client
    feed(
        &mut t,
        &mut seen,
        C2S,
        5,
        &record(21, &[2, 48]),
        Some(&keys),
    );
    assert_eq!(seen.alerts, [(C2S, 5, 48)]);
    assert_eq!(alert_name(48), "unknown_ca");
    assert_eq!(t.summary().alerts, 1);
}

#[test]
fn unsupported_suites_are_named() {
    let mut t = TlsLayer::new(true);
    let mut seen = Seen::default();
    let keys = KeyLog::parse("");
    feed(
        &mut t,
        &mut seen,
        C2S,
        1,
        &record(22, &handshake_msg(1, &client_hello([4; 32]))),
        Some(&keys),
    );
    feed(
        &mut t,
        &mut seen,
        S2C,
        2,
        &record(22, &handshake_msg(2, &server_hello(0x0303, 0xc013))),
        Some(&keys),
    );
    assert_eq!(seen.problems, [TlsProblem::UnsupportedSuite(0xc013)]);
    assert!(
        seen.problems[0]
            .to_string()
            .contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
    );
    assert_eq!(t.summary().undecoded, Some(Undecoded::UnsupportedSuite));
}

#[test]
fn garbage_and_gaps_lose_and_find_the_framing() {
    let mut t = TlsLayer::new(false);
    let mut seen = Seen::default();
    feed(
        &mut t,
        &mut seen,
        C2S,
        1,
        &record(22, &handshake_msg(1, &client_hello([4; 32]))),
        None,
    );
    feed(&mut t, &mut seen, C2S, 2, b"\x99\x99\x99\x99\x99", None);
    assert!(matches!(
        seen.problems.as_slice(),
        [TlsProblem::NotTls {
            content_type: 0x99,
            ..
        }]
    ));
    let mut next = vec![1, 2, 3];
    next.extend(record(23, &[7; 30]));
    next.extend(record(23, &[7; 30]));
    feed(&mut t, &mut seen, C2S, 3, &next, None);
    assert_eq!(
        seen.problems.last(),
        Some(&TlsProblem::Resync { skipped: 3 })
    );
    let before = t.summary().records.client_to_server;
    // a gap inside a body keeps the framing
    let r = record(23, &[7; 100]);
    feed(&mut t, &mut seen, C2S, 4, &r[..20], None);
    t.on_gap(C2S, at(5), 30, &mut |_| {});
    feed(&mut t, &mut seen, C2S, 6, &r[50..], None);
    assert_eq!(
        t.summary().records.client_to_server,
        before + 1,
        "{:?}",
        seen.problems
    );
    feed(&mut t, &mut seen, C2S, 7, &record(23, &[1; 10]), None);
    assert_eq!(t.summary().records.client_to_server, before + 2);
    assert_eq!(seen.problems.len(), 2);
}

#[test]
fn client_hello_detection() {
    let ch = record(22, &handshake_msg(1, &client_hello([4; 32])));
    assert!(looks_like_client_hello(&ch));
    assert!(looks_like_client_hello(&ch[..3]));
    assert!(!looks_like_client_hello(&record(23, b"x")));
    assert!(!looks_like_client_hello(b"\x10\x0d\x00\x04MQTT"));
}
