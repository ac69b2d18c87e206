//! The TLS layer: record framing per direction, the hellos in the clear,
//! and — with a key log — decryption of TLS 1.2 and 1.3 records, as a pure
//! state machine over the two byte streams of one connection.
//!
//! **Why our own parser and not tls-parser.** We need the record layer as
//! a streaming state machine that survives gaps, two hello messages, three
//! more handshake messages once decrypted, and alerts — a few hundred
//! lines. tls-parser parses whole records into owned structures, leaves
//! the streaming (records and handshake messages spanning segments) and
//! the decryption to the caller anyway, and would add its dependency tree
//! (phf, rusticata-macros, num-*) for the small part we use. Owning the
//! code also lets the fuzz targets cover exactly what runs.
//!
//! **Records.** Each direction collects a record's 5-byte header, then
//! its body: *copied* into a per-direction buffer (at most
//! [`MAX_FRAGMENT`]) only when it will be read — a plaintext handshake
//! record, an alert, or an encrypted record we hold keys for — and
//! otherwise skipped by length, so TLS we cannot decrypt costs no copy and
//! no memory. Decryption happens in place in that buffer; the plaintext of
//! an application_data record goes up as one slice with the [`At`] of the
//! frame that completed the record (the frame Wireshark names for what is
//! inside it). Handshake messages are reassembled across records up to
//! [`MAX_HANDSHAKE`] bytes; longer ones (certificate chains) are skipped
//! by length.
//!
//! **Keys.** At the ServerHello the connection's secrets are looked up in
//! the key log by the ClientHello's random. TLS 1.2: the key block from
//! `CLIENT_RANDOM`'s master secret, used from each direction's
//! ChangeCipherSpec on. TLS 1.3: handshake keys from the
//! `*_HANDSHAKE_TRAFFIC_SECRET`s, application keys from the
//! `*_TRAFFIC_SECRET_0`s after that direction's Finished (a record that
//! fails under the handshake keys is also tried under the application
//! keys), and KeyUpdate derives the next generation. A record that fails
//! to decrypt is reported once per direction (and counted); its sequence
//! number is used up and decoding goes on with the next record.
//!
//! **Gaps.** Bytes lost inside a record's body spoil that record only;
//! a gap over a header loses the framing, and the direction scans for the
//! next plausible header (type, version, length, and the header after it
//! when at hand); the sequence number is then searched in a small window.

pub mod crypto;
pub mod hello;
pub mod keylog;

pub use keylog::{ConnSecrets, KeyLog, KeyLogError, Secret};

use crate::base::{At, Direction, PerDir};
use crypto::DirKeys;
use hello::msg;
use std::fmt;

/// The largest record body accepted: TLSCiphertext's limit (RFC 5246
/// 6.2.3: 2^14 + 2048); TLS 1.3 allows less (2^14 + 256).
pub const MAX_FRAGMENT: usize = (1 << 14) + 2048;
/// Handshake message bytes kept while a message is reassembled (per direction).
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Sequence numbers tried after the framing was found again.
const SEQ_WINDOW: u64 = 64;

/// Record content types.
mod ct {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// Why an encrypted connection was not decoded (the summary counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Undecoded {
    /// No `--tls-keylog` was given.
    NoKeyLog,
    /// The key log has no secret for this connection's client random.
    NoKey,
    /// The cipher suite is not one we decrypt (CBC, CCM, …).
    UnsupportedSuite,
    /// A version we do not decrypt (TLS 1.0/1.1, SSL 3).
    UnsupportedVersion,
    /// Keys were there, but no record decrypted with them.
    DecryptFailed,
    /// The handshake did not complete (an alert, or the connection ended
    /// before the client's Finished): there was nothing to decrypt.
    HandshakeFailed,
    /// The capture has no ClientHello/ServerHello of the connection.
    NoHandshake,
}

