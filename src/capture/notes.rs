//! Oddities that do not stop a file, warned once per file per kind.
//!
//! A record header that lies (an original length below the captured one, a
//! record with no bytes) or an unusable pcapng option is worth one warning,
//! not one per record: a hostile or broken file can repeat the same lie in
//! every one of millions of records, and a warning per record would bury
//! everything else in the report (and cost memory until the report drops
//! them). So the first of each kind in a file becomes a warning naming its
//! frame, later ones of that kind in the same file are only counted, and when
//! the file ends one more warning says how many followed and at which frames.
//! Memory is a fixed table of counters, whatever the file holds.

use crate::base::Warning;

/// A kind of oddity; each is warned once per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Oddity {
    /// A record with a captured length of 0: kept as an empty frame.
    NoCapturedBytes,
    /// Captured bytes, but an original length of 0.
    OrigLenZero,
    /// An original length smaller than the captured length.
    OrigLenBelowCaptured,
    /// An original length no packet can have (0xFFFFFFFF, or above `MAX_ORIG_LEN`).
    OrigLenImpossible,
    /// A pcapng interface whose `if_tsresol` cannot be used.
    UnusableTsresol,
    /// A pcapng interface option that runs past the end of its block.
    OptionOverrun,
    /// A systemd Journal Export block, which Wireshark numbers as a frame and we skip.
    JournalExportBlock,
}

impl Oddity {
    const ALL: [Oddity; 7] = [
        Oddity::NoCapturedBytes,
        Oddity::OrigLenZero,
        Oddity::OrigLenBelowCaptured,
        Oddity::OrigLenImpossible,
        Oddity::UnusableTsresol,
        Oddity::OptionOverrun,
        Oddity::JournalExportBlock,
    ];

    fn slot(self) -> usize {
        self as usize
    }

    /// What the end-of-file count is a count of.
    fn plural(self) -> &'static str {
        match self {
            Oddity::NoCapturedBytes => "records with no captured bytes (kept as empty frames)",
            Oddity::OrigLenZero => {
                "records whose original length is 0 although bytes were captured \
                 (original length taken as the captured length)"
            }
            Oddity::OrigLenBelowCaptured => {
                "records whose original length is smaller than their captured length \
                 (original length taken as the captured length)"
            }
            Oddity::OrigLenImpossible => {
                "records with an impossible original length \
                 (original length taken as the captured length)"
            }
            Oddity::UnusableTsresol => {
                "interfaces with an unusable timestamp resolution (microseconds assumed)"
            }
            Oddity::OptionOverrun => "interfaces with an option running past their block",
            Oddity::JournalExportBlock => {
                "systemd Journal Export blocks (skipped, but Wireshark numbers each as a \
                 frame: past each one, its frame numbers are one higher than ours)"
            }
        }
    }
}

/// How often one kind was seen in the current file.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// Frame of the first one (the warned one).
    first: Option<u64>,
    /// Further ones, only counted.
    more: u64,
    first_more: u64,
    last_more: u64,
}

/// The oddities of one input file.
#[derive(Debug)]
pub(crate) struct Notes {
    /// The frame number the next record of this file will get (kept up to
    /// date by the reader): an oddity is tied to the record being read or, for
    /// a block that is no record, to the frame that follows it.
    pub next_frame: u64,
    /// The file's name as warnings print it.
    name: String,
    seen: [Seen; Oddity::ALL.len()],
    pending: Vec<Warning>,
}

impl Notes {
    pub fn new(name: impl Into<String>) -> Self {
        Notes {
            next_frame: 1,
            name: name.into(),
            seen: [Seen::default(); Oddity::ALL.len()],
            pending: Vec::new(),
        }
    }

    /// Records one oddity at [`Notes::next_frame`]. The first of its kind in
    /// this file becomes a warning (only then is `message` built); later ones
    /// are counted for the summary at the end of the file.
    pub fn note(&mut self, kind: Oddity, message: impl FnOnce() -> String) {
        let frame = self.next_frame;
        let Some(seen) = self.seen.get_mut(kind.slot()) else {
            return;
        };
        if seen.first.is_none() {
            seen.first = Some(frame);
            let text = format!(
                "{}: {}; further ones in this file are counted, not warned one by one",
                self.name,
                message()
            );
            self.pending.push(Warning::at(frame, text));
            return;
        }
        if seen.more == 0 {
            seen.first_more = frame;
        }
        seen.more = seen.more.saturating_add(1);
        seen.last_more = frame;
    }

    /// Warnings produced since the last call.
    pub fn take(&mut self) -> impl Iterator<Item = Warning> + '_ {
        self.pending.drain(..)
    }

    /// The end of the file: one warning per kind that was seen more than
    /// once, with how many followed the warned one and where.
    pub fn finish(&mut self) {
        for kind in Oddity::ALL {
            let Some(seen) = self.seen.get_mut(kind.slot()) else {
                continue;
            };
            let (Some(first), more) = (seen.first, seen.more) else {
                continue;
            };
            if more > 0 {
                let range = if seen.first_more == seen.last_more {
                    format!("at frame {}", seen.first_more)
                } else {
                    format!("at frames {} to {}", seen.first_more, seen.last_more)
                };
                let text = format!(
                    "{}: {more} more {} after the one warned at frame {first}, {range}",
                    self.name,
                    kind.plural()
                );
                self.pending.push(Warning::at(seen.first_more, text));
            }
            *seen = Seen::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_of_a_kind_is_warned_later_ones_counted() {
        let mut notes = Notes::new("a.pcap");
        let mut built = 0;
        for frame in [3, 5, 9, 12] {
            notes.next_frame = frame;
            notes.note(Oddity::OrigLenBelowCaptured, || {
                built += 1;
                "frame lies".into()
            });
        }
        notes.next_frame = 7;
        notes.note(Oddity::NoCapturedBytes, || "empty".into());
        assert_eq!(built, 1, "the message is built for the warned one only");
        let now: Vec<Warning> = notes.take().collect();
        assert_eq!(now.len(), 2);
        assert_eq!(now[0].frame, Some(3));
        assert!(now[0].message.starts_with("a.pcap: frame lies"));
        assert_eq!(now[1].frame, Some(7));
        notes.finish();
        let end: Vec<Warning> = notes.take().collect();
        assert_eq!(end.len(), 1, "{end:?}");
        assert_eq!(end[0].frame, Some(5));
        assert!(
            end[0]
                .message
                .contains("3 more records whose original length is smaller"),
            "{}",
            end[0].message
        );
        assert!(
            end[0].message.contains("at frames 5 to 12"),
            "{}",
            end[0].message
        );
        assert!(end[0].message.contains("warned at frame 3"));
    }

    #[test]
    fn a_million_lies_cost_no_memory() {
        let mut notes = Notes::new("x");
        for frame in 1..=1_000_000u64 {
            notes.next_frame = frame;
            notes.note(Oddity::OrigLenImpossible, || "lie".into());
        }
        notes.finish();
        let all: Vec<Warning> = notes.take().collect();
        assert_eq!(all.len(), 2);
        assert!(all[1].message.contains("999999 more"), "{}", all[1].message);
        assert!(all[1].message.contains("at frames 2 to 1000000"));
    }
}
