//! MQTT data representations (spec section 1.5): integers, Variable Byte
//! Integers, length-prefixed strings and binary data — as nom parsers that
//! say *which field* ran out or was wrong.
//!
//! Every parser borrows from its input; none copies. A [`Ctx`] travels with
//! the parse and collects the [`Violation`]s of the packet.

use super::error::{PErr, PResult, Reason, fail};
use super::header::{PacketType, ProtocolVersion};
use super::spec::{Rule, Violation};
use nom::number::complete::{be_u8, be_u16, be_u32};

/// Per-packet parse context: what is being parsed and what it breaks.
pub(crate) struct Ctx {
    pub version: ProtocolVersion,
    pub packet: PacketType,
    pub violations: Vec<Violation>,
    /// Only a prefix of the packet is decoded: skip checks that the missing
    /// bytes could still satisfy.
    pub prefix: bool,
    /// Only whether the packet is clean matters (judging a possible packet
    /// boundary): lists stop at the first violation, payloads are not read.
    pub probe: bool,
}

impl Ctx {
    pub fn new(version: ProtocolVersion, packet: PacketType) -> Self {
        Ctx {
            version,
            packet,
            violations: Vec::new(),
            prefix: false,
            probe: false,
        }
    }

    /// Probing, and the packet is already known not to be clean.
    pub fn settled(&self) -> bool {
        self.probe && !self.violations.is_empty()
    }

    /// Records that the packet breaks `rule`.
    pub fn violate(&mut self, rule: Rule, message: impl Into<String>) {
        self.violations.push(Violation {
            rule,
            message: message.into(),
        });
    }

    /// The conformance statement numbering differs between 5.0 and 3.1.1.
    pub fn rule(&self, v5: Rule, v3: Rule) -> Rule {
        if self.version.is_v5() { v5 } else { v3 }
    }
}

fn truncated<'a>(
    input: &'a [u8],
    what: &'static str,
) -> impl FnOnce(nom::Err<PErr<'a>>) -> nom::Err<PErr<'a>> {
    move |_| {
        nom::Err::Error(PErr {
            input,
            reason: Reason::Truncated { what },
        })
    }
}

/// A one-byte field.
pub(crate) fn byte<'a>(i: &'a [u8], what: &'static str) -> PResult<'a, u8> {
    be_u8(i).map_err(truncated(i, what))
}

/// A Two Byte Integer (big-endian).
pub(crate) fn two<'a>(i: &'a [u8], what: &'static str) -> PResult<'a, u16> {
    be_u16(i).map_err(truncated(i, what))
}

/// A Four Byte Integer (big-endian).
pub(crate) fn four<'a>(i: &'a [u8], what: &'static str) -> PResult<'a, u32> {
    be_u32(i).map_err(truncated(i, what))
}

/// A Variable Byte Integer: the value and the number of bytes it used.
pub(crate) fn var_int<'a>(i: &'a [u8], what: &'static str) -> PResult<'a, (u32, usize)> {
    let mut value = 0u32;
    for k in 0..4 {
        let Some(&b) = i.get(k) else {
            return fail(i, Reason::Truncated { what });
        };
        value |= u32::from(b & 0x7f) << (7 * k);
        if b & 0x80 == 0 {
            let rest = i.get(k + 1..).unwrap_or_default();
            return Ok((rest, (value, k + 1)));
        }
    }
    fail(i, Reason::VarIntTooLong { what })
}

/// Flags a Variable Byte Integer that used more bytes than needed (MQTT-1.5.5-1).
pub(crate) fn check_minimal(cx: &mut Ctx, what: &'static str, value: u32, used: usize) {
    if used != super::header::var_int_len(value) {
        cx.violate(
            cx.rule(Rule::new("MQTT-1.5.5-1"), Rule::new("2.2.3")),
            format!("{what} {value} is encoded in {used} bytes instead of the minimum"),
        );
    }
}

/// Binary Data: a two-byte length and that many bytes.
pub(crate) fn binary<'a>(i: &'a [u8], what: &'static str) -> PResult<'a, &'a [u8]> {
    let (rest, len) = two(i, what)?;
    let len = usize::from(len);
    match (rest.get(..len), rest.get(len..)) {
        (Some(data), Some(after)) => Ok((after, data)),
        _ => fail(
            i,
            Reason::LengthPastEnd {
                what,
                len,
                limit: "packet end",
            },
        ),
    }
}

