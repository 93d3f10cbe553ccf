//! Every format from the hand-written samples in `tests/data/` (see the crate README).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::path::{Path, PathBuf};

use iotrust_intel::{detect, load, load_with, parse, Entry, Error, Feed, Format, Options, Subject};
use jiff::Timestamp;

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The 1-based line of the first occurrence of `needle` in a sample.
fn line_of(rel: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in {rel}"))
}

fn subjects(feed: &Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.subject.to_string()).collect()
}

fn entry<'a>(feed: &'a Feed, subject: &str) -> &'a Entry {
    feed.entries
        .iter()
        .find(|e| e.subject.to_string() == subject)
        .unwrap_or_else(|| panic!("no entry for {subject}: {:?}", subjects(feed)))
}

fn problem_lines(feed: &Feed) -> Vec<usize> {
    feed.problems.iter().map(|p| p.line).collect()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- STIX

#[test]
fn stix_bundle() {
    let rel = "stix/bundle.json";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Stix);
    assert_eq!(
        subjects(&feed),
        vec![
            "203.0.113.7",
            "198.51.100.0/24",
            "2001:db8:bad::/48",
            "198.51.100.9",
            "203.0.113.8:48101",
            "cnc.bad.example",
            "198.51.100.23",
            "drop.bad.example",
            "192.0.2.44",
        ]
    );
    let cnc = entry(&feed, "203.0.113.7");
    assert_eq!(cnc.feed, "bundle");
    assert_eq!(cnc.entry, "Mirai CNC");
    assert_eq!(cnc.labels, vec!["botnet", "malicious-activity", "Mirai"]);
    assert_eq!(cnc.valid_from, Some(ts("2024-03-01T00:00:00Z")));
    assert_eq!(cnc.valid_until, Some(ts("2030-01-01T00:00:00Z")));
    assert_eq!(cnc.line, line_of(rel, "indicator--8e2e2d2b") - 3);
    // No name: the id is the entry name.
    assert_eq!(
        entry(&feed, "198.51.100.0/24").entry,
        "indicator--d81f86b9-975b-4c0b-875e-810c5ad45a4f"
    );
    let url = entry(&feed, "198.51.100.23");
    assert_eq!(
        url.url.as_deref(),
        Some("http://198.51.100.23:8080/bins/x.arm7")
    );
    // Revoked: inactive. Snort pattern and the file hash: unsupported.
    assert_eq!(feed.skipped_inactive, 1);
    assert_eq!(feed.skipped_unsupported, 2);
    // The bad address and 0.0.0.0/0 are problems, at their objects' lines.
    assert_eq!(
        problem_lines(&feed),
        vec![
            line_of(rel, "indicator--0a1b2c3d") - 3,
            line_of(rel, "indicator--1b2c3d4e") - 3,
        ]
    );
    assert!(feed.problems[0].message.contains("203.0.113.300"));
    assert!(feed.problems[1].message.contains("every subscriber"));
    assert_eq!(feed.problems[0].file, data(rel));
}

#[test]
fn stix_single_indicator() {
    let feed = load(&data("stix/indicator.json"), None).unwrap();
    assert_eq!(feed.format, Format::Stix);
    assert_eq!(subjects(&feed), vec!["[2001:db8::66]:6667"]);
    assert_eq!(feed.entries[0].line, 1);
    assert_eq!(feed.entries[0].labels, vec!["malicious-activity"]);
}

#[test]
fn stix_expiry() {
    let mut feed = load(&data("stix/bundle.json"), None).unwrap();
    let before = feed.entries.len();
    assert_eq!(feed.expire(ts("2024-06-01T00:00:00Z")), 1);
    assert_eq!(feed.entries.len(), before - 1);
    assert!(!subjects(&feed).contains(&"192.0.2.44".to_string()));
    // At valid_until exactly the entry is gone; past 2030 the bounded CNC goes too.
    assert_eq!(feed.expire(ts("2030-01-01T00:00:00Z")), 1);
    assert_eq!(feed.expire(ts("2030-01-01T00:00:00Z")), 0);
}

