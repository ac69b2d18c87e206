//! Hostile and broken input: what cannot be read is a clear error naming the
//! file; what is damaged part-way is read up to the damage, with a warning
//! that names the file and the frame, and never panics or loops.

mod capture_support;

use capture_support::*;
use mqtt_inspect::capture::{CaptureError, CaptureReader, open_captures};

/// Opening must fail; returns the error's message.
fn open_err(paths: &[String]) -> (CaptureError, String) {
    match open_captures(paths) {
        Ok(_) => panic!("{paths:?} opened but must not"),
        Err(e) => {
            let text = e.to_string();
            (e, text)
        }
    }
}

fn stream_err(bytes: Vec<u8>) -> String {
    match CaptureReader::from_reader("stdin", Trickle::new(bytes, 1)) {
        Ok(_) => panic!("stream opened but must not"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn empty_file_and_empty_stream_are_not_captures() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.pcap", &[]);
    let (err, text) = open_err(std::slice::from_ref(&path));
    assert!(matches!(err, CaptureError::NotACapture { .. }), "{err:?}");
    assert!(text.starts_with(&path), "{text}");
    assert!(text.contains("empty: 0 bytes"), "{text}");
    let text = stream_err(Vec::new());
    assert!(text.contains("stdin is empty"), "{text}");
    let text = stream_err(gzip(&[]));
    assert!(text.contains("decompresses to nothing"), "{text}");
}

#[test]
fn random_bytes_are_not_a_capture() {
    let dir = tempfile::tempdir().unwrap();
    let mut x: u32 = 12345;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let path = write(dir.path(), "noise.pcap", &noise);
    let (err, text) = open_err(&[path]);
    assert!(matches!(err, CaptureError::NotACapture { .. }));
    let first = format!("{:02x} {:02x}", noise[0], noise[1]);
    assert!(text.contains(&first), "shows the first bytes: {text}");
    let text = stream_err(b"GET / HTTP/1.1\r\n\r\n".to_vec());
    assert!(text.contains("47 45 54 20"), "{text}");
    let text = stream_err(gzip(b"just some text that is long enough"));
    assert!(text.contains("6a 75 73 74"), "checked after gunzip: {text}");
    let text = stream_err(vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    assert!(text.contains("zstd"), "{text}");
    let text = stream_err(vec![0xd4]);
    assert!(text.contains("d4"), "a 1-byte input: {text}");
}

#[test]
fn bad_headers_are_not_captures() {
    let good = sample_pcap(false, false, 1).bytes;
    let text = stream_err(good[..10].to_vec());
    assert!(text.contains("cut short at 10 bytes"), "{text}");
    let mut old = good.clone();
    old[4] = 1; // version 1.4
    assert!(stream_err(old).contains("version 1.4"));
    let ng = sample_pcapng(false).bytes;
    let mut bom = ng.clone();
    bom[8] = 0x99;
    assert!(stream_err(bom).contains("byte-order magic"));
    let mut v2 = ng.clone();
    v2[12] = 2;
    assert!(stream_err(v2).contains("version 2.0"));
    let mut junk_gz = gzip(&good);
    junk_gz.truncate(6);
    let text = stream_err(junk_gz);
    assert!(text.contains("gzip"), "{text}");
}

#[test]
fn missing_or_unreadable_inputs_fail_before_any_frame() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.pcap", &sample_pcap(false, false, 1).bytes);
    let missing = dir.path().join("nope.pcap").to_string_lossy().into_owned();
    let (err, text) = open_err(&[good.clone(), missing.clone()]);
    assert!(matches!(err, CaptureError::Io { .. }), "{err:?}");
    assert!(text.starts_with(&missing), "{text}");
    let dirname = dir.path().to_string_lossy().into_owned();
    let (err, text) = open_err(&[good.clone(), dirname.clone()]);
    assert!(matches!(err, CaptureError::Io { .. }), "{err:?}");
    assert!(text.contains("directory"), "{text}");
    let noise = write(dir.path(), "notes.txt", b"hello, this is text\n");
    let (err, text) = open_err(&[good, noise.clone()]);
    assert!(matches!(err, CaptureError::NotACapture { .. }));
    assert!(text.starts_with(&noise), "{text}");
}

/// The frames a cut at `len` bytes must keep: those whose record ends by then.
fn kept(ends: &[usize], len: usize) -> usize {
    ends.iter().filter(|&&end| end <= len).count()
}

fn check_cut(out: &Outcome, want: &[Want], keep: usize, clean: bool, what: &str) {
    assert_frames(&out.frames, &want[..keep], 1);
    if clean {
        assert!(out.warnings.is_empty(), "{what}: {:?}", out.warnings);
        assert!(!out.info.truncated, "{what}");
    } else {
        assert_eq!(out.warnings.len(), 1, "{what}: {:?}", out.warnings);
        let w = &out.warnings[0];
        let frame = keep as u64 + 1;
        assert_eq!(w.frame, Some(frame), "{what}: {}", w.message);
        assert!(
            w.message.contains(&format!("frame {frame}")),
            "{}",
            w.message
        );
        assert!(
            w.message.contains("cut.cap"),
            "names the file: {}",
            w.message
        );
        assert!(out.info.truncated, "{what}");
    }
    assert_eq!(out.info.frames, keep as u64, "{what}");
}

#[test]
fn pcap_cut_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    for (big, nanos) in [(false, false), (true, true)] {
        let pcap = sample_pcap(big, nanos, 1);
        for len in 0..=pcap.bytes.len() {
            let bytes = &pcap.bytes[..len];
            let what = format!("pcap cut at {len}");
            let path = write(dir.path(), "cut.cap", bytes);
            let streamed = CaptureReader::from_reader("cut.cap", Trickle::new(bytes.to_vec(), 1));
            if len < 24 {
                assert!(open_captures(&[path]).is_err(), "{what}");
                assert!(streamed.is_err(), "{what}");
                continue;
            }
            let keep = kept(&pcap.ends, len);
            let clean = len == 24 || pcap.ends.contains(&len);
            let mapped = read_within(open_captures(&[path]).unwrap(), 10);
            check_cut(&mapped, &pcap.frames, keep, clean, &what);
            let streamed = read_within(streamed.unwrap(), 10);
            check_cut(&streamed, &pcap.frames, keep, clean, &what);
        }
    }
}

#[test]
fn pcapng_cut_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    for big in [false, true] {
        let ng = sample_pcapng(big);
        for len in 0..=ng.bytes.len() {
            let bytes = &ng.bytes[..len];
            let what = format!("pcapng cut at {len}");
            let path = write(dir.path(), "cut.cap", bytes);
            let streamed = CaptureReader::from_reader("cut.cap", Trickle::new(bytes.to_vec(), 1));
            if len < 16 {
                assert!(open_captures(&[path]).is_err(), "{what}");
                assert!(streamed.is_err(), "{what}");
                continue;
            }
            let keep = kept(&ng.frame_ends, len);
            let clean = ng.ends.contains(&len);
            let mapped = read_within(open_captures(&[path]).unwrap(), 10);
            check_cut(&mapped, &ng.frames, keep, clean, &what);
            let streamed = read_within(streamed.unwrap(), 10);
            check_cut(&streamed, &ng.frames, keep, clean, &what);
        }
    }
}

