//! Topic filter matching and one session's subscriptions, to tell whether
//! the broker delivered a message above the QoS it granted.
//!
//! The grant that applies to a delivery is the highest grant among all the
//! session's subscriptions whose filter matches the topic (MQTT-3.3.4-2 in
//! 5.0, MQTT-3.3.5-1 in 3.1.1). The set is only trusted when it is known to
//! be *complete*: the session started on a captured connection (clean start,
//! or session present = 0), or resumed one whose subscriptions were all
//! seen. A capture that joined mid-connection, or a resumed session whose
//! earlier subscriptions were not captured, may hold subscriptions nobody
//! saw — then no verdict. Likewise a filter whose SUBACK has not come yet
//! (the broker may deliver before it) or whose UNSUBACK has not come yet
//! makes a matching delivery undecidable.

/// Whether `filter` matches `topic` (MQTT 5.0 section 4.7, 3.1.1 section 4.7).
///
/// `+` matches exactly one level (possibly empty), `#` the parent level and
/// any number of levels below it; a filter starting with a wildcard does not
/// match a topic starting with `$` (MQTT-4.7.2-1). A shared subscription
/// (`$share/{group}/{filter}`) matches like its filter.
pub fn matches(filter: &str, topic: &str) -> bool {
    let filter = shared_filter(filter);
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return f.next().is_none(),
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The topic filter of a shared subscription, or the filter itself.
fn shared_filter(filter: &str) -> &str {
    filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
        .map_or(filter, |(_, f)| f)
}

/// What is known about one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// SUBSCRIBE seen, SUBACK not yet.
    Pending,
    /// The maximum QoS the SUBACK granted.
    Granted(u8),
    /// UNSUBSCRIBE seen, UNSUBACK not yet; the previous grant still applies
    /// to deliveries the broker had started.
    Removing,
    /// A SUBACK code that is neither a grant nor a failure.
    Unknown,
}

/// The verdict on one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing can be said (incomplete set, undecided grant, no known match).
    Unknown,
    /// The highest grant of the matching subscriptions, and the frames of
    /// the SUBACKs that granted it.
    Limit { qos: u8, frames: Vec<u64> },
}

#[derive(Debug, Clone)]
struct Sub {
    filter: Box<str>,
    grant: Grant,
    /// The SUBACK that set the grant.
    frame: Option<u64>,
}

/// Most subscriptions followed per session; beyond, the set is incomplete.
pub const MAX_SUBSCRIPTIONS: usize = 256;
/// Longest filter kept; a longer one makes the set incomplete.
pub const MAX_FILTER_LEN: usize = 1024;

/// One session's subscriptions, bounded.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    subs: Vec<Sub>,
    complete: bool,
}