impl Undecoded {
    pub const ALL: [Undecoded; 7] = [
        Undecoded::NoKeyLog,
        Undecoded::NoKey,
        Undecoded::UnsupportedSuite,
        Undecoded::UnsupportedVersion,
        Undecoded::DecryptFailed,
        Undecoded::HandshakeFailed,
        Undecoded::NoHandshake,
    ];

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Undecoded::NoKeyLog => "no_key_log",
            Undecoded::NoKey => "no_key",
            Undecoded::UnsupportedSuite => "unsupported_suite",
            Undecoded::UnsupportedVersion => "unsupported_version",
            Undecoded::DecryptFailed => "decrypt_failed",
            Undecoded::HandshakeFailed => "handshake_failed",
            Undecoded::NoHandshake => "no_handshake",
        }
    }

    /// For a person.
    pub fn describe(self) -> &'static str {
        match self {
            Undecoded::NoKeyLog => "no key log given (--tls-keylog)",
            Undecoded::NoKey => "the key log has no key for it",
            Undecoded::UnsupportedSuite => "its cipher suite is not supported",
            Undecoded::UnsupportedVersion => "its TLS version is not supported",
            Undecoded::DecryptFailed => "its records do not decrypt with the key log's key",
            Undecoded::HandshakeFailed => "its handshake did not complete",
            Undecoded::NoHandshake => "its handshake is not in the capture",
        }
    }
}

/// What the report says about a connection's TLS layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSummary {
    /// The version in force (ServerHello, supported_versions for 1.3).
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    /// The protocol the server chose (TLS 1.3: read from the encrypted
    /// extensions, so only with keys).
    pub alpn: Option<String>,
    pub client_hello_frame: Option<u64>,
    pub server_hello_frame: Option<u64>,
    /// ClientHello to ServerHello, in milliseconds.
    pub hello_ms: Option<f64>,
    /// ClientHello to the client's Finished (its first encrypted record:
    /// TLS 1.2 after its ChangeCipherSpec), in milliseconds — when the
    /// client may send application data.
    pub handshake_ms: Option<f64>,
    /// The server asked for another ClientHello (HelloRetryRequest).
    pub retry: bool,
    /// Application data was decrypted.
    pub decrypted: bool,
    /// Why not, when not.
    pub undecoded: Option<Undecoded>,
    /// Records per direction.
    pub records: PerDir<u64>,
    /// Records that did not decrypt, per direction.
    pub decrypt_failures: PerDir<u64>,
    /// Alerts other than close_notify.
    pub alerts: u64,
    /// close_notify per direction.
    pub close_notify: PerDir<bool>,
    pub key_updates: u64,
}

impl TlsSummary {
    pub fn version_name(&self) -> Option<&'static str> {
        self.version.map(hello::version_name)
    }

    /// The cipher suite's IANA name, or its number in hex.
    pub fn cipher_name(&self) -> Option<String> {
        self.cipher.map(|c| match crypto::suite_name(c) {
            Some(n) => n.to_string(),
            None => format!("0x{c:04x}"),
        })
    }
}

/// What the layer reports, in stream order per direction.
#[derive(Debug)]
pub enum TlsEvent<'a> {
    /// Decrypted application data, from the record completed at `at`.
    Plain {
        dir: Direction,
        at: At,
        bytes: &'a [u8],
    },
    /// Application bytes that could not be decrypted (a record that fails,
    /// or a gap): the layer above loses `len` bytes (approximately: the
    /// record's size). `undecryptable`: the bytes are in the capture but
    /// did not decrypt (not a gap of the capture's).
    Lost {
        dir: Direction,
        at: At,
        len: u64,
        undecryptable: bool,
    },
    /// An alert (`encrypted`: read from a decrypted record).
    Alert {
        dir: Direction,
        at: At,
        level: u8,
        description: u8,
        encrypted: bool,
    },
    /// Something to warn about (names no secret).
    Problem {
        dir: Direction,
        at: At,
        problem: TlsProblem,
    },
}