#[test]
fn gzip_cut_at_every_offset() {
    let dir = tempfile::tempdir().unwrap();
    let ng = sample_pcapng(false);
    let gz = gzip(&ng.bytes);
    let mut opened = 0;
    for len in 1..gz.len() {
        let path = write(dir.path(), "cut.cap", &gz[..len]);
        let Ok(reader) = open_captures(&[path]) else {
            continue; // too little left to see the capture's header: an error, fine
        };
        opened += 1;
        let out = read_within(reader, 10);
        let n = out.frames.len();
        assert_frames(&out.frames, &ng.frames[..n], 1);
        assert!(
            out.info.truncated,
            "a cut gzip stream is damage (cut at {len})"
        );
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert_eq!(out.warnings[0].frame, Some(n as u64 + 1));
        assert!(out.warnings[0].message.contains("uncompressed byte"));
    }
    assert!(opened > gz.len() / 2, "most cuts still open ({opened})");
}

/// A pcapng with one good frame, then `bad` appended, then one more good frame.
fn ng_with(bad: impl FnOnce(&mut Ng)) -> Ng {
    let mut ng = Ng::new();
    ng.shb(false);
    ng.idb(1, 0, &[]);
    ng.epb(0, 1_000_000, &payload(1, 30), 30, (1, 0, 6));
    bad(&mut ng);
    ng.epb(0, 2_000_000, &payload(2, 30), 30, (2, 0, 6));
    ng
}

