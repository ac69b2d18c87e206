//! Reading well-formed captures: every pcap variant, pcapng block kinds and
//! byte orders, gzip, several inputs, and streaming through a trickling reader.

mod capture_support;

use capture_support::*;
use mqtt_inspect::base::{LinkType, Timestamp};
use mqtt_inspect::capture::{CaptureError, CaptureReader, open_captures};

fn open(paths: &[String]) -> CaptureReader {
    open_captures(paths).unwrap_or_else(|e| panic!("open {paths:?}: {e}"))
}

#[test]
fn pcap_all_four_variants() {
    let dir = tempfile::tempdir().unwrap();
    for (big, nanos, link) in [
        (false, false, 1),
        (true, false, 113),
        (false, true, 276),
        (true, true, 101),
    ] {
        let pcap = sample_pcap(big, nanos, link);
        let path = write(dir.path(), "v.pcap", &pcap.bytes);
        let mut reader = open(std::slice::from_ref(&path));
        let got = read_all(&mut reader);
        assert_frames(&got, &pcap.frames, 1);
        // Spot-check the builder's arithmetic against literal values.
        let second = &got[1].want;
        let want_nanos = if nanos { 999_999_007 } else { 999_999_000 };
        assert_eq!((second.secs, second.nanos), (1_700_000_001, want_nanos));
        assert_eq!(got[3].want.secs, 4_000_000_000, "u32 seconds are unsigned");
        let info = reader.info();
        assert_eq!(info.frames, 4);
        assert_eq!(info.bytes, 60 + 1 + 2 + 33);
        assert_eq!(info.link_types, vec![LinkType(link)]);
        assert_eq!(info.sources, vec![path]);
        assert!(!info.truncated);
        let digits = if nanos { 9 } else { 6 };
        assert_eq!(
            info.first_ts.map(|t| (t.secs, t.digits)),
            Some((1_700_000_000, digits))
        );
        assert_eq!(info.last_ts.map(|t| t.secs), Some(4_000_000_000));
        assert!(reader.take_warnings().is_empty());
    }
}

#[test]
fn pcap_link_type_ignores_fcs_bits() {
    let dir = tempfile::tempdir().unwrap();
    // Bit 26 set and FCS length 4 in bits 28..31, as libpcap writes for Ethernet with FCS.
    let pcap = sample_pcap(false, false, 0x4400_0001);
    let path = write(dir.path(), "fcs.pcap", &pcap.bytes);
    let mut reader = open(&[path]);
    let frame = reader.next_frame().unwrap();
    assert_eq!(frame.link, LinkType::ETHERNET);
}

#[test]
fn pcapng_both_byte_orders_every_block_kind() {
    let dir = tempfile::tempdir().unwrap();
    for big in [false, true] {
        let ng = sample_pcapng(big);
        let path = write(dir.path(), "s.pcapng", &ng.bytes);
        let mut reader = open(&[path]);
        let got = read_all(&mut reader);
        assert_frames(&got, &ng.frames, 1);
        // Literal checks of what the builder encodes.
        assert_eq!(got.len(), 8);
        assert_eq!(
            got[1].want.data.len(),
            8,
            "SPB cut to interface 0's snaplen"
        );
        assert_eq!(got[1].want.orig_len, 20);
        assert_eq!(got[2].want.data.len(), 5, "SPB padding is not data");
        assert_eq!((got[4].want.secs, got[4].want.nanos), (105, 500_000_000));
        assert_eq!(got[4].want.link, LinkType::RAW);
        assert_eq!(got[5].want.link, LinkType::LINUX_SLL2, "OPB on interface 1");
        assert_eq!(
            got[6].want.link,
            LinkType::IPV4,
            "new section, new interface 0"
        );
        assert_eq!(
            got[7].want.link,
            LinkType::IPV4,
            "SPB uses the new interface 0"
        );
        let info = reader.info();
        assert_eq!(
            info.link_types,
            vec![
                LinkType::ETHERNET,
                LinkType::LINUX_SLL2,
                LinkType::RAW,
                LinkType::IPV4
            ]
        );
        assert_eq!(info.frames, 8);
        let bytes: usize = ng.frames.iter().map(|f| f.data.len()).sum();
        assert_eq!(info.bytes, bytes as u64);
        // The earliest and the latest, not the first and the last frame's.
        assert_eq!(info.first_ts, Some(Timestamp::new(1, 234_567_000, 6)));
        assert_eq!(info.last_ts, Some(Timestamp::new(2_000_000_000, 1, 9)));
        assert!(!info.truncated);
        assert!(reader.take_warnings().is_empty());
    }
}

