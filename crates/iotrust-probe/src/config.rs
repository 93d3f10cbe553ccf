//! [`ProbeConfig`]: everything a run needs, with defaults that are safe and fast on a LAN.

use std::path::PathBuf;
use std::time::Duration;

/// The TCP ports scanned by default: the services IoT botnets and their operators use.
pub const DEFAULT_TCP_PORTS: &[u16] = &[
    21, 22, 23, 80, 81, 443, 554, 1883, 2323, 5000, 5555, 7547, 8000, 8080, 8081, 8443, 8554, 8883,
    37215, 49152, 52869,
];

/// The UDP services probed by default.
pub const DEFAULT_UDP_PORTS: &[u16] = &[161, 1900, 5351, 5353, 5683];

/// Concurrency and rate limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Hosts probed at the same time.
    pub max_hosts: usize,
    /// Open TCP connections across the whole run.
    pub max_connections: usize,
    /// New connections and datagrams per second across the run (None: unlimited).
    pub rate_per_second: Option<u32>,
    /// Credential attempts per service (lockout awareness: the list is cut here).
    pub max_attempts_per_service: usize,
    /// Concurrent login attempts against one service (widened step by step up to six times
    /// while the device delays its verdicts on purpose and no connection fails).
    pub parallel_per_service: usize,
    /// Largest CIDR expansion accepted.
    pub max_targets: usize,
    /// Most bytes read from one connection (floods are cut here).
    pub max_bytes_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_hosts: 64,
            max_connections: 512,
            rate_per_second: Some(2000),
            max_attempts_per_service: 128,
            parallel_per_service: 8,
            max_targets: 65_536,
            max_bytes_per_connection: 1024 * 1024,
        }
    }
}

/// Time limits.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// One read or write.
    pub read: Duration,
    /// How long to wait for a greeting before sending a probe.
    pub banner: Duration,
    /// One login attempt from connect to verdict.
    pub attempt: Duration,
    /// One service's whole check.
    pub service: Duration,
    /// One host, everything included.
    pub host: Duration,
    /// UDP answers.
    pub udp: Duration,
    /// How long MQTT subscriptions to `#` are watched.
    pub mqtt_window: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_millis(1500),
            read: Duration::from_secs(5),
            banner: Duration::from_millis(1200),
            attempt: Duration::from_secs(15),
            service: Duration::from_secs(120),
            host: Duration::from_secs(300),
            udp: Duration::from_millis(1500),
            mqtt_window: Duration::from_secs(2),
        }
    }
}

/// Which check families run.
#[derive(Clone, Debug)]
pub struct Checks {
    /// Try default credentials (telnet, SSH, FTP, HTTP, RTSP, MQTT).
    pub credentials: bool,
    /// Anonymous and unauthenticated access (FTP, MQTT, RTSP, SNMP).
    pub anonymous: bool,
    /// TLS versions and certificates.
    pub tls: bool,
    /// UDP discovery protocols.
    pub udp: bool,
    /// SNMP write test: SET sysLocation.0 to the value just read. Off means read access only.
    pub snmp_write_test: bool,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            credentials: true,
            anonymous: true,
            tls: true,
            udp: true,
            snmp_write_test: true,
        }
    }
}

/// Where the probe stands relative to the devices: on their LAN (the default) or outside it, on
/// the WAN side of a gateway. Recorded in the evidence; checks kept as data may run only at one
/// vantage (a UPnP control service that answers is expected on the LAN, and a finding of its
/// own from the WAN side).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vantage {
    #[default]
    Lan,
    Wan,
}

impl Vantage {
    pub fn name(self) -> &'static str {
        match self {
            Vantage::Lan => "lan",
            Vantage::Wan => "wan",
        }
    }
}

impl std::str::FromStr for Vantage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lan" => Ok(Vantage::Lan),
            "wan" => Ok(Vantage::Wan),
            _ => Err(format!("`{s}` is not a vantage (lan or wan)")),
        }
    }
}

/// A probe run.
#[derive(Clone, Debug, Default)]
pub struct ProbeConfig {
    /// Target strings: addresses, CIDRs, hostnames, `host:port`, `host:port/udp`.
    pub targets: Vec<String>,
    /// Files of targets, one per line.
    pub target_files: Vec<PathBuf>,
    /// `--scope` CIDRs. Empty: the scope is exactly the target addresses.
    pub scope: Vec<String>,
    /// Permit public addresses in targets and scope.
    pub allow_public: bool,
    /// Extra TCP ports on top of [`DEFAULT_TCP_PORTS`].
    pub extra_ports: Vec<u16>,
    /// Replace the default TCP ports instead of adding to them.
    pub ports_only: bool,
    /// Extra credential files (`--credentials`), tried before the built-in lists.
    pub credential_files: Vec<PathBuf>,
    /// Skip the built-in Mirai and vendor lists (only the files are tried).
    pub no_builtin_credentials: bool,
    /// Extra SNMP communities.
    pub snmp_communities: Vec<String>,
    /// Show working credentials in clear.
    pub show_secrets: bool,
    /// Directories of extra check files (`--checks DIR`), loaded after the built-in ones.
    pub check_dirs: Vec<PathBuf>,
    /// Where the probe stands (`--vantage`): recorded in the evidence, selects the checks
    /// that run only from one side.
    pub vantage: Vantage,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub checks: Checks,
}

impl ProbeConfig {
    /// A configuration for these targets with defaults everywhere else.
    pub fn new<S: Into<String>>(targets: impl IntoIterator<Item = S>) -> ProbeConfig {
        ProbeConfig {
            targets: targets.into_iter().map(Into::into).collect(),
            ..ProbeConfig::default()
        }
    }

    /// The TCP ports to scan on hosts named without ports.
    pub fn tcp_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = if self.ports_only {
            Vec::new()
        } else {
            DEFAULT_TCP_PORTS.to_vec()
        };
        p.extend(self.extra_ports.iter().copied().filter(|x| *x != 0));
        p.sort_unstable();
        p.dedup();
        p
    }
}