/// Reads `first` (damaged) then a clean pcap, as one capture; checks the
/// damage warning and that numbering carries on into the second file.
fn expect_damage(first: &[u8], kept: usize, needle: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let next = sample_pcap(false, false, 1);
    let paths = [
        write(dir.path(), "bad.cap", first),
        write(dir.path(), "next.pcap", &next.bytes),
    ];
    let out = read_within(open_captures(&paths).unwrap(), 10);
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    let w = &out.warnings[0];
    assert_eq!(w.frame, Some(kept as u64 + 1), "{}", w.message);
    assert!(w.message.contains(needle), "{needle:?} in: {}", w.message);
    assert!(w.message.contains("bad.cap"), "{}", w.message);
    assert!(out.info.truncated);
    // Frames before the damage, then the whole next file, numbered on.
    assert_eq!(out.frames.len(), kept + next.frames.len());
    assert_frames(&out.frames[kept..], &next.frames, kept as u64 + 1);
    // And the same through the streaming source.
    let streamed = CaptureReader::from_reader("bad.cap", Trickle::new(first.to_vec(), 1)).unwrap();
    let s = read_within(streamed, 10);
    assert_eq!(s.frames.len(), kept);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].message.contains(needle),
        "{}",
        s.warnings[0].message
    );
    w.message.clone()
}

#[test]
fn pcapng_lying_block_length() {
    // Trailing copy differs from the leading length.
    let ng = ng_with(|ng| {
        ng.block_with_lengths(EPB, &[0; 28], 40, 44);
    });
    let msg = expect_damage(&ng.bytes, 1, "lying block length");
    assert!(msg.contains("Enhanced Packet"), "{msg}");
    // Leading length too long: the "trailer" is read from the next block.
    let ng = ng_with(|ng| {
        ng.block_with_lengths(0x0000_0005, &[0; 20], 36, 32);
    });
    expect_damage(&ng.bytes, 1, "lying block length");
}

#[test]
fn pcap_absurd_record_lengths() {
    for incl in [0x7fff_ffff, 262_145, u32::MAX] {
        let mut p = Pcap::new(false, false, 1);
        p.record(1, 2, &payload(1, 10), 10);
        p.record_header(1, 3, incl, 100);
        p.bytes.extend_from_slice(&[0; 64]);
        let msg = expect_damage(&p.bytes, 1, "impossible record length");
        assert!(msg.contains(&incl.to_string()), "{msg}");
    }
    // The cap itself is allowed.
    let mut p = Pcap::new(true, false, 1);
    p.record(1, 2, &payload(1, 262_144), 262_144);
    let out = read_within(
        CaptureReader::from_reader("max", Trickle::new(p.bytes.clone(), 4096)).unwrap(),
        10,
    );
    assert_frames(&out.frames, &p.frames, 1);
    assert!(out.warnings.is_empty());
}

/// Appends something broken to a pcapng under construction.
type Spoil = Box<dyn Fn(&mut Ng)>;

