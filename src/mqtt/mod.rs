//! MQTT 3.1 / 3.1.1 / 5.0: bytes of one TCP direction → control packets.

pub mod error;
pub mod json;
pub mod parse;
mod primitives;
pub mod properties;
pub mod reason;
pub mod types;

pub use error::{Malformed, Reason};
pub use json::RenderOptions;
pub use parse::{ParseError, decode_body, looks_like_connect, parse_fixed_header, parse_packet};
pub use properties::{Properties, PropertyId, PropertyKind, PropertyScope};
pub use reason::ReasonCode;
pub use types::*;
