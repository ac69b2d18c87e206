//! Which way bytes travel on a connection, and a value for each way.

use std::ops::{Index, IndexMut};

/// Which way bytes travel on a connection. The client is the side that sent
/// the SYN (see `docs/architecture.md` for the rule when no handshake was
/// captured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// Both directions, client → server first.
    pub const BOTH: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

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

/// One value per direction of a connection: the only way per-direction
/// state is held, indexed by [`Direction`] (no `[T; 2]` with hand-made
/// indices).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerDir<T> {
    pub client_to_server: T,
    pub server_to_client: T,
}

impl<T> PerDir<T> {
    pub fn new(client_to_server: T, server_to_client: T) -> Self {
        PerDir {
            client_to_server,
            server_to_client,
        }
    }

    /// A value built for each direction.
    pub fn from_fn(mut f: impl FnMut(Direction) -> T) -> Self {
        PerDir {
            client_to_server: f(Direction::ClientToServer),
            server_to_client: f(Direction::ServerToClient),
        }
    }

    /// Both values, client → server first, each with its direction.
    pub fn iter(&self) -> impl Iterator<Item = (Direction, &T)> {
        [
            (Direction::ClientToServer, &self.client_to_server),
            (Direction::ServerToClient, &self.server_to_client),
        ]
        .into_iter()
    }

    /// Both values, mutably, client → server first.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Direction, &mut T)> {
        [
            (Direction::ClientToServer, &mut self.client_to_server),
            (Direction::ServerToClient, &mut self.server_to_client),
        ]
        .into_iter()
    }

    /// Both values, client → server first.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        [&self.client_to_server, &self.server_to_client].into_iter()
    }

    /// Both values, mutably, client → server first.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        [&mut self.client_to_server, &mut self.server_to_client].into_iter()
    }

    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> PerDir<U> {
        PerDir {
            client_to_server: f(self.client_to_server),
            server_to_client: f(self.server_to_client),
        }
    }

    /// References to both values, as a `PerDir`.
    pub fn as_ref(&self) -> PerDir<&T> {
        PerDir {
            client_to_server: &self.client_to_server,
            server_to_client: &self.server_to_client,
        }
    }

    /// The two values trade places (the sides of a connection were the other way round).
    pub fn swap(&mut self) {
        std::mem::swap(&mut self.client_to_server, &mut self.server_to_client);
    }
}

impl<T> Index<Direction> for PerDir<T> {
    type Output = T;
    fn index(&self, dir: Direction) -> &T {
        match dir {
            Direction::ClientToServer => &self.client_to_server,
            Direction::ServerToClient => &self.server_to_client,
        }
    }
}

impl<T> IndexMut<Direction> for PerDir<T> {
    fn index_mut(&mut self, dir: Direction) -> &mut T {
        match dir {
            Direction::ClientToServer => &mut self.client_to_server,
            Direction::ServerToClient => &mut self.server_to_client,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_by_direction() {
        let mut d = PerDir::new(1, 2);
        assert_eq!(d[Direction::ClientToServer], 1);
        d[Direction::ServerToClient] += 10;
        assert_eq!(d.server_to_client, 12);
        d.swap();
        assert_eq!((d.client_to_server, d.server_to_client), (12, 1));
        let dirs: Vec<Direction> = d.iter().map(|(dir, _)| dir).collect();
        assert_eq!(dirs, Direction::BOTH);
        assert_eq!(
            PerDir::from_fn(Direction::reverse).client_to_server,
            Direction::ServerToClient
        );
        assert_eq!(d.map(|v| v * 2), PerDir::new(24, 2));
    }
}
