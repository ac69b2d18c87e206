//! Per-topic and per-client latency in bounded memory: the heaviest keys
//! get their own statistics, everything else is folded into `other`.
//!
//! A capture may carry millions of distinct topics (one per device is
//! common), so statistics cannot be kept for all of them. A [`Breakdown`]
//! tracks at most `capacity` keys. A key that is not tracked is counted in
//! a count-min sketch; it is admitted when the sketch says it has been seen
//! more often than the least busy tracked key, which is then evicted and
//! its statistics merged into `other` (HDR histograms merge). Cold keys go
//! straight to `other` without churning the table. With at most `capacity`
//! distinct keys everything is exact; beyond, [`Breakdown::approximate`]
//! says so: a key's `volume` then includes the sketch's estimate of what it
//! had before admission (count-min overestimates, never underestimates),
//! and its latency samples cover only the time since admission — earlier
//! samples are in `other`. Overall statistics are never affected.

use super::latency::{LatencyKey, LatencySet, Precision};
use foldhash::{HashMap, HashMapExt};
use xxhash_rust::xxh3::xxh3_64_with_seed;

const SKETCH_DEPTH: usize = 4;
const SKETCH_WIDTH: usize = 2048;

/// Count-min sketch: approximate counts of many keys in fixed memory.
#[derive(Debug, Clone)]
struct CountMin {
    rows: Vec<u32>,
    /// Everything added; bounds the overestimate (about e·total/width).
    total: u64,
}

impl CountMin {
    fn new() -> Self {
        CountMin {
            rows: vec![0; SKETCH_DEPTH * SKETCH_WIDTH],
            total: 0,
        }
    }

    /// A count the key has almost surely reached: the estimate minus the
    /// sketch's error bound. Cold keys that only collide get 0.
    fn lower_bound(&self, estimate: u64) -> u64 {
        estimate.saturating_sub(self.total.saturating_mul(3) / SKETCH_WIDTH as u64)
    }

    /// One slot per row, from one 64-bit hash of the key (two 32-bit
    /// halves combined per row, Kirsch–Mitzenmacher): one hash per key
    /// instead of one per row.
    fn slots(key: &str) -> impl Iterator<Item = usize> {
        let h = xxh3_64_with_seed(key.as_bytes(), 1);
        let (a, b) = (h & 0xffff_ffff, (h >> 32) | 1);
        (0..SKETCH_DEPTH).map(move |row| {
            let mixed = a.wrapping_add((row as u64).wrapping_mul(b));
            row * SKETCH_WIDTH + (mixed % SKETCH_WIDTH as u64) as usize
        })
    }

    /// Adds `n` and returns the new estimate.
    fn add(&mut self, key: &str, n: u64) -> u64 {
        self.total = self.total.saturating_add(n);
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let mut est = u32::MAX;
        for i in Self::slots(key) {
            if let Some(c) = self.rows.get_mut(i) {
                *c = c.saturating_add(n);
                est = est.min(*c);
            }
        }
        u64::from(est)
    }
}

/// One tracked key.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Packets / messages attributed to the key (see the module docs).
    pub volume: u64,
    pub latency: LatencySet,
}

impl Entry {
    fn new() -> Self {
        Entry {
            volume: 0,
            latency: LatencySet::new(Precision::Coarse),
        }
    }
}

/// Bounded per-key statistics (module docs).
#[derive(Debug, Clone)]
pub struct Breakdown {
    capacity: usize,
    entries: HashMap<Box<str>, Entry>,
    sketch: CountMin,
    other: Entry,
    /// Distinct keys folded into `other`: exact for evicted and
    /// unreported keys, an undercount for keys never tracked (sketch
    /// collisions hide some).
    other_keys: u64,
    approximate: bool,
    /// A lower bound of the least tracked volume (volumes only grow), so
    /// that cold keys are turned away without scanning the table.
    floor: u64,
}

impl Breakdown {
    pub fn new(capacity: usize) -> Self {
        Breakdown {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            sketch: CountMin::new(),
            other: Entry::new(),
            other_keys: 0,
            approximate: false,
            floor: 0,
        }
    }

    /// Whether counts may be estimates (more distinct keys than the capacity).
    pub fn approximate(&self) -> bool {
        self.approximate
    }

