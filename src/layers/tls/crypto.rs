//! Record decryption: the cipher suites we decrypt, their key schedules
//! (TLS 1.2's PRF key block from the master secret, RFC 5246 6.3; TLS
//! 1.3's HKDF-Expand-Label from the traffic secrets, RFC 8446 7.1–7.3) and
//! the AEAD record protection (RFC 5288 / RFC 7905 for 1.2, RFC 8446 5.2
//! for 1.3). RustCrypto only (aes-gcm, chacha20poly1305, hkdf, hmac,
//! sha2): no OpenSSL. Records are decrypted in place in the record buffer.
//!
//! Supported: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 — the TLS 1.3
//! suites `TLS_AES_128_GCM_SHA256`, `TLS_AES_256_GCM_SHA384`,
//! `TLS_CHACHA20_POLY1305_SHA256`, and the TLS 1.2 (EC)DHE/RSA/PSK suites
//! with those AEADs. Not supported (the connection is reported as
//! encrypted, suite unsupported): CBC suites (MAC-then-encrypt), AES-CCM
//! and CCM_8, ARIA, Camellia, SM4, NULL ciphers, TLS 1.0/1.1, SSL 3.

use super::keylog::Secret;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};
use zeroize::Zeroize;

/// The AEAD of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }
}

/// The hash of a suite's PRF / HKDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Sha256,
    Sha384,
}

impl HashKind {
    fn len(self) -> usize {
        match self {
            HashKind::Sha256 => 32,
            HashKind::Sha384 => 48,
        }
    }
}

/// What decrypting a suite needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub aead: AeadKind,
    pub hash: HashKind,
}

/// The suite with IANA number `id`, if we decrypt it (module docs).
pub fn suite(id: u16) -> Option<Suite> {
    use AeadKind::*;
    use HashKind::*;
    let (aead, hash) =
        match id {
            0x1301 => (Aes128Gcm, Sha256),
            0x1302 => (Aes256Gcm, Sha384),
            0x1303 => (ChaCha20Poly1305, Sha256),
            // TLS 1.2 AES-GCM: RSA, DHE_RSA, DHE_DSS, DH_anon, PSK, DHE_PSK,
            // RSA_PSK, ECDHE_ECDSA, ECDHE_RSA, ECDHE_PSK.
            0x009c | 0x009e | 0x00a2 | 0x00a6 | 0x00a8 | 0x00aa | 0x00ac | 0xc02b | 0xc02f
            | 0xd001 => (Aes128Gcm, Sha256),
            0x009d | 0x009f | 0x00a3 | 0x00a7 | 0x00a9 | 0x00ab | 0x00ad | 0xc02c | 0xc030
            | 0xd002 => (Aes256Gcm, Sha384),
            // TLS 1.2 ChaCha20-Poly1305 (RFC 7905).
            0xcca8..=0xccae => (ChaCha20Poly1305, Sha256),
            _ => return None,
        };
    Some(Suite { aead, hash })
}

/// The IANA name of a cipher suite we know by name.
pub fn suite_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009e => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x00a8 => "TLS_PSK_WITH_AES_128_GCM_SHA256",
        0x00a9 => "TLS_PSK_WITH_AES_256_GCM_SHA384",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccaa => "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xccab => "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xccac => "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0xc0ac => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
        _ => return None,
    })
}

/// The keyed AEAD.
enum Cipher {
    Aes128(Box<aes_gcm::Aes128Gcm>),
    Aes256(Box<aes_gcm::Aes256Gcm>),
    ChaCha(Box<chacha20poly1305::ChaCha20Poly1305>),
}

/// How a record's nonce and additional data are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// TLS 1.2 AES-GCM: a 4-byte salt and an 8-byte explicit nonce at the
    /// start of each record (RFC 5288 3).
    Tls12Explicit,
    /// TLS 1.2 ChaCha20-Poly1305: the 12-byte IV XOR the sequence number (RFC 7905 2).
    Tls12Xor,
    /// TLS 1.3: IV XOR sequence number, the record header as additional data,
    /// the content type inside (RFC 8446 5.2).
    Tls13,
}

/// One direction's record protection: key, IV, sequence number.
pub struct DirKeys {
    cipher: Cipher,
    iv: [u8; 12],
    pub framing: Framing,
    pub seq: u64,
    /// TLS 1.3: the traffic secret the keys came from (for KeyUpdate).
    secret: Option<(Secret, HashKind)>,
}

impl std::fmt::Debug for DirKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirKeys")
            .field("framing", &self.framing)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// A record that does not decrypt (wrong key, wrong sequence, damage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("record does not decrypt")]
pub struct DecryptError;

