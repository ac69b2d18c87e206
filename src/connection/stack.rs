//! The layers between a connection's TCP bytes and its MQTT decoder, and
//! how bytes, gaps and the layers' events travel through them:
//!
//! ```text
//! TCP bytes ─▶ [TlsLayer] ─plaintext─▶ [WsLayer] ─payload─▶ top (MQTT decoder)
//!   (dir, At)    records: At of the     frames: At of the
//!                frame completing one   segment carrying it
//! ```
//!
//! Which layers a connection has is decided once per level from the
//! client's first bytes there: a TLS record above TCP, an HTTP `GET`
//! above TCP or TLS (or by detection, `detect.rs`). A connection with
//! neither passes its bytes straight to the decoder (the plain path: no
//! copy, no allocation). Layer events that are not bytes go to the top as
//! findings (`websocket_protocol_error`, `tls_alert`) or warnings.

use crate::analysis::FindingKind;
use crate::base::{At, Direction};
use crate::layers::tls::{TlsEvent, TlsLayer, alert_name, looks_like_client_hello};
use crate::layers::ws::{WsError, WsEvent, WsLayer};
use crate::layers::{KeyLog, looks_like_http_get};
use std::sync::Arc;

/// Where the bytes above the layers go, and what the layers report.
pub(super) trait Top {
    fn data(&mut self, dir: Direction, at: At, bytes: &[u8]);
    /// `len` bytes of `dir` are lost to the layer above: missing from the
    /// capture, or (`Loss::Undecryptable`) there but not decrypted.
    fn gap(&mut self, dir: Direction, at: At, len: u64, loss: Loss);
    /// A finding of a layer; `lost_data`: MQTT bytes went missing with it.
    fn finding(&mut self, kind: FindingKind, dir: Direction, at: At, text: String, lost_data: bool);
    /// A warning about direction `dir` (the top names the connection).
    fn warning(&mut self, dir: Direction, at: At, text: String);
}

/// Why bytes went missing on their way up the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Loss {
    /// The capture does not have them (a TCP gap).
    Capture,
    /// A TLS record that is in the capture did not decrypt: no `tcp_gap`
    /// (nothing is missing from the capture; its warning says why), but
    /// what answers those bytes is as unsure as after a gap.
    Undecryptable,
}

/// The layers of one connection.
#[derive(Debug, Default)]
pub(super) struct Layers {
    pub tls: Option<Box<TlsLayer>>,
    pub ws: Option<Box<WsLayer>>,
    /// The client's first bytes above TCP were looked at (TLS or not).
    pub tcp_sniffed: bool,
    /// The client's first bytes above TCP/TLS were looked at (WebSocket or not).
    pub upper_sniffed: bool,
    /// `--tls-keylog`, for a TLS layer this connection has or finds: the
    /// run's one key log, shared with every connection on every thread.
    pub keylog: Option<Arc<KeyLog>>,
}

impl Layers {
    /// Layers of a connection picked up mid-stream: no upgrade can be seen,
    /// so only a TLS record is looked for.
    pub fn midstream() -> Self {
        Layers {
            upper_sniffed: true,
            ..Layers::default()
        }
    }

    /// A WebSocket connection (detection saw the upgrade).
    pub fn websocket() -> Self {
        Layers {
            ws: Some(Box::new(WsLayer::new())),
            tcp_sniffed: true,
            upper_sniffed: true,
            ..Layers::default()
        }
    }

    /// TLS (detection saw the ClientHello); `ws`: WebSocket inside it.
    pub fn tls(tls: Box<TlsLayer>, ws: bool) -> Self {
        Layers {
            tls: Some(tls),
            ws: ws.then(|| Box::new(WsLayer::new())),
            tcp_sniffed: true,
            upper_sniffed: ws,
            keylog: None,
        }
    }

    /// Bytes go straight from TCP to MQTT.
    pub fn is_plain(&self) -> bool {
        self.tcp_sniffed && self.upper_sniffed && self.tls.is_none() && self.ws.is_none()
    }

