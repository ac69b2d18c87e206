//! A latency histogram as text: HdrHistogram's compressed V2 encoding in
//! base64, the form HdrHistogram's log readers in Java, Go, Python and
//! Rust take (`HISTFAAA…`).
//!
//! The JSON summary carries one beside each key's percentiles so that
//! summaries of separate captures can be merged exactly (`mqtt-inspect
//! merge`): adding histograms and taking percentiles of the sum gives the
//! percentiles of all the samples together, which averaging percentiles
//! never does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// Why a summary's histogram could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HdrError {
    #[error("not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("not an HdrHistogram V2 encoding: {0}")]
    Decode(String),
}

/// The base64 text of `h` (empty if it cannot be encoded, which the
/// encoder only does for histograms far beyond what latency makes).
///
/// The same samples always give the same text: the encoding covers the
/// histogram's range, which depends on how it grew (one run's or the sum
/// of several), so it is first copied into a histogram that covers just
/// its largest sample.
pub fn encode(h: &Histogram<u64>) -> String {
    let canonical = Histogram::<u64>::new_with_bounds(1, 2, h.sigfig())
        .ok()
        .and_then(|mut c| {
            c.auto(true);
            c.add(h).ok().map(|()| c)
        });
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(canonical.as_ref().unwrap_or(h), &mut bytes) {
        Ok(_) => STANDARD.encode(&bytes),
        Err(_) => String::new(),
    }
}

/// The histogram `text` encodes.
pub fn decode(text: &str) -> Result<Histogram<u64>, HdrError> {
    let bytes = STANDARD.decode(text.trim())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HdrError::Decode(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_survives_the_round_trip() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 2, 3).unwrap();
        h.auto(true);
        for v in [1_u64, 17, 250_000, 250_001, 3_000_000_000] {
            h.record(v).unwrap();
        }
        let text = encode(&h);
        assert!(text.starts_with("HISTF"), "{text}");
        let back = decode(&text).unwrap();
        assert_eq!(back.len(), 5);
        for q in [0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(back.value_at_quantile(q), h.value_at_quantile(q));
        }
    }

    #[test]
    fn the_same_samples_give_the_same_text_however_the_histogram_grew() {
        let mut grown = Histogram::<u64>::new_with_bounds(1, 2, 2).unwrap();
        grown.auto(true);
        grown.record(10_000_000_000).unwrap();
        grown.reset();
        grown.record(700).unwrap();
        let mut small = Histogram::<u64>::new_with_bounds(1, 2, 2).unwrap();
        small.auto(true);
        small.record(700).unwrap();
        assert_ne!(grown.distinct_values(), small.distinct_values());
        assert_eq!(encode(&grown), encode(&small));
    }

    #[test]
    fn damaged_text_is_an_error_not_a_panic() {
        assert!(decode("not base64!").is_err());
        assert!(decode("HISTFAAAAAA=").is_err());
        let good = {
            let mut h = Histogram::<u64>::new(2).unwrap();
            h.record(5).unwrap();
            encode(&h)
        };
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
    }
}
