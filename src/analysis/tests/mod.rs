//! Tracker tests: packets built by hand, fed in capture order, and the
//! events and summary checked. No capture file is needed.

mod build;
mod faults;
mod flows;
mod live;
mod robust;
mod sessions;
mod stats;