    /// Names of the layers that carried the MQTT, bottom up.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = vec!["tcp"];
        if self.tls.is_some() {
            v.push("tls");
        }
        if self.ws.is_some() {
            v.push("websocket");
        }
        v
    }

    /// In-order TCP bytes of `dir`.
    pub fn data(&mut self, dir: Direction, at: At, data: &[u8], top: &mut dyn Top) {
        if !self.tcp_sniffed && dir == Direction::ClientToServer {
            self.tcp_sniffed = true;
            if self.tls.is_none() && looks_like_tls_record(data) {
                self.tls = Some(Box::new(TlsLayer::new(self.keylog.is_some())));
                if !looks_like_client_hello(data) {
                    // A TLS stream picked up after its handshake.
                    self.upper_sniffed = true;
                }
            }
        }
        let Layers {
            tls,
            ws,
            upper_sniffed,
            keylog,
            ..
        } = self;
        match tls {
            Some(t) => t.on_data(dir, at, data, keylog.as_deref(), &mut |ev| {
                tls_event(ev, ws, upper_sniffed, top)
            }),
            None => upper_data(ws, upper_sniffed, dir, at, data, top),
        }
    }

    /// Plaintext of `dir` that was held while a TLS connection was judged:
    /// into the layers above TLS.
    pub fn above_tls(&mut self, dir: Direction, at: At, data: &[u8], top: &mut dyn Top) {
        let Layers {
            ws, upper_sniffed, ..
        } = self;
        upper_data(ws, upper_sniffed, dir, at, data, top);
    }

    /// `len` TCP bytes of `dir` were not captured.
    pub fn gap(&mut self, dir: Direction, at: At, len: u64, top: &mut dyn Top) {
        let Layers {
            tls,
            ws,
            upper_sniffed,
            ..
        } = self;
        match tls {
            Some(t) => t.on_gap(dir, at, len, &mut |ev| {
                tls_event(ev, ws, upper_sniffed, top)
            }),
            None => upper_gap(ws, dir, at, len, Loss::Capture, top),
        }
    }
}

/// A TLS record header of any content type (a stream picked up after its
/// handshake starts with application data). No MQTT stream starts so:
/// 0x14–0x17 would be a CONNECT with reserved flags set.
pub fn looks_like_tls_record(data: &[u8]) -> bool {
    matches!(data, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

/// One TLS event: plaintext up the stack, the rest to the top.
fn tls_event(
    ev: TlsEvent<'_>,
    ws: &mut Option<Box<WsLayer>>,
    upper_sniffed: &mut bool,
    top: &mut dyn Top,
) {
    match ev {
        TlsEvent::Plain { dir, at, bytes } => upper_data(ws, upper_sniffed, dir, at, bytes, top),
        TlsEvent::Lost {
            dir,
            at,
            len,
            undecryptable,
        } => {
            let loss = if undecryptable {
                Loss::Undecryptable
            } else {
                Loss::Capture
            };
            upper_gap(ws, dir, at, len, loss, top)
        }
        TlsEvent::Alert {
            dir,
            at,
            level,
            description,
            encrypted,
        } => {
            if description != 0 {
                let level = match level {
                    1 => "warning",
                    2 => "fatal",
                    _ => "unknown-level",
                };
                let how = if encrypted { " (decrypted)" } else { "" };
                let who = match dir {
                    Direction::ClientToServer => "client",
                    Direction::ServerToClient => "server",
                };
                top.finding(
                    FindingKind::TlsAlert,
                    dir,
                    at,
                    format!(
                        "the {who} sent a {level} TLS alert {} ({description}){how} (RFC 8446 6)",
                        alert_name(description)
                    ),
                    false,
                );
            }
        }
        TlsEvent::Problem { dir, at, problem } => top.warning(dir, at, problem.to_string()),
    }
}

/// Bytes above TCP/TLS: into the WebSocket layer, if any, else to the top.
fn upper_data(
    ws: &mut Option<Box<WsLayer>>,
    sniffed: &mut bool,
    dir: Direction,
    at: At,
    bytes: &[u8],
    top: &mut dyn Top,
) {
    if !*sniffed && dir == Direction::ClientToServer {
        *sniffed = true;
        if ws.is_none() && looks_like_http_get(bytes) {
            *ws = Some(Box::new(WsLayer::new()));
        }
    }
    match ws {
        Some(w) => w.on_data(dir, at, bytes, &mut |ev| ws_event(ev, Loss::Capture, top)),
        None => top.data(dir, at, bytes),
    }
}

fn upper_gap(
    ws: &mut Option<Box<WsLayer>>,
    dir: Direction,
    at: At,
    len: u64,
    loss: Loss,
    top: &mut dyn Top,
) {
    match ws {
        Some(w) => w.on_gap(dir, at, len, &mut |ev| ws_event(ev, loss, top)),
        None => top.gap(dir, at, len, loss),
    }
}

/// One WebSocket event; a gap it passes up was lost as `loss` below it.
fn ws_event(ev: WsEvent<'_>, loss: Loss, top: &mut dyn Top) {
    match ev {
        WsEvent::Data { dir, at, bytes } => top.data(dir, at, bytes),
        WsEvent::Gap { dir, at, len } => top.gap(dir, at, len, loss),
        WsEvent::Error { dir, at, error } => {
            // Errors that drop MQTT bytes (a text or stray frame, a message
            // that does not inflate) make later unmatched acks unsure.
            let lost = matches!(
                error,
                WsError::TextFrame
                    | WsError::StrayContinuation
                    | WsError::Inflate
                    | WsError::ReservedOpcode(_)
            );
            top.finding(
                FindingKind::WebsocketProtocolError,
                dir,
                at,
                format!("WebSocket: {error}"),
                lost,
            );
        }
        WsEvent::Resync { dir, at, skipped } => top.warning(
            dir,
            at,
            format!("WebSocket frames found again after a gap, {skipped} bytes on"),
        ),
    }
}
