//! MQTT 5.0 properties (spec section 2.2.2): every property of the spec,
//! typed, with the packets it may appear in.
//!
//! A property that is well formed but not allowed in its packet, repeated
//! when it may not be, or carrying a forbidden value is a violation: the
//! packet is kept. An unknown identifier is malformed, because its type —
//! and so the position of everything after it — is unknown.

use super::error::{PErr, PResult, Reason, fail};
use super::header::PacketType;
use super::primitives::{Ctx, binary, byte, check_minimal, four, two, utf8, var_int};
use super::spec::Rule;

/// Where a property block sits: in a packet, or in the will of a CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyScope {
    Packet(PacketType),
    Will,
}

impl PropertyScope {
    fn bit(self) -> u16 {
        match self {
            PropertyScope::Will => 1,
            PropertyScope::Packet(t) => 1 << t.code(),
        }
    }

    /// `PUBLISH`, `will properties`, ... for messages.
    pub fn describe(self) -> &'static str {
        match self {
            PropertyScope::Will => "the will properties",
            PropertyScope::Packet(t) => t.as_str(),
        }
    }
}

/// The wire type of a property value (section 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyKind {
    Byte,
    TwoByteInteger,
    FourByteInteger,
    VariableByteInteger,
    Utf8String,
    BinaryData,
    Utf8StringPair,
}

/// A property identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyId(pub u8);

const WILL: u16 = 1;
const fn pk(t: PacketType) -> u16 {
    1 << (t as u8)
}
const CONNECT: u16 = pk(PacketType::Connect);
const CONNACK: u16 = pk(PacketType::Connack);
const PUBLISH: u16 = pk(PacketType::Publish);
const PUBACK: u16 = pk(PacketType::Puback);
const PUBREC: u16 = pk(PacketType::Pubrec);
const PUBREL: u16 = pk(PacketType::Pubrel);
const PUBCOMP: u16 = pk(PacketType::Pubcomp);
const SUBSCRIBE: u16 = pk(PacketType::Subscribe);
const SUBACK: u16 = pk(PacketType::Suback);
const UNSUBSCRIBE: u16 = pk(PacketType::Unsubscribe);
const UNSUBACK: u16 = pk(PacketType::Unsuback);
const DISCONNECT: u16 = pk(PacketType::Disconnect);
const AUTH: u16 = pk(PacketType::Auth);

struct Def {
    id: u8,
    name: &'static str,
    title: &'static str,
    kind: PropertyKind,
    allowed: u16,
}

use PropertyKind as K;