#[test]
fn pcapng_impossible_blocks() {
    let cases: Vec<(Spoil, &str)> = vec![
        (
            Box::new(|ng| {
                ng.block_with_lengths(EPB, &[0; 28], 0xFFFF_FFF0, 0xFFFF_FFF0);
            }),
            "impossible block length",
        ),
        (
            Box::new(|ng| {
                ng.block_with_lengths(EPB, &[0; 28], 42, 42);
            }),
            "multiple of 4",
        ),
        (
            Box::new(|ng| {
                ng.block_with_lengths(0x0000_0004, &[], 8, 8);
            }),
            "at least 12",
        ),
        (
            Box::new(|ng| {
                let mut body = [ng.e32(0), ng.e32(0), ng.e32(1), ng.e32(0x1000_0000)].concat();
                body.extend_from_slice(&ng.e32(10));
                body.extend_from_slice(&[0; 12]);
                ng.block(EPB, &body);
            }),
            "impossible record length",
        ),
        (
            Box::new(|ng| {
                let mut body = [ng.e32(0), ng.e32(0), ng.e32(1), ng.e32(100)].concat();
                body.extend_from_slice(&ng.e32(100));
                body.extend_from_slice(&[0; 12]);
                ng.block(EPB, &body);
            }),
            "cannot hold the 100 captured bytes",
        ),
        (
            Box::new(|ng| {
                let mut body = [ng.e32(5), ng.e32(0), ng.e32(1), ng.e32(4)].concat();
                body.extend_from_slice(&ng.e32(4));
                body.extend_from_slice(&[0; 4]);
                ng.block(EPB, &body);
            }),
            "refers to interface 5",
        ),
        (
            Box::new(|ng| {
                // A giant unknown block is skipped by length and runs off the end.
                ng.block_with_lengths(0x0000_0BAD, &[0; 8], 0x7FFF_FFF0, 0x7FFF_FFF0);
            }),
            "file ends inside a pcapng Custom block",
        ),
        (
            Box::new(|ng| {
                // A new section whose byte-order magic is garbage.
                let mut body = vec![0x11, 0x22, 0x33, 0x44];
                body.extend_from_slice(&[0; 12]);
                ng.block(0x0A0D_0D0A, &body);
            }),
            "byte-order magic",
        ),
        (
            Box::new(|ng| {
                // A new section that forgets its interfaces: SPB has no interface 0.
                ng.shb(true);
                ng.block(SPB, &[0, 0, 0, 4, 1, 2, 3, 4]);
            }),
            "refers to interface 0",
        ),
    ];
    for (make, needle) in cases {
        let ng = ng_with(make);
        expect_damage(&ng.bytes, 1, needle);
    }
}

#[test]
fn damage_inside_second_file_keeps_numbering_of_first() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_pcapng(true);
    let b = sample_pcap(false, true, 1);
    let cut = b.ends[1] + 5; // two frames, then a cut record
    let paths = [
        write(dir.path(), "a.pcapng", &a.bytes),
        write(dir.path(), "b.pcap", &b.bytes[..cut]),
    ];
    let out = read_within(open_captures(&paths).unwrap(), 10);
    let n = a.frames.len();
    assert_eq!(out.frames.len(), n + 2);
    assert_frames(&out.frames[n..], &b.frames[..2], n as u64 + 1);
    // a.pcapng's latest frame (2e9 s) is later than b.pcap's first (1.7e9 s).
    assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    assert_eq!(out.warnings[0].frame, Some(n as u64 + 1));
    assert!(out.warnings[0].message.contains("out of time order"));
    assert_eq!(out.warnings[1].frame, Some(n as u64 + 3));
    assert!(out.warnings[1].message.contains("b.pcap"));
    assert!(out.warnings[1].message.contains("2 earlier frame(s)"));
    let files = &out.info.files;
    assert_eq!(files.len(), 2);
    assert!(!files[0].truncated);
    assert!(files[1].truncated, "the damage is b.pcap's");
    assert_eq!((files[1].first_frame, files[1].frames), (n as u64 + 1, 2));
}

#[test]
fn odd_but_readable_blocks_are_notes_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut ng = Ng::new();
    ng.shb(false);
    // if_tsresol 9, then an option claiming 200 bytes in a small block.
    let body = [
        ng.e16(1).to_vec(),
        vec![0, 0],
        ng.e32(0).to_vec(),
        ng.e16(9).to_vec(),
        ng.e16(1).to_vec(),
        vec![9, 0, 0, 0],
        ng.e16(2).to_vec(),
        ng.e16(200).to_vec(),
        vec![b'x'; 8],
    ]
    .concat();
    ng.idb(1, 0, &[]); // keeps the builder's interface list in step
    let idb_start = ng.ends[0];
    ng.bytes.truncate(idb_start);
    ng.ends.pop();
    ng.block(IDB, &body);
    ng.block(0x0000_0009, b"MESSAGE=hi\n");
    ng.block(0x0000_0009, b"MESSAGE=again\n");
    ng.epb(0, 7_000_000_001, &payload(1, 8), 8, (7, 1, 9));
    let path = write(dir.path(), "odd.pcapng", &ng.bytes);
    let out = read_within(open_captures(&[path]).unwrap(), 10);
    assert_frames(&out.frames, &ng.frames, 1);
    assert!(!out.info.truncated);
    // The second Journal Export block is only counted, in a last warning.
    assert_eq!(out.warnings.len(), 3, "{:?}", out.warnings);
    assert!(out.warnings[0].message.contains("runs past the end"));
    assert!(out.warnings[1].message.contains("systemd Journal Export"));
    assert!(
        out.warnings[2]
            .message
            .contains("1 more systemd Journal Export blocks"),
        "{}",
        out.warnings[2].message
    );
    assert!(out.warnings.iter().all(|w| w.frame == Some(1)));
}

