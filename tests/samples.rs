//! The binary on each bundled sample: what its README says it holds is what
//! the JSON report says (link types, address families, mid-stream pickup,
//! retransmissions, reordering, large payloads, MQTT versions).

mod common;

use common::*;
use serde_json::Value;

fn sample(name: &str) -> String {
    root()
        .join("samples")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn conns(s: &Value) -> &Vec<Value> {
    s["connections"].as_array().unwrap()
}

fn sum_dir(s: &Value, field: &str) -> u64 {
    conns(s)
        .iter()
        .map(|c| {
            c["client_to_server"][field].as_u64().unwrap()
                + c["server_to_client"][field].as_u64().unwrap()
        })
        .sum()
}

#[test]
fn sll2_capture_from_tcpdump_any() {
    let s = analyze_json(&[&sample("v311_any_sll2.pcap")]);
    assert_eq!(
        s["capture"]["link_types"],
        serde_json::json!(["LINUX_SLL2"])
    );
    let eth = analyze_json(&[&sample("v311_basic.pcap")]);
    // the same conversation recorded two ways decodes to the same packets
    assert_eq!(s["packets"]["by_type"], eth["packets"]["by_type"]);
    assert_eq!(s["packets"]["total"], 55);
}

#[test]
fn pcapng_with_nanosecond_timestamps_and_mqtt5() {
    let s = analyze_json(&[&sample("v5_props.pcapng")]);
    assert_eq!(conns(&s).len(), 4);
    for c in conns(&s) {
        assert_eq!(c["mqtt"]["version"], "5.0");
        assert_eq!(c["mqtt"]["version_inferred"], false);
    }
    let raw = std::process::Command::new(env!("CARGO_BIN_EXE_mqtt-inspect"))
        .args(["analyze", "--format", "json", &sample("v5_props.pcapng")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&raw.stdout);
    let first_ts = text
        .split("\"first_ts\": ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    assert_eq!(
        first_ts.split('.').nth(1).unwrap().len(),
        9,
        "nanosecond digits kept: {first_ts}"
    );
}

#[test]
fn topic_aliases_resolve_per_direction() {
    let lines = analyze_jsonl(&[&sample("v5_props.pcapng")]);
    let publishes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "packet" && l["mqtt"]["type"] == "PUBLISH")
        .collect();
    let aliased: Vec<&&Value> = publishes
        .iter()
        .filter(|l| l["mqtt"]["properties"]["topic_alias"].is_u64())
        .collect();
    assert!(aliased.len() >= 4, "the sample uses topic aliases");
    for p in &aliased {
        let topic = p["mqtt"]["topic"].as_str().unwrap();
        assert!(!topic.is_empty(), "alias resolved to a topic: {p}");
    }
    // the broker's deliveries carry full topics and never reuse the client's aliases
    assert!(
        publishes
            .iter()
            .filter(|l| l["direction"] == "server_to_client")
            .all(|l| l["mqtt"]["properties"]["topic_alias"].is_null())
    );
}

#[test]
fn ipv6_addresses() {
    let s = analyze_json(&[&sample("v6_ipv6.pcap")]);
    assert_eq!(conns(&s).len(), 7);
    for c in conns(&s) {
        assert_eq!(c["client"]["ip"], "2001:db8::1");
        assert!(c["server"]["ip"].as_str().unwrap().contains(':'));
    }
    assert_eq!(s["packets"]["total"], 55);
}

#[test]
fn mqtt_3_1_is_recognised() {
    let s = analyze_json(&[&sample("v31_mqisdp.pcap")]);
    assert!(conns(&s).iter().all(|c| c["mqtt"]["version"] == "3.1"));
}

#[test]
fn midstream_capture_infers_the_version() {
    let s = analyze_json(&[&sample("midstream.pcap")]);
    assert_eq!(conns(&s).len(), 3);
    for c in conns(&s) {
        assert!(c["handshake"].is_null(), "no handshake captured");
        assert_eq!(c["mqtt"]["version_inferred"], true);
        assert_eq!(c["mqtt"]["version"], "3.1.1");
        assert_eq!(
            c["client"]["ip"], "192.0.2.1",
            "client side found without a SYN"
        );
    }
    assert_eq!(s["packets"]["malformed"], 0);
    assert_eq!(s["packets"]["total"], 51);
}

#[test]
fn lossy_capture_has_retransmissions_but_every_byte_once() {
    let s = analyze_json(&[&sample("lossy_retrans.pcap")]);
    assert!(sum_dir(&s, "retransmissions") >= 3);
    assert_eq!(
        sum_dir(&s, "gap_bytes"),
        0,
        "every lost segment was retransmitted and captured"
    );
    assert_eq!(s["packets"]["malformed"], 0);
    let clean = analyze_json(&[&sample("v311_basic.pcap")]);
    assert_eq!(
        s["packets"]["by_type"], clean["packets"]["by_type"],
        "same exchange, same packets"
    );
}

#[test]
fn reordered_capture_is_put_back_in_order() {
    let s = analyze_json(&[&sample("reorder.pcap")]);
    assert!(sum_dir(&s, "out_of_order") >= 2);
    assert_eq!(sum_dir(&s, "gap_bytes"), 0);
    assert_eq!(s["packets"]["malformed"], 0);
}

#[test]
fn large_payload_spans_many_segments() {
    let lines = analyze_jsonl(&[&sample("large_payload.pcap")]);
    let big: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "packet" && l["mqtt"]["payload_len"] == 307_200)
        .collect();
    assert_eq!(big.len(), 2, "published once, delivered once");
    assert_eq!(
        big[0]["mqtt"]["payload_hash"], big[1]["mqtt"]["payload_hash"],
        "same bytes both ways"
    );
    assert_eq!(
        big[0]["mqtt"]["payload"].as_str().unwrap().len(),
        64,
        "preview is bounded"
    );
    // the packet belongs to the frame that completed it: far after its first segment
    let publish_conn = big[0]["connection"].as_u64().unwrap();
    let open = lines
        .iter()
        .find(|l| {
            l["type"] == "connection" && l["event"] == "open" && l["connection"] == publish_conn
        })
        .unwrap();
    assert!(big[0]["frame"].as_u64().unwrap() > open["frame"].as_u64().unwrap() + 200);
}

#[test]
fn payload_preview_size_option() {
    let lines = analyze_jsonl(&["--payload-bytes", "8", &sample("large_payload.pcap")]);
    let p = lines
        .iter()
        .find(|l| l["mqtt"]["payload_len"] == 307_200)
        .unwrap();
    assert_eq!(p["mqtt"]["payload"].as_str().unwrap().len(), 8);
}