/// Things worth a warning. None of them names a secret: the client random
/// is public (it travels in the ClientHello).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// The key log has no secret for this client random.
    NoKey {
        client_random: [u8; 32],
        tls13: bool,
    },
    UnsupportedSuite(u16),
    UnsupportedVersion(u16),
    /// A record did not decrypt (the first of the direction; later ones are counted).
    Decrypt {
        record_frame: u64,
    },
    /// Bytes that are not a TLS record header: the framing is lost.
    NotTls {
        content_type: u8,
        version: u16,
        length: u16,
    },
    /// A handshake message that does not parse.
    Handshake(hello::HelloError),
    /// The framing was found again after a gap, `skipped` bytes on.
    Resync {
        skipped: u64,
    },
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::NoKey {
                client_random,
                tls13,
            } => {
                write!(f, "the TLS key log has no ")?;
                f.write_str(if *tls13 {
                    "CLIENT_/SERVER_TRAFFIC_SECRET_0"
                } else {
                    "CLIENT_RANDOM"
                })?;
                write!(f, " line for client random ")?;
                for b in client_random {
                    write!(f, "{b:02x}")?;
                }
                write!(f, "; the connection stays encrypted")
            }
            TlsProblem::UnsupportedSuite(s) => write!(
                f,
                "cipher suite {} is not one mqtt-inspect decrypts (AES-GCM and ChaCha20-Poly1305 only); the connection stays encrypted",
                crypto::suite_name(*s).map_or_else(|| format!("0x{s:04x}"), str::to_string)
            ),
            TlsProblem::UnsupportedVersion(v) => write!(
                f,
                "{} is not decrypted (TLS 1.2 and 1.3 only); the connection stays encrypted",
                hello::version_name(*v)
            ),
            TlsProblem::Decrypt { record_frame } => write!(
                f,
                "a TLS record (completed in frame {record_frame}) does not decrypt with the key log's key (wrong key, or damaged); later failures of this direction are counted"
            ),
            TlsProblem::NotTls {
                content_type,
                version,
                length,
            } => write!(
                f,
                "bytes that are no TLS record header (type {content_type}, version {version:#06x}, length {length}); looking for the next record"
            ),
            TlsProblem::Handshake(e) => write!(f, "TLS handshake message does not parse: {e}"),
            TlsProblem::Resync { skipped } => {
                write!(f, "TLS records found again after {skipped} bytes")
            }
        }
    }
}

/// One direction's state.
#[derive(Debug, Default)]
struct Side {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Body bytes of the current record still to come.
    body_left: usize,
    /// The current record's body is copied into `buf`.
    collecting: bool,
    /// Bytes of the current record were lost: it cannot be read.
    damaged: bool,
    buf: Vec<u8>,
    /// Handshake bytes of a message being reassembled.
    hs: Vec<u8>,
    /// Handshake bytes of an over-long message still to skip.
    hs_skip: usize,
    /// Handshake messages are no longer followed (a gap hit them).
    hs_broken: bool,
    /// Records of this direction are encrypted (TLS 1.2: after its
    /// ChangeCipherSpec; TLS 1.3: type 23 records after the ServerHello).
    encrypted: bool,
    keys: Option<DirKeys>,
    /// TLS 1.3: the application keys, used after this direction's Finished.
    next: Option<DirKeys>,
    /// Switch to `next` after the current record (Finished) / update keys (KeyUpdate).
    switch_after: bool,
    update_after: bool,
    /// Framing lost: scanning for a header.
    lost: bool,
    skipped: u64,
    /// The sequence number is unsure (after a resync): search a window.
    seq_unsure: bool,
    warned_decrypt: bool,
}

/// The TLS layer of one connection (module docs).
#[derive(Debug, Default)]
pub struct TlsLayer {
    sides: PerDir<Side>,
    summary: TlsSummary,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    client_hello_at: Option<At>,
    /// Keys were set up for the connection.
    keyed: bool,
    /// A key log was given (decides the reason when nothing decrypts).
    have_keylog: bool,
    /// A fatal alert was seen.
    fatal_alert: bool,
    /// A warning held back until there is something to decrypt (a missing
    /// key is worth a warning only if encrypted records follow).
    pending: Option<TlsProblem>,
}

impl TlsLayer {
    /// A layer for a connection whose first client bytes are a TLS record;
    /// `have_keylog`: a key log was given.
    pub fn new(have_keylog: bool) -> Self {
        TlsLayer {
            have_keylog,
            ..TlsLayer::default()
        }
    }

