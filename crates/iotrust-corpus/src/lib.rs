//! A labelled corpus for evaluating `iotrust watch`: IoT botnet, benign-device, attack and
//! known-failure scenarios, each a directory with its traffic (a pcap built packet by packet
//! and/or Zeek TSV `conn.log` + `dns.log`) and `labels.json` (what every host truly is,
//! when the malicious behaviour starts, the C2 addresses, and the public sources each
//! behaviour rests on). Deterministic for a seed. See `docs/evaluation.md`.
//!
//! Subscribers are in 192.168.0.0/16 and 10.0.0.0/8; Internet hosts are documentation
//! addresses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) or addresses invented by the
//! generator (scan targets, flood sources, DHT peers), which never leave the files.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod attacks;
mod benign;
mod botnets;
mod failures;
pub mod wire;

/// 2026-03-02T00:00:00Z, the corpus's day one, in microseconds.
pub const BASE_US: i64 = 1_772_409_600 * wire::SEC;

/// The shared real captures (referenced in place, not copied).
pub const SHARED_PCAP_DIR: &str = "/work/shared/data/pcap";

/// What one traffic input of a scenario is: watch runs once per input.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Input {
    /// `pcap` or `zeek` (or a name of the scenario's choosing).
    pub name: String,
    /// Capture files, relative to the scenario directory unless absolute.
    #[serde(default)]
    pub pcap: Vec<String>,
    /// Zeek logs (conn.log, dns.log), relative to the scenario directory.
    #[serde(default)]
    pub zeek: Vec<String>,
}

/// The truth about one host.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Host {
    pub address: String,
    /// `infected`, `benign` or `victim`.
    pub truth: String,
    /// What the host is (device type, role in the scenario).
    pub what: String,
    /// When this host's malicious behaviour (infected) or the attack on it (victim) starts,
    /// microseconds since the epoch; `null` for benign hosts.
    pub malicious_start_us: Option<i64>,
    /// The same as RFC 3339.
    pub malicious_start: Option<String>,
}

/// A public source a behaviour of the scenario rests on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fact {
    /// The behaviour, paraphrased.
    pub claim: String,
    /// URL or `repo@commit:path`.
    pub source: String,
    /// H: read in a primary text; M: secondary source or a standard recalled; L: memory or
    /// inference (a modelling choice).
    pub confidence: String,
}

/// `labels.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Labels {
    pub scenario: String,
    /// `botnet`, `benign`, `attack` or `failure-class`.
    pub class: String,
    pub description: String,
    pub family: Option<String>,
    /// One of the seven infected devices the issue names (Mirai ×2, Hakai, Torii, IRC bot
    /// ×2, Trojan).
    pub in_issue_seven: bool,
    pub inputs: Vec<Input>,
    pub hosts: Vec<Host>,
    /// When the malicious behaviour starts (earliest over the hosts), microseconds.
    pub malicious_start_us: Option<i64>,
    pub malicious_start: Option<String>,
    /// C2 addresses (`address` or `address:port`), for the run with `--indicators`.
    pub c2: Vec<String>,
    pub facts: Vec<Fact>,
    /// What the scenario does not model, and other caveats.
    pub notes: Vec<String>,
    pub seed: u64,
}