/// Reads `bytes` memory-mapped (as `name`) and streamed a few bytes at a
/// time; both must give the same frames and warnings, which are returned.
fn read_both(name: &str, bytes: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    let mapped = read_within(open_captures(&[path]).unwrap(), 30);
    for chunk in [1, 7, 4096] {
        let streamed = read_within(
            CaptureReader::from_reader(name, Trickle::new(bytes.to_vec(), chunk)).unwrap(),
            30,
        );
        assert_eq!(streamed.frames, mapped.frames, "chunk {chunk}");
        // Same warnings but for the name: a path when mapped.
        let text = |o: &Outcome| -> Vec<(Option<u64>, String)> {
            o.warnings
                .iter()
                .map(|w| (w.frame, w.message.rsplit(name).next().unwrap().to_string()))
                .collect()
        };
        assert_eq!(text(&streamed), text(&mapped), "chunk {chunk}");
        assert_eq!(streamed.info.frames, mapped.info.frames);
        assert_eq!(streamed.info.truncated, mapped.info.truncated);
    }
    mapped
}

/// Checks warnings are exactly `want`: (frame, words the message must contain).
fn check_warnings(out: &Outcome, want: &[(u64, &[&str])]) {
    let got: Vec<_> = out
        .warnings
        .iter()
        .map(|w| (w.frame, w.message.as_str()))
        .collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((frame, message), (want_frame, words)) in got.iter().zip(want) {
        assert_eq!(*frame, Some(*want_frame), "{message}");
        for word in *words {
            assert!(message.contains(word), "{word:?} in: {message}");
        }
    }
}

#[test]
fn pcap_record_header_lies_are_frames_warned_once_per_kind() {
    let mut p = Pcap::new(false, false, 1);
    let d60 = payload(1, 60);
    let d10 = payload(2, 10);
    p.record(1, 1, &d60, 60); // 1: clean
    p.record(1, 2, &d60, 20); // 2: orig_len < caplen
    p.record(1, 3, &d60, u32::MAX); // 3: orig_len 0xFFFFFFFF
    p.record(1, 4, &[], 60); // 4: caplen 0
    p.record(1, 5, &d10, 0); // 5: orig_len 0
    p.record(1, 6, &d10, 16 * 1024 * 1024 + 1); // 6: absurd, again
    p.record(1, 7, &d10, 5); // 7: orig_len < caplen, again
    p.record(1, 8, &d10, 9); // 8: and again
    p.record(1, 9, &[], 0); // 9: caplen 0, again
    p.record(1, 10, &d10, 16 * 1024 * 1024); // 10: the largest believed: clean
    p.record(1, 11, &d10, 10); // 11: clean
    // What the reader makes of them: orig_len never below the captured bytes.
    for (frame, orig) in [(2, 60), (3, 60), (5, 10), (6, 10), (7, 10), (8, 10)] {
        p.frames[frame - 1].orig_len = orig;
    }
    let out = read_both("lies.pcap", &p.bytes);
    assert_frames(&out.frames, &p.frames, 1);
    assert!(
        !out.info.truncated,
        "lies that still frame a record are no damage"
    );
    assert_eq!(out.info.frames, 11);
    assert!(
        out.frames
            .iter()
            .all(|f| f.want.data.len() as u32 <= f.want.orig_len)
    );
    check_warnings(
        &out,
        &[
            (
                2,
                &[
                    "lies.pcap: frame 2 (a pcap record)",
                    "original length of 20",
                    "60 captured",
                    "taken as 60",
                ],
            ),
            (
                3,
                &[
                    "frame 3",
                    "4294967295 bytes (0xFFFFFFFF)",
                    "taken as its 60 captured",
                ],
            ),
            (
                4,
                &[
                    "frame 4",
                    "no captured bytes",
                    "original length 60",
                    "empty frame",
                ],
            ),
            (5, &["frame 5", "original length of 0", "taken as 10"]),
            // At the end of the file, in a fixed order of kinds.
            (
                9,
                &[
                    "lies.pcap: 1 more records with no captured bytes",
                    "warned at frame 4",
                    "at frame 9",
                ],
            ),
            (
                7,
                &[
                    "2 more records whose original length is smaller",
                    "warned at frame 2",
                    "frames 7 to 8",
                ],
            ),
            (
                6,
                &[
                    "1 more records with an impossible original length",
                    "warned at frame 3",
                    "at frame 6",
                ],
            ),
        ],
    );
}