#[test]
fn pcapng_spb_first_has_timestamp_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut ng = Ng::new();
    ng.shb(false);
    ng.idb(1, 0, &[(9, vec![9])]);
    ng.spb(&payload(1, 12), 12, (0, 0, 9));
    let path = write(dir.path(), "spb.pcapng", &ng.bytes);
    let mut reader = open(&[path]);
    assert_frames(&read_all(&mut reader), &ng.frames, 1);
}

#[test]
fn pcapng_bad_tsresol_is_a_warning_and_microseconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut ng = Ng::new();
    ng.shb(false);
    ng.idb(1, 0, &[(9, vec![0x7f])]);
    ng.epb(0, 3_000_004, &payload(1, 4), 4, (3, 4_000, 6));
    let path = write(dir.path(), "res.pcapng", &ng.bytes);
    let mut reader = open(&[path]);
    assert_frames(&read_all(&mut reader), &ng.frames, 1);
    let warnings = reader.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].frame, Some(1));
    assert!(warnings[0].message.contains("timestamp resolution"));
    assert!(!reader.info().truncated, "an odd option is not damage");
}

#[test]
fn pcapng_huge_unknown_block_is_skipped_without_buffering() {
    // Bigger than anything the reader buffers whole: goes through the skip path.
    let dir = tempfile::tempdir().unwrap();
    let mut ng = Ng::new();
    ng.shb(true);
    ng.idb(1, 0, &[]);
    ng.epb(0, 1, &payload(1, 10), 10, (0, 1_000, 6));
    ng.block(0x0000_0BAD, &vec![0x55; 3 * 1024 * 1024 + 3]);
    ng.epb(0, 2, &payload(2, 10), 10, (0, 2_000, 6));
    let path = write(dir.path(), "big.pcapng", &ng.bytes);
    let mut reader = open(&[path]);
    assert_frames(&read_all(&mut reader), &ng.frames, 1);
    let mut streamed =
        CaptureReader::from_reader("big", Trickle::new(ng.bytes.clone(), 70_000)).unwrap();
    assert_frames(&read_all(&mut streamed), &ng.frames, 1);
    assert!(streamed.take_warnings().is_empty());
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = sample_pcap(true, true, 1);
    let ng = sample_pcapng(false);
    // Two gzip members back to back, as `cat a.gz b.gz` makes.
    let half = ng.bytes.len() / 2;
    let multi = [gzip(&ng.bytes[..half]), gzip(&ng.bytes[half..])].concat();
    for (name, bytes, frames) in [
        ("plain-name.pcap", gzip(&pcap.bytes), &pcap.frames),
        ("x.pcapng.gz", gzip(&ng.bytes), &ng.frames),
        ("multi.bin", multi, &ng.frames),
    ] {
        let path = write(dir.path(), name, &bytes);
        let mut reader = open(&[path]);
        assert_frames(&read_all(&mut reader), frames, 1);
        assert!(reader.take_warnings().is_empty(), "{name}");
        let mut streamed = CaptureReader::from_reader(name, Trickle::new(bytes, 3)).unwrap();
        assert_frames(&read_all(&mut streamed), frames, 1);
    }
}

#[test]
fn several_inputs_are_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_pcap(false, false, 1);
    let b = sample_pcapng(true);
    let c = sample_pcap(true, true, 113);
    let paths = vec![
        write(dir.path(), "a.pcap", &a.bytes),
        write(dir.path(), "b.pcapng.gz", &gzip(&b.bytes)),
        write(dir.path(), "c.dat", &c.bytes),
    ];
    let mut reader = open(&paths);
    let got = read_all(&mut reader);
    let want: Vec<Want> = [&a.frames, &b.frames, &c.frames]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    assert_frames(&got, &want, 1);
    let info = reader.info();
    assert_eq!(info.sources, paths);
    assert_eq!(
        info.frames,
        (a.frames.len() + b.frames.len() + c.frames.len()) as u64
    );
    assert_eq!(info.first_ts, Some(Timestamp::new(1, 234_567_000, 6)));
    assert_eq!(info.last_ts.map(|t| t.secs), Some(4_000_000_000));
    assert_eq!(
        info.link_types,
        vec![
            LinkType::ETHERNET,
            LinkType::LINUX_SLL2,
            LinkType::RAW,
            LinkType::IPV4,
            LinkType::LINUX_SLL
        ]
    );
    // Files a (latest 4e9 s) and b (latest 2e9 s) end later than the next
    // one begins (1.7e9 s): one warning at each boundary.
    let warnings = reader.take_warnings();
    let order: Vec<Option<u64>> = warnings.iter().map(|w| w.frame).collect();
    let (na, nb) = (a.frames.len() as u64, b.frames.len() as u64);
    assert_eq!(order, vec![Some(na + 1), Some(na + nb + 1)], "{warnings:?}");
    assert!(warnings[0].message.contains("b.pcapng.gz begins"));
    assert!(warnings[1].message.contains("c.dat begins"));
    let table: Vec<(u64, u64)> = reader
        .info()
        .files
        .iter()
        .map(|f| (f.first_frame, f.frames))
        .collect();
    assert_eq!(
        table,
        vec![(1, na), (na + 1, nb), (na + nb + 1, c.frames.len() as u64)]
    );
}

