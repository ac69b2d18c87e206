//! One-line descriptions of packets for text output and tests, e.g.
//! `PUBLISH q1 id=7 "a/b" 12B`.

use super::reason::ReasonCode;
use super::types::*;
use std::fmt::Write as _;

/// A reason code list as `[1, 0x80]`: small values in decimal (granted QoS),
/// error codes in hex like the spec's tables.
fn code_list(out: &mut String, codes: &[u8]) {
    out.push('[');
    for (n, c) in codes.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        if *c < 0x10 {
            let _ = write!(out, "{c}");
        } else {
            let _ = write!(out, "0x{c:02x}");
        }
    }
    out.push(']');
}

fn reason_suffix(out: &mut String, rc: ReasonCode, packet: PacketType, version: ProtocolVersion) {
    if rc.0 != 0 {
        let _ = write!(
            out,
            " rc={rc} {}",
            rc.name_for(packet, version).unwrap_or("Reserved")
        );
    }
}

/// Characters of a string shown in a one-line summary; a longer one (an
/// 8 KB topic) is cut and its length said.
const SHOWN_CHARS: usize = 120;

/// A string quoted and escaped for a one-line summary, cut at [`SHOWN_CHARS`].
struct Shown<'a>(&'a str);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => {
                let head = self.0.get(..cut).unwrap_or_default();
                let quoted = format!("{head:?}");
                let open = quoted.strip_suffix('"').unwrap_or(&quoted);
                write!(f, "{open}…\" ({} bytes)", self.0.len())
            }
        }
    }
}

impl Packet<'_> {
    /// A one-line description for text output, e.g. `PUBLISH q1 id=7 "a/b" 12B`.
    /// Strings are quoted and escaped so that hostile topics cannot inject
    /// terminal control sequences.
    pub fn summary(&self) -> String {
        let mut s = String::from(self.packet_type().as_str());
        let v5 = ProtocolVersion::V5;
        match self {
            Packet::Connect(c) => {
                let version = c.version().map_or_else(
                    || format!("level {}", c.protocol_level),
                    |v| {
                        if v.is_v5() {
                            "v5".to_string()
                        } else {
                            format!("v{}", v.as_str())
                        }
                    },
                );
                let _ = write!(s, " {version} {} ka={}", Shown(c.client_id), c.keepalive);
                if c.clean_start {
                    s.push_str(" clean");
                }
                if let Some(w) = &c.will {
                    let _ = write!(s, " will={} q{}", Shown(w.topic), w.qos);
                }
                if let Some(u) = c.username {
                    let _ = write!(s, " user={}", Shown(u));
                }
            }
            Packet::Connack(c) => {
                let _ = write!(
                    s,
                    " rc={} {}",
                    c.reason_code,
                    c.reason_code
                        .name_for(PacketType::Connack, c.version)
                        .unwrap_or("Reserved")
                );
                if c.session_present {
                    s.push_str(" session-present");
                }
            }
            Packet::Publish(p) => {
                let _ = write!(s, " q{}", p.qos);
                if let Some(id) = p.packet_id {
                    let _ = write!(s, " id={id}");
                }
                let _ = write!(s, " {}", Shown(p.topic_name()));
                if let Some(alias) = p.properties.topic_alias {
                    let _ = write!(s, " (alias {alias})");
                }
                let _ = write!(s, " {}B", p.payload_len);
                if p.dup {
                    s.push_str(" dup");
                }
                if p.retain {
                    s.push_str(" retain");
                }
                if p.payload_missing > 0 {
                    let _ = write!(s, " ({} bytes not captured)", p.payload_missing);
                }
            }
            Packet::Puback(r) | Packet::Pubrec(r) | Packet::Pubrel(r) | Packet::Pubcomp(r) => {
                let _ = write!(s, " id={}", r.packet_id);
                if let Some(rc) = r.reason_code {
                    reason_suffix(&mut s, rc, r.header.packet_type, v5);
                }
            }
            Packet::Subscribe(sub) => {
                let _ = write!(s, " id={} [", sub.packet_id);
                for (n, t) in sub.topics.iter().enumerate() {
                    let sep = if n > 0 { ", " } else { "" };
                    let _ = write!(s, "{sep}{} q{}", Shown(t.filter), t.qos);
                }
                s.push(']');
            }
            Packet::Suback(a) => {
                let _ = write!(s, " id={} ", a.packet_id);
                code_list(&mut s, a.reason_codes);
            }
            Packet::Unsubscribe(u) => {
                let _ = write!(s, " id={} [", u.packet_id);
                for (n, t) in u.topics.iter().enumerate() {
                    let sep = if n > 0 { ", " } else { "" };
                    let _ = write!(s, "{sep}{}", Shown(t));
                }
                s.push(']');
            }
            Packet::Unsuback(u) => {
                let _ = write!(s, " id={}", u.packet_id);
                if let Some(codes) = u.reason_codes {
                    s.push(' ');
                    code_list(&mut s, codes);
                }
            }
            Packet::Pingreq(_) | Packet::Pingresp(_) => {}
            Packet::Disconnect(d) => {
                if let Some(rc) = d.reason_code {
                    reason_suffix(&mut s, rc, PacketType::Disconnect, v5);
                }
            }
            Packet::Auth(a) => reason_suffix(&mut s, a.reason_code, PacketType::Auth, v5),
        }
        s
    }
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_and_measured() {
        assert_eq!(Shown("a/b").to_string(), "\"a/b\"");
        let long = "x".repeat(8192);
        let shown = Shown(&long).to_string();
        assert!(shown.len() < 200, "{shown}");
        assert!(shown.ends_with("…\" (8192 bytes)"), "{shown}");
        assert_eq!(Shown("a\u{1b}[31m").to_string(), "\"a\\u{1b}[31m\"");
    }
}
