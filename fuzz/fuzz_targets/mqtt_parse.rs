//! Any bytes as one MQTT packet, read as each protocol version: no panic,
//! and what comes back is consistent with the bytes.
//!
//! * A decoded packet took `used <= input.len()` bytes, exactly the size its
//!   fixed header announces, and every shorter prefix of those bytes is
//!   `Incomplete` (a parser never decides before its packet has arrived).
//! * Decoding `&input[..used]` again gives the same packet: nothing after
//!   the packet influenced it.
//! * `Incomplete { needed }` asks for more than is there.
//! * A malformed packet names the type and length of the fixed header.
//! * JSON rendering (with and without secrets) and the text summary work
//!   for whatever was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::mqtt::{
    PacketType, ParseError, ProtocolVersion, parse_fixed_header, parse_packet,
};
use mqtt_inspect::report::{MalformedJson, PacketJson, RenderOptions};

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V31,
    ProtocolVersion::V311,
    ProtocolVersion::V5,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the payload preview size, the rest is the packet.
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let preview = usize::from(pick);
    for version in VERSIONS {
        check(input, version, preview);
    }
});

fn check(input: &[u8], version: ProtocolVersion, preview: usize) {
    let result = parse_packet(input, version, preview);
    match &result {
        Ok((decoded, used)) => {
            let used = *used;
            assert!(used <= input.len(), "used {used} of {}", input.len());
            let header = parse_fixed_header(input).expect("a decoded packet has a fixed header");
            assert_eq!(header.total_len(), used);
            assert_eq!(decoded.packet.header(), &header);
            let first = input.first().copied().expect("non-empty");
            assert_eq!(decoded.packet.packet_type().code(), first >> 4);
            assert_eq!(header.flags, first & 0x0f);
            if decoded.packet.packet_type() != PacketType::Connect {
                assert_eq!(decoded.version, version);
            }
            // The same bytes, and nothing after them, decode the same way.
            let again = parse_packet(&input[..used], version, preview);
            assert_eq!(again.as_ref().ok(), Some(&(decoded.clone(), used)));
            // A packet is never decided on before its last byte.
            for cut in 0..used {
                match parse_packet(&input[..cut], version, preview) {
                    Err(ParseError::Incomplete { needed }) => assert!(needed > cut),
                    other => panic!("prefix of {cut}/{used} bytes gave {other:?}"),
                }
            }
            for show_secrets in [false, true] {
                let opts = RenderOptions {
                    payload_bytes: preview,
                    show_secrets,
                };
                let text = serde_json::to_string(&PacketJson::new(&decoded.packet, &opts))
                    .expect("serializes");
                let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
                assert_eq!(value["type"], decoded.packet.packet_type().as_str());
                assert_eq!(value["length"], header.length);
            }
            let summary = decoded.packet.summary();
            assert!(summary.starts_with(decoded.packet.packet_type().as_str()));
            assert!(!summary.chars().any(char::is_control), "{summary:?}");
        }
        Err(ParseError::Incomplete { needed }) => {
            assert!(*needed > input.len(), "needs {needed} of {}", input.len());
        }
        Err(ParseError::Malformed(m)) => {
            if let Some(&first) = input.first() {
                assert_eq!(
                    m.packet_type.map(PacketType::code),
                    PacketType::from_code(first >> 4).map(PacketType::code)
                );
                assert_eq!(m.flags, Some(first & 0x0f));
            }
            if let Ok(header) = parse_fixed_header(input) {
                assert_eq!(m.length, Some(header.length));
                assert_eq!(m.header_len, Some(header.header_len));
                assert!(m.offset <= header.total_len(), "{m:?}");
            }
            let text = serde_json::to_string(&MalformedJson::new(&m)).expect("serializes");
            let _: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert!(!m.to_string().is_empty());
        }
    }
}
