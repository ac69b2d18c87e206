//! MQTT 3.1 / 3.1.1 / 5.0: bytes of one TCP connection → control packets.
//!
//! Two layers:
//!
//! * **Packet parsing** ([`parse_packet`], [`parse_fixed_header`],
//!   [`decode_body`]): nom parsers, one per control packet, that decode
//!   exactly `remaining_length` bytes into a zero-copy [`Packet`] (strings,
//!   binary data and payload previews borrow from the input). Values the
//!   spec forbids but that leave the packet readable are [`Violation`]s on
//!   the [`Decoded`] packet; bytes that cannot be followed are [`Malformed`],
//!   with the packet type, the offset and the reason.
//! * **Connection decoding** ([`MqttConnection`]): what the TCP layer drives
//!   for each connection. It frames both byte streams (any segmentation,
//!   large PUBLISH payloads streamed through a hash rather than buffered),
//!   applies the CONNECT's protocol version to both directions or infers it,
//!   resolves 5.0 topic aliases per direction, and after a TCP gap or a
//!   malformed packet resynchronises on the next plausible packet boundary
//!   and goes on. Results come back as [`MqttEvent`]s through a callback.
//!
//! ```
//! use mqtt_inspect::mqtt::{MqttConfig, MqttConnection, MqttEvent};
//! use mqtt_inspect::base::{Direction, Timestamp};
//!
//! // One per TCP connection; `new_mid_stream` when the handshake was not seen.
//! let mut conn = MqttConnection::new(&MqttConfig::default());
//! let ts = Timestamp::new(1_700_000_000, 0, 6);
//! // CONNECT (3.1.1, client id "c", keep alive 60) in frame 4, then a
//! // PUBLISH to "a/b" split over frames 5 and 6.
//! let connect = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c'];
//! let publish = [0x30, 7, 0, 3, b'a', b'/', b'b', b'h', b'i'];
//! let mut lines = Vec::new();
//! {
//!     let mut out = |event: MqttEvent<'_>| match event {
//!         // Events borrow the input: render or copy what must outlive the call.
//!         MqttEvent::Packet(p) => lines.push(format!("{} {}", p.frame, p.packet.summary())),
//!         other => lines.push(format!("{other:?}")),
//!     };
//!     conn.on_data(Direction::ClientToServer, 4, ts, &connect, &mut out);
//!     conn.on_data(Direction::ClientToServer, 5, ts, &publish[..4], &mut out);
//!     conn.on_data(Direction::ClientToServer, 6, ts, &publish[4..], &mut out);
//!     conn.on_close(7, ts, &mut out);
//! }
//! assert_eq!(lines, ["4 CONNECT v3.1.1 \"c\" ka=60 clean", "6 PUBLISH q0 \"a/b\" 2B"]);
//! assert_eq!(conn.version().map(|v| v.as_str()), Some("3.1.1"));
//! ```
//!
//! A one-line text form of a packet is [`Packet::summary`]; the JSON `mqtt`
//! object of a packet event belongs to the report (`report::PacketJson`). How boundaries are found again after lost or bad
//! bytes is described in the `resync` module; how the version is inferred
//! and aliases are resolved, in [`connection`].

pub mod connection;
pub mod error;
mod framer;
mod header;
pub mod parse;
mod primitives;
pub mod properties;
pub mod reason;
mod resync;
mod sniff;
pub mod spec;
mod summary;
pub mod types;

pub use connection::{
    GapEvent, MalformedEvent, MqttConfig, MqttConnection, MqttEvent, OversizedEvent, PacketEvent,
    ResyncEvent, TruncatedEvent,
};
pub use error::{Malformed, Reason};
pub use framer::ResyncCause;
pub use parse::{ParseError, decode_body, looks_like_connect, parse_fixed_header, parse_packet};
pub use properties::{Properties, PropertyId, PropertyKind, PropertyScope};
pub use reason::ReasonCode;
pub use sniff::{RunVerdict, judge_run};
pub use types::*;
