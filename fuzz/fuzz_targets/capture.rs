//! Any bytes as a capture file: reading must end (no hang) without a panic,
//! and every frame it yields must be numbered in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_inspect::capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = CaptureReader::from_reader("fuzz", std::io::Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut expected = 1;
    while let Some(frame) = reader.next_frame() {
        assert_eq!(frame.index, expected);
        expected += 1;
    }
    let _ = reader.take_warnings();
});
