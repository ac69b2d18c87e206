//! The HTTP/1.1 heads of a WebSocket opening handshake (RFC 6455 section
//! 4): the client's `GET` request with `Upgrade: websocket` and the
//! server's `101 Switching Protocols`. Only what the WebSocket layer needs
//! is read: the request target, the subprotocols offered and accepted, the
//! extensions the server accepted. Pure functions over a complete head;
//! nothing here allocates beyond the few strings it returns.

/// The end of an HTTP head.
const END: &[u8] = b"\r\n\r\n";

/// Where the head in `buf` ends (the offset just past `\r\n\r\n`), if it
/// is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(END.len())
        .position(|w| w == END)
        .map(|p| p + END.len())
}

/// A parsed request or response head: the start line's parts and the
/// headers (names compared case-insensitively; a header given twice is
/// read as one list, RFC 9110 5.3).
#[derive(Debug)]
pub struct Head<'a> {
    /// Request: method, target, version. Response: version, status, reason.
    pub start: [&'a str; 3],
    lines: Vec<&'a str>,
}

impl<'a> Head<'a> {
    /// Parses a complete head (up to and without the final empty line).
    /// `None` when it is not text or has no start line.
    pub fn parse(head: &'a [u8]) -> Option<Head<'a>> {
        let text = std::str::from_utf8(head).ok()?;
        let mut lines = text.split("\r\n");
        let first = lines.next()?;
        let mut parts = first.splitn(3, ' ');
        let start = [
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        ];
        if start[0].is_empty() {
            return None;
        }
        Some(Head {
            start,
            lines: lines.filter(|l| !l.is_empty()).collect(),
        })
    }

    /// Every value of header `name`, in order.
    pub fn values(&self, name: &str) -> impl Iterator<Item = &'a str> + '_ {
        let name = name.to_string();
        self.lines.iter().filter_map(move |l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(&name).then_some(v.trim())
        })
    }

    /// The comma-separated tokens of header `name` (all its lines).
    pub fn tokens(&self, name: &str) -> Vec<&'a str> {
        self.values(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Whether header `name` lists `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token))
    }

    /// A request's `GET <target> HTTP/1.1` with `Upgrade: websocket`.
    pub fn is_upgrade_request(&self) -> bool {
        self.start[0] == "GET"
            && self.start[2].starts_with("HTTP/1.")
            && self.has_token("upgrade", "websocket")
    }

    /// A response's status code.
    pub fn status(&self) -> Option<u16> {
        if !self.start[0].starts_with("HTTP/") {
            return None;
        }
        self.start[1].parse().ok()
    }
}

/// The subprotocols under which MQTT travels over WebSocket: `mqtt`
/// (MQTT 3.1.1 section 6 / 5.0 section 6) and `mqttv3.1` (MQTT 3.1).
pub fn is_mqtt_subprotocol(p: &str) -> bool {
    p.eq_ignore_ascii_case("mqtt") || p.eq_ignore_ascii_case("mqttv3.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_heads() {
        let req = b"GET /mqtt HTTP/1.1\r\nHost: b\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\nsec-websocket-protocol: mqttv3.1, x\r\n\r\nrest";
        let end = head_end(req).unwrap();
        assert_eq!(&req[end..], b"rest");
        let h = Head::parse(&req[..end - 4]).unwrap();
        assert!(h.is_upgrade_request());
        assert_eq!(h.start[1], "/mqtt");
        assert_eq!(
            h.tokens("Sec-WebSocket-Protocol"),
            ["mqtt", "mqttv3.1", "x"]
        );
        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket";
        let r = Head::parse(resp).unwrap();
        assert_eq!(r.status(), Some(101));
        assert!(!r.is_upgrade_request());
        assert!(head_end(b"GET / HTTP/1.1\r\n").is_none());
        assert!(Head::parse(b"\xff\xfe").is_none());
        assert!(is_mqtt_subprotocol("MQTT") && !is_mqtt_subprotocol("mqttv5"));
    }
}