#[test]
fn streaming_one_byte_at_a_time_matches_mmap() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        sample_pcap(false, false, 1).bytes,
        sample_pcap(true, true, 1).bytes,
        sample_pcapng(false).bytes,
        sample_pcapng(true).bytes,
    ];
    for bytes in inputs {
        let path = write(dir.path(), "m", &bytes);
        let mapped = read_all(&mut open(&[path]));
        for chunk in [1, 2, 5, 4096] {
            let mut streamed =
                CaptureReader::from_reader("pipe", Trickle::new(bytes.clone(), chunk)).unwrap();
            assert_eq!(read_all(&mut streamed), mapped, "chunk {chunk}");
            assert!(!streamed.info().truncated);
            assert_eq!(streamed.info().sources, vec!["pipe".to_string()]);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_streamed_not_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let ng = sample_pcapng(false);
    let bytes = gzip(&ng.bytes);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, bytes).unwrap());
    let mut reader = open(&[fifo.to_string_lossy().into_owned()]);
    assert_frames(&read_all(&mut reader), &ng.frames, 1);
    writer.join().unwrap();
}

#[test]
fn stdin_only_once() {
    let err = open_captures(&["-".to_string(), "-".to_string()])
        .err()
        .expect("two stdins refused");
    assert!(matches!(err, CaptureError::StdinTwice), "{err}");
}

#[test]
fn no_inputs_no_frames() {
    let mut reader = open(&[]);
    assert!(reader.next_frame().is_none());
    assert_eq!(reader.info().frames, 0);
}

#[test]
fn mapped_frames_are_views_into_the_file_image() {
    // Without copying, consecutive records' bytes lie exactly one record
    // header apart in memory, as they do in the file.
    let dir = tempfile::tempdir().unwrap();
    let pcap = sample_pcap(false, true, 1);
    let path = write(dir.path(), "z.pcap", &pcap.bytes);
    let mut reader = open(&[path]);
    let (first_ptr, first_len) = {
        let frame = reader.next_frame().unwrap();
        assert_eq!(frame.data, &pcap.frames[0].data[..]);
        (frame.data.as_ptr() as usize, frame.data.len())
    };
    let frame = reader.next_frame().unwrap();
    assert_eq!(frame.data, &pcap.frames[1].data[..]);
    assert_eq!(frame.data.as_ptr() as usize, first_ptr + first_len + 16);
}

/// A pcap whose frames have these capture times (whole seconds).
fn pcap_at(secs: &[u32]) -> Pcap {
    let mut p = Pcap::new(false, false, 1);
    for (i, &s) in secs.iter().enumerate() {
        p.record(s, 0, &payload(i as u8, 20), 20);
    }
    p
}

#[test]
fn two_files_in_time_order_keep_a_table_of_where_each_frame_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let a = pcap_at(&[100, 102, 101]);
    let b = pcap_at(&[103, 105]);
    let paths = vec![
        write(dir.path(), "a.pcap", &a.bytes),
        write(dir.path(), "b.pcap", &b.bytes),
    ];
    let mut reader = open(&paths);
    let got = read_all(&mut reader);
    assert_eq!(got.len(), 5);
    assert!(
        reader.take_warnings().is_empty(),
        "in time order: no warning"
    );
    let info = reader.info();
    let files = &info.files;
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].name, paths[0], "the name as given");
    assert_eq!(files[1].name, paths[1]);
    assert_eq!((files[0].first_frame, files[0].frames), (1, 3));
    assert_eq!((files[1].first_frame, files[1].frames), (4, 2));
    // The earliest and latest of each file, not its first and last frame's.
    let secs = |t: Option<Timestamp>| t.map(|t| t.secs);
    assert_eq!(
        (secs(files[0].first_ts), secs(files[0].last_ts)),
        (Some(100), Some(102))
    );
    assert_eq!(
        (secs(files[1].first_ts), secs(files[1].last_ts)),
        (Some(103), Some(105))
    );
    assert_eq!(
        (secs(info.first_ts), secs(info.last_ts)),
        (Some(100), Some(105))
    );
    assert!(files.iter().all(|f| !f.truncated));
    for (frame, place) in [(1, (0, 1)), (3, (0, 3)), (4, (1, 1)), (5, (1, 2))] {
        assert_eq!(info.locate(frame), Some(place), "frame {frame}");
    }
    assert_eq!(info.locate(6), None);
}