fn cipher(aead: AeadKind, key: &[u8]) -> Option<Cipher> {
    Some(match aead {
        AeadKind::Aes128Gcm => {
            Cipher::Aes128(Box::new(aes_gcm::Aes128Gcm::new_from_slice(key).ok()?))
        }
        AeadKind::Aes256Gcm => {
            Cipher::Aes256(Box::new(aes_gcm::Aes256Gcm::new_from_slice(key).ok()?))
        }
        AeadKind::ChaCha20Poly1305 => Cipher::ChaCha(Box::new(
            chacha20poly1305::ChaCha20Poly1305::new_from_slice(key).ok()?,
        )),
    })
}

impl DirKeys {
    /// TLS 1.3 keys from a traffic secret (RFC 8446 7.3).
    pub fn tls13(suite: Suite, secret: &Secret) -> Option<DirKeys> {
        let mut key = expand_label(suite.hash, secret.bytes(), b"key", suite.aead.key_len())?;
        let iv = expand_label(suite.hash, secret.bytes(), b"iv", 12)?;
        let c = cipher(suite.aead, &key);
        key.zeroize();
        Some(DirKeys {
            cipher: c?,
            iv: iv.try_into().ok()?,
            framing: Framing::Tls13,
            seq: 0,
            secret: Some((secret.clone(), suite.hash)),
        })
    }