/// Spec section 2.2.2.2, table 2-4.
const DEFS: &[Def] = &[
    Def {
        id: 0x01,
        name: "payload_format_indicator",
        title: "Payload Format Indicator",
        kind: K::Byte,
        allowed: PUBLISH | WILL,
    },
    Def {
        id: 0x02,
        name: "message_expiry_interval",
        title: "Message Expiry Interval",
        kind: K::FourByteInteger,
        allowed: PUBLISH | WILL,
    },
    Def {
        id: 0x03,
        name: "content_type",
        title: "Content Type",
        kind: K::Utf8String,
        allowed: PUBLISH | WILL,
    },
    Def {
        id: 0x08,
        name: "response_topic",
        title: "Response Topic",
        kind: K::Utf8String,
        allowed: PUBLISH | WILL,
    },
    Def {
        id: 0x09,
        name: "correlation_data",
        title: "Correlation Data",
        kind: K::BinaryData,
        allowed: PUBLISH | WILL,
    },
    Def {
        id: 0x0B,
        name: "subscription_identifier",
        title: "Subscription Identifier",
        kind: K::VariableByteInteger,
        allowed: PUBLISH | SUBSCRIBE,
    },
    Def {
        id: 0x11,
        name: "session_expiry_interval",
        title: "Session Expiry Interval",
        kind: K::FourByteInteger,
        allowed: CONNECT | CONNACK | DISCONNECT,
    },
    Def {
        id: 0x12,
        name: "assigned_client_identifier",
        title: "Assigned Client Identifier",
        kind: K::Utf8String,
        allowed: CONNACK,
    },
    Def {
        id: 0x13,
        name: "server_keep_alive",
        title: "Server Keep Alive",
        kind: K::TwoByteInteger,
        allowed: CONNACK,
    },
    Def {
        id: 0x15,
        name: "authentication_method",
        title: "Authentication Method",
        kind: K::Utf8String,
        allowed: CONNECT | CONNACK | AUTH,
    },
    Def {
        id: 0x16,
        name: "authentication_data",
        title: "Authentication Data",
        kind: K::BinaryData,
        allowed: CONNECT | CONNACK | AUTH,
    },
    Def {
        id: 0x17,
        name: "request_problem_information",
        title: "Request Problem Information",
        kind: K::Byte,
        allowed: CONNECT,
    },
    Def {
        id: 0x18,
        name: "will_delay_interval",
        title: "Will Delay Interval",
        kind: K::FourByteInteger,
        allowed: WILL,
    },
    Def {
        id: 0x19,
        name: "request_response_information",
        title: "Request Response Information",
        kind: K::Byte,
        allowed: CONNECT,
    },
    Def {
        id: 0x1A,
        name: "response_information",
        title: "Response Information",
        kind: K::Utf8String,
        allowed: CONNACK,
    },
    Def {
        id: 0x1C,
        name: "server_reference",
        title: "Server Reference",
        kind: K::Utf8String,
        allowed: CONNACK | DISCONNECT,
    },
    Def {
        id: 0x1F,
        name: "reason_string",
        title: "Reason String",
        kind: K::Utf8String,
        allowed: CONNACK
            | PUBACK
            | PUBREC
            | PUBREL
            | PUBCOMP
            | SUBACK
            | UNSUBACK
            | DISCONNECT
            | AUTH,
    },
    Def {
        id: 0x21,
        name: "receive_maximum",
        title: "Receive Maximum",
        kind: K::TwoByteInteger,
        allowed: CONNECT | CONNACK,
    },
    Def {
        id: 0x22,
        name: "topic_alias_maximum",
        title: "Topic Alias Maximum",
        kind: K::TwoByteInteger,
        allowed: CONNECT | CONNACK,
    },
    Def {
        id: 0x23,
        name: "topic_alias",
        title: "Topic Alias",
        kind: K::TwoByteInteger,
        allowed: PUBLISH,
    },
    Def {
        id: 0x24,
        name: "maximum_qos",
        title: "Maximum QoS",
        kind: K::Byte,
        allowed: CONNACK,
    },
    Def {
        id: 0x25,
        name: "retain_available",
        title: "Retain Available",
        kind: K::Byte,
        allowed: CONNACK,
    },
    Def {
        id: 0x26,
        name: "user_property",
        title: "User Property",
        kind: K::Utf8StringPair,
        allowed: CONNECT
            | CONNACK
            | PUBLISH
            | WILL
            | PUBACK
            | PUBREC
            | PUBREL
            | PUBCOMP
            | SUBSCRIBE
            | SUBACK
            | UNSUBSCRIBE
            | UNSUBACK
            | DISCONNECT
            | AUTH,
    },
    Def {
        id: 0x27,
        name: "maximum_packet_size",
        title: "Maximum Packet Size",
        kind: K::FourByteInteger,
        allowed: CONNECT | CONNACK,
    },
    Def {
        id: 0x28,
        name: "wildcard_subscription_available",
        title: "Wildcard Subscription Available",
        kind: K::Byte,
        allowed: CONNACK,
    },
    Def {
        id: 0x29,
        name: "subscription_identifier_available",
        title: "Subscription Identifier Available",
        kind: K::Byte,
        allowed: CONNACK,
    },
    Def {
        id: 0x2A,
        name: "shared_subscription_available",
        title: "Shared Subscription Available",
        kind: K::Byte,
        allowed: CONNACK,
    },
];

