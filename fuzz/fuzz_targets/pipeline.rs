//! A valid capture header followed by fuzzed records, through the whole
//! pipeline (link decode, TCP reassembly, everything after it) into the JSON
//! report: no panic, no hang, whatever the frames contain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::capture::CaptureReader;
use mqtt_inspect::pipeline::{Pipeline, PipelineOptions};
use mqtt_inspect::report::JsonLines;
use mqtt_inspect::report::RenderOptions;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a link type; the rest are pcap records.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let link: u32 = [1, 113, 276, 0, 101, 228, 229][pick as usize % 7];
    let mut file = Vec::with_capacity(24 + rest.len());
    file.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&link.to_le_bytes());
    file.extend_from_slice(rest);
    let Ok(mut reader) = CaptureReader::from_reader("fuzz", std::io::Cursor::new(file)) else {
        return;
    };
    let mut sink = JsonLines::new(std::io::sink(), RenderOptions::default());
    let _ = Pipeline::new(PipelineOptions::default()).run(&mut reader, &mut sink);
});
