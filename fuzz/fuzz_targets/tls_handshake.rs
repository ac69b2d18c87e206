//! The TLS handshake message parsers (src/layers/tls/hello.rs) and the key
//! log parser on arbitrary bytes: `[which, body...]`. Nothing may panic;
//! what parses must be consistent with its input (an SNI and ALPN names
//! come from the bytes, a key log holds no more entries than lines).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::layers::tls::KeyLog;
use mqtt_inspect::layers::tls::hello::{
    parse_client_hello, parse_encrypted_extensions, parse_server_hello, version_name,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(h) = parse_client_hello(body) {
                if let Some(sni) = h.sni {
                    assert!(sni.len() <= body.len());
                }
                assert!(h.alpn.iter().map(|p| p.len()).sum::<usize>() <= body.len());
                assert!(h.cipher_suites * 2 <= body.len());
            }
        }
        1 => {
            if let Ok(h) = parse_server_hello(body) {
                let _ = version_name(h.version());
            }
        }
        2 => {
            let _ = parse_encrypted_extensions(body);
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let k = KeyLog::parse(&text);
            assert!(k.len() <= text.lines().count());
        }
    }
});
