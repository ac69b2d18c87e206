//! What the pipeline tells its sinks as the capture is read.

use crate::netdecode::Endpoint;
use crate::tcp::{CloseKind, ConnId};
use crate::time::Timestamp;
use crate::warning::Warning;

/// One thing that happened, in capture order.
#[derive(Debug)]
pub enum Event<'a> {
    /// A reported connection started (or was first seen, for a capture that starts mid-connection).
    ConnectionOpen {
        conn: ConnId,
        frame: u64,
        ts: Timestamp,
        client: Endpoint,
        server: Endpoint,
    },
    /// A reported connection ended (FIN, RST) or the capture ended with it open.
    ConnectionClose {
        conn: ConnId,
        frame: u64,
        ts: Timestamp,
        how: CloseKind,
    },
    /// Something the analysis had to work around.
    Warning(&'a Warning),
}
