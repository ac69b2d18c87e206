//! The handshake messages we read (RFC 8446 4, RFC 5246 7.4): the
//! ClientHello and ServerHello in the clear (version, random, cipher
//! suite, SNI, ALPN, supported_versions) and, once decrypted, TLS 1.3's
//! EncryptedExtensions (the ALPN the server chose), Finished and
//! KeyUpdate. Zero-copy parse functions over one complete message body,
//! each length checked against what is left (a [`Reader`] never reads past
//! its slice); a message that does not parse is a typed [`HelloError`].

/// Handshake message types (RFC 8446 4).
pub mod msg {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    pub const FINISHED: u8 = 20;
    pub const KEY_UPDATE: u8 = 24;
}

/// The ServerHello random that marks a HelloRetryRequest (RFC 8446 4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Why a handshake message does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("{0} ends before its {1}")]
    Short(&'static str, &'static str),
}

/// A bounds-checked reader over one message.
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], HelloError> {
        let (a, b) = (self.buf.get(..n), self.buf.get(n..));
        match (a, b) {
            (Some(a), Some(b)) => {
                self.buf = b;
                Ok(a)
            }
            _ => Err(HelloError::Short(self.what, field)),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, HelloError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, HelloError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    }

    /// A vector with a 1- or 2-byte length prefix.
    fn vec8(&mut self, field: &'static str) -> Result<&'a [u8], HelloError> {
        let n = self.u8(field)?;
        self.take(usize::from(n), field)
    }

    fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], HelloError> {
        let n = self.u16(field)?;
        self.take(usize::from(n), field)
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Extension types read here.
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// What a ClientHello offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub cipher_suites: usize,
    /// The host name of the server_name extension.
    pub sni: Option<&'a str>,
    /// The ALPN protocols offered, as the extension lists them.
    pub alpn: Vec<&'a [u8]>,
    /// supported_versions, highest first as sent.
    pub versions: Vec<u16>,
}

/// What a ServerHello chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub cipher_suite: u16,
    /// supported_versions' choice (TLS 1.3), else `None`.
    pub selected_version: Option<u16>,
    /// TLS ≤ 1.2: the ALPN protocol chosen.
    pub alpn: Option<&'a [u8]>,
    /// A HelloRetryRequest, not a real ServerHello.
    pub retry: bool,
}

impl ServerHello<'_> {
    /// The version in force: supported_versions' choice, else the legacy field.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

/// Walks the extensions block: `(type, body)` pairs.
fn extensions<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
    mut each: impl FnMut(u16, &'a [u8]) -> Result<(), HelloError>,
) -> Result<(), HelloError> {
    if r.is_empty() {
        return Ok(()); // no extensions at all (allowed before TLS 1.3)
    }
    let mut ex = Reader::new(r.vec16("extensions")?, what);
    while !ex.is_empty() {
        let t = ex.u16("extension type")?;
        let body = ex.vec16("extension")?;
        each(t, body)?;
    }
    Ok(())
}

fn random(r: &mut Reader<'_>) -> Result<[u8; 32], HelloError> {
    let b = r.take(32, "random")?;
    let mut out = [0u8; 32];
    out.copy_from_slice(b);
    Ok(out)
}

/// The ALPN extension's protocol list (RFC 7301 3.1).
fn alpn_list<'a>(body: &'a [u8], what: &'static str) -> Result<Vec<&'a [u8]>, HelloError> {
    let mut r = Reader::new(body, what);
    let mut list = Reader::new(r.vec16("ALPN list")?, what);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec8("ALPN protocol")?);
    }
    Ok(out)
}

