//! What the report says about the layers under a connection's MQTT (TLS,
//! WebSocket): per connection (`connections[].layers`, `.tls`,
//! `.websocket`) and summed over all reported connections (the summary's
//! `layers` object, with the encrypted connections left undecoded and why).
//! Serialize views over the layers' plain summaries; see docs/json.md.

use super::summary::ConnectionSummary;
use crate::base::PerDir;
use crate::layers::ws::CloseInfo;
use crate::layers::{TlsSummary, Undecoded, WsSummary};
use serde::Serialize;
use std::collections::BTreeMap;

/// A connection's layers.
#[derive(Debug, Clone, PartialEq)]
pub struct LayersSummary {
    /// Bottom up: `tcp`, then `tls` and/or `websocket` when present.
    pub names: Vec<&'static str>,
    pub tls: Option<TlsSummary>,
    pub websocket: Option<WsSummary>,
}

impl Default for LayersSummary {
    fn default() -> Self {
        LayersSummary {
            names: vec!["tcp"],
            tls: None,
            websocket: None,
        }
    }
}

/// Over all reported connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerTally {
    pub tls: u64,
    pub tls_decrypted: u64,
    pub tls_undecoded: BTreeMap<Undecoded, u64>,
    pub websocket: u64,
    pub websocket_errors: u64,
}

impl LayerTally {
    pub fn add(&mut self, c: &ConnectionSummary) {
        if let Some(t) = &c.layers.tls {
            self.tls += 1;
            if t.decrypted {
                self.tls_decrypted += 1;
            } else if let Some(why) = t.undecoded {
                *self.tls_undecoded.entry(why).or_insert(0) += 1;
            }
        }
        if let Some(w) = &c.layers.websocket {
            self.websocket += 1;
            self.websocket_errors += w.errors;
        }
    }

    /// Encrypted connections not decoded.
    pub fn undecoded(&self) -> u64 {
        self.tls_undecoded.values().sum()
    }
}

fn dirs<T: Copy + Serialize>(p: &PerDir<T>) -> BTreeMap<&'static str, T> {
    p.iter().map(|(d, v)| (d.as_str(), *v)).collect()
}

/// A connection's `tls` object.
#[derive(Serialize)]
pub struct TlsJson<'a> {
    version: Option<&'static str>,
    cipher: Option<String>,
    cipher_id: Option<u16>,
    sni: Option<&'a str>,
    alpn: Option<&'a str>,
    alpn_offered: &'a [String],
    client_hello_frame: Option<u64>,
    server_hello_frame: Option<u64>,
    hello_ms: Option<f64>,
    handshake_ms: Option<f64>,
    hello_retry: bool,
    decrypted: bool,
    undecoded: Option<&'static str>,
    records: BTreeMap<&'static str, u64>,
    decrypt_failures: BTreeMap<&'static str, u64>,
    alerts: u64,
    close_notify: BTreeMap<&'static str, bool>,
    key_updates: u64,
}

impl<'a> From<&'a TlsSummary> for TlsJson<'a> {
    fn from(t: &'a TlsSummary) -> Self {
        TlsJson {
            version: t.version_name(),
            cipher: t.cipher_name(),
            cipher_id: t.cipher,
            sni: t.sni.as_deref(),
            alpn: t.alpn.as_deref(),
            alpn_offered: &t.alpn_offered,
            client_hello_frame: t.client_hello_frame,
            server_hello_frame: t.server_hello_frame,
            hello_ms: t.hello_ms,
            handshake_ms: t.handshake_ms,
            hello_retry: t.retry,
            decrypted: t.decrypted,
            undecoded: t.undecoded.filter(|_| !t.decrypted).map(Undecoded::as_str),
            records: dirs(&t.records),
            decrypt_failures: dirs(&t.decrypt_failures),
            alerts: t.alerts,
            close_notify: dirs(&t.close_notify),
            key_updates: t.key_updates,
        }
    }
}

#[derive(Serialize)]
struct CloseJson<'a> {
    code: Option<u16>,
    reason: &'a str,
    frame: u64,
}

/// A connection's `websocket` object.
#[derive(Serialize)]
pub struct WsJson<'a> {
    path: Option<&'a str>,
    subprotocol: Option<&'a str>,
    subprotocols_offered: &'a [String],
    status: Option<u16>,
    request_frame: Option<u64>,
    response_frame: Option<u64>,
    handshake_ms: Option<f64>,
    permessage_deflate: bool,
    frames: BTreeMap<&'static str, u64>,
    compressed_messages: BTreeMap<&'static str, u64>,
    pings: u64,
    pongs: u64,
    close: BTreeMap<&'static str, Option<CloseJson<'a>>>,
    errors: u64,
    resync_bytes: u64,
}