impl PropertyId {
    pub const PAYLOAD_FORMAT_INDICATOR: PropertyId = PropertyId(0x01);
    pub const MESSAGE_EXPIRY_INTERVAL: PropertyId = PropertyId(0x02);
    pub const CONTENT_TYPE: PropertyId = PropertyId(0x03);
    pub const RESPONSE_TOPIC: PropertyId = PropertyId(0x08);
    pub const CORRELATION_DATA: PropertyId = PropertyId(0x09);
    pub const SUBSCRIPTION_IDENTIFIER: PropertyId = PropertyId(0x0B);
    pub const SESSION_EXPIRY_INTERVAL: PropertyId = PropertyId(0x11);
    pub const ASSIGNED_CLIENT_IDENTIFIER: PropertyId = PropertyId(0x12);
    pub const SERVER_KEEP_ALIVE: PropertyId = PropertyId(0x13);
    pub const AUTHENTICATION_METHOD: PropertyId = PropertyId(0x15);
    pub const AUTHENTICATION_DATA: PropertyId = PropertyId(0x16);
    pub const REQUEST_PROBLEM_INFORMATION: PropertyId = PropertyId(0x17);
    pub const WILL_DELAY_INTERVAL: PropertyId = PropertyId(0x18);
    pub const REQUEST_RESPONSE_INFORMATION: PropertyId = PropertyId(0x19);
    pub const RESPONSE_INFORMATION: PropertyId = PropertyId(0x1A);
    pub const SERVER_REFERENCE: PropertyId = PropertyId(0x1C);
    pub const REASON_STRING: PropertyId = PropertyId(0x1F);
    pub const RECEIVE_MAXIMUM: PropertyId = PropertyId(0x21);
    pub const TOPIC_ALIAS_MAXIMUM: PropertyId = PropertyId(0x22);
    pub const TOPIC_ALIAS: PropertyId = PropertyId(0x23);
    pub const MAXIMUM_QOS: PropertyId = PropertyId(0x24);
    pub const RETAIN_AVAILABLE: PropertyId = PropertyId(0x25);
    pub const USER_PROPERTY: PropertyId = PropertyId(0x26);
    pub const MAXIMUM_PACKET_SIZE: PropertyId = PropertyId(0x27);
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x28);
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: PropertyId = PropertyId(0x29);
    pub const SHARED_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x2A);

    /// Every identifier the spec defines, in numeric order.
    pub fn all() -> impl Iterator<Item = PropertyId> {
        DEFS.iter().map(|d| PropertyId(d.id))
    }

    fn def(self) -> Option<&'static Def> {
        DEFS.iter().find(|d| d.id == self.0)
    }

    /// Whether the spec defines this identifier.
    pub fn is_known(self) -> bool {
        self.def().is_some()
    }

    /// snake_case name (`"topic_alias"`), `None` for an unknown identifier.
    pub fn name(self) -> Option<&'static str> {
        self.def().map(|d| d.name)
    }

    /// The spec's title (`"Topic Alias"`).
    pub fn title(self) -> Option<&'static str> {
        self.def().map(|d| d.title)
    }

    pub fn kind(self) -> Option<PropertyKind> {
        self.def().map(|d| d.kind)
    }

    /// Whether the spec allows this property in `scope`.
    pub fn allowed_in(self, scope: PropertyScope) -> bool {
        self.def().is_some_and(|d| d.allowed & scope.bit() != 0)
    }

    /// Whether the property may appear more than once in `scope`.
    pub fn repeatable_in(self, scope: PropertyScope) -> bool {
        self == PropertyId::USER_PROPERTY
            || (self == PropertyId::SUBSCRIPTION_IDENTIFIER
                && scope == PropertyScope::Packet(PacketType::Publish))
    }
}

/// All MQTT 5.0 properties of one property block. When a non-repeatable
/// property is sent twice, the first value is kept (and a violation raised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties<'a> {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<&'a str>,
    pub response_topic: Option<&'a str>,
    pub correlation_data: Option<&'a [u8]>,
    /// In wire order (a PUBLISH to a subscriber may carry several).
    pub subscription_identifiers: Vec<u32>,
    pub session_expiry_interval: Option<u32>,
    pub assigned_client_identifier: Option<&'a str>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<&'a str>,
    pub authentication_data: Option<&'a [u8]>,
    pub request_problem_information: Option<u8>,
    pub will_delay_interval: Option<u32>,
    pub request_response_information: Option<u8>,
    pub response_information: Option<&'a str>,
    pub server_reference: Option<&'a str>,
    pub reason_string: Option<&'a str>,
    pub receive_maximum: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub topic_alias: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<u8>,
    /// Key / value pairs in wire order; keys may repeat.
    pub user_properties: Vec<(&'a str, &'a str)>,
    pub maximum_packet_size: Option<u32>,
    pub wildcard_subscription_available: Option<u8>,
    pub subscription_identifier_available: Option<u8>,
    pub shared_subscription_available: Option<u8>,
}