#[test]
fn record_header_lies_are_warned_once_per_file_not_once_per_capture() {
    let dir = tempfile::tempdir().unwrap();
    let lying = |secs| {
        let mut p = Pcap::new(true, true, 1);
        p.record(secs, 1, &payload(1, 30), 3);
        p.record(secs, 2, &payload(1, 30), 3);
        p.bytes
    };
    let paths = [
        write(dir.path(), "one.pcap", &lying(1)),
        write(dir.path(), "two.pcap", &lying(2)),
    ];
    let out = read_within(open_captures(&paths).unwrap(), 10);
    check_warnings(
        &out,
        &[
            (1, &["one.pcap: frame 1", "original length of 3"]),
            (2, &["one.pcap: 1 more", "at frame 2"]),
            (3, &["two.pcap: frame 3", "original length of 3"]),
            (4, &["two.pcap: 1 more", "at frame 4"]),
        ],
    );
}

#[test]
fn a_million_lying_records_make_two_warnings() {
    // 16-byte empty records: the cheapest flood a file can hold.
    let mut p = Pcap::new(false, false, 1);
    for i in 0..1_000_000u32 {
        p.record_header(1, i % 1_000_000, 0, u32::MAX);
    }
    let reader = CaptureReader::from_reader("flood", Trickle::new(p.bytes, 1 << 16)).unwrap();
    let out = read_within(reader, 120);
    assert_eq!(out.frames.len(), 1_000_000);
    check_warnings(
        &out,
        &[
            (1, &["frame 1", "0xFFFFFFFF"]),
            (
                2,
                &[
                    "999999 more records with an impossible",
                    "frames 2 to 1000000",
                ],
            ),
        ],
    );
    assert!(
        out.frames
            .iter()
            .all(|f| f.want.orig_len == 0 && f.want.data.is_empty())
    );
}

#[test]
fn pcapng_packet_block_lies_are_frames_warned_once_per_kind() {
    let mut ng = Ng::new();
    ng.shb(false);
    ng.idb(1, 0, &[]);
    let d60 = payload(1, 60);
    let ts = |us: u32| (1, us * 1000, 6);
    ng.epb(0, 1_000_001, &d60, 60, ts(1)); // 1: clean
    ng.epb(0, 1_000_002, &[], 60, ts(2)); // 2: caplen 0
    ng.epb(0, 1_000_003, &d60, 0, ts(3)); // 3: origlen 0
    ng.epb(0, 1_000_004, &d60, u32::MAX, ts(4)); // 4: origlen 0xFFFFFFFF
    ng.epb(0, 1_000_005, &d60, 20, ts(5)); // 5: origlen < caplen
    ng.opb(0, 1_000_006, &payload(2, 7), 5, ts(6)); // 6: OPB origlen < caplen
    ng.spb(&[], 0, ts(6)); // 7: SPB origlen 0: nothing captured
    ng.spb(&payload(3, 8), u32::MAX, ts(6)); // 8: SPB origlen 0xFFFFFFFF
    ng.epb(0, 1_000_009, &d60, 1514, ts(9)); // 9: clean (a snapshot length cut)
    for (frame, orig) in [(3, 60), (4, 60), (5, 60), (6, 7), (8, 8)] {
        ng.frames[frame - 1].orig_len = orig;
    }
    let out = read_both("lies.pcapng", &ng.bytes);
    assert_frames(&out.frames, &ng.frames, 1);
    assert!(!out.info.truncated);
    assert!(
        out.frames
            .iter()
            .all(|f| f.want.data.len() as u32 <= f.want.orig_len)
    );
    check_warnings(
        &out,
        &[
            (
                2,
                &[
                    "frame 2 (a pcapng Enhanced Packet block) has no captured bytes",
                    "original length 60",
                ],
            ),
            (
                3,
                &[
                    "frame 3 (a pcapng Enhanced Packet block)",
                    "original length of 0",
                    "taken as 60",
                ],
            ),
            (4, &["frame 4", "(0xFFFFFFFF)", "taken as its 60 captured"]),
            (5, &["frame 5", "original length of 20", "taken as 60"]),
            (7, &["1 more records with no captured bytes", "at frame 7"]),
            (
                6,
                &[
                    "1 more records whose original length is smaller",
                    "at frame 6",
                ],
            ),
            (
                8,
                &[
                    "1 more records with an impossible original length",
                    "at frame 8",
                ],
            ),
        ],
    );
}

