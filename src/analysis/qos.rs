//! The QoS 1 / QoS 2 acknowledgement protocol of one packet identifier, as a
//! pure function: `(stage, message) -> transition`.
//!
//! A flow belongs to the direction its PUBLISH travels; every other packet
//! of the flow is recognised by its type alone, because each type has one
//! sender: PUBACK, PUBREC and PUBCOMP come from the receiver, PUBREL from
//! the sender (MQTT 5.0 section 4.3, 3.1.1 section 4.3). So the message type
//! implies the direction and the machine needs no direction argument; the
//! tracker files each packet under the right direction's flow table.
//!
//! ```text
//!  QoS 1:  PUBLISH ──▶ AwaitPuback ──PUBACK──▶ complete
//!  QoS 2:  PUBLISH ──▶ AwaitPubrec ──PUBREC──▶ AwaitPubrel ──PUBREL──▶ AwaitPubcomp ──PUBCOMP──▶ complete
//! ```
//!
//! A 5.0 PUBACK or PUBREC with a reason code of 0x80 or above ends the flow
//! (MQTT-4.4.0-2: the PUBLISH counts as acknowledged and is not re-sent).
//! Everything that is not the next step is either tolerated (a repeated
//! PUBREC / PUBREL that a re-sent packet legitimately causes) or a [`Fault`].
//! The machine is testable without a capture: the tracker only adds the
//! bookkeeping (frames, times, findings) around it.

use crate::mqtt::PacketType;

/// What the sender of an open flow is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// QoS 1: PUBLISH sent.
    AwaitPuback,
    /// QoS 2: PUBLISH sent.
    AwaitPubrec,
    /// QoS 2: PUBREC received, the sender owes PUBREL.
    AwaitPubrel,
    /// QoS 2: PUBREL sent.
    AwaitPubcomp,
}

impl Stage {
    /// The first stage of a flow of this QoS; `None` for QoS 0 and the invalid 3.
    pub fn start(qos: u8) -> Option<Stage> {
        match qos {
            1 => Some(Stage::AwaitPuback),
            2 => Some(Stage::AwaitPubrec),
            _ => None,
        }
    }

    /// The packet this stage waits for (the `expected` of `missing_ack`).
    pub fn expected(self) -> PacketType {
        match self {
            Stage::AwaitPuback => PacketType::Puback,
            Stage::AwaitPubrec => PacketType::Pubrec,
            Stage::AwaitPubrel => PacketType::Pubrel,
            Stage::AwaitPubcomp => PacketType::Pubcomp,
        }
    }

    /// The QoS of the flows that pass through this stage.
    pub fn qos(self) -> u8 {
        match self {
            Stage::AwaitPuback => 1,
            _ => 2,
        }
    }

    /// Whether the packet awaited travels against the PUBLISH's direction
    /// (every ack but PUBREL, which the PUBLISH's sender sends).
    pub fn awaits_receiver(self) -> bool {
        self != Stage::AwaitPubrel
    }
}

/// A packet carrying the flow's packet identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    Publish {
        qos: u8,
        dup: bool,
    },
    /// `error`: 5.0 reason code ≥ 0x80.
    Puback {
        error: bool,
    },
    Pubrec {
        error: bool,
    },
    Pubrel,
    Pubcomp {
        error: bool,
    },
}

impl Msg {
    /// The message for a packet type (PUBLISH needs its flags: use [`Msg::Publish`]).
    pub fn ack(t: PacketType, error: bool) -> Option<Msg> {
        match t {
            PacketType::Puback => Some(Msg::Puback { error }),
            PacketType::Pubrec => Some(Msg::Pubrec { error }),
            PacketType::Pubrel => Some(Msg::Pubrel),
            PacketType::Pubcomp => Some(Msg::Pubcomp { error }),
            _ => None,
        }
    }
}

/// Where the flow goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A flow begins at this stage: the first PUBLISH, or a new message
    /// (DUP=0) that replaces the open one under the same identifier.
    Start(Stage),
    /// The flow moves on.
    Advance(Stage),
    /// The flow stays where it is.
    Stay,
    /// The last ack arrived; `error` when a 5.0 reason code ≥ 0x80 ended it.
    Complete { error: bool },
    /// An ack of the wrong type ended it (the receiver considers it done).
    Abort,
    /// The packet does not concern a flow (QoS 0, QoS 3, or an ack with no flow).
    Ignore,
}

/// What is wrong with the packet, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An ack with no open flow for its identifier.
    NoFlow,
    /// An ack of the flow's QoS but not the one awaited (PUBREL before PUBREC, ...).
    WrongStage,
    /// PUBACK for QoS 2, PUBREC for QoS 1.
    WrongAckType,
    /// A DUP=1 re-send of an open flow's PUBLISH.
    Duplicate,
    /// A DUP=0 (new) PUBLISH reusing an open flow's identifier.
    IdInUse,
}