/// A UTF-8 Encoded String. Ill-formed UTF-8 is malformed (MQTT-1.5.4-1);
/// an encoded U+0000 is reported as a violation and kept (MQTT-1.5.4-2).
pub(crate) fn utf8<'a>(i: &'a [u8], what: &'static str, cx: &mut Ctx) -> PResult<'a, &'a str> {
    let (rest, bytes) = match binary(i, what) {
        Ok(ok) => ok,
        Err(e) => {
            // Judging a packet prefix: the part of the string at hand must
            // still be the start of valid UTF-8.
            if cx.prefix
                && let Some(partial) = i.get(2..)
            {
                if std::str::from_utf8(partial).is_err_and(|u| u.error_len().is_some()) {
                    return fail(i, Reason::InvalidUtf8 { what });
                }
                if partial.contains(&0) {
                    cx.violate(
                        cx.rule(Rule::new("MQTT-1.5.4-2"), Rule::new("MQTT-1.5.3-2")),
                        format!("{what} contains the null character U+0000"),
                    );
                }
            }
            return Err(e);
        }
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return fail(i, Reason::InvalidUtf8 { what });
    };
    if text.contains('\0') {
        cx.violate(
            cx.rule(Rule::new("MQTT-1.5.4-2"), Rule::new("MQTT-1.5.3-2")),
            format!("{what} contains the null character U+0000"),
        );
    }
    Ok((rest, text))
}

/// Flags wildcards in a topic *name* (PUBLISH topic, will topic): `rule`
/// is the statement of the field being checked.
pub(crate) fn check_topic_name(cx: &mut Ctx, topic: &str, what: &str, rule: Rule) {
    if topic.contains(['+', '#']) {
        cx.violate(
            rule,
            format!("{what} {topic:?} contains a wildcard character"),
        );
    }
}