#[test]
fn pcapng_interface_notes_are_warned_once_per_file() {
    let mut ng = Ng::new();
    ng.shb(false);
    for _ in 0..1000 {
        ng.idb(1, 0, &[(9, vec![0x7f])]);
    }
    ng.epb(999, 5_000_000, &payload(1, 4), 4, (5, 0, 6));
    let out = read_both("res.pcapng", &ng.bytes);
    assert_frames(&out.frames, &ng.frames, 1);
    check_warnings(
        &out,
        &[
            (1, &["interface 0: unusable timestamp resolution"]),
            (
                1,
                &["999 more interfaces with an unusable timestamp resolution"],
            ),
        ],
    );
}

#[test]
fn pcapng_section_with_too_many_interfaces_is_damage() {
    // 20-byte interface blocks are the cheapest way to make a reader hold memory.
    let mut ng = Ng::new();
    ng.shb(false);
    ng.idb(1, 0, &[]);
    ng.epb(0, 1_000_000, &payload(1, 30), 30, (1, 0, 6));
    for _ in 1..65_536 {
        ng.idb(1, 0, &[]);
    }
    ng.epb(65_535, 2_000_000, &payload(2, 30), 30, (2, 0, 6));
    let ok = read_both("many.pcapng", &ng.bytes);
    assert_frames(&ok.frames, &ng.frames, 1);
    assert!(ok.warnings.is_empty(), "65,536 interfaces are allowed");
    ng.idb(1, 0, &[]);
    ng.epb(0, 3_000_000, &payload(3, 30), 30, (3, 0, 6));
    let out = read_both("many.pcapng", &ng.bytes);
    assert_frames(&out.frames, &ng.frames[..2], 1);
    assert!(out.info.truncated);
    check_warnings(&out, &[(3, &["more than 65536 interfaces"])]);
}

#[test]
fn link_types_alternating_frame_by_frame_stay_cheap() {
    // As many link types as pcapng can name, and frames switching between
    // them: every frame's link type is looked up among those seen.
    let mut ng = Ng::new();
    ng.shb(false);
    for link in 0..=u16::MAX {
        ng.idb(link, 0, &[]);
    }
    for i in 0..200_000u32 {
        let iface = (u64::from(i) * 40_503 % 65_536) as u32;
        ng.epb(iface, u64::from(i), &[], 0, (0, i * 1000, 6));
    }
    let reader = CaptureReader::from_reader("links", Trickle::new(ng.bytes, 1 << 16)).unwrap();
    // About 1 s in a debug build; a linear search of the link types seen
    // took 50 s here.
    let out = read_within(reader, 20);
    assert_eq!(out.frames.len(), 200_000);
    assert_eq!(out.info.link_types.len(), 65_536);
    let first: Vec<u32> = out.frames.iter().take(3).map(|f| f.want.link.0).collect();
    assert_eq!(
        out.info.link_types[..3]
            .iter()
            .map(|l| l.0)
            .collect::<Vec<_>>(),
        first,
        "in order of first appearance"
    );
}