// ---------------------------------------------------------------- MISP

#[test]
fn misp_event_every_attribute_type() {
    let rel = "misp/event.json";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Misp);
    assert_eq!(
        subjects(&feed),
        vec![
            "203.0.113.10",
            "198.51.100.0/25",
            "203.0.113.11:48101",
            "[2001:db8::11]:2323",
            "cnc.mirai.example",
            "report.mirai.example",
            "loader.mirai.example",
            "198.51.100.200",
            "dl.mirai.example",
            "192.0.2.60",
            "proxy.mirai.example",
            "198.51.100.201",
        ]
    );
    let ip = entry(&feed, "203.0.113.10");
    assert_eq!(ip.entry, "a0000001-0000-4000-8000-000000000001");
    assert_eq!(
        ip.labels,
        vec![
            "Mirai variant C2 infrastructure",
            "misp-galaxy:malpedia=\"Mirai\""
        ]
    );
    assert_eq!(ip.valid_from, Some(ts("2024-04-30T10:00:00Z")));
    assert_eq!(ip.valid_until, Some(ts("2030-01-01T00:00:00Z")));
    assert_eq!(ip.line, line_of(rel, "\"id\": \"1001\"") - 1);
    // Attribute tags add to the event's.
    assert!(entry(&feed, "cnc.mirai.example")
        .labels
        .contains(&"kill-chain:Command and Control".to_string()));
    assert_eq!(
        entry(&feed, "dl.mirai.example").url.as_deref(),
        Some("http://dl.mirai.example/bins/mirai.mips")
    );
    // Object attributes are read, at their own lines.
    assert_eq!(
        entry(&feed, "proxy.mirai.example").line,
        line_of(rel, "\"id\": \"1101\"") - 1
    );
    // md5: unsupported. to_ids false and deleted: inactive.
    assert_eq!(feed.skipped_unsupported, 1);
    assert_eq!(feed.skipped_inactive, 2);
    // A bad address and loopback: problems.
    assert_eq!(
        problem_lines(&feed),
        vec![
            line_of(rel, "\"id\": \"1012\"") - 1,
            line_of(rel, "\"id\": \"1013\"") - 1
        ]
    );
    assert!(feed.problems[1].message.contains("loopback"));
}

#[test]
fn misp_to_ids_false_on_request_and_expiry() {
    let options = Options {
        include_non_ids: true,
    };
    let mut feed = load_with(&data("misp/event.json"), None, &options).unwrap();
    assert!(subjects(&feed).contains(&"192.0.2.50".to_string()));
    assert!(!subjects(&feed).contains(&"192.0.2.51".to_string()));
    assert_eq!(feed.skipped_inactive, 1);
    // last_seen in 2023: expired.
    assert_eq!(feed.expire(ts("2024-06-01T00:00:00Z")), 1);
    assert!(!subjects(&feed).contains(&"192.0.2.60".to_string()));
}

#[test]
fn misp_feed_directory_and_manifest() {
    let dir = data("misp/feed");
    for path in [dir.clone(), dir.join("manifest.json")] {
        let feed = load(&path, None).unwrap();
        assert_eq!(feed.format, Format::Misp);
        assert_eq!(
            subjects(&feed),
            vec!["203.0.113.40:666", "gafgyt.bad.example"]
        );
        assert_eq!(feed.entries[0].feed, "feed");
        assert_eq!(
            feed.entries[0].labels,
            vec!["Gafgyt C2", "misp-galaxy:malpedia=\"Bashlite\""]
        );
        // The second event is listed but its file is missing.
        assert_eq!(feed.problems.len(), 1);
        let p = &feed.problems[0];
        assert_eq!(p.file, dir.join("manifest.json"));
        assert_eq!(p.line, line_of("misp/feed/manifest.json", "7b8c9d0e-1f2a"));
    }
    // One event file of the feed on its own.
    let one = load(&dir.join("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d.json"), None).unwrap();
    assert_eq!(one.entries.len(), 2);
    // The manifest's bytes alone cannot be read without the directory.
    let bytes = std::fs::read(dir.join("manifest.json")).unwrap();
    let err = parse(&bytes, "manifest", None).unwrap_err();
    assert!(err.to_string().contains("load the directory"), "{err}");
}