    /// TLS 1.2 keys of both directions (client's, server's) from the
    /// master secret and the two randoms (RFC 5246 6.3).
    pub fn tls12(
        suite: Suite,
        master: &Secret,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Option<(DirKeys, DirKeys)> {
        let klen = suite.aead.key_len();
        let (ivlen, framing) = match suite.aead {
            AeadKind::ChaCha20Poly1305 => (12, Framing::Tls12Xor),
            _ => (4, Framing::Tls12Explicit),
        };
        let mut seed = Vec::with_capacity(64);
        seed.extend_from_slice(server_random);
        seed.extend_from_slice(client_random);
        let mut block = prf(
            suite.hash,
            master.bytes(),
            b"key expansion",
            &seed,
            2 * (klen + ivlen),
        )?;
        let mk = |key: &[u8], iv: &[u8]| -> Option<DirKeys> {
            let mut full = [0u8; 12];
            full.get_mut(..iv.len())?.copy_from_slice(iv);
            Some(DirKeys {
                cipher: cipher(suite.aead, key)?,
                iv: full,
                framing,
                seq: 0,
                secret: None,
            })
        };
        let ck = block.get(..klen)?;
        let sk = block.get(klen..2 * klen)?;
        let civ = block.get(2 * klen..2 * klen + ivlen)?;
        let siv = block.get(2 * klen + ivlen..2 * (klen + ivlen))?;
        let keys = (mk(ck, civ), mk(sk, siv));
        block.zeroize();
        Some((keys.0?, keys.1?))
    }

    /// TLS 1.3 KeyUpdate: the next generation of this direction's keys
    /// (RFC 8446 7.2). `None` for TLS 1.2 keys.
    pub fn updated(&self) -> Option<DirKeys> {
        let (secret, hash) = self.secret.as_ref()?;
        let next = Secret::new(expand_label(
            *hash,
            secret.bytes(),
            b"traffic upd",
            hash.len(),
        )?);
        let aead = match self.cipher {
            Cipher::Aes128(_) => AeadKind::Aes128Gcm,
            Cipher::Aes256(_) => AeadKind::Aes256Gcm,
            Cipher::ChaCha(_) => AeadKind::ChaCha20Poly1305,
        };
        DirKeys::tls13(Suite { aead, hash: *hash }, &next)
    }

    /// Decrypts the record `header` (5 bytes) + `body` in place with
    /// sequence number `seq`; returns the plaintext's range in `body`
    /// (TLS 1.3: content and type byte, padding not yet removed).
    pub fn open(
        &self,
        seq: u64,
        header: [u8; 5],
        body: &mut [u8],
    ) -> Result<std::ops::Range<usize>, DecryptError> {
        const TAG: usize = 16;
        let explicit = if self.framing == Framing::Tls12Explicit {
            8
        } else {
            0
        };
        if body.len() < explicit + TAG {
            return Err(DecryptError);
        }
        let mut nonce = self.iv;
        match self.framing {
            Framing::Tls12Explicit => {
                let ex = body.get(..8).ok_or(DecryptError)?;
                nonce.get_mut(4..).ok_or(DecryptError)?.copy_from_slice(ex);
            }
            Framing::Tls12Xor | Framing::Tls13 => {
                for (n, s) in nonce.iter_mut().skip(4).zip(seq.to_be_bytes()) {
                    *n ^= s;
                }
            }
        }
        let plain_len = body.len() - explicit - TAG;
        let mut aad = [0u8; 13];
        let aad: &[u8] = match self.framing {
            Framing::Tls13 => {
                aad.get_mut(..5)
                    .ok_or(DecryptError)?
                    .copy_from_slice(&header);
                aad.get(..5).ok_or(DecryptError)?
            }
            _ => {
                aad[..8].copy_from_slice(&seq.to_be_bytes());
                aad[8] = header[0];
                aad[9] = header[1];
                aad[10] = header[2];
                aad[11..13].copy_from_slice(&(plain_len as u16).to_be_bytes());
                &aad
            }
        };
        let (head, tag) = body.split_at_mut(explicit + plain_len);
        let data = head.get_mut(explicit..).ok_or(DecryptError)?;
        let tag = aes_gcm::Tag::from_slice(tag);
        let nonce = aes_gcm::Nonce::from_slice(&nonce);
        let r = match &self.cipher {
            Cipher::Aes128(c) => c.decrypt_in_place_detached(nonce, aad, data, tag),
            Cipher::Aes256(c) => c.decrypt_in_place_detached(nonce, aad, data, tag),
            Cipher::ChaCha(c) => c.decrypt_in_place_detached(nonce, aad, data, tag),
        };
        r.map_err(|_| DecryptError)?;
        Ok(explicit..explicit + plain_len)
    }
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
fn expand_label(hash: HashKind, secret: &[u8], label: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut info = Vec::with_capacity(10 + label.len());
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push(6 + label.len() as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let mut out = vec![0u8; len];
    let ok = match hash {
        HashKind::Sha256 => hkdf::Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
        HashKind::Sha384 => hkdf::Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .is_ok(),
    };
    ok.then_some(out)
}

/// The TLS 1.2 PRF, P_hash(secret, label + seed) (RFC 5246 5).
fn prf(hash: HashKind, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Option<Vec<u8>> {
    match hash {
        HashKind::Sha256 => p_hash::<Hmac<Sha256>>(secret, label, seed, len),
        HashKind::Sha384 => p_hash::<Hmac<Sha384>>(secret, label, seed, len),
    }
}

fn p_hash<M: Mac + KeyInit + Clone>(
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let base = <M as KeyInit>::new_from_slice(secret).ok()?;
    let mut out = Vec::with_capacity(len + 64);
    // A(1) = HMAC(secret, label + seed)
    let mut a = {
        let mut m = base.clone();
        m.update(label);
        m.update(seed);
        m.finalize().into_bytes()
    };
    while out.len() < len {
        let mut m = base.clone();
        m.update(&a);
        m.update(label);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes();
    }
    out.truncate(len);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8448 3 (simple 1-RTT handshake): the server's handshake traffic
    /// secret gives this key and IV with HKDF-Expand-Label.
    #[test]
    fn rfc8448_handshake_keys() {
        let secret = unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
        assert_eq!(
            expand_label(HashKind::Sha256, &secret, b"key", 16).unwrap(),
            unhex("3fce516009c21727d0f2e4e86ee403bc")
        );
        assert_eq!(
            expand_label(HashKind::Sha256, &secret, b"iv", 12).unwrap(),
            unhex("5d313eb2671276ee13000b30")
        );
    }

    /// A TLS 1.2 PRF test vector (SHA-256, from the IETF TLS list's
    /// published vectors used by many implementations).
    #[test]
    fn tls12_prf_sha256_vector() {
        let secret = unhex("9bbe436ba940f017b17652849a71db35");
        let seed = unhex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(HashKind::Sha256, &secret, b"test label", &seed, 100).unwrap();
        assert_eq!(&out[..16], &unhex("e3f229ba727be17b8d122620557cd453")[..]);
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn tls13_records_round_trip_and_reject_the_wrong_sequence() {
        let suite = suite(0x1303).unwrap();
        let keys = DirKeys::tls13(suite, &Secret::new(vec![7; 32])).unwrap();
        // seal with the same primitives, then open
        let mut body = b"hello\x17".to_vec();
        let header = [23, 3, 3, 0, (body.len() + 16) as u8];
        let mut nonce = keys.iv;
        for (n, s) in nonce.iter_mut().skip(4).zip(5u64.to_be_bytes()) {
            *n ^= s;
        }
        let Cipher::ChaCha(c) = &keys.cipher else {
            panic!()
        };
        let tag = c
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&nonce), &header, &mut body)
            .unwrap();
        body.extend_from_slice(&tag);
        let mut wrong = body.clone();
        assert_eq!(keys.open(4, header, &mut wrong), Err(DecryptError));
        let r = keys.open(5, header, &mut body).unwrap();
        assert_eq!(&body[r], b"hello\x17");
        assert!(keys.updated().is_some());
        assert!(suite_name(0x1302).is_some() && self::suite(0xc013).is_none());
    }
}
