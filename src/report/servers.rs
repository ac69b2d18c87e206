//! What the summary says about servers and the TCP traffic that was not
//! MQTT: which brokers never answered, and which ports the rest used (so
//! that "no MQTT found" can say where to look). Both bounded.

use super::summary::ConnectionSummary;
use crate::base::Endpoint;
use crate::tcp::ConnRecord;
use foldhash::HashMap;

/// Servers followed for the silent-server check.
const MAX_SERVERS: usize = 4096;
/// Server ports counted for the non-MQTT connections.
const MAX_PORTS: usize = 256;

/// One MQTT server's totals over all its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ServerTotals {
    connections: u64,
    client_bytes: u64,
    server_bytes: u64,
}

/// A server that never sent a byte on any of its connections (the
/// `silent_servers` entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilentServer {
    pub server: Endpoint,
    pub connections: u64,
    /// What its clients sent it, all connections together.
    pub client_bytes: u64,
}

/// TCP connections that carried no MQTT (the `other_tcp` object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherTcp {
    pub connections: u64,
    /// Connections per server port, busiest first (ties by port).
    pub by_port: Vec<(u16, u64)>,
    /// Connections on ports beyond the ones counted one by one.
    pub other_ports: u64,
}

/// The running fold (module docs).
#[derive(Debug, Default)]
pub struct ServerFold {
    servers: HashMap<Endpoint, ServerTotals>,
    other_connections: u64,
    ports: HashMap<u16, u64>,
    other_ports: u64,
}

impl ServerFold {
    /// A reported (MQTT or encrypted) connection.
    pub fn mqtt(&mut self, c: &ConnectionSummary) {
        let t = &c.tcp;
        let room = self.servers.len() < MAX_SERVERS;
        if let Some(s) = match self.servers.get_mut(&t.server) {
            Some(s) => Some(s),
            None if room => Some(self.servers.entry(t.server).or_default()),
            None => None,
        } {
            s.connections += 1;
            s.client_bytes += t.client_to_server.bytes;
            s.server_bytes += t.server_to_client.bytes;
        }
    }

    /// A connection that carried no MQTT.
    pub fn other(&mut self, t: &ConnRecord) {
        self.other_connections += 1;
        let port = t.server.port;
        if let Some(n) = self.ports.get_mut(&port) {
            *n += 1;
        } else if self.ports.len() < MAX_PORTS {
            self.ports.insert(port, 1);
        } else {
            self.other_ports += 1;
        }
    }

    /// Silent servers (by address) and the non-MQTT traffic.
    pub fn finish(self) -> (Vec<SilentServer>, OtherTcp) {
        let mut silent: Vec<SilentServer> = self
            .servers
            .into_iter()
            .filter(|(_, s)| s.server_bytes == 0 && s.client_bytes > 0)
            .map(|(server, s)| SilentServer {
                server,
                connections: s.connections,
                client_bytes: s.client_bytes,
            })
            .collect();
        silent.sort_by_key(|s| s.server);
        let mut by_port: Vec<(u16, u64)> = self.ports.into_iter().collect();
        by_port.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let other = OtherTcp {
            connections: self.other_connections,
            by_port,
            other_ports: self.other_ports,
        };
        (silent, other)
    }
}