#[test]
fn misp_directory_without_manifest_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load(tmp.path(), None).unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err}");
    assert!(err.to_string().contains("manifest.json"));
}

// ---------------------------------------------------------------- abuse.ch

#[test]
fn feodo_text() {
    let rel = "feodo/ipblocklist.txt";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Feodo);
    assert_eq!(
        subjects(&feed),
        vec!["203.0.113.20", "198.51.100.77", "2001:db8::20"]
    );
    assert_eq!(feed.entries[0].line, line_of(rel, "203.0.113.20"));
    assert_eq!(feed.entries[0].feed, "ipblocklist");
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "203.0.113.999"), line_of(rel, "0.0.0.0")]
    );
}

#[test]
fn feodo_csv() {
    let rel = "feodo/ipblocklist.csv";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Feodo);
    assert_eq!(
        subjects(&feed),
        vec!["203.0.113.21:443", "198.51.100.78:8080"]
    );
    let e = &feed.entries[0];
    assert_eq!(e.labels, vec!["QakBot"]);
    assert_eq!(e.entry, "203.0.113.21:443");
    assert_eq!(e.valid_from, Some(ts("2024-04-01T10:00:00Z")));
    // Port 0 and multicast.
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "198.51.100.79"), line_of(rel, "224.0.0.1")]
    );
}

#[test]
fn feodo_json() {
    let rel = "feodo/ipblocklist.json";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Feodo);
    assert_eq!(
        subjects(&feed),
        vec!["203.0.113.22:443", "[2001:db8::22]:2222"]
    );
    assert_eq!(feed.entries[1].labels, vec!["Pikabot"]);
    assert_eq!(feed.entries[0].line, 2);
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "not-an-address") - 1]
    );
}

#[test]
fn threatfox_csv() {
    let rel = "threatfox/full.csv";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::ThreatFox);
    assert_eq!(
        subjects(&feed),
        vec![
            "203.0.113.30:443",
            "cnc.mozi.example",
            "198.51.100.31",
            "update.bad.example",
            "[2001:db8::30]:8443",
        ]
    );
    let cs = &feed.entries[0];
    assert_eq!(cs.entry, "1300001");
    assert_eq!(cs.labels, vec!["Cobalt Strike", "c2", "CobaltStrike"]);
    assert_eq!(cs.valid_from, Some(ts("2024-05-01T09:00:00Z")));
    assert_eq!(cs.line, line_of(rel, "1300001"));
    assert_eq!(
        feed.entries[2].url.as_deref(),
        Some("http://198.51.100.31/i")
    );
    // The hash is skipped; the e-mail type and the bad port are problems.
    assert_eq!(feed.skipped_unsupported, 1);
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "1300006"), line_of(rel, "1300007")]
    );
    assert!(feed.problems[0]
        .message
        .contains("unknown ioc type `email`"));
}

#[test]
fn threatfox_json() {
    let rel = "threatfox/full.json";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::ThreatFox);
    assert_eq!(
        subjects(&feed),
        vec!["203.0.113.32:8080", "gate.bad.example", "2001:db8::31"]
    );
    assert_eq!(feed.entries[0].entry, "1300011");
    assert_eq!(feed.entries[0].labels, vec!["Mirai", "mirai", "elf"]);
    assert_eq!(feed.entries[0].line, line_of(rel, "203.0.113.32") - 1);
    assert_eq!(feed.entries[1].labels, vec!["Lumma Stealer"]);
    assert_eq!(feed.skipped_unsupported, 1);
    assert!(feed.problems.is_empty());
}

