//! MQTT 3.1 / 3.1.1 / 5.0: bytes of one TCP direction → control packets.

pub mod connection;
pub mod error;
mod framer;
pub mod json;
pub mod parse;
mod primitives;
pub mod properties;
pub mod reason;
mod resync;
pub mod types;

pub use connection::{
    GapEvent, MalformedEvent, MqttConfig, MqttConnection, MqttEvent, OversizedEvent, PacketEvent,
    ResyncEvent, TruncatedEvent,
};
pub use error::{Malformed, Reason};
pub use framer::ResyncCause;
pub use json::{MalformedJson, PacketJson, RenderOptions};
pub use parse::{ParseError, decode_body, looks_like_connect, parse_fixed_header, parse_packet};
pub use properties::{Properties, PropertyId, PropertyKind, PropertyScope};
pub use reason::ReasonCode;
pub use types::*;