    /// The report's view, with the reason the connection was not decoded.
    pub fn summary(&self) -> TlsSummary {
        let mut s = self.summary.clone();
        let failures = s.decrypt_failures.client_to_server + s.decrypt_failures.server_to_client;
        if s.decrypted {
            s.undecoded = None;
        } else if self.client_random.is_none() || s.version.is_none() {
            s.undecoded = Some(Undecoded::NoHandshake);
        } else if matches!(
            s.undecoded,
            Some(Undecoded::UnsupportedSuite | Undecoded::UnsupportedVersion)
        ) {
            // Said at the ServerHello.
        } else if s.handshake_ms.is_none() || (self.fatal_alert && failures == 0) {
            // Nothing was encrypted to decode: the handshake failed.
            s.undecoded = Some(Undecoded::HandshakeFailed);
        } else {
            s.undecoded = Some(if !self.have_keylog {
                Undecoded::NoKeyLog
            } else if self.keyed {
                Undecoded::DecryptFailed
            } else {
                Undecoded::NoKey
            });
        }
        s
    }

    /// The ClientHello was parsed: its ALPN offers and SNI are known.
    pub fn client_hello_seen(&self) -> bool {
        self.client_random.is_some()
    }

    /// The connection's keys are set up (it will decrypt).
    pub fn keyed(&self) -> bool {
        self.keyed
    }

    /// Whether the client offered ALPN `mqtt`.
    pub fn offers_mqtt(&self) -> bool {
        self.summary
            .alpn_offered
            .iter()
            .any(|p| p.eq_ignore_ascii_case("mqtt"))
    }

    /// Memory the layer holds (at most two record buffers of
    /// [`MAX_FRAGMENT`] and two handshake buffers of [`MAX_HANDSHAKE`]).
    pub fn buffered_bytes(&self) -> usize {
        self.sides
            .values()
            .map(|s| s.buf.capacity() + s.hs.capacity())
            .sum()
    }