/// A decoded property value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyValue<'a> {
    Byte(u8),
    Two(u16),
    Four(u32),
    VarInt(u32),
    Str(&'a str),
    Bin(&'a [u8]),
    Pair(&'a str, &'a str),
}

fn set<T>(slot: &mut Option<T>, value: T) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(value);
    true
}

impl<'a> Properties<'a> {
    /// Whether the block had no property at all.
    pub fn is_empty(&self) -> bool {
        *self == Properties::default()
    }

    /// Stores `value` under `id`; `false` when a single-valued property was
    /// already set (the first value stays) or the value has the wrong type.
    pub fn insert(&mut self, id: PropertyId, value: PropertyValue<'a>) -> bool {
        use PropertyValue as V;
        match (id, value) {
            (PropertyId::PAYLOAD_FORMAT_INDICATOR, V::Byte(v)) => {
                set(&mut self.payload_format_indicator, v)
            }
            (PropertyId::MESSAGE_EXPIRY_INTERVAL, V::Four(v)) => {
                set(&mut self.message_expiry_interval, v)
            }
            (PropertyId::CONTENT_TYPE, V::Str(v)) => set(&mut self.content_type, v),
            (PropertyId::RESPONSE_TOPIC, V::Str(v)) => set(&mut self.response_topic, v),
            (PropertyId::CORRELATION_DATA, V::Bin(v)) => set(&mut self.correlation_data, v),
            (PropertyId::SUBSCRIPTION_IDENTIFIER, V::VarInt(v)) => {
                self.subscription_identifiers.push(v);
                true
            }
            (PropertyId::SESSION_EXPIRY_INTERVAL, V::Four(v)) => {
                set(&mut self.session_expiry_interval, v)
            }
            (PropertyId::ASSIGNED_CLIENT_IDENTIFIER, V::Str(v)) => {
                set(&mut self.assigned_client_identifier, v)
            }
            (PropertyId::SERVER_KEEP_ALIVE, V::Two(v)) => set(&mut self.server_keep_alive, v),
            (PropertyId::AUTHENTICATION_METHOD, V::Str(v)) => {
                set(&mut self.authentication_method, v)
            }
            (PropertyId::AUTHENTICATION_DATA, V::Bin(v)) => set(&mut self.authentication_data, v),
            (PropertyId::REQUEST_PROBLEM_INFORMATION, V::Byte(v)) => {
                set(&mut self.request_problem_information, v)
            }
            (PropertyId::WILL_DELAY_INTERVAL, V::Four(v)) => set(&mut self.will_delay_interval, v),
            (PropertyId::REQUEST_RESPONSE_INFORMATION, V::Byte(v)) => {
                set(&mut self.request_response_information, v)
            }
            (PropertyId::RESPONSE_INFORMATION, V::Str(v)) => set(&mut self.response_information, v),
            (PropertyId::SERVER_REFERENCE, V::Str(v)) => set(&mut self.server_reference, v),
            (PropertyId::REASON_STRING, V::Str(v)) => set(&mut self.reason_string, v),
            (PropertyId::RECEIVE_MAXIMUM, V::Two(v)) => set(&mut self.receive_maximum, v),
            (PropertyId::TOPIC_ALIAS_MAXIMUM, V::Two(v)) => set(&mut self.topic_alias_maximum, v),
            (PropertyId::TOPIC_ALIAS, V::Two(v)) => set(&mut self.topic_alias, v),
            (PropertyId::MAXIMUM_QOS, V::Byte(v)) => set(&mut self.maximum_qos, v),
            (PropertyId::RETAIN_AVAILABLE, V::Byte(v)) => set(&mut self.retain_available, v),
            (PropertyId::USER_PROPERTY, V::Pair(k, v)) => {
                self.user_properties.push((k, v));
                true
            }
            (PropertyId::MAXIMUM_PACKET_SIZE, V::Four(v)) => set(&mut self.maximum_packet_size, v),
            (PropertyId::WILDCARD_SUBSCRIPTION_AVAILABLE, V::Byte(v)) => {
                set(&mut self.wildcard_subscription_available, v)
            }
            (PropertyId::SUBSCRIPTION_IDENTIFIER_AVAILABLE, V::Byte(v)) => {
                set(&mut self.subscription_identifier_available, v)
            }
            (PropertyId::SHARED_SUBSCRIPTION_AVAILABLE, V::Byte(v)) => {
                set(&mut self.shared_subscription_available, v)
            }
            _ => false,
        }
    }
}