#[test]
fn urlhaus_csv() {
    let rel = "urlhaus/csv.txt";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Urlhaus);
    assert_eq!(
        subjects(&feed),
        vec!["198.51.100.50", "dl.bad.example", "2001:db8::50"]
    );
    let e = &feed.entries[0];
    assert_eq!(e.entry, "2800001");
    assert_eq!(e.labels, vec!["32-bit", "elf", "mirai", "malware_download"]);
    assert_eq!(
        e.url.as_deref(),
        Some("http://198.51.100.50/bins/mirai.arm7")
    );
    assert_eq!(e.valid_from, Some(ts("2024-05-01T08:00:00Z")));
    // A private address, and a row cut off inside a quote.
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "2800003"), line_of(rel, "2800005")]
    );
}

#[test]
fn urlhaus_json() {
    let feed = load(&data("urlhaus/recent.json"), None).unwrap();
    assert_eq!(feed.format, Format::Urlhaus);
    assert_eq!(
        subjects(&feed),
        vec!["198.51.100.51", "payload.bad.example"]
    );
    assert_eq!(feed.entries[0].entry, "2800011");
    assert_eq!(
        feed.entries[0].labels,
        vec!["elf", "mirai", "malware_download"]
    );
    assert_eq!(feed.entries[0].valid_from, Some(ts("2024-05-01T08:10:00Z")));
}

// ---------------------------------------------------------------- Spamhaus

#[test]
fn drop_text() {
    let rel = "spamhaus/drop.txt";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Drop);
    assert_eq!(
        subjects(&feed),
        vec!["198.51.100.0/24", "203.0.113.128/25", "2001:db8:dead::/48"]
    );
    assert_eq!(feed.entries[0].entry, "SBL000001");
    assert_eq!(feed.entries[0].labels, vec!["spamhaus-drop"]);
    assert_eq!(
        problem_lines(&feed),
        vec![line_of(rel, "SBL000003"), line_of(rel, "SBL000004")]
    );
}

#[test]
fn drop_json_lines() {
    let rel = "spamhaus/drop_v4.json";
    let feed = load(&data(rel), None).unwrap();
    assert_eq!(feed.format, Format::Drop);
    assert_eq!(subjects(&feed), vec!["198.51.100.0/24", "203.0.113.0/25"]);
    assert_eq!(feed.entries[1].entry, "SBL000012");
    assert_eq!(feed.entries[1].line, 2);
    // A /4, and a line cut off.
    assert_eq!(problem_lines(&feed), vec![3, 4]);
    assert!(feed.problems[1].message.contains("malformed JSON line"));

    let v6 = load(&data("spamhaus/drop_v6.json"), None).unwrap();
    assert_eq!(
        subjects(&v6),
        vec!["2001:db8:bad::/48", "2001:db8:bee0::/44"]
    );
    assert!(v6.problems.is_empty());
}

// ---------------------------------------------------------------- detection, errors, garbage

#[test]
fn detection_of_every_sample() {
    for (rel, format) in [
        ("stix/bundle.json", Format::Stix),
        ("stix/indicator.json", Format::Stix),
        ("misp/event.json", Format::Misp),
        ("feodo/ipblocklist.txt", Format::Feodo),
        ("feodo/ipblocklist.csv", Format::Feodo),
        ("feodo/ipblocklist.json", Format::Feodo),
        ("threatfox/full.csv", Format::ThreatFox),
        ("threatfox/full.json", Format::ThreatFox),
        ("urlhaus/csv.txt", Format::Urlhaus),
        ("urlhaus/recent.json", Format::Urlhaus),
        ("spamhaus/drop.txt", Format::Drop),
        ("spamhaus/drop_v4.json", Format::Drop),
        ("spamhaus/drop_v6.json", Format::Drop),
    ] {
        let bytes = std::fs::read(data(rel)).unwrap();
        assert_eq!(detect(&bytes), Some(format), "{rel}");
        // Giving the format gives the same as detecting it.
        assert_eq!(
            load(&data(rel), Some(format)).unwrap(),
            load(&data(rel), None).unwrap(),
            "{rel}"
        );
    }
}

