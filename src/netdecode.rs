//! Link and network decoding: frame bytes → TCP segment.
