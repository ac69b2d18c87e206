//! The NSS key log format (`SSLKEYLOGFILE`): one secret per line, keyed by
//! the ClientHello's random.
//!
//! ```text
//! # comment
//! CLIENT_RANDOM <client random, 64 hex> <master secret, 96 hex>        (TLS 1.2)
//! CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>             (TLS 1.3)
//! SERVER_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>
//! CLIENT_TRAFFIC_SECRET_0 <client random> <secret>
//! SERVER_TRAFFIC_SECRET_0 <client random> <secret>
//! ```
//!
//! Other labels (`EXPORTER_SECRET`, `EARLY_EXPORTER_SECRET`,
//! `CLIENT_EARLY_TRAFFIC_SECRET`, the old `RSA` form) are read past: they
//! decrypt nothing we decode. Lines that do not parse are counted, never
//! shown: a key log is as secret as the traffic it opens, so neither the
//! file's lines nor any secret ever reaches the output (a [`Secret`]'s
//! `Debug` is redacted and its bytes are zeroed when dropped).
//!
//! The file is read when the run starts and again — at most once a second
//! — when a connection's key is not in it, so a key log written while a
//! live capture runs is followed.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use zeroize::Zeroize;

/// Secret bytes from a key log: never printed, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// The secrets the key log holds for one client random.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSecrets {
    /// TLS 1.2: the master secret (`CLIENT_RANDOM`).
    pub master: Option<Secret>,
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic: Option<Secret>,
    pub server_traffic: Option<Secret>,
}

/// A loaded key log (module docs).
///
/// One key log serves every connection of a run, on whichever thread it
/// is analysed (`--threads`), so lookups take `&self`: the table sits
/// behind a lock taken once per TLS connection (at its ServerHello), never
/// per record.
#[derive(Debug, Default)]
pub struct KeyLog {
    path: Option<PathBuf>,
    table: Mutex<Table>,
}

/// What a [`KeyLog`] has read so far.
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<[u8; 32], ConnSecrets>,
    /// Lines that are not of the format (counted only: never shown).
    bad_lines: u64,
    /// Bytes of the file read so far (a reload reads on from here only when
    /// the file grew; a file that shrank is read again whole).
    read_len: u64,
    last_reload: Option<Instant>,
}

/// A key log that cannot be read: the run stops before any output.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the TLS key log {path}: {source}")]
pub struct KeyLogError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

impl KeyLog {
    /// Reads the key log at `path`.
    pub fn open(path: &Path) -> Result<KeyLog, KeyLogError> {
        let k = KeyLog {
            path: Some(path.to_path_buf()),
            ..KeyLog::default()
        };
        k.table().reload(path).map_err(|source| KeyLogError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(k)
    }

    /// A key log from text (tests, fuzzing).
    pub fn parse(text: &str) -> KeyLog {
        let k = KeyLog::default();
        k.table().add(text);
        k
    }

    /// The table; a thread that panicked holding it left it whole (every
    /// change to it is one insertion), so a poisoned lock is still used.
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Client randoms with at least one secret.
    pub fn len(&self) -> usize {
        self.table().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines read so far that are not of the format (counted only: never shown).
    pub fn bad_lines(&self) -> u64 {
        self.table().bad_lines
    }

    /// The secrets for `client_random`, re-reading the file (at most once
    /// a second) when they are not there yet.
    pub fn lookup(&self, client_random: &[u8; 32]) -> Option<ConnSecrets> {
        let mut t = self.table();
        if let Some(s) = t.entries.get(client_random) {
            return Some(s.clone());
        }
        let due = t
            .last_reload
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if let (Some(path), true) = (&self.path, due) {
            // A failed re-read keeps what was read before.
            let _ = t.reload(path);
        }
        t.entries.get(client_random).cloned()
    }
}

impl Table {
    fn reload(&mut self, path: &Path) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        self.last_reload = Some(Instant::now());
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        if len < self.read_len {
            self.read_len = 0;
        }
        if len == self.read_len {
            return Ok(());
        }
        f.seek(SeekFrom::Start(self.read_len))?;
        let mut buf = Vec::new();
        f.take(len - self.read_len).read_to_end(&mut buf)?;
        // Only whole lines: a line being written is read next time.
        let whole = buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let text = String::from_utf8_lossy(buf.get(..whole).unwrap_or_default()).into_owned();
        self.add(&text);
        self.read_len += whole as u64;
        buf.zeroize();
        Ok(())
    }

    fn add(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !self.add_line(line) {
                self.bad_lines += 1;
            }
        }
    }

    /// One line; `false` when it is not of the format.
    fn add_line(&mut self, line: &str) -> bool {
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Some(random) = hex(random).and_then(|r| <[u8; 32]>::try_from(r).ok()) else {
            return false;
        };
        let Some(secret) = hex(secret).map(Secret::new) else {
            return false;
        };
        fn slot<'e>(e: &'e mut ConnSecrets, label: &str) -> Option<&'e mut Option<Secret>> {
            Some(match label {
                "CLIENT_RANDOM" => &mut e.master,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut e.client_handshake,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut e.server_handshake,
                "CLIENT_TRAFFIC_SECRET_0" => &mut e.client_traffic,
                "SERVER_TRAFFIC_SECRET_0" => &mut e.server_traffic,
                _ => return None,
            })
        }
        let known = [
            "EXPORTER_SECRET",
            "EARLY_EXPORTER_SECRET",
            "CLIENT_EARLY_TRAFFIC_SECRET",
        ];
        let e = self.entries.entry(random).or_default();
        match slot(e, label) {
            Some(s) => {
                *s = Some(secret);
                true
            }
            None => known.contains(&label),
        }
    }
}

/// Decodes an even-length hex string.
fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(*p.first()?)? << 4 | nib(*p.get(1)?)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R1: &str = "aa00000000000000000000000000000000000000000000000000000000000011";

    #[test]
    fn lines_by_label_and_random() {
        let text = format!(
            "# SSL/TLS secrets log file\nCLIENT_RANDOM {R1} {}\nCLIENT_TRAFFIC_SECRET_0 {R1} {}\nEXPORTER_SECRET {R1} 00\nnonsense\nCLIENT_RANDOM zz {}\n",
            "01".repeat(48),
            "02".repeat(32),
            "03".repeat(48)
        );
        let k = KeyLog::parse(&text);
        assert_eq!(k.len(), 1);
        assert_eq!(k.bad_lines(), 2);
        let r: [u8; 32] = hex(R1).unwrap().try_into().unwrap();
        let s = k.lookup(&r).unwrap();
        assert_eq!(s.master.as_ref().unwrap().bytes(), &[1u8; 48][..]);
        assert_eq!(s.client_traffic.as_ref().unwrap().bytes(), &[2u8; 32][..]);
        assert!(s.server_traffic.is_none());
        assert!(k.lookup(&[0u8; 32]).is_none());
        // secrets never show in Debug output
        let shown = format!("{s:?}{k:?}");
        assert!(
            !shown.contains("0101") && !shown.contains("[1, 1"),
            "{shown}"
        );
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn a_growing_file_is_read_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys");
        std::fs::write(&p, "").unwrap();
        let k = KeyLog::open(&p).unwrap();
        assert!(k.is_empty());
        std::fs::write(&p, format!("CLIENT_RANDOM {R1} {}\n", "0f".repeat(48))).unwrap();
        k.table().last_reload = None;
        let r: [u8; 32] = hex(R1).unwrap().try_into().unwrap();
        assert!(k.lookup(&r).is_some());
        assert!(KeyLog::open(&dir.path().join("missing")).is_err());
    }
}