#[test]
fn header_only_in_a_data_line_and_crlf() {
    let text = "id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\r\n\
                \"1\",\"2024-05-01 00:00:00\",\"http://c2.bad.example/x\",\"online\",\"\",\"malware_download\",\"\",\"\",\"r\"\r\n";
    let feed = parse(text.as_bytes(), "u", None).unwrap();
    assert_eq!(feed.format, Format::Urlhaus);
    assert_eq!(subjects(&feed), vec!["c2.bad.example"]);
    assert_eq!(feed.entries[0].line, 2);
    // A byte-order mark is ignored.
    let bom = [&b"\xef\xbb\xbf"[..], b"# Feodo\n203.0.113.5\n"].concat();
    assert_eq!(
        parse(&bom, "b", None).unwrap().entries[0].subject,
        Subject::Addr("203.0.113.5".parse().unwrap())
    );
}

#[test]
fn unknown_and_unreadable_files_are_errors() {
    for text in [
        &b""[..],
        b"hello world\n",
        b"{\"some\":\"json\"}",
        b"{\"type\":\"bundle\"",
        b"<?xml version=\"1.0\"?><stix/>",
    ] {
        match parse(text, "x.feed", None) {
            Err(e @ Error::UnknownFormat { .. }) => assert!(e.to_string().starts_with("x.feed:")),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }
    let missing = data("no/such/file.json");
    let err = load(&missing, None).unwrap_err();
    assert!(matches!(err, Error::Read { .. }));
    assert!(err.to_string().contains("no/such/file.json"));
    // A JSON format given for text: the file is named.
    let err = parse(b"203.0.113.5\n", "t.txt", Some(Format::Stix)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed {
                format: Format::Stix,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("t.txt"));
}

#[test]
fn a_named_format_reads_text_without_detection_hints() {
    // No comment, no header: the formats' published column order.
    let feed = parse(
        b"\"2024-05-01 09:00:00\",\"9\",\"c2.bad.example\",\"domain\",\"botnet_cc\",\"x\",\"\",\"X\",\"\",\"50\",\"\",\"\",\"0\",\"r\"\n",
        "tf",
        Some(Format::ThreatFox),
    )
    .unwrap();
    assert_eq!(subjects(&feed), vec!["c2.bad.example"]);
    let drop = parse(b"203.0.113.0/24\n", "d", Some(Format::Drop)).unwrap();
    assert_eq!(subjects(&drop), vec!["203.0.113.0/24"]);
}

#[test]
fn never_c2_lines_are_problems_not_entries() {
    let feed = parse(
        b"0.0.0.0/0 ; SBL1\n127.0.0.0/8 ; SBL2\n224.0.0.0/4 ; SBL3\n::/0 ; SBL4\n",
        "d",
        Some(Format::Drop),
    )
    .unwrap();
    assert!(feed.entries.is_empty());
    assert_eq!(problem_lines(&feed), vec![1, 2, 3, 4]);
}

#[test]
fn garbage_never_panics() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..300 {
        let len = (round * 7) % 512;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        iotrust_intel::fuzzing::feed(&bytes);
    }
    // Every sample, cut at every 97th byte.
    for rel in [
        "stix/bundle.json",
        "misp/event.json",
        "threatfox/full.json",
        "urlhaus/csv.txt",
    ] {
        let bytes = std::fs::read(data(rel)).unwrap();
        for cut in (0..bytes.len()).step_by(97) {
            iotrust_intel::fuzzing::feed(&bytes[..cut]);
        }
    }
}

#[test]
fn entries_serialize_to_json() {
    let feed = load(&data("feodo/ipblocklist.csv"), None).unwrap();
    let v = serde_json::to_value(&feed).unwrap();
    assert_eq!(v["format"], "feodo");
    assert_eq!(v["entries"][0]["subject"], "203.0.113.21:443");
    assert_eq!(v["entries"][0]["valid_from"], "2024-04-01T10:00:00Z");
}
