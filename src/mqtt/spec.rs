//! The MQTT specifications' rules, as typed ids.
//!
//! A [`Rule`] names a conformance statement (`MQTT-3.3.1-4`) or, where the
//! spec has none, a section (`3.8.3.1`). The parser attaches one to every
//! [`Violation`] it finds, and the analysis' finding catalogue names the
//! rules whose violations become a finding kind of their own, so the two
//! meet on these constants rather than on strings.

use std::fmt;

/// A statement or section of the MQTT 3.1.1 / 5.0 specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rule(&'static str);

impl Rule {
    /// The rule with this id: `MQTT-x.y.z-n` for a conformance statement,
    /// a bare section number otherwise.
    pub const fn new(id: &'static str) -> Rule {
        Rule(id)
    }

    /// The id as written in the spec.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The rule as a reader should see it: a conformance statement as is
    /// (`MQTT-4.3.2-2`), a bare section number as `§2.2.3`.
    pub fn cite(self) -> String {
        if self.0.starts_with("MQTT-") {
            self.0.to_string()
        } else {
            format!("§{}", self.0)
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Tests and scripts compare a rule with its id as the spec writes it.
impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Something the spec forbids in a packet that was nevertheless decodable.
///
/// Keeping the packet and listing what is wrong with it (instead of throwing
/// it away as malformed) lets the analysis still follow its QoS flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The conformance statement or section the packet breaks.
    pub rule: Rule,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.rule)
    }
}

/// Packet identifier 0 in a packet that needs one (5.0 section 2.2.1).
pub const PACKET_ID_NONZERO_V5: Rule = Rule::new("2.2.1");
/// Packet identifier 0 in a packet that needs one (3.1.1 section 2.3.1).
pub const PACKET_ID_NONZERO_V3: Rule = Rule::new("2.3.1");
/// A PUBLISH with both QoS bits set.
pub const QOS_BITS: Rule = Rule::new("MQTT-3.3.1-4");
/// DUP must be 0 on a QoS 0 PUBLISH.
pub const DUP_ZERO_ON_QOS0: Rule = Rule::new("MQTT-3.3.1-2");