impl<'a> From<&'a WsSummary> for WsJson<'a> {
    fn from(w: &'a WsSummary) -> Self {
        let close = |c: &'a Option<CloseInfo>| {
            c.as_ref().map(|c| CloseJson {
                code: c.code,
                reason: &c.reason,
                frame: c.frame,
            })
        };
        WsJson {
            path: w.path.as_deref(),
            subprotocol: w.subprotocol.as_deref(),
            subprotocols_offered: &w.offered,
            status: w.status,
            request_frame: w.request_frame,
            response_frame: w.response_frame,
            handshake_ms: w.handshake_ms,
            permessage_deflate: w.deflate,
            frames: dirs(&w.frames),
            compressed_messages: dirs(&w.compressed_messages),
            pings: w.pings,
            pongs: w.pongs,
            close: w
                .close
                .iter()
                .map(|(d, c)| (d.as_str(), close(c)))
                .collect(),
            errors: w.errors,
            resync_bytes: w.resync_bytes,
        }
    }
}

/// The summary's `layers` object.
#[derive(Serialize)]
pub struct LayerTallyJson {
    tls: TlsTallyJson,
    websocket: WsTallyJson,
}

#[derive(Serialize)]
struct TlsTallyJson {
    connections: u64,
    decrypted: u64,
    undecoded: u64,
    undecoded_by_reason: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct WsTallyJson {
    connections: u64,
    protocol_errors: u64,
}

impl From<&LayerTally> for LayerTallyJson {
    fn from(t: &LayerTally) -> Self {
        LayerTallyJson {
            tls: TlsTallyJson {
                connections: t.tls,
                decrypted: t.tls_decrypted,
                undecoded: t.undecoded(),
                undecoded_by_reason: t
                    .tls_undecoded
                    .iter()
                    .map(|(k, v)| (k.as_str(), *v))
                    .collect(),
            },
            websocket: WsTallyJson {
                connections: t.websocket,
                protocol_errors: t.websocket_errors,
            },
        }
    }
}

/// The text report's line about a connection's layers (`None` for plain TCP).
pub fn text_line(l: &LayersSummary) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(t) = &l.tls {
        let mut s = format!(
            "{} {}",
            t.version_name().unwrap_or("TLS (no handshake seen)"),
            t.cipher_name().unwrap_or_default()
        )
        .trim_end()
        .to_string();
        if let Some(sni) = &t.sni {
            s.push_str(&format!(", SNI {sni}"));
        }
        match (&t.alpn, t.alpn_offered.is_empty()) {
            (Some(a), _) => s.push_str(&format!(", ALPN {a}")),
            (None, false) => s.push_str(&format!(", ALPN offered {}", t.alpn_offered.join("/"))),
            _ => {}
        }
        if let Some(ms) = t.handshake_ms {
            s.push_str(&format!(", handshake {ms:.1} ms"));
        }
        if t.decrypted {
            s.push_str(", decrypted");
            let fails = t.decrypt_failures.client_to_server + t.decrypt_failures.server_to_client;
            if fails > 0 {
                s.push_str(&format!(" ({fails} records did not)"));
            }
        } else if let Some(why) = t.undecoded {
            s.push_str(&format!(", encrypted, not decoded: {}", why.describe()));
        }
        parts.push(s);
    }
    if let Some(w) = &l.websocket {
        let mut s = format!("WebSocket {}", w.path.as_deref().unwrap_or("?"));
        if let Some(p) = &w.subprotocol {
            s.push_str(&format!(" ({p})"));
        }
        if let Some(ms) = w.handshake_ms {
            s.push_str(&format!(", handshake {ms:.1} ms"));
        }
        if w.deflate {
            s.push_str(", permessage-deflate");
        }
        for (d, c) in w.close.iter() {
            if let Some(c) = c {
                let who = if d == crate::base::Direction::ClientToServer {
                    "client"
                } else {
                    "server"
                };
                match c.code {
                    Some(code) => s.push_str(&format!(", close {code} by {who}")),
                    None => s.push_str(&format!(", close by {who}")),
                }
            }
        }
        if w.errors > 0 {
            s.push_str(&format!(", {} protocol errors", w.errors));
        }
        parts.push(s);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