/// What is wrong with a topic filter, if anything: (rule, explanation).
pub(crate) fn topic_filter_problem(filter: &str, v5: bool) -> Option<(Rule, String)> {
    if filter.is_empty() {
        return Some((
            Rule::new("MQTT-4.7.3-1"),
            "topic filter is empty".to_string(),
        ));
    }
    let mut levels = filter;
    if v5 && let Some(shared) = filter.strip_prefix("$share/") {
        let Some((name, rest)) = shared.split_once('/') else {
            return Some((
                Rule::new("MQTT-4.8.2-1"),
                format!("shared subscription {filter:?} has no topic filter"),
            ));
        };
        if name.is_empty() {
            return Some((
                Rule::new("MQTT-4.8.2-1"),
                format!("shared subscription {filter:?} has an empty ShareName"),
            ));
        }
        if name.contains(['+', '#']) {
            return Some((
                Rule::new("MQTT-4.8.2-2"),
                format!("ShareName {name:?} contains a wildcard character"),
            ));
        }
        if rest.is_empty() {
            return Some((
                Rule::new("MQTT-4.8.2-1"),
                format!("shared subscription {filter:?} has no topic filter"),
            ));
        }
        levels = rest;
    }
    let count = levels.split('/').count();
    for (n, level) in levels.split('/').enumerate() {
        if level.contains('#') && (level != "#" || n + 1 != count) {
            return Some((
                Rule::new("4.7.1.2"),
                format!("topic filter {filter:?}: '#' must be a whole level and the last one"),
            ));
        }
        if level.contains('+') && level != "+" {
            return Some((
                Rule::new("4.7.1.3"),
                format!("topic filter {filter:?}: '+' must be a whole level"),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Ctx {
        Ctx::new(ProtocolVersion::V5, PacketType::Publish)
    }

    #[test]
    fn var_int_examples_from_the_spec() {
        // Section 1.5.5: 0 = 0x00, 127 = 0x7F, 128 = 0x80 0x01, 16383 = 0xFF 0x7F,
        // 16384 = 0x80 0x80 0x01, 268435455 = 0xFF 0xFF 0xFF 0x7F.
        let cases: &[(&[u8], u32)] = &[
            (&[0x00], 0),
            (&[0x7f], 127),
            (&[0x80, 0x01], 128),
            (&[0xff, 0x7f], 16_383),
            (&[0x80, 0x80, 0x01], 16_384),
            (&[0xff, 0xff, 0x7f], 2_097_151),
            (&[0x80, 0x80, 0x80, 0x01], 2_097_152),
            (&[0xff, 0xff, 0xff, 0x7f], 268_435_455),
        ];
        for (bytes, value) in cases {
            let (rest, (v, used)) = var_int(bytes, "x").unwrap();
            assert_eq!((v, used, rest.len()), (*value, bytes.len(), 0));
        }
        let err = var_int(&[0xff, 0xff, 0xff, 0xff, 0x01], "property length").unwrap_err();
        let nom::Err::Error(e) = err else { panic!() };
        assert_eq!(
            e.reason.to_string(),
            "property length uses more than 4 bytes"
        );
        assert!(var_int(&[0x80], "x").is_err());
    }

    #[test]
    fn non_minimal_var_int_is_a_violation() {
        let mut c = cx();
        let (_, (v, used)) = var_int(&[0x85, 0x00], "x").unwrap();
        assert_eq!(v, 5);
        check_minimal(&mut c, "subscription identifier", v, used);
        assert_eq!(c.violations.len(), 1);
        assert_eq!(c.violations[0].rule, "MQTT-1.5.5-1");
    }

    #[test]
    fn strings() {
        let mut c = cx();
        // "A𪛔" from section 1.5.4's example: 0x00 0x05 0x41 0xF0 0xAA 0x9B 0x94.
        let (rest, s) = utf8(
            &[0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94, 0xee],
            "topic",
            &mut c,
        )
        .unwrap();
        assert_eq!(s, "A\u{2A6D4}");
        assert_eq!(rest, &[0xee]);
        let err = utf8(&[0x00, 0x02, 0xc3, 0x28], "topic", &mut c).unwrap_err();
        let nom::Err::Error(e) = err else { panic!() };
        assert_eq!(e.reason.to_string(), "topic not valid UTF-8");
        let err = utf8(&[0x01, 0x2c, b'a'], "topic", &mut c).unwrap_err();
        let nom::Err::Error(e) = err else { panic!() };
        assert_eq!(
            e.reason.to_string(),
            "topic length 300 runs past the packet end"
        );
        assert!(c.violations.is_empty());
        utf8(&[0x00, 0x01, 0x00], "client identifier", &mut c).unwrap();
        assert_eq!(c.violations[0].rule, "MQTT-1.5.4-2");
    }

    #[test]
    fn filters() {
        for ok in ["a/b", "#", "a/#", "+", "+/+/c", "/", "a//b", "$SYS/#"] {
            assert_eq!(topic_filter_problem(ok, true), None, "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "#/a", "a+/b", "a/b+"] {
            assert!(topic_filter_problem(bad, true).is_some(), "{bad}");
        }
        assert_eq!(topic_filter_problem("$share/g/a/+", true), None);
        assert_eq!(
            topic_filter_problem("$share/g", true).unwrap().0,
            "MQTT-4.8.2-1"
        );
        assert_eq!(
            topic_filter_problem("$share//a", true).unwrap().0,
            "MQTT-4.8.2-1"
        );
        assert_eq!(
            topic_filter_problem("$share/g+/a", true).unwrap().0,
            "MQTT-4.8.2-2"
        );
        // In 3.1.1 "$share/g" is an ordinary filter.
        assert_eq!(topic_filter_problem("$share/g", false), None);
    }
}
