//! The corpus cannot silently rot: every pcap reads with iotrust-flow's capture reader,
//! every Zeek log with its Zeek reader, every labels.json parses and is consistent, and a
//! seed gives the same bytes. Detection results are the evaluation script's business, not
//! this test's.

use std::path::Path;

use iotrust_corpus::{generate, resolve, Labels, SHARED_PCAP_DIR};
use iotrust_flow::{CaptureReader, ZeekReader};

fn read_pcap(path: &Path) -> (usize, u64) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = CaptureReader::new(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut n = 0;
    for rec in r.by_ref() {
        if let Err(e) = rec {
            panic!("{}: record {n}: {e}", path.display());
        }
        n += 1;
    }
    (n, r.stats().skipped)
}

fn read_zeek(path: &Path) -> usize {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut n = 0;
    for rec in ZeekReader::new(f) {
        if let Err(e) = rec {
            panic!("{}: {e}", path.display());
        }
        n += 1;
    }
    n
}

#[test]
fn every_scenario_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let all = generate(dir.path(), 7).unwrap();
    assert!(all.len() >= 25);
    let mut total_bytes = 0u64;
    for (sdir, labels) in &all {
        let text = std::fs::read_to_string(sdir.join("labels.json")).unwrap();
        let parsed: Labels = serde_json::from_str(&text).unwrap();
        assert_eq!(&parsed, labels);
        assert!(["botnet", "benign", "attack", "failure-class"].contains(&labels.class.as_str()));
        assert!(!labels.inputs.is_empty(), "{}", labels.scenario);
        assert!(!labels.hosts.is_empty(), "{}", labels.scenario);
        assert!(!labels.facts.is_empty(), "{}: no sources", labels.scenario);
        for f in &labels.facts {
            assert!(
                ["H", "M", "L"].contains(&f.confidence.as_str()),
                "{}: {}",
                labels.scenario,
                f.claim
            );
        }
        for h in &labels.hosts {
            assert!(["infected", "benign", "victim"].contains(&h.truth.as_str()));
            assert_eq!(
                h.truth == "benign",
                h.malicious_start_us.is_none(),
                "{} {}",
                labels.scenario,
                h.address
            );
        }
        for input in &labels.inputs {
            for p in &input.pcap {
                let path = resolve(sdir, p);
                if path.starts_with(SHARED_PCAP_DIR) && !path.exists() {
                    eprintln!(
                        "skipping {} (the shared capture is not here)",
                        path.display()
                    );
                    continue;
                }
                let (n, skipped) = read_pcap(&path);
                assert!(n > 0, "{}: empty", path.display());
                if !path.starts_with(SHARED_PCAP_DIR) {
                    total_bytes += std::fs::metadata(&path).unwrap().len();
                    assert_eq!(skipped, 0, "{}: frames not understood", path.display());
                }
            }
            for z in &input.zeek {
                let path = resolve(sdir, z);
                total_bytes += std::fs::metadata(&path).unwrap().len();
                let n = read_zeek(&path);
                if z.ends_with("conn.log") {
                    assert!(n > 0, "{}: no records", path.display());
                }
            }
        }
    }
    assert!(
        total_bytes < 200 * 1024 * 1024,
        "corpus is {total_bytes} bytes"
    );
}

#[test]
fn a_seed_gives_the_same_corpus() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(a.path(), 3).unwrap();
    generate(b.path(), 3).unwrap();
    for f in [
        "mirai/traffic.pcap",
        "benign-smart-home-hub/conn.log",
        "benign-smart-home-hub/dns.log",
        "mozi/labels.json",
    ] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(x == y, "{f} differs between two runs with one seed");
    }
}