/// Rewrites "runs past the packet end" into "runs past the end of the
/// property block" for fields read inside the block.
fn in_block(e: nom::Err<PErr<'_>>) -> nom::Err<PErr<'_>> {
    e.map(|mut err| {
        if let Reason::LengthPastEnd { limit, .. } = &mut err.reason {
            *limit = "end of the properties";
        }
        err
    })
}

fn value<'a>(
    i: &'a [u8],
    id: PropertyId,
    kind: PropertyKind,
    cx: &mut Ctx,
) -> PResult<'a, PropertyValue<'a>> {
    let what = id.title().unwrap_or("property");
    let (i, v) = match kind {
        K::Byte => byte(i, what).map(|(i, v)| (i, PropertyValue::Byte(v)))?,
        K::TwoByteInteger => two(i, what).map(|(i, v)| (i, PropertyValue::Two(v)))?,
        K::FourByteInteger => four(i, what).map(|(i, v)| (i, PropertyValue::Four(v)))?,
        K::VariableByteInteger => {
            let (i, (v, used)) = var_int(i, what)?;
            check_minimal(cx, what, v, used);
            (i, PropertyValue::VarInt(v))
        }
        K::Utf8String => utf8(i, what, cx)
            .map(|(i, v)| (i, PropertyValue::Str(v)))
            .map_err(in_block)?,
        K::BinaryData => binary(i, what)
            .map(|(i, v)| (i, PropertyValue::Bin(v)))
            .map_err(in_block)?,
        K::Utf8StringPair => {
            let (i, k) = utf8(i, "user property name", cx).map_err(in_block)?;
            let (i, v) = utf8(i, "user property value", cx).map_err(in_block)?;
            (i, PropertyValue::Pair(k, v))
        }
    };
    Ok((i, v))
}