/// Parses a ClientHello body (after the 4-byte handshake header).
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello<'_>, HelloError> {
    const W: &str = "ClientHello";
    let mut r = Reader::new(body, W);
    let legacy_version = r.u16("version")?;
    let random = random(&mut r)?;
    r.vec8("session id")?;
    let suites = r.vec16("cipher suites")?;
    r.vec8("compression methods")?;
    let mut hello = ClientHello {
        legacy_version,
        random,
        cipher_suites: suites.len() / 2,
        sni: None,
        alpn: Vec::new(),
        versions: Vec::new(),
    };
    extensions(&mut r, W, |t, body| {
        match t {
            EXT_SERVER_NAME => {
                let mut e = Reader::new(body, W);
                let mut list = Reader::new(e.vec16("server name list")?, W);
                while !list.is_empty() {
                    let kind = list.u8("server name type")?;
                    let name = list.vec16("server name")?;
                    if kind == 0 && hello.sni.is_none() {
                        hello.sni = std::str::from_utf8(name).ok();
                    }
                }
            }
            EXT_ALPN => hello.alpn = alpn_list(body, W)?,
            EXT_SUPPORTED_VERSIONS => {
                let mut e = Reader::new(body, W);
                let mut list = Reader::new(e.vec8("supported versions")?, W);
                while !list.is_empty() {
                    hello.versions.push(list.u16("version")?);
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(hello)
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello<'_>, HelloError> {
    const W: &str = "ServerHello";
    let mut r = Reader::new(body, W);
    let legacy_version = r.u16("version")?;
    let random = random(&mut r)?;
    r.vec8("session id")?;
    let cipher_suite = r.u16("cipher suite")?;
    r.u8("compression method")?;
    let mut hello = ServerHello {
        legacy_version,
        random,
        cipher_suite,
        selected_version: None,
        alpn: None,
        retry: random == HRR_RANDOM,
    };
    extensions(&mut r, W, |t, body| {
        match t {
            EXT_SUPPORTED_VERSIONS => {
                hello.selected_version = Some(Reader::new(body, W).u16("selected version")?);
            }
            EXT_ALPN => hello.alpn = alpn_list(body, W)?.first().copied(),
            _ => {}
        }
        Ok(())
    })?;
    Ok(hello)
}

/// TLS 1.3 EncryptedExtensions: the ALPN protocol the server chose.
pub fn parse_encrypted_extensions(body: &[u8]) -> Result<Option<&[u8]>, HelloError> {
    const W: &str = "EncryptedExtensions";
    let mut r = Reader::new(body, W);
    let mut alpn = None;
    if r.is_empty() {
        return Err(HelloError::Short(W, "extensions"));
    }
    extensions(&mut r, W, |t, body| {
        if t == EXT_ALPN {
            alpn = alpn_list(body, W)?.first().copied();
        }
        Ok(())
    })?;
    Ok(alpn)
}

/// A version's name (`0x0304` → `TLS 1.3`).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "unknown",
    }
}

/// Builders for tests of the layers above.
#[cfg(test)]
pub mod tests_support {
    /// A ClientHello body as a client writes it.
    pub fn client_hello(random: [u8; 32], sni: &str, alpn: &[&[u8]], versions: &[u16]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&random);
        b.push(32);
        b.extend_from_slice(&[0xab; 32]);
        b.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2b]);
        b.extend_from_slice(&[1, 0]);
        let mut ext = Vec::new();
        let mut sn = vec![0];
        sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        sn.extend_from_slice(sni.as_bytes());
        ext.extend_from_slice(&0u16.to_be_bytes());
        ext.extend_from_slice(&((sn.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(sn.len() as u16).to_be_bytes());
        ext.extend_from_slice(&sn);
        let mut al = Vec::new();
        for p in alpn {
            al.push(p.len() as u8);
            al.extend_from_slice(p);
        }
        ext.extend_from_slice(&16u16.to_be_bytes());
        ext.extend_from_slice(&((al.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(al.len() as u16).to_be_bytes());
        ext.extend_from_slice(&al);
        ext.extend_from_slice(&43u16.to_be_bytes());
        ext.extend_from_slice(&((versions.len() * 2 + 1) as u16).to_be_bytes());
        ext.push((versions.len() * 2) as u8);
        for v in versions {
            ext.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        b.extend_from_slice(&ext);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::client_hello;
    use super::*;

    #[test]
    fn client_hello_fields() {
        let body = client_hello(
            [5; 32],
            "broker.example",
            &[b"mqtt", b"x"],
            &[0x0304, 0x0303],
        );
        let h = parse_client_hello(&body).unwrap();
        assert_eq!(h.random, [5; 32]);
        assert_eq!(h.sni, Some("broker.example"));
        assert_eq!(h.alpn, [&b"mqtt"[..], b"x"]);
        assert_eq!(h.versions, [0x0304, 0x0303]);
        assert_eq!(h.cipher_suites, 2);
        // every truncation is an error, never a panic
        for n in 0..body.len() {
            let _ = parse_client_hello(&body[..n]);
        }
        assert!(parse_client_hello(&body[..40]).is_err());
    }

    #[test]
    fn server_hello_and_retry() {
        let mut b = vec![3, 3];
        b.extend_from_slice(&HRR_RANDOM);
        b.extend_from_slice(&[0, 0x13, 0x02, 0]);
        b.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
        let h = parse_server_hello(&b).unwrap();
        assert!(h.retry);
        assert_eq!((h.version(), h.cipher_suite), (0x0304, 0x1302));
        assert_eq!(version_name(h.version()), "TLS 1.3");
        assert!(parse_server_hello(&b[..b.len() - 1]).is_err());
    }
}
