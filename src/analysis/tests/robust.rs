//! Arbitrary packet sequences: the tracker never panics, and what it
//! reports stays consistent (frames in order, counts that add up).

use super::build::*;
use crate::analysis::{AnalysisConfig, FindingKind};
use crate::mqtt::{Packet, Properties, ProtocolVersion};
use crate::tcp::CloseKind;
use proptest::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Step {
    Packet {
        conn: u32,
        c2s: bool,
        kind: u8,
        id: u16,
        qos: u8,
        dup: bool,
        flag: bool,
    },
    Gap {
        conn: u32,
        c2s: bool,
    },
    Malformed {
        conn: u32,
        c2s: bool,
    },
    End {
        conn: u32,
        how: u8,
    },
    Open {
        conn: u32,
        midstream: bool,
    },
    Tick,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (0u32..3, any::<bool>(), 0u8..16, 0u16..5, 0u8..4, any::<bool>(), any::<bool>())
            .prop_map(|(conn, c2s, kind, id, qos, dup, flag)| Step::Packet {
                conn, c2s, kind, id, qos, dup, flag
            }),
        1 => (0u32..3, any::<bool>()).prop_map(|(conn, c2s)| Step::Gap { conn, c2s }),
        1 => (0u32..3, any::<bool>()).prop_map(|(conn, c2s)| Step::Malformed { conn, c2s }),
        1 => (0u32..3, 0u8..3).prop_map(|(conn, how)| Step::End { conn, how }),
        1 => (0u32..3, any::<bool>()).prop_map(|(conn, midstream)| Step::Open { conn, midstream }),
        1 => Just(Step::Tick),
    ]
}

const TOPICS: [&str; 4] = ["a/b", "a/c", "$SYS/x", "z"];
const FILTERS: [&str; 4] = ["a/+", "#", "a/#", "z"];
static CODES: [[u8; 2]; 4] = [[0, 1], [2, 0x80], [1, 1], [0x80, 3]];

fn packet(kind: u8, id: u16, qos: u8, dup: bool, flag: bool, v5: bool) -> Packet<'static> {
    let topic = TOPICS[usize::from(id) % TOPICS.len()];
    let filter = FILTERS[usize::from(id) % FILTERS.len()];
    let props = Properties {
        receive_maximum: flag.then_some(2),
        session_expiry_interval: flag.then_some(60),
        server_keep_alive: (flag && dup).then_some(1),
        ..Default::default()
    };
    let level = if v5 { 5 } else { 4 };
    let version = if v5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    match kind {
        0 => connect_v(
            TOPICS[usize::from(id) % 2],
            flag,
            u16::from(qos),
            level,
            props,
        ),
        1 => connack_v(dup, if flag { 0 } else { 0x87 }, version, props),
        2..=4 => publish_h(qos, dup, (qos > 0).then_some(id), topic, u64::from(flag)),
        5 => puback_rc(id, if flag { 0x80 } else { 0 }),
        6 => pubrec_rc(id, if flag { 0x80 } else { 0 }),
        7 => pubrel(id),
        8 => pubcomp(id),
        9 => subscribe(id, &[(filter, qos), ("a/#", 1)]),
        10 => suback(id, &CODES[usize::from(qos)]),
        11 => unsubscribe(id, &[filter]),
        12 => unsuback(id),
        13 => pingreq(),
        14 => pingresp(),
        _ => disconnect(),
    }
}

fn run(steps: &[Step], live: bool, v5: bool) -> H {
    let mut h = H::with(AnalysisConfig {
        live,
        ack_timeout: Duration::from_millis(5),
        max_inflight_per_direction: 3,
        max_saved_sessions: 2,
        max_findings: 7,
        top_topics: 1,
        select: Default::default(),
    });
    if v5 {
        h = h.v5();
    }
    let mut us = 0u64;
    for s in steps {
        us += 1_000;
        let dir = |c2s: bool| if c2s { C2S } else { S2C };
        match *s {
            Step::Packet {
                conn,
                c2s,
                kind,
                id,
                qos,
                dup,
                flag,
            } => {
                h.send(conn, dir(c2s), us, packet(kind, id, qos, dup, flag, v5));
            }
            Step::Gap { conn, c2s } => {
                h.gap(conn, dir(c2s), us, 10);
            }
            Step::Malformed { conn, c2s } => {
                h.malformed(conn, dir(c2s), us);
            }
            Step::End { conn, how } => {
                let how = [CloseKind::Fin, CloseKind::Rst, CloseKind::Open][usize::from(how)];
                h.end(conn, us, how);
            }
            Step::Open { conn, midstream } => h.open_as(conn, us, midstream, None),
            Step::Tick => h.tick(us),
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_sequences_stay_consistent(
        steps in proptest::collection::vec(step(), 0..80),
        live in any::<bool>(),
        v5 in any::<bool>(),
    ) {
        let mut h = run(&steps, live, v5);
        let s = h.finish();
        prop_assert_eq!(h.conns.len(), 0);
        prop_assert_eq!(h.t.saved_sessions(), 0);
        let findings = h.findings();
        for f in &findings {
            prop_assert!(!f.frames.is_empty(), "{:?}", f);
            prop_assert!(f.frames.windows(2).all(|w| w[0] < w[1]), "{:?}", f);
            prop_assert!(!f.message.is_empty());
            if f.kind == FindingKind::MissingAck {
                prop_assert!(f.expected.is_some(), "{:?}", f);
            }
        }
        let total: u64 = s.findings_by_kind.values().sum();
        prop_assert_eq!(total as usize, findings.len());
        prop_assert_eq!(s.findings.len() as u64 + s.findings_dropped, total);
        let flows = h.flows();
        let counted: u64 = [&s.flows.qos1, &s.flows.qos2]
            .iter()
            .map(|c| c.completed + c.incomplete)
            .sum();
        prop_assert_eq!(counted as usize, flows.len());
        for f in &flows {
            prop_assert!(f.frames.windows(2).all(|w| w[0] < w[1]), "{:?}", f);
            let wrong_ack = f.outcome == Some(crate::analysis::Outcome::WrongAck);
            // an incomplete flow names what it waited for (unless a wrong ack ended it)
            prop_assert_eq!(f.expected.is_some(), !f.complete && !wrong_ack, "{:?}", f);
        }
        // the summary always serialises
        prop_assert!(serde_json::to_string(&AnalysisJson::from(&s)).is_ok());
    }
}