/// Flags values the spec forbids for a well-formed property.
fn check_value(id: PropertyId, v: PropertyValue<'_>, scope: PropertyScope, cx: &mut Ctx) {
    let title = id.title().unwrap_or("property");
    let in_connack = scope == PropertyScope::Packet(PacketType::Connack);
    let zero_one = |cx: &mut Ctx, rule: Rule, b: u8| {
        if b > 1 {
            cx.violate(rule, format!("{title} is {b}, must be 0 or 1"));
        }
    };
    match (id, v) {
        (PropertyId::PAYLOAD_FORMAT_INDICATOR, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.3.2.3.2"), b)
        }
        (PropertyId::REQUEST_PROBLEM_INFORMATION, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.1.2.11.7"), b)
        }
        (PropertyId::REQUEST_RESPONSE_INFORMATION, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.1.2.11.6"), b)
        }
        (PropertyId::MAXIMUM_QOS, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.2.2.3.4"), b)
        }
        (PropertyId::RETAIN_AVAILABLE, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.2.2.3.5"), b)
        }
        (PropertyId::WILDCARD_SUBSCRIPTION_AVAILABLE, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.2.2.3.11"), b)
        }
        (PropertyId::SUBSCRIPTION_IDENTIFIER_AVAILABLE, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.2.2.3.12"), b)
        }
        (PropertyId::SHARED_SUBSCRIPTION_AVAILABLE, PropertyValue::Byte(b)) => {
            zero_one(cx, Rule::new("3.2.2.3.13"), b)
        }
        (PropertyId::RECEIVE_MAXIMUM, PropertyValue::Two(0)) => {
            cx.violate(
                if in_connack {
                    Rule::new("3.2.2.3.3")
                } else {
                    Rule::new("3.1.2.11.3")
                },
                "Receive Maximum is 0",
            );
        }
        (PropertyId::MAXIMUM_PACKET_SIZE, PropertyValue::Four(0)) => {
            cx.violate(
                if in_connack {
                    Rule::new("3.2.2.3.6")
                } else {
                    Rule::new("3.1.2.11.4")
                },
                "Maximum Packet Size is 0",
            );
        }
        (PropertyId::TOPIC_ALIAS, PropertyValue::Two(0)) => {
            cx.violate(Rule::new("MQTT-3.3.2-8"), "Topic Alias is 0");
        }
        (PropertyId::SUBSCRIPTION_IDENTIFIER, PropertyValue::VarInt(0)) => {
            cx.violate(Rule::new("3.3.2.3.8"), "Subscription Identifier is 0");
        }
        (PropertyId::RESPONSE_TOPIC, PropertyValue::Str(t)) if t.contains(['+', '#']) => {
            let rule = if scope == PropertyScope::Will {
                Rule::new("3.1.3.2.6")
            } else {
                Rule::new("MQTT-3.3.2-14")
            };
            cx.violate(
                rule,
                format!("Response Topic {t:?} contains a wildcard character"),
            );
        }
        _ => {}
    }
}

