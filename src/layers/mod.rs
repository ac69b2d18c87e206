//! Byte-stream layers between TCP and MQTT: TLS ([`tls`]) and WebSocket
//! ([`ws`]).
//!
//! Each layer is a pure state machine over the two byte streams of one
//! connection (rusticata's tls-parser style: parse functions and state, no
//! I/O): it takes one direction's in-order bytes with the [`At`] of the
//! frame they came from and hands the bytes of the layer above — with the
//! `At` of the frame that completed them (the TLS record's last segment;
//! the segment that carried the WebSocket payload bytes) — to a callback.
//! Gaps go up as gaps, protocol errors as typed events the connection
//! owner turns into findings or warnings. A layer never panics on input
//! and holds at most its documented caps per direction.
//!
//! The stack of one connection is `tcp → [tls] → [websocket] → mqtt`;
//! `connection/` builds it (detection decides which layers a connection
//! gets) and drives it.

pub mod http;
pub mod tls;
pub mod ws;

pub use tls::{KeyLog, TlsEvent, TlsLayer, TlsSummary, Undecoded};
pub use ws::{WsEvent, WsLayer, WsSummary};

/// The first bytes of a client stream are an HTTP request line (`GET `):
/// a WebSocket upgrade may follow (the detection then reads the head).
pub fn looks_like_http_get(data: &[u8]) -> bool {
    data.starts_with(b"GET ")
}
