//! The ground floor: plain values every stage speaks in.
//!
//! Nothing here knows about pcap, TCP, MQTT or the report; every stage
//! imports these instead of importing each other for a shared type:
//!
//! - [`Direction`] and [`PerDir`], the one way to hold a value per direction;
//! - [`ConnId`] and [`Endpoint`], which connection and which end of it;
//!   [`Peers`], both ends with their [`CommunityId`];
//! - [`Timestamp`], capture time with the capture's own precision, and
//!   [`At`], a frame reference (frame number and that frame's time);
//! - [`Frame`] and [`LinkType`], what a source yields; [`Segment`], what
//!   link decoding hands reassembly;
//! - [`Warning`], a problem with the input that is not an MQTT finding.

pub mod community_id;
mod direction;
mod endpoint;
mod frame;
pub mod time;
mod warning;

pub use community_id::CommunityId;
pub use direction::{Direction, PerDir};
pub use endpoint::{ConnId, Endpoint, Peers};
pub use frame::{At, Frame, LinkType, Segment, TcpFlags};
pub use time::Timestamp;
pub use warning::Warning;