/// Parses a property block: its Variable Byte Integer length, then the
/// properties inside exactly that many bytes.
pub(crate) fn parse_properties<'a>(
    i: &'a [u8],
    scope: PropertyScope,
    cx: &mut Ctx,
) -> PResult<'a, Properties<'a>> {
    let (after_len, (len, used)) = var_int(i, "property length")?;
    check_minimal(cx, "property length", len, used);
    let len = len as usize;
    let (Some(mut block), Some(rest)) = (after_len.get(..len), after_len.get(len..)) else {
        return fail(
            i,
            Reason::LengthPastEnd {
                what: "property block",
                len,
                limit: "packet end",
            },
        );
    };
    let mut props = Properties::default();
    let mut seen: u64 = 0;
    while !block.is_empty() && !cx.settled() {
        let (r, (raw_id, _)) = var_int(block, "property identifier")?;
        let id = match u8::try_from(raw_id) {
            Ok(b) if PropertyId(b).is_known() => PropertyId(b),
            _ => return fail(block, Reason::UnknownProperty(raw_id)),
        };
        let Some(kind) = id.kind() else {
            return fail(block, Reason::UnknownProperty(raw_id));
        };
        let (r, v) = value(r, id, kind, cx)?;
        block = r;
        let title = id.title().unwrap_or("property");
        if !id.allowed_in(scope) {
            cx.violate(
                Rule::new("2.2.2.2"),
                format!(
                    "property {title} (0x{:02x}) not allowed in {}",
                    id.0,
                    scope.describe()
                ),
            );
        }
        let bit = 1u64 << (id.0 & 63);
        if seen & bit != 0 && !id.repeatable_in(scope) {
            cx.violate(
                Rule::new("2.2.2.2"),
                format!("property {title} (0x{:02x}) appears more than once", id.0),
            );
        }
        seen |= bit;
        check_value(id, v, scope, cx);
        props.insert(id, v);
    }
    Ok((rest, props))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::header::ProtocolVersion;

    fn parse(bytes: &[u8], scope: PropertyScope) -> (Result<Properties<'_>, Reason>, Vec<String>) {
        let t = match scope {
            PropertyScope::Packet(t) => t,
            PropertyScope::Will => PacketType::Connect,
        };
        let mut cx = Ctx::new(ProtocolVersion::V5, t);
        let r = parse_properties(bytes, scope, &mut cx)
            .map(|(rest, p)| {
                assert!(rest.is_empty(), "property block left bytes");
                p
            })
            .map_err(|e| match e {
                nom::Err::Error(e) | nom::Err::Failure(e) => e.reason,
                nom::Err::Incomplete(_) => panic!("incomplete"),
            });
        (
            r,
            cx.violations
                .into_iter()
                .map(|v| format!("{}: {}", v.rule, v.message))
                .collect(),
        )
    }

    const PUBLISH_SCOPE: PropertyScope = PropertyScope::Packet(PacketType::Publish);
    const CONNACK_SCOPE: PropertyScope = PropertyScope::Packet(PacketType::Connack);

    #[test]
    fn every_value_type() {
        // Byte: Payload Format Indicator = 1
        // Four Byte Integer: Message Expiry Interval = 0x00010203
        // UTF-8 String: Content Type "js"
        // Binary Data: Correlation Data 0xbeef
        // Variable Byte Integer: Subscription Identifier 200 (0xC8 0x01), twice
        // Two Byte Integer: Topic Alias 0x0102
        // UTF-8 String Pair: ("k", "v")
        let bytes = [
            32, // property length
            0x01, 0x01, //
            0x02, 0x00, 0x01, 0x02, 0x03, //
            0x03, 0x00, 0x02, b'j', b's', //
            0x09, 0x00, 0x02, 0xbe, 0xef, //
            0x0B, 0xC8, 0x01, //
            0x0B, 0x05, //
            0x23, 0x01, 0x02, //
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', //
        ];
        let (p, v) = parse(&bytes, PUBLISH_SCOPE);
        let p = p.unwrap();
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(p.payload_format_indicator, Some(1));
        assert_eq!(p.message_expiry_interval, Some(0x0001_0203));
        assert_eq!(p.content_type, Some("js"));
        assert_eq!(p.correlation_data, Some(&[0xbe, 0xef][..]));
        assert_eq!(p.subscription_identifiers, vec![200, 5]);
        assert_eq!(p.topic_alias, Some(0x0102));
        assert_eq!(p.user_properties, vec![("k", "v")]);
        assert!(!p.is_empty());
    }

    #[test]
    fn connack_properties() {
        let bytes = [
            14, 0x24, 0x01, // Maximum QoS 1
            0x25, 0x00, // Retain Available 0
            0x27, 0x00, 0x00, 0x10, 0x00, // Maximum Packet Size 4096
            0x13, 0x00, 0x3c, // Server Keep Alive 60
            0x2A, 0x01, // Shared Subscription Available — one byte short of 14
        ];
        let (p, v) = parse(&bytes[..bytes.len() - 1], CONNACK_SCOPE);
        // Length says 14 but only 13 follow.
        assert!(
            matches!(
                p,
                Err(Reason::LengthPastEnd {
                    what: "property block",
                    ..
                })
            ),
            "{p:?}"
        );
        assert!(v.is_empty());
        let (p, _) = parse(&bytes, CONNACK_SCOPE);
        let p = p.unwrap();
        assert_eq!(p.maximum_qos, Some(1));
        assert_eq!(p.retain_available, Some(0));
        assert_eq!(p.maximum_packet_size, Some(4096));
        assert_eq!(p.server_keep_alive, Some(60));
        assert_eq!(p.shared_subscription_available, Some(1));
    }

    #[test]
    fn empty_block() {
        let (p, v) = parse(&[0x00], PUBLISH_SCOPE);
        assert!(p.unwrap().is_empty());
        assert!(v.is_empty());
    }

    #[test]
    fn unknown_identifier_is_malformed() {
        let (p, _) = parse(&[0x02, 0x7f, 0x00], PUBLISH_SCOPE);
        assert_eq!(
            p.unwrap_err().to_string(),
            "unknown property identifier 0x7f"
        );
        // 0x04 is a gap in the table.
        let (p, _) = parse(&[0x02, 0x04, 0x00], PUBLISH_SCOPE);
        assert_eq!(p.unwrap_err(), Reason::UnknownProperty(4));
    }

    #[test]
    fn string_past_block_end() {
        // Content Type claims 5 bytes but the block holds 2.
        let (p, _) = parse(
            &[0x05, 0x03, 0x00, 0x05, b'a', b'b', 0, 0, 0],
            PUBLISH_SCOPE,
        );
        assert_eq!(
            p.unwrap_err().to_string(),
            "Content Type length 5 runs past the end of the properties"
        );
    }

    #[test]
    fn not_allowed_and_repeated_are_violations() {
        // Topic Alias in CONNACK; Maximum QoS twice.
        let (p, v) = parse(
            &[0x07, 0x23, 0x00, 0x01, 0x24, 0x00, 0x24, 0x01],
            CONNACK_SCOPE,
        );
        let p = p.unwrap();
        assert_eq!(p.topic_alias, Some(1));
        assert_eq!(p.maximum_qos, Some(0), "first value kept");
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[0].contains("Topic Alias (0x23) not allowed in CONNACK"));
        assert!(v[1].contains("Maximum QoS (0x24) appears more than once"));
        // Subscription identifier may repeat in PUBLISH but not in SUBSCRIBE.
        let bytes = [0x04, 0x0B, 0x01, 0x0B, 0x02];
        assert!(parse(&bytes, PUBLISH_SCOPE).1.is_empty());
        assert_eq!(
            parse(&bytes, PropertyScope::Packet(PacketType::Subscribe))
                .1
                .len(),
            1
        );
        // Will Delay Interval belongs to the will, not to CONNECT itself.
        let bytes = [0x05, 0x18, 0x00, 0x00, 0x00, 0x0a];
        assert!(parse(&bytes, PropertyScope::Will).1.is_empty());
        assert_eq!(
            parse(&bytes, PropertyScope::Packet(PacketType::Connect))
                .1
                .len(),
            1
        );
    }

    #[test]
    fn forbidden_values_are_violations() {
        let cases: &[(&[u8], PropertyScope, &str)] = &[
            (&[0x02, 0x01, 144], PUBLISH_SCOPE, "3.3.2.3.2"),
            (&[0x02, 0x24, 0x03], CONNACK_SCOPE, "3.2.2.3.4"),
            (&[0x03, 0x23, 0x00, 0x00], PUBLISH_SCOPE, "MQTT-3.3.2-8"),
            (&[0x03, 0x21, 0x00, 0x00], CONNACK_SCOPE, "3.2.2.3.3"),
            (
                &[0x05, 0x27, 0, 0, 0, 0],
                PropertyScope::Packet(PacketType::Connect),
                "3.1.2.11.4",
            ),
            (&[0x02, 0x0B, 0x00], PUBLISH_SCOPE, "3.3.2.3.8"),
            (&[0x02, 0x25, 0x02], CONNACK_SCOPE, "3.2.2.3.5"),
            (
                &[0x04, 0x08, 0x00, 0x01, b'#'],
                PUBLISH_SCOPE,
                "MQTT-3.3.2-14",
            ),
            (&[0x03, 0x0B, 0x81, 0x00], PUBLISH_SCOPE, "MQTT-1.5.5-1"),
        ];
        for (bytes, scope, rule) in cases {
            let (p, v) = parse(bytes, *scope);
            assert!(p.is_ok(), "{bytes:?}");
            assert_eq!(v.len(), 1, "{bytes:?}: {v:?}");
            assert!(v[0].starts_with(rule), "{bytes:?}: {v:?}");
        }
    }

    #[test]
    fn table_is_consistent() {
        let ids: Vec<u8> = PropertyId::all().map(|p| p.0).collect();
        assert_eq!(ids.len(), 27);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        for id in PropertyId::all() {
            let mut p = Properties::default();
            let v = match id.kind().unwrap() {
                K::Byte => PropertyValue::Byte(1),
                K::TwoByteInteger => PropertyValue::Two(1),
                K::FourByteInteger => PropertyValue::Four(1),
                K::VariableByteInteger => PropertyValue::VarInt(1),
                K::Utf8String => PropertyValue::Str("x"),
                K::BinaryData => PropertyValue::Bin(b"x"),
                K::Utf8StringPair => PropertyValue::Pair("x", "y"),
            };
            assert!(p.insert(id, v), "{id:?} has a field");
            assert!(!p.is_empty());
        }
    }
}
