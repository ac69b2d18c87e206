//! TCP reassembly: segments → in-order byte streams per connection and direction.

mod half;
mod reassembler;
#[cfg(test)]
mod tests;

pub use half::DirStats;
pub use reassembler::{
    CloseKind, ConnRecord, ConnectionFactory, Handshake, Interest, Opened, Reassembler, TcpConfig,
    TcpCounters,
};
