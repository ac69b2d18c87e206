//! TCP reassembly: segments → in-order byte streams per connection and direction.

mod half;
mod reassembler;
#[cfg(test)]
mod tests;

pub use half::{DirStats, GapCause};
pub use reassembler::{
    CloseKind, ConnRecord, Handshake, Interest, Reassembler, StreamEvent, StreamSink, TcpConfig,
    TcpCounters,
};
