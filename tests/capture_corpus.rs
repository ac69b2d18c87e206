//! Real captures recorded with tcpdump, checked against Wireshark's view of
//! them (the `.truth.json` files made by tshark). They are in
//! `../shared/corpus/generated/`: without it these tests say SKIPPED and
//! check nothing (a failure in CI; see `common::corpus_dir`).

mod common;

use mqtt_inspect::base::LinkType;
use mqtt_inspect::capture::{CaptureReader, open_captures};
use std::collections::HashMap;
use std::path::Path;

fn truth(corpus: &Path, name: &str) -> serde_json::Value {
    let path = corpus.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Frame number → timestamp as Wireshark printed it, for every frame that carried MQTT.
fn truth_timestamps(truth: &serde_json::Value) -> HashMap<u64, f64> {
    truth["packets"]
        .as_array()
        .expect("truth has packets")
        .iter()
        .map(|p| (p["frame"].as_u64().unwrap(), p["ts"].as_f64().unwrap()))
        .collect()
}

fn check(capture: &str, truth_file: &str, link: LinkType) {
    let Some(corpus) = common::corpus_subdir("generated") else {
        return;
    };
    let truth = truth(&corpus, truth_file);
    let want_frames = truth["frames"].as_u64().expect("truth has frames");
    let stamps = truth_timestamps(&truth);
    assert!(!stamps.is_empty());
    let path = corpus.join(capture).to_string_lossy().into_owned();

    let mut reader = open_captures(std::slice::from_ref(&path)).unwrap();
    let mut seen = 0u64;
    let mut matched = 0;
    let mut bytes = 0u64;
    let (mut earliest, mut latest) = (None, None);
    while let Some(frame) = reader.next_frame() {
        seen += 1;
        assert_eq!(frame.index, seen);
        assert_eq!(frame.link, link);
        assert!(frame.data.len() as u32 <= frame.orig_len);
        assert_eq!(frame.ts.digits, 6, "tcpdump writes microseconds");
        if let Some(ts) = stamps.get(&frame.index) {
            // tshark prints microseconds; an f64 near 1.8e9 s holds ~0.24 µs.
            let diff = (frame.ts.as_secs_f64() - ts).abs();
            assert!(diff < 0.5e-6, "frame {}: {} vs {ts}", frame.index, frame.ts);
            matched += 1;
        }
        bytes += frame.data.len() as u64;
        earliest = earliest.min(Some(frame.ts)).or(Some(frame.ts));
        latest = latest.max(Some(frame.ts));
    }
    assert_eq!(seen, want_frames, "{capture}: frame count");
    assert_eq!(
        matched,
        stamps.len(),
        "every MQTT frame of the truth was read"
    );
    let info = reader.info();
    assert_eq!(info.frames, want_frames);
    assert_eq!(info.bytes, bytes);
    assert_eq!(info.first_ts, earliest);
    assert_eq!(info.last_ts, latest);
    assert_eq!(info.link_types, vec![link]);
    assert!(!info.truncated);
    assert!(reader.take_warnings().is_empty());

    // Streaming the same file gives the same frames.
    let file = std::fs::File::open(&path).unwrap();
    let mut streamed = CaptureReader::from_reader(capture, file).unwrap();
    let mut mapped = open_captures(&[path]).unwrap();
    while let Some(a) = mapped.next_frame() {
        let (index, ts, data) = (a.index, a.ts, a.data.to_vec());
        let b = streamed.next_frame().expect("as many frames streamed");
        assert_eq!((b.index, b.ts, b.data), (index, ts, &data[..]));
    }
    assert!(streamed.next_frame().is_none());
}

#[test]
fn real_pcap_matches_wireshark() {
    check(
        "mosquitto_v311_qos012.pcap",
        "mosquitto_v311_qos012.truth.json",
        LinkType::ETHERNET,
    );
}

#[test]
fn real_pcapng_matches_wireshark() {
    check(
        "mosquitto_v5_qos012_any.pcapng",
        "mosquitto_v5_qos012_any.truth.json",
        LinkType::LINUX_SLL2,
    );
}