/// The result of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub next: Next,
    pub fault: Option<Fault>,
}

const fn ok(next: Next) -> Transition {
    Transition { next, fault: None }
}

const fn bad(next: Next, fault: Fault) -> Transition {
    Transition {
        next,
        fault: Some(fault),
    }
}

/// One step of the protocol for one packet identifier; `state` is `None`
/// when no flow is open for it.
pub fn transition(state: Option<Stage>, msg: Msg) -> Transition {
    use Next::*;
    use Stage::*;
    match (state, msg) {
        (None, Msg::Publish { qos, .. }) => match Stage::start(qos) {
            Some(s) => ok(Start(s)),
            None => ok(Ignore),
        },
        (None, _) => bad(Ignore, Fault::NoFlow),
        (Some(_), Msg::Publish { qos, dup }) => match (Stage::start(qos), dup) {
            (None, _) => ok(Ignore),
            (Some(_), true) => bad(Stay, Fault::Duplicate),
            (Some(s), false) => bad(Start(s), Fault::IdInUse),
        },
        (Some(AwaitPuback), Msg::Puback { error }) => ok(Complete { error }),
        (Some(AwaitPuback), Msg::Pubrec { .. }) => bad(Abort, Fault::WrongAckType),
        (Some(AwaitPuback), Msg::Pubrel | Msg::Pubcomp { .. }) => bad(Stay, Fault::WrongStage),
        (Some(_), Msg::Puback { .. }) => bad(Abort, Fault::WrongAckType),
        (Some(AwaitPubrec), Msg::Pubrec { error: true }) => ok(Complete { error: true }),
        (Some(AwaitPubrec), Msg::Pubrec { error: false }) => ok(Advance(AwaitPubrel)),
        // The sender acts as if PUBREC had come: follow it, report it.
        (Some(AwaitPubrec), Msg::Pubrel) => bad(Advance(AwaitPubcomp), Fault::WrongStage),
        (Some(AwaitPubrec), Msg::Pubcomp { .. }) => bad(Stay, Fault::WrongStage),
        // A repeated PUBREC answers a re-sent PUBLISH (MQTT-4.3.3-10).
        (Some(AwaitPubrel), Msg::Pubrec { .. }) => ok(Stay),
        (Some(AwaitPubrel), Msg::Pubrel) => ok(Advance(AwaitPubcomp)),
        (Some(AwaitPubrel), Msg::Pubcomp { .. }) => bad(Stay, Fault::WrongStage),
        (Some(AwaitPubcomp), Msg::Pubrec { .. }) => bad(Stay, Fault::WrongStage),
        // A re-sent PUBREL (the only packet the sender may repeat now).
        (Some(AwaitPubcomp), Msg::Pubrel) => ok(Stay),
        (Some(AwaitPubcomp), Msg::Pubcomp { error }) => ok(Complete { error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Next::*;
    use Stage::*;

    const PUB1: Msg = Msg::Publish { qos: 1, dup: false };
    const PUB1D: Msg = Msg::Publish { qos: 1, dup: true };
    const PUB2: Msg = Msg::Publish { qos: 2, dup: false };
    const PUB2D: Msg = Msg::Publish { qos: 2, dup: true };
    const PUB0: Msg = Msg::Publish { qos: 0, dup: false };
    const PUB3: Msg = Msg::Publish { qos: 3, dup: false };
    const PUBACK: Msg = Msg::Puback { error: false };
    const PUBACK_E: Msg = Msg::Puback { error: true };
    const PUBREC: Msg = Msg::Pubrec { error: false };
    const PUBREC_E: Msg = Msg::Pubrec { error: true };
    const PUBREL: Msg = Msg::Pubrel;
    const PUBCOMP: Msg = Msg::Pubcomp { error: false };
    const PUBCOMP_E: Msg = Msg::Pubcomp { error: true };

    /// (state, message, next, fault) — every state × every message kind.
    #[rustfmt::skip]
    const TABLE: &[(Option<Stage>, Msg, Next, Option<Fault>)] = &[
        // no flow open
        (None, PUB1, Start(AwaitPuback), None),
        (None, PUB1D, Start(AwaitPuback), None),
        (None, PUB2, Start(AwaitPubrec), None),
        (None, PUB2D, Start(AwaitPubrec), None),
        (None, PUB0, Ignore, None),
        (None, PUB3, Ignore, None),
        (None, PUBACK, Ignore, Some(Fault::NoFlow)),
        (None, PUBREC, Ignore, Some(Fault::NoFlow)),
        (None, PUBREL, Ignore, Some(Fault::NoFlow)),
        (None, PUBCOMP, Ignore, Some(Fault::NoFlow)),
        // QoS 1, PUBLISH sent
        (Some(AwaitPuback), PUBACK, Complete { error: false }, None),
        (Some(AwaitPuback), PUBACK_E, Complete { error: true }, None),
        (Some(AwaitPuback), PUBREC, Abort, Some(Fault::WrongAckType)),
        (Some(AwaitPuback), PUBREL, Stay, Some(Fault::WrongStage)),
        (Some(AwaitPuback), PUBCOMP, Stay, Some(Fault::WrongStage)),
        (Some(AwaitPuback), PUB1D, Stay, Some(Fault::Duplicate)),
        (Some(AwaitPuback), PUB1, Start(AwaitPuback), Some(Fault::IdInUse)),
        (Some(AwaitPuback), PUB2, Start(AwaitPubrec), Some(Fault::IdInUse)),
        (Some(AwaitPuback), PUB0, Ignore, None),
        (Some(AwaitPuback), PUB3, Ignore, None),
        // QoS 2, PUBLISH sent
        (Some(AwaitPubrec), PUBREC, Advance(AwaitPubrel), None),
        (Some(AwaitPubrec), PUBREC_E, Complete { error: true }, None),
        (Some(AwaitPubrec), PUBACK, Abort, Some(Fault::WrongAckType)),
        (Some(AwaitPubrec), PUBREL, Advance(AwaitPubcomp), Some(Fault::WrongStage)),
        (Some(AwaitPubrec), PUBCOMP, Stay, Some(Fault::WrongStage)),
        (Some(AwaitPubrec), PUB2D, Stay, Some(Fault::Duplicate)),
        (Some(AwaitPubrec), PUB2, Start(AwaitPubrec), Some(Fault::IdInUse)),
        // QoS 2, PUBREC received
        (Some(AwaitPubrel), PUBREL, Advance(AwaitPubcomp), None),
        (Some(AwaitPubrel), PUBREC, Stay, None),
        (Some(AwaitPubrel), PUBACK, Abort, Some(Fault::WrongAckType)),
        (Some(AwaitPubrel), PUBCOMP, Stay, Some(Fault::WrongStage)),
        (Some(AwaitPubrel), PUB2D, Stay, Some(Fault::Duplicate)),
        (Some(AwaitPubrel), PUB1, Start(AwaitPuback), Some(Fault::IdInUse)),
        // QoS 2, PUBREL sent
        (Some(AwaitPubcomp), PUBCOMP, Complete { error: false }, None),
        (Some(AwaitPubcomp), PUBCOMP_E, Complete { error: true }, None),
        (Some(AwaitPubcomp), PUBREL, Stay, None),
        (Some(AwaitPubcomp), PUBREC, Stay, Some(Fault::WrongStage)),
        (Some(AwaitPubcomp), PUBACK_E, Abort, Some(Fault::WrongAckType)),
        (Some(AwaitPubcomp), PUB2D, Stay, Some(Fault::Duplicate)),
        (Some(AwaitPubcomp), PUB2, Start(AwaitPubrec), Some(Fault::IdInUse)),
    ];

    #[test]
    fn transition_table() {
        for &(state, msg, next, fault) in TABLE {
            let t = transition(state, msg);
            assert_eq!(t, Transition { next, fault }, "{state:?} + {msg:?}");
        }
    }

    #[test]
    fn happy_paths_reach_completion() {
        let mut s = None;
        for (msg, expect) in [
            (PUB2, Start(AwaitPubrec)),
            (PUBREC, Advance(AwaitPubrel)),
            (PUBREL, Advance(AwaitPubcomp)),
            (PUBCOMP, Complete { error: false }),
        ] {
            let t = transition(s, msg);
            assert_eq!(t.next, expect);
            assert_eq!(t.fault, None);
            s = match t.next {
                Start(x) | Advance(x) => Some(x),
                _ => None,
            };
        }
        assert_eq!(s, None);
    }

    #[test]
    fn stages_know_what_they_await() {
        assert_eq!(AwaitPuback.expected(), PacketType::Puback);
        assert_eq!(AwaitPubrel.expected(), PacketType::Pubrel);
        assert!(!AwaitPubrel.awaits_receiver());
        assert!(AwaitPubcomp.awaits_receiver());
        assert_eq!(AwaitPubcomp.qos(), 2);
        assert_eq!(Stage::start(3), None);
        assert_eq!(Msg::ack(PacketType::Pubrel, true), Some(Msg::Pubrel));
        assert_eq!(Msg::ack(PacketType::Suback, false), None);
    }
}