    /// The next in-order bytes of `dir`, from the frame `at`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        at: At,
        mut data: &[u8],
        keylog: Option<&KeyLog>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        while !data.is_empty() {
            let s = &mut self.sides[dir];
            if s.lost {
                let used = self.scan(dir, at, data, out);
                data = data.get(used..).unwrap_or_default();
                continue;
            }
            if s.body_left == 0 {
                // Header bytes.
                let take = (5 - s.hdr_len).min(data.len());
                if let (Some(dst), Some(src)) =
                    (s.hdr.get_mut(s.hdr_len..s.hdr_len + take), data.get(..take))
                {
                    dst.copy_from_slice(src);
                }
                s.hdr_len += take;
                data = data.get(take..).unwrap_or_default();
                if s.hdr_len < 5 {
                    return;
                }
                let [t, v1, v2, l1, l2] = s.hdr;
                let len = usize::from(u16::from_be_bytes([l1, l2]));
                if !plausible(t, u16::from_be_bytes([v1, v2]), len) {
                    s.hdr_len = 0;
                    s.lost = true;
                    out(TlsEvent::Problem {
                        dir,
                        at,
                        problem: TlsProblem::NotTls {
                            content_type: t,
                            version: u16::from_be_bytes([v1, v2]),
                            length: len as u16,
                        },
                    });
                    continue;
                }
                s.body_left = len;
                s.damaged = false;
                let wants = self.wants_body(dir, t);
                self.sides[dir].collecting = wants;
                if len == 0 {
                    self.finish(dir, at, keylog, out);
                }
                continue;
            }
            let take = s.body_left.min(data.len());
            if s.collecting {
                s.buf
                    .extend_from_slice(data.get(..take).unwrap_or_default());
            }
            s.body_left -= take;
            data = data.get(take..).unwrap_or_default();
            if s.body_left == 0 {
                self.finish(dir, at, keylog, out);
            }
        }
    }

    /// `len` bytes of `dir` were not captured.
    pub fn on_gap(&mut self, dir: Direction, at: At, len: u64, out: &mut dyn FnMut(TlsEvent<'_>)) {
        let decrypting = self.keyed;
        let s = &mut self.sides[dir];
        if !s.lost && s.body_left > 0 && s.body_left as u64 >= len {
            // Inside a record body: that record is spoilt, the framing holds.
            s.body_left -= len as usize;
            s.damaged = true;
            if s.body_left == 0 {
                self.finish(dir, at, None, out);
            }
        } else {
            s.lost = true;
            s.hdr_len = 0;
            s.body_left = 0;
            s.buf.clear();
            s.seq_unsure = true;
        }
        let s = &mut self.sides[dir];
        if !s.encrypted {
            // A handshake message may have been cut.
            s.hs.clear();
            s.hs_broken = true;
        }
        // TLS 1.3 never marks the client's side `encrypted` (its records
        // are told by type), but once its keys are in, what it sends is.
        if decrypting && (s.encrypted || s.keys.is_some()) {
            out(TlsEvent::Lost {
                dir,
                at,
                len,
                undecryptable: false,
            });
        }
    }

    /// Whether the body of a record of type `t` will be read.
    fn wants_body(&self, dir: Direction, t: u8) -> bool {
        let s = &self.sides[dir];
        let tls13 = self.summary.version == Some(0x0304);
        let encrypted = s.encrypted || (tls13 && t == ct::APPLICATION_DATA);
        if encrypted {
            return s.keys.is_some() || s.next.is_some();
        }
        matches!(t, ct::HANDSHAKE | ct::ALERT | ct::CHANGE_CIPHER_SPEC)
    }

    /// The current record of `dir` is complete.
    fn finish(
        &mut self,
        dir: Direction,
        at: At,
        keylog: Option<&KeyLog>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let s = &mut self.sides[dir];
        let header = s.hdr;
        s.hdr_len = 0;
        let collected = s.collecting && !s.damaged;
        let mut body = std::mem::take(&mut s.buf);
        self.summary.records[dir] += 1;
        let t = header[0];
        let tls13 = self.summary.version == Some(0x0304);
        let encrypted = self.sides[dir].encrypted || (tls13 && t == ct::APPLICATION_DATA);
        if encrypted && t != ct::CHANGE_CIPHER_SPEC {
            if dir == Direction::ClientToServer && self.summary.handshake_ms.is_none() {
                self.handshake_done(at);
            }
            if let Some(problem) = self.pending.take() {
                // Said where it matters — at this encrypted record, in its
                // direction — so that a direction's events never go back
                // to the ServerHello's frame.
                out(TlsEvent::Problem { dir, at, problem });
            }
            if collected {
                self.decrypt(dir, at, header, &mut body, out);
            } else if self.sides[dir].damaged
                && let Some(k) = self.sides[dir].keys.as_mut()
            {
                // A record lost to a gap still used up its sequence number.
                k.seq += 1;
            }
        } else if collected || body.is_empty() {
            match t {
                ct::HANDSHAKE => self.handshake(dir, at, &body, keylog, out),
                ct::ALERT => {
                    self.fatal_alert |= body.first() == Some(&2);
                    alert(dir, at, &body, false, &mut self.summary, out)
                }
                ct::CHANGE_CIPHER_SPEC if !tls13 => {
                    self.sides[dir].encrypted = true;
                    if dir == Direction::ClientToServer && self.summary.handshake_ms.is_none() {
                        self.handshake_done(at);
                    }
                }
                _ => {}
            }
        }
        body.clear();
        let s = &mut self.sides[dir];
        s.buf = body;
        s.collecting = false;
        s.damaged = false;
    }

    fn handshake_done(&mut self, at: At) {
        if let Some(ch) = self.client_hello_at {
            self.summary.handshake_ms = Some(at.ts.millis_since(&ch.ts));
        }
    }

    /// Decrypts an encrypted record of `dir` in `body` and dispatches its content.
    fn decrypt(
        &mut self,
        dir: Direction,
        at: At,
        header: [u8; 5],
        body: &mut Vec<u8>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let s = &mut self.sides[dir];
        let len = body.len();
        // Candidates: the current keys at their sequence number (a window
        // of them when unsure), then — TLS 1.3 — the application keys.
        // With more than one candidate the ciphertext is kept to restore
        // it between attempts (rare: the handshake, or after a resync).
        let tries = if s.seq_unsure { SEQ_WINDOW } else { 1 };
        let several = tries > 1 || (s.keys.is_some() && s.next.is_some());
        let copy = several.then(|| body.clone());
        let restore = |body: &mut Vec<u8>| {
            if let Some(c) = copy.as_ref() {
                body.clear();
                body.extend_from_slice(c);
            }
        };
        let mut opened = None;
        if let Some(k) = s.keys.as_ref() {
            for i in 0..tries {
                if i > 0 {
                    restore(body);
                }
                if let Ok(r) = k.open(k.seq + i, header, body) {
                    opened = Some((r, k.seq + i, false));
                    break;
                }
            }
        }
        if opened.is_none()
            && let Some(n) = s.next.as_ref()
        {
            if s.keys.is_some() {
                restore(body);
            }
            if let Ok(r) = n.open(0, header, body) {
                opened = Some((r, 0, true));
            }
        }
        let Some((range, seq, switched)) = opened else {
            self.summary.decrypt_failures[dir] += 1;
            if let Some(k) = s.keys.as_mut() {
                k.seq += 1;
            }
            if !s.warned_decrypt {
                s.warned_decrypt = true;
                out(TlsEvent::Problem {
                    dir,
                    at,
                    problem: TlsProblem::Decrypt {
                        record_frame: at.frame,
                    },
                });
            }
            out(TlsEvent::Lost {
                dir,
                at,
                len: len as u64,
                undecryptable: true,
            });
            return;
        };
        if switched {
            s.keys = s.next.take();
        }
        if let Some(k) = s.keys.as_mut() {
            k.seq = seq + 1;
        }
        s.seq_unsure = false;
        let framing = s.keys.as_ref().map(|k| k.framing);
        let plain = body.get(range).unwrap_or_default();
        let (inner, content) = if framing == Some(crypto::Framing::Tls13) {
            // TLSInnerPlaintext: content, type, zero padding.
            let Some(end) = plain.iter().rposition(|&b| b != 0) else {
                return;
            };
            (
                plain.get(end).copied().unwrap_or(0),
                plain.get(..end).unwrap_or_default(),
            )
        } else {
            (header[0], plain)
        };
        match inner {
            ct::APPLICATION_DATA => {
                self.summary.decrypted = true;
                out(TlsEvent::Plain {
                    dir,
                    at,
                    bytes: content,
                });
            }
            ct::ALERT => {
                self.fatal_alert |= content.first() == Some(&2);
                alert(dir, at, content, true, &mut self.summary, out)
            }
            ct::HANDSHAKE => {
                let content = content.to_vec();
                self.handshake(dir, at, &content, None, out);
            }
            _ => {}
        }
        let s = &mut self.sides[dir];
        if std::mem::take(&mut s.switch_after)
            && let Some(n) = s.next.take()
        {
            s.keys = Some(n);
        }
        if std::mem::take(&mut s.update_after)
            && let Some(n) = s.keys.as_ref().and_then(DirKeys::updated)
        {
            self.summary.key_updates += 1;
            s.keys = Some(n);
        }
    }

    /// Handshake bytes of `dir` (plaintext or decrypted): reassembled into
    /// whole messages in the direction's handshake buffer.
    fn handshake(
        &mut self,
        dir: Direction,
        at: At,
        mut bytes: &[u8],
        keylog: Option<&KeyLog>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        loop {
            let s = &mut self.sides[dir];
            if s.hs_broken {
                return;
            }
            if s.hs_skip > 0 {
                let n = s.hs_skip.min(bytes.len());
                s.hs_skip -= n;
                bytes = bytes.get(n..).unwrap_or_default();
            }
            if s.hs.len() < 4 {
                let n = (4 - s.hs.len()).min(bytes.len());
                s.hs.extend_from_slice(bytes.get(..n).unwrap_or_default());
                bytes = bytes.get(n..).unwrap_or_default();
                if s.hs.len() < 4 {
                    return;
                }
            }
            let [kind, a, b, c, ..] = *s.hs.as_slice() else {
                return;
            };
            let len = u32::from_be_bytes([0, a, b, c]) as usize;
            if len > MAX_HANDSHAKE {
                // Too long to keep (a certificate chain): skipped by length.
                s.hs_skip = len;
                s.hs.clear();
                continue;
            }
            let n = (4 + len - s.hs.len()).min(bytes.len());
            s.hs.extend_from_slice(bytes.get(..n).unwrap_or_default());
            bytes = bytes.get(n..).unwrap_or_default();
            if s.hs.len() < 4 + len {
                return;
            }
            let mut m = std::mem::take(&mut s.hs);
            let r = self.message(dir, at, kind, m.get(4..).unwrap_or_default(), keylog, out);
            m.clear();
            self.sides[dir].hs = m;
            if let Err(e) = r {
                out(TlsEvent::Problem {
                    dir,
                    at,
                    problem: TlsProblem::Handshake(e),
                });
            }
            if bytes.is_empty() {
                return;
            }
        }
    }

    /// One complete handshake message.
    fn message(
        &mut self,
        dir: Direction,
        at: At,
        kind: u8,
        body: &[u8],
        keylog: Option<&KeyLog>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), hello::HelloError> {
        match (dir, kind) {
            (Direction::ClientToServer, msg::CLIENT_HELLO) => {
                let h = hello::parse_client_hello(body)?;
                if self.client_random.is_none() {
                    self.client_random = Some(h.random);
                    self.client_hello_at = Some(at);
                    self.summary.client_hello_frame = Some(at.frame);
                    self.summary.sni = h.sni.map(str::to_string);
                    self.summary.alpn_offered = h
                        .alpn
                        .iter()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .collect();
                }
            }
            (Direction::ServerToClient, msg::SERVER_HELLO) => {
                let h = hello::parse_server_hello(body)?;
                if h.retry {
                    self.summary.retry = true;
                    return Ok(());
                }
                if self.server_random.is_some() {
                    return Ok(());
                }
                self.server_random = Some(h.random);
                self.summary.version = Some(h.version());
                self.summary.cipher = Some(h.cipher_suite);
                self.summary.server_hello_frame = Some(at.frame);
                if let Some(p) = h.alpn {
                    self.summary.alpn = Some(String::from_utf8_lossy(p).into_owned());
                }
                if let Some(ch) = self.client_hello_at {
                    self.summary.hello_ms = Some(at.ts.millis_since(&ch.ts));
                }
                if h.version() == 0x0304 {
                    // From here the server's records are encrypted, and the
                    // client's type 23 records.
                    self.sides.server_to_client.encrypted = true;
                }
                self.setup_keys(at, h.version(), h.cipher_suite, keylog, out);
            }
            (_, msg::ENCRYPTED_EXTENSIONS) if dir == Direction::ServerToClient => {
                if let Some(p) = hello::parse_encrypted_extensions(body)? {
                    self.summary.alpn = Some(String::from_utf8_lossy(p).into_owned());
                }
            }
            (_, msg::FINISHED) if self.summary.version == Some(0x0304) => {
                self.sides[dir].switch_after = true;
            }
            (_, msg::KEY_UPDATE) if self.summary.version == Some(0x0304) => {
                self.sides[dir].update_after = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// The ServerHello chose `version` and `suite`: the keys, if the key log has them.
    fn setup_keys(
        &mut self,
        at: At,
        version: u16,
        suite_id: u16,
        keylog: Option<&KeyLog>,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        let dir = Direction::ServerToClient;
        let Some(keylog) = keylog else {
            self.summary.undecoded = Some(Undecoded::NoKeyLog);
            return;
        };
        if !matches!(version, 0x0303 | 0x0304) {
            self.summary.undecoded = Some(Undecoded::UnsupportedVersion);
            out(TlsEvent::Problem {
                dir,
                at,
                problem: TlsProblem::UnsupportedVersion(version),
            });
            return;
        }
        let Some(suite) = crypto::suite(suite_id) else {
            self.summary.undecoded = Some(Undecoded::UnsupportedSuite);
            out(TlsEvent::Problem {
                dir,
                at,
                problem: TlsProblem::UnsupportedSuite(suite_id),
            });
            return;
        };
        let (Some(cr), Some(sr)) = (self.client_random, self.server_random) else {
            return;
        };
        let secrets = keylog.lookup(&cr).unwrap_or_default();
        let tls13 = version == 0x0304;
        let keyed = if tls13 {
            let mk = |s: &Option<Secret>| s.as_ref().and_then(|s| DirKeys::tls13(suite, s));
            let (c_hs, s_hs) = (mk(&secrets.client_handshake), mk(&secrets.server_handshake));
            let (c_ap, s_ap) = (mk(&secrets.client_traffic), mk(&secrets.server_traffic));
            let any = c_hs.is_some() || s_hs.is_some() || c_ap.is_some() || s_ap.is_some();
            for (side, hs, ap) in [
                (&mut self.sides.client_to_server, c_hs, c_ap),
                (&mut self.sides.server_to_client, s_hs, s_ap),
            ] {
                match hs {
                    Some(hs) => {
                        side.keys = Some(hs);
                        side.next = ap;
                    }
                    None => side.keys = ap,
                }
            }
            any
        } else {
            match secrets
                .master
                .as_ref()
                .and_then(|m| DirKeys::tls12(suite, m, &cr, &sr))
            {
                Some((c, s)) => {
                    self.sides.client_to_server.keys = Some(c);
                    self.sides.server_to_client.keys = Some(s);
                    true
                }
                None => false,
            }
        };
        self.keyed = keyed;
        if !keyed {
            self.summary.undecoded = Some(Undecoded::NoKey);
            self.pending = Some(TlsProblem::NoKey {
                client_random: cr,
                tls13,
            });
        }
    }

    /// Framing lost: looks for a plausible record header in `data`.
    fn scan(
        &mut self,
        dir: Direction,
        at: At,
        data: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> usize {
        let found =
            (0..data.len()).find(|&i| data.get(i..).is_some_and(|d| plausible_record(d, 1)));
        let used = found.unwrap_or(data.len());
        let s = &mut self.sides[dir];
        s.skipped += used as u64;
        if found.is_some() {
            s.lost = false;
            let skipped = std::mem::take(&mut s.skipped);
            out(TlsEvent::Problem {
                dir,
                at,
                problem: TlsProblem::Resync { skipped },
            });
        }
        used
    }
}

/// A header's fields are those of a TLS record.
fn plausible(t: u8, version: u16, len: usize) -> bool {
    (ct::CHANGE_CIPHER_SPEC..=ct::HEARTBEAT).contains(&t)
        && (0x0300..=0x0304).contains(&version)
        && len <= MAX_FRAGMENT
}

/// `data` starts with a record header a resync may trust: the fields of a
/// TLS 1.2/1.3 record, a non-empty body, and a plausible header after the
/// body when it is at hand.
fn plausible_record(data: &[u8], depth: u8) -> bool {
    let [t, v1, v2, l1, l2, ..] = *data else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([l1, l2]));
    if !matches!(t, ct::ALERT | ct::HANDSHAKE | ct::APPLICATION_DATA)
        || u16::from_be_bytes([v1, v2]) != 0x0303
        || len == 0
        || len > MAX_FRAGMENT
    {
        return false;
    }
    match data.get(5 + len..) {
        Some(rest) if depth > 0 && rest.len() >= 5 => plausible_record(rest, depth - 1),
        _ => true,
    }
}

/// An alert record's body.
fn alert(
    dir: Direction,
    at: At,
    body: &[u8],
    encrypted: bool,
    summary: &mut TlsSummary,
    out: &mut dyn FnMut(TlsEvent<'_>),
) {
    let [level, description, ..] = *body else {
        return;
    };
    if description == 0 {
        summary.close_notify[dir] = true;
    } else {
        summary.alerts += 1;
    }
    out(TlsEvent::Alert {
        dir,
        at,
        level,
        description,
        encrypted,
    });
}

/// An alert description's name (RFC 8446 6, RFC 5246 7.2).
pub fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown alert",
    }
}

/// The client random of a ClientHello at the start of `data` (a TLS
/// handshake record), for detection.
pub fn looks_like_client_hello(data: &[u8]) -> bool {
    matches!(data, [ct::HANDSHAKE, 0x03, 0x00..=0x04, ..])
        && data.get(5).is_none_or(|&t| t == msg::CLIENT_HELLO)
}

#[cfg(test)]
mod tests;
