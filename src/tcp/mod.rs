//! TCP reassembly: segments → in-order byte streams per connection and direction.

use serde::Serialize;

/// Which way bytes travel on a connection. The client is the side that sent the SYN
/// (see `docs/architecture.md` for the rule when no handshake was captured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// The opposite direction (where the acknowledgements of this one travel).
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// `client_to_server` / `server_to_client`, the JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client_to_server",
            Direction::ServerToClient => "server_to_client",
        }
    }
}

/// Number of a TCP connection in order of first appearance (0-based); the `id` in the report.
pub type ConnId = u32;

mod half;
mod reassembler;
#[cfg(test)]
mod tests;

pub use half::{DirStats, GapCause};
pub use reassembler::{
    CloseKind, ConnRecord, Handshake, Interest, Reassembler, StreamEvent, StreamSink, TcpConfig,
    TcpCounters,
};