impl Subscriptions {
    /// An empty set that is (`true`) or is not known to be all there is.
    pub fn new(complete: bool) -> Self {
        Subscriptions {
            subs: Vec::new(),
            complete,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Something may have been missed (bytes lost, a cap hit).
    pub fn mark_incomplete(&mut self) {
        self.complete = false;
    }

    /// Whether the set is known to hold every subscription of the session.
    pub fn set_complete(&mut self, complete: bool) {
        self.complete = complete;
    }

    /// Adds `other`'s subscriptions (those seen on this connection before the
    /// saved set was known); `other`'s entries win on the same filter.
    pub fn absorb(&mut self, other: Subscriptions) {
        for s in other.subs {
            self.subs.retain(|x| x.filter != s.filter);
            if self.subs.len() >= MAX_SUBSCRIPTIONS {
                self.complete = false;
                break;
            }
            self.subs.push(s);
        }
    }

    pub fn len(&self) -> usize {
        self.subs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    fn find(&mut self, filter: &str) -> Option<&mut Sub> {
        self.subs.iter_mut().find(|s| &*s.filter == filter)
    }

    /// A SUBSCRIBE asked for `filter` (its grant is pending).
    pub fn subscribe(&mut self, filter: &str) {
        if let Some(s) = self.find(filter) {
            s.grant = Grant::Pending;
            s.frame = None;
            return;
        }
        if filter.len() > MAX_FILTER_LEN || self.subs.len() >= MAX_SUBSCRIPTIONS {
            self.complete = false;
            return;
        }
        self.subs.push(Sub {
            filter: filter.into(),
            grant: Grant::Pending,
            frame: None,
        });
    }

    /// The SUBACK answered `filter` with `code` (a granted QoS, or ≥ 0x80: failure).
    pub fn granted(&mut self, filter: &str, code: u8, frame: u64) {
        let Some(s) = self.find(filter) else {
            return;
        };
        match code {
            0..=2 => {
                s.grant = Grant::Granted(code);
                s.frame = Some(frame);
            }
            0x80.. => self.subs.retain(|s| &*s.filter != filter),
            _ => s.grant = Grant::Unknown,
        }
    }

    /// An UNSUBSCRIBE asked to remove `filter`.
    pub fn unsubscribe(&mut self, filter: &str) {
        if let Some(s) = self.find(filter) {
            s.grant = Grant::Removing;
        }
    }

    /// The UNSUBACK answered `filter`: removed unless `failed` (5.0 code ≥ 0x80,
    /// other than 0x11 "No subscription existed"), in which case the grant is
    /// no longer known.
    pub fn unsubscribed(&mut self, filter: &str, failed: bool) {
        if failed {
            if let Some(s) = self.find(filter) {
                s.grant = Grant::Unknown;
            }
        } else {
            self.subs.retain(|s| &*s.filter != filter);
        }
    }

    /// The grant that limits a delivery on `topic`.
    pub fn limit_for(&self, topic: &str) -> Verdict {
        if !self.complete {
            return Verdict::Unknown;
        }
        let mut best: Option<u8> = None;
        let mut frames = Vec::new();
        for s in self.subs.iter().filter(|s| matches(&s.filter, topic)) {
            match s.grant {
                Grant::Granted(q) => {
                    best = Some(best.map_or(q, |b| b.max(q)));
                    frames.extend(s.frame);
                }
                Grant::Pending | Grant::Removing | Grant::Unknown => return Verdict::Unknown,
            }
        }
        match best {
            Some(qos) => {
                frames.sort_unstable();
                frames.dedup();
                frames.truncate(8);
                Verdict::Limit { qos, frames }
            }
            None => Verdict::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_from_the_spec() {
        // 5.0 section 4.7.1.2 / 4.7.1.3 examples.
        let yes = [
            ("sport/tennis/player1/#", "sport/tennis/player1"),
            ("sport/tennis/player1/#", "sport/tennis/player1/ranking"),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
            ),
            ("sport/#", "sport"),
            ("#", "sport/tennis"),
            ("sport/tennis/+", "sport/tennis/player1"),
            ("sport/+", "sport/"),
            ("+/+", "/finance"),
            ("/+", "/finance"),
            ("+", "finance"),
            ("a/+/c", "a/b/c"),
            ("a/b", "a/b"),
        ];
        for (f, t) in yes {
            assert!(matches(f, t), "{f} should match {t}");
        }
        let no = [
            ("sport/tennis/+", "sport/tennis/player1/ranking"),
            ("sport/+", "sport"),
            ("+", "/finance"),
            ("a/b", "a/b/c"),
            ("a/b/c", "a/b"),
            ("a/+/c", "a/b/d"),
            ("a/#/c", "a/b/c"),
            ("A/b", "a/b"),
        ];
        for (f, t) in no {
            assert!(!matches(f, t), "{f} should not match {t}");
        }
    }

    #[test]
    fn empty_levels_are_levels() {
        assert!(matches("a//b", "a//b"));
        assert!(matches("a/+/b", "a//b"));
        assert!(!matches("a/b", "a//b"));
        assert!(matches("+/", "x/"));
        assert!(matches("#", "/"));
        assert!(matches("+/+", "/"));
        assert!(!matches("+", "/"));
    }

    #[test]
    fn dollar_topics_need_an_explicit_first_level() {
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/broker/uptime", "$SYS/broker/uptime"));
        assert!(matches("$SYS/#", "$SYS/broker/uptime"));
        assert!(matches("$SYS/+/uptime", "$SYS/broker/uptime"));
        assert!(!matches("#", "$"));
    }

    #[test]
    fn shared_subscriptions_match_their_filter() {
        assert!(matches("$share/g/a/+", "a/x"));
        assert!(!matches("$share/g/a/+", "b/x"));
        assert!(matches("$share/g/#", "a/b"));
    }

    #[test]
    fn overlapping_filters_take_the_highest_grant() {
        let mut s = Subscriptions::new(true);
        s.subscribe("a/+");
        s.subscribe("a/#");
        s.granted("a/+", 0, 10);
        s.granted("a/#", 1, 12);
        assert_eq!(
            s.limit_for("a/x"),
            Verdict::Limit {
                qos: 1,
                frames: vec![10, 12]
            }
        );
        assert_eq!(
            s.limit_for("a/x/y"),
            Verdict::Limit {
                qos: 1,
                frames: vec![12]
            }
        );
        assert_eq!(s.limit_for("b"), Verdict::Unknown);
    }

    #[test]
    fn unsubscribe_removes_at_unsuback_only() {
        let mut s = Subscriptions::new(true);
        for f in ["a/+", "a/#"] {
            s.subscribe(f);
        }
        s.granted("a/+", 2, 5);
        s.granted("a/#", 0, 5);
        s.unsubscribe("a/+");
        assert_eq!(s.limit_for("a/x"), Verdict::Unknown);
        s.unsubscribed("a/+", false);
        assert_eq!(
            s.limit_for("a/x"),
            Verdict::Limit {
                qos: 0,
                frames: vec![5]
            }
        );
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn undecided_or_incomplete_sets_give_no_verdict() {
        let mut s = Subscriptions::new(true);
        s.subscribe("t");
        assert_eq!(s.limit_for("t"), Verdict::Unknown);
        s.granted("t", 0x80, 3);
        assert!(s.is_empty());
        s.subscribe("t");
        s.granted("t", 0x05, 3);
        assert_eq!(s.limit_for("t"), Verdict::Unknown);
        let mut inc = Subscriptions::new(false);
        inc.subscribe("t");
        inc.granted("t", 1, 2);
        assert_eq!(inc.limit_for("t"), Verdict::Unknown);
    }

    #[test]
    fn caps_make_the_set_incomplete() {
        let mut s = Subscriptions::new(true);
        for i in 0..MAX_SUBSCRIPTIONS {
            s.subscribe(&format!("f/{i}"));
        }
        assert!(s.is_complete());
        s.subscribe("one/more");
        assert!(!s.is_complete());
        assert_eq!(s.len(), MAX_SUBSCRIPTIONS);
        let mut s = Subscriptions::new(true);
        s.subscribe(&"x".repeat(MAX_FILTER_LEN + 1));
        assert!(!s.is_complete());
    }
}
