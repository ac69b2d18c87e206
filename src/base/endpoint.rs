//! Which connection, and which end of it.

use super::community_id::CommunityId;
use std::fmt;
use std::net::IpAddr;

/// Number of a TCP connection in order of first appearance (0-based):
/// Wireshark's `tcp.stream`, and the `id` in the report.
pub type ConnId = u32;

/// One end of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// Both ends of a TCP connection and its Community ID: what a finding or
/// flow record names so that a script needs no join with the connection
/// records. Made once per connection and shared (`Arc`) by its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peers {
    pub client: Endpoint,
    pub server: Endpoint,
    pub community_id: CommunityId,
}

impl Peers {
    pub fn new(client: Endpoint, server: Endpoint) -> Self {
        Peers {
            client,
            server,
            community_id: CommunityId::tcp(client, server),
        }
    }
}