/// RFC 3339 of a time in microseconds.
pub fn rfc3339(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Labels {
    pub(crate) fn new(scenario: &str, class: &str, description: &str) -> Self {
        Labels {
            scenario: scenario.to_string(),
            class: class.to_string(),
            description: description.to_string(),
            family: None,
            in_issue_seven: false,
            inputs: Vec::new(),
            hosts: Vec::new(),
            malicious_start_us: None,
            malicious_start: None,
            c2: Vec::new(),
            facts: Vec::new(),
            notes: Vec::new(),
            seed: 0,
        }
    }

    pub(crate) fn family(mut self, f: &str) -> Self {
        self.family = Some(f.to_string());
        self
    }

    pub(crate) fn seven(mut self) -> Self {
        self.in_issue_seven = true;
        self
    }

    pub(crate) fn pcap(mut self, file: &str) -> Self {
        self.inputs.push(Input {
            name: "pcap".into(),
            pcap: vec![file.to_string()],
            zeek: Vec::new(),
        });
        self
    }

    pub(crate) fn zeek(mut self) -> Self {
        self.inputs.push(Input {
            name: "zeek".into(),
            pcap: Vec::new(),
            zeek: vec!["conn.log".into(), "dns.log".into()],
        });
        self
    }

    pub(crate) fn host(mut self, a: [u8; 4], truth: &str, what: &str, start: Option<i64>) -> Self {
        self.hosts.push(Host {
            address: wire::ip(a),
            truth: truth.to_string(),
            what: what.to_string(),
            malicious_start_us: start,
            malicious_start: start.map(rfc3339),
        });
        if let Some(s) = start {
            let earliest = self.malicious_start_us.map_or(s, |m| m.min(s));
            self.malicious_start_us = Some(earliest);
            self.malicious_start = Some(rfc3339(earliest));
        }
        self
    }

    pub(crate) fn c2(mut self, spec: &str) -> Self {
        self.c2.push(spec.to_string());
        self
    }

    pub(crate) fn fact(mut self, claim: &str, source: &str, confidence: &str) -> Self {
        self.facts.push(Fact {
            claim: claim.to_string(),
            source: source.to_string(),
            confidence: confidence.to_string(),
        });
        self
    }

    pub(crate) fn note(mut self, n: &str) -> Self {
        self.notes.push(n.to_string());
        self
    }
}

/// A scenario generator: writes its traffic into the directory, returns its labels.
type Generator = fn(&Path, &mut wire::Rng) -> io::Result<Labels>;

/// Every scenario, by name, in corpus order.
pub const SCENARIOS: &[(&str, Generator)] = &[
    ("mirai", botnets::mirai),
    ("mirai-variant-unreachable-c2", botnets::mirai_unreachable),
    ("hakai", botnets::hakai),
    ("torii", botnets::torii),
    ("irc-bot-tsunami", botnets::irc_tsunami),
    ("irc-bot-muhstik-reconnect", botnets::irc_muhstik),
    ("trojan-elf-download", botnets::trojan),
    ("gafgyt", botnets::gafgyt),
    ("mozi", botnets::mozi),
    ("benign-smart-home-hub", benign::hub),
    ("benign-voice-assistant", benign::voice),
    ("benign-door-lock-gateway", benign::door_lock),
    ("benign-phone", benign::phone),
    ("benign-lan-discovery-broadcast", benign::lan_broadcast),
    ("benign-mdns-ssdp", benign::mdns_ssdp),
    ("benign-camera-upload", benign::camera),
    ("benign-firmware-update-check", benign::firmware),
    ("attack-syn-flood-spoofed", attacks::syn_flood),
    ("attack-synack-reflection", attacks::synack_reflection),
    ("attack-zeek-history-c-burst", attacks::zeek_c_burst),
    ("attack-real-stopddos-synflood", attacks::real_synflood),
    (
        "attack-real-stopddos-bacnet-reflection",
        attacks::real_bacnet,
    ),
    ("failure-two-c2-alternating", failures::two_c2),
    ("failure-hourly-beacon-20h", failures::hourly_20h),
    ("failure-beacon-3600-pcap-vs-zeek", failures::beacon_both),
];

/// The entry of `index.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct IndexEntry {
    pub scenario: String,
    pub class: String,
    pub dir: String,
}

/// Writes every scenario under `out` (one directory each) and `out/index.json`.
pub fn generate(out: &Path, seed: u64) -> io::Result<Vec<(PathBuf, Labels)>> {
    std::fs::create_dir_all(out)?;
    let mut all = Vec::new();
    let mut index = Vec::new();
    for (name, make) in SCENARIOS {
        let dir = out.join(name);
        std::fs::create_dir_all(&dir)?;
        let mut rng = wire::Rng::for_scenario(seed, name);
        let mut labels = make(&dir, &mut rng)?;
        labels.seed = seed;
        let text = serde_json::to_string_pretty(&labels).map_err(io::Error::other)?;
        std::fs::write(dir.join("labels.json"), text + "\n")?;
        index.push(IndexEntry {
            scenario: labels.scenario.clone(),
            class: labels.class.clone(),
            dir: (*name).to_string(),
        });
        all.push((dir, labels));
    }
    let text = serde_json::to_string_pretty(&index).map_err(io::Error::other)?;
    std::fs::write(out.join("index.json"), text + "\n")?;
    Ok(all)
}

/// The path of an input file: absolute as given, else under the scenario directory.
pub fn resolve(dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}
