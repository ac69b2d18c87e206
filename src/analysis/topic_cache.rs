//! The topics a connection published on lately, shared by its flows.
//!
//! A device publishes on a handful of topics, so giving every QoS 1/2 flow
//! a copy of its topic would be one allocation per message; a flow holds a
//! reference-counted topic from this cache instead. The cache is a few
//! slots compared in order (faster than hashing for so few), replaced
//! round-robin, so a connection cycling through many topics costs an
//! allocation per flow as before and never more memory than the slots.

use super::flow::{MAX_TOPIC_LEN, clip};
use std::sync::Arc;

/// Topics kept per connection.
const SLOTS: usize = 8;

/// Recently used topics of one connection (clipped to [`MAX_TOPIC_LEN`]).
#[derive(Debug, Default)]
pub struct TopicCache {
    slots: Vec<Arc<str>>,
    next: usize,
}

impl TopicCache {
    /// `topic` (clipped), shared with earlier flows on it when cached.
    pub fn get(&mut self, topic: &str) -> Arc<str> {
        let topic = clip(topic, MAX_TOPIC_LEN);
        if let Some(hit) = self.slots.iter().find(|t| &***t == topic) {
            return Arc::clone(hit);
        }
        let fresh: Arc<str> = Arc::from(topic);
        if self.slots.len() < SLOTS {
            self.slots.push(Arc::clone(&fresh));
        } else if let Some(slot) = self.slots.get_mut(self.next) {
            *slot = Arc::clone(&fresh);
            self.next = (self.next + 1) % SLOTS;
        }
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_topic_is_shared() {
        let mut c = TopicCache::default();
        let a = c.get("a/b");
        let b = c.get("a/b");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "a/b");
    }

    #[test]
    fn slots_are_reused_round_robin() {
        let mut c = TopicCache::default();
        let first = c.get("t/0");
        for i in 1..=SLOTS {
            c.get(&format!("t/{i}"));
        }
        assert_eq!(c.slots.len(), SLOTS);
        // t/0 was replaced by t/SLOTS: a new copy, equal but not shared.
        let again = c.get("t/0");
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(&*again, "t/0");
        // t/2 is still cached.
        let t2 = c.get("t/2");
        assert!(Arc::ptr_eq(&t2, &c.get("t/2")));
    }

    #[test]
    fn long_topics_are_clipped() {
        let mut c = TopicCache::default();
        let long = "x".repeat(MAX_TOPIC_LEN + 10);
        assert_eq!(c.get(&long).len(), MAX_TOPIC_LEN);
    }
}