#[test]
fn a_file_that_starts_before_the_previous_one_ends_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let a = pcap_at(&[100, 110, 105]);
    let empty = Pcap::new(true, true, 1);
    let b = pcap_at(&[108, 120]);
    let c = pcap_at(&[130]);
    let paths = vec![
        write(dir.path(), "a.pcap", &a.bytes),
        write(dir.path(), "empty.pcap", &empty.bytes),
        write(dir.path(), "b.pcap", &b.bytes),
        write(dir.path(), "c.pcap", &c.bytes),
    ];
    let mut reader = open(&paths);
    assert_eq!(read_all(&mut reader).len(), 6);
    let warnings = reader.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    // b.pcap's first frame (108 s) is earlier than a.pcap's latest (110 s,
    // its frame 2); the empty file between them changes nothing.
    assert_eq!(w.frame, Some(4));
    for words in [
        "files out of time order",
        "b.pcap begins at 108.000000 (frame 4, its frame 1)",
        "a.pcap ends at 110.000000 (frame 2, its frame 2)",
        "meaningless",
    ] {
        assert!(w.message.contains(words), "{words:?} in: {}", w.message);
    }
    let info = reader.info();
    let table: Vec<(u64, u64)> = info
        .files
        .iter()
        .map(|f| (f.first_frame, f.frames))
        .collect();
    assert_eq!(table, vec![(1, 3), (4, 0), (4, 2), (6, 1)]);
    assert_eq!(info.files[1].first_ts, None);
    assert_eq!(info.locate(4), Some((2, 1)), "not the empty file");
    assert_eq!(info.locate(6), Some((3, 1)));
    // Earliest and latest over all files: the duration is never negative.
    assert_eq!(info.first_ts.map(|t| t.secs), Some(100));
    assert_eq!(info.last_ts.map(|t| t.secs), Some(130));
}

#[test]
fn the_table_grows_as_files_are_reached() {
    let dir = tempfile::tempdir().unwrap();
    let a = pcap_at(&[1, 2]);
    let paths = vec![
        write(dir.path(), "a.pcap", &a.bytes),
        write(dir.path(), "b.pcap", &a.bytes),
    ];
    let mut reader = open(&paths);
    assert!(reader.info().files.is_empty(), "nothing read yet");
    reader.next_frame().unwrap();
    assert_eq!(reader.info().files.len(), 1);
    assert_eq!(reader.info().locate(1), Some((0, 1)));
    assert_eq!(reader.info().locate(2), None, "not read yet");
    while reader.next_frame().is_some() {}
    assert_eq!(reader.info().files.len(), 2);
    assert_eq!(reader.info().locate(4), Some((1, 2)));
    // A stream is one file named as the caller named it.
    let mut s = CaptureReader::from_reader("-", Trickle::new(a.bytes.clone(), 3)).unwrap();
    while s.next_frame().is_some() {}
    assert_eq!(s.info().files.len(), 1);
    assert_eq!(s.info().files[0].name, "-");
    assert_eq!(s.info().files[0].frames, 2);
}

/// How far reading has got (the progress bar's measure): bytes of the
/// files on disk, a gzip'd one's compressed bytes; unknown for a stream.
#[test]
fn progress_counts_the_bytes_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = sample_pcap(false, false, 1);
    let plain = write(dir.path(), "a.pcap", &pcap.bytes);
    let zipped = gzip(&pcap.bytes);
    let gz = write(dir.path(), "b.pcap.gz", &zipped);
    let total = (pcap.bytes.len() + zipped.len()) as u64;
    let mut reader = open(&[plain, gz]);
    let (done, all) = reader.progress().unwrap();
    assert_eq!(all, total);
    assert!(done < pcap.bytes.len() as u64, "{done}");
    let mut seen = vec![done];
    while reader.next_frame().is_some() {
        seen.push(reader.progress().unwrap().0);
    }
    seen.push(reader.progress().unwrap().0);
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "never backwards: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|&d| d > pcap.bytes.len() as u64 && d < total)
            || seen.contains(&total),
        "{seen:?}"
    );
    assert_eq!(
        reader.progress(),
        Some((total, total)),
        "all of it at the end"
    );

    let streamed = CaptureReader::from_reader("pipe", Trickle::new(pcap.bytes.clone(), 7)).unwrap();
    assert_eq!(streamed.progress(), None, "a stream's length is unknown");
}