    /// Counts `n` units of volume for `key`; returns whether the key is tracked.
    pub fn add_volume(&mut self, key: &str, n: u64) -> bool {
        if let Some(e) = self.entries.get_mut(key) {
            e.volume = e.volume.saturating_add(n);
            return true;
        }
        if self.entries.len() < self.capacity {
            let mut e = Entry::new();
            e.volume = n;
            self.entries.insert(key.into(), e);
            return true;
        }
        self.approximate = true;
        let estimate = self.sketch.add(key, n);
        let proven = self.sketch.lower_bound(estimate);
        if proven > self.floor {
            // The least busy key, ties by name: the map's iteration order
            // is random per run, and which key goes must not be.
            let coldest = self
                .entries
                .iter()
                .min_by(|a, b| a.1.volume.cmp(&b.1.volume).then_with(|| a.0.cmp(b.0)))
                .map(|(k, e)| (k.clone(), e.volume));
            if let Some((cold_key, cold_volume)) = coldest {
                self.floor = cold_volume;
                if proven > cold_volume {
                    if let Some(evicted) = self.entries.remove(&cold_key) {
                        self.sketch.add(&cold_key, evicted.volume);
                        self.fold(evicted);
                    }
                    let mut e = Entry::new();
                    e.volume = estimate;
                    self.entries.insert(key.into(), e);
                    // The new entry may be the coldest now.
                    self.floor = self.floor.min(estimate);
                    return true;
                }
            }
        }
        self.other.volume = self.other.volume.saturating_add(n);
        if estimate <= n {
            // The sketch had not seen the key: a new one (collisions may hide some).
            self.other_keys = self.other_keys.saturating_add(1);
        }
        false
    }

    fn fold(&mut self, e: Entry) {
        self.other.volume = self.other.volume.saturating_add(e.volume);
        self.other.latency.merge(&e.latency);
        self.other_keys = self.other_keys.saturating_add(1);
    }

    /// A latency sample for `key` (to `other` when the key is not tracked).
    pub fn record(&mut self, key: &str, which: LatencyKey, ns: u64) {
        match self.entries.get_mut(key) {
            Some(e) => e.latency.record(which, ns),
            None => self.other.latency.record(which, ns),
        }
    }

    /// A latency sample that belongs to no key.
    pub fn record_other(&mut self, which: LatencyKey, ns: u64) {
        self.other.latency.record(which, ns);
    }

    /// Adds everything `other` counted (another shard of the same run):
    /// exact while the two together have at most `capacity` distinct keys,
    /// otherwise approximate in the way adding the volume key by key is.
    pub fn merge(&mut self, other: &Breakdown) {
        let mut theirs: Vec<(&str, &Entry)> =
            other.entries.iter().map(|(k, e)| (&**k, e)).collect();
        theirs.sort_by(|a, b| a.0.cmp(b.0));
        for (key, e) in theirs {
            if self.add_volume(key, e.volume) {
                if let Some(mine) = self.entries.get_mut(key) {
                    mine.latency.merge(&e.latency);
                }
            } else {
                self.other.latency.merge(&e.latency);
            }
        }
        self.other.volume = self.other.volume.saturating_add(other.other.volume);
        self.other.latency.merge(&other.other.latency);
        self.other_keys = self.other_keys.saturating_add(other.other_keys);
        self.approximate |= other.approximate;
        for (mine, theirs) in self.sketch.rows.iter_mut().zip(&other.sketch.rows) {
            *mine = mine.saturating_add(*theirs);
        }
        self.sketch.total = self.sketch.total.saturating_add(other.sketch.total);
    }

    /// The `top` busiest keys (ties by key) and everything else folded.
    pub fn report(&self, top: usize) -> BreakdownReport {
        let mut all: Vec<(&str, &Entry)> = self.entries.iter().map(|(k, e)| (&**k, e)).collect();
        all.sort_by(|a, b| b.1.volume.cmp(&a.1.volume).then(a.0.cmp(b.0)));
        let mut other = self.other.clone();
        let mut other_keys = self.other_keys;
        let mut entries = Vec::new();
        for (i, (k, e)) in all.into_iter().enumerate() {
            if i < top {
                entries.push(BreakdownItem {
                    key: k.to_string(),
                    volume: e.volume,
                    latency: e.latency.clone(),
                });
            } else {
                other.volume = other.volume.saturating_add(e.volume);
                other.latency.merge(&e.latency);
                other_keys = other_keys.saturating_add(1);
            }
        }
        BreakdownReport {
            entries,
            other: (other.volume > 0 || !other.latency.is_empty()).then_some(BreakdownOther {
                keys: other_keys,
                volume: other.volume,
                latency: other.latency,
            }),
            approximate: self.approximate,
        }
    }
}

