//! Throughput of the stages on real traffic (`samples/clients_many.pcap`,
//! five real clients and a mosquitto broker), repeated to make the runs long
//! enough to measure: capture reading alone, reading + link decode + TCP
//! reassembly + MQTT decoding + the JSON-lines report, and the MQTT framer
//! alone on the reassembled client bytes.
//!
//! `cargo bench --bench pipeline`; the whole-program comparison with tshark
//! is `scripts/bench/run`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mqtt_inspect::base::{Direction, Timestamp};
use mqtt_inspect::capture::open_captures;
use mqtt_inspect::mqtt::{MqttConfig, MqttConnection, MqttEvent};
use mqtt_inspect::pipeline::{Pipeline, PipelineOptions};
use mqtt_inspect::report::JsonLines;
use std::hint::black_box;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/clients_many.pcap");
const REPEAT: usize = 40;

fn inputs() -> Vec<String> {
    vec![SAMPLE.to_string(); REPEAT]
}

fn capture_bytes() -> u64 {
    std::fs::metadata(SAMPLE).map(|m| m.len()).unwrap_or(0) * REPEAT as u64
}

fn read_only(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(capture_bytes()));
    g.bench_function("read frames", |b| {
        b.iter(|| {
            let mut r = open_captures(&inputs()).unwrap();
            let mut n = 0u64;
            while let Some(f) = r.next_frame() {
                n += f.data.len() as u64;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn whole_pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(capture_bytes()));
    g.bench_function("analyze to jsonl", |b| {
        b.iter(|| {
            let mut r = open_captures(&inputs()).unwrap();
            let mut sink = JsonLines::new(std::io::sink(), Default::default());
            let s = Pipeline::new(PipelineOptions::default())
                .run(&mut r, &mut sink)
                .unwrap();
            black_box(s.packets.total)
        })
    });
    g.finish();
}

/// Every MQTT byte the clients sent, concatenated per connection, in frame order.
fn client_streams() -> Vec<Vec<u8>> {
    use mqtt_inspect::netdecode::{Decoded, decode};
    let mut r = open_captures(&[SAMPLE.to_string()]).unwrap();
    let mut by_port: std::collections::BTreeMap<u16, Vec<u8>> = Default::default();
    while let Some(f) = r.next_frame() {
        if let Decoded::Tcp(s) = decode(&f)
            && s.dst.port == 1883
        {
            by_port
                .entry(s.src.port)
                .or_default()
                .extend_from_slice(s.payload);
        }
    }
    by_port.into_values().collect()
}

fn mqtt_framer(c: &mut Criterion) {
    let streams = client_streams();
    let total: usize = streams.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("mqtt");
    g.throughput(Throughput::Bytes(total as u64 * REPEAT as u64));
    g.bench_function("frame and decode", |b| {
        b.iter(|| {
            let mut packets = 0u64;
            for _ in 0..REPEAT {
                for s in &streams {
                    let mut m = MqttConnection::new(&MqttConfig::default());
                    m.on_data(
                        Direction::ClientToServer,
                        1,
                        Timestamp::default(),
                        s,
                        &mut |e| {
                            if let MqttEvent::Packet(_) = e {
                                packets += 1;
                            }
                        },
                    );
                }
            }
            black_box(packets)
        })
    });
    g.finish();
}

criterion_group!(benches, read_only, whole_pipeline, mqtt_framer);
criterion_main!(benches);