/// One reported key.
#[derive(Debug, Clone)]
pub struct BreakdownItem {
    pub key: String,
    pub volume: u64,
    pub latency: LatencySet,
}

/// Everything outside the top keys.
#[derive(Debug, Clone)]
pub struct BreakdownOther {
    /// How many distinct keys were folded in (a lower bound when approximate).
    pub keys: u64,
    pub volume: u64,
    pub latency: LatencySet,
}

/// The top keys and the rest, before naming the fields for JSON.
#[derive(Debug, Clone)]
pub struct BreakdownReport {
    pub entries: Vec<BreakdownItem>,
    pub other: Option<BreakdownOther>,
    pub approximate: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_halves_equals_the_whole_while_exact() {
        let mut whole = Breakdown::new(8);
        let (mut a, mut b) = (Breakdown::new(8), Breakdown::new(8));
        for i in 0..40u64 {
            let key = format!("t/{}", i % 6);
            let half = if i % 2 == 0 { &mut a } else { &mut b };
            for bd in [&mut whole, half] {
                bd.add_volume(&key, 1);
                bd.record(&key, LatencyKey::Puback, 1_000 + i);
            }
        }
        a.merge(&b);
        let (r1, r2) = (whole.report(3), a.report(3));
        let keys = |r: &BreakdownReport| -> Vec<(String, u64)> {
            r.entries
                .iter()
                .map(|e| (e.key.clone(), e.volume))
                .collect()
        };
        assert_eq!(keys(&r1), keys(&r2));
        for (x, y) in r1.entries.iter().zip(&r2.entries) {
            let (sx, sy) = (
                x.latency.get(LatencyKey::Puback),
                y.latency.get(LatencyKey::Puback),
            );
            assert_eq!(sx.map(|s| s.summary()), sy.map(|s| s.summary()));
        }
        let (o1, o2) = (r1.other.unwrap(), r2.other.unwrap());
        assert_eq!((o1.keys, o1.volume), (o2.keys, o2.volume));
        assert!(!r2.approximate);
    }

    #[test]
    fn exact_under_capacity() {
        let mut b = Breakdown::new(4);
        for (k, n) in [("a", 5), ("b", 1), ("c", 3), ("a", 1)] {
            assert!(b.add_volume(k, n));
        }
        b.record("a", LatencyKey::Puback, 1_000_000);
        b.record("zz", LatencyKey::Puback, 2_000_000);
        let r = b.report(2);
        assert!(!r.approximate);
        let keys: Vec<(&str, u64)> = r
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.volume))
            .collect();
        assert_eq!(keys, vec![("a", 6), ("c", 3)]);
        assert_eq!(
            r.entries[0]
                .latency
                .get(LatencyKey::Puback)
                .unwrap()
                .count(),
            1
        );
        let other = r.other.unwrap();
        assert_eq!(other.volume, 1);
        assert_eq!(other.keys, 1);
        // the sample of the untracked "zz" lands in other
        assert_eq!(other.latency.get(LatencyKey::Puback).unwrap().count(), 1);
    }

    #[test]
    fn a_late_heavy_key_displaces_a_cold_one() {
        let mut b = Breakdown::new(2);
        b.add_volume("cold", 1);
        b.add_volume("warm", 50);
        b.record("cold", LatencyKey::Puback, 7);
        for _ in 0..10 {
            b.add_volume("hot", 1);
        }
        let r = b.report(10);
        assert!(r.approximate);
        let keys: Vec<&str> = r.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, vec!["warm", "hot"]);
        let other = r.other.unwrap();
        assert_eq!(other.latency.get(LatencyKey::Puback).unwrap().count(), 1);
    }

    #[test]
    fn many_cold_keys_stay_bounded() {
        let mut b = Breakdown::new(8);
        for i in 0..5_000 {
            b.add_volume(&format!("device/{i}"), 1);
        }
        b.add_volume("busy", 1);
        for _ in 0..100 {
            b.add_volume("busy", 1);
        }
        assert!(b.entries.len() <= 8);
        let r = b.report(1);
        assert_eq!(r.entries[0].key, "busy");
        assert!(r.entries[0].volume >= 101);
        let total: u64 = r.entries.iter().map(|e| e.volume).sum::<u64>()
            + r.other.as_ref().map_or(0, |o| o.volume);
        assert!(total >= 5_101);
    }
}
