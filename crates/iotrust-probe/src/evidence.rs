//! The evidence document (`iotrust-evidence/1`) that `iotrust assess --evidence` reads, and
//! the catalogue of finding rules with the provisions and outcomes each bears on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "iotrust-evidence/1";
pub const TOOL_NAME: &str = "iotrust-probe";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One kind of finding: its id, severity, title and what it evidences. Documented in
/// `CHECKS.md` under the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// CWE ids of the weakness (MITRE), where one names it; empty where none fits well.
    pub cwe: &'static [&'static str],
    pub provisions: &'static [&'static str],
    pub outcomes: &'static [&'static str],
}

/// Finding severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

macro_rules! p {
    ($($x:literal),*) => { &[$(concat!("etsi-en-303-645@3.1.3#", $x)),*] };
}

pub const DEFAULT_CREDENTIALS: Rule = Rule {
    id: "default-credentials",
    cwe: &["CWE-1392"],
    severity: Severity::Critical,
    title: "A default credential logs in",
    provisions: &["etsi-en-303-645@3.1.3#5.1-1", "uk-psti@2023#Sch1-para1"],
    outcomes: &["no-universal-default-password", "access-control"],
};
pub const FTP_ANONYMOUS: Rule = Rule {
    id: "ftp-anonymous",
    cwe: &["CWE-306"],
    severity: Severity::High,
    title: "FTP accepts anonymous login",
    provisions: p!("5.6-2", "5.5-4"),
    outcomes: &[
        "no-unauthenticated-disclosure",
        "authenticated-network-functions",
    ],
};
pub const MQTT_ANONYMOUS: Rule = Rule {
    id: "mqtt-anonymous",
    cwe: &["CWE-306"],
    severity: Severity::High,
    title: "MQTT broker accepts anonymous clients",
    provisions: p!("5.6-2", "5.5-4"),
    outcomes: &[
        "no-unauthenticated-disclosure",
        "authenticated-network-functions",
    ],
};
pub const RTSP_UNAUTHENTICATED: Rule = Rule {
    id: "rtsp-unauthenticated",
    cwe: &["CWE-306"],
    severity: Severity::High,
    title: "RTSP stream description served without authentication",
    provisions: p!("5.6-2", "5.5-4", "5.8-2"),
    outcomes: &[
        "no-unauthenticated-disclosure",
        "authenticated-network-functions",
        "personal-data-protected-in-transit",
    ],
};
pub const SNMP_DEFAULT_COMMUNITY: Rule = Rule {
    id: "snmp-default-community",
    cwe: &["CWE-1392"],
    severity: Severity::High,
    title: "SNMP answers a default community string",
    provisions: p!("5.6-2", "5.5-1"),
    outcomes: &["no-unauthenticated-disclosure", "secure-communication"],
};
pub const SNMP_WRITABLE: Rule = Rule {
    id: "snmp-writable-community",
    cwe: &["CWE-1392"],
    severity: Severity::Critical,
    title: "SNMP accepts writes with a default community string",
    provisions: &[
        "etsi-en-303-645@3.1.3#5.1-1",
        "etsi-en-303-645@3.1.3#5.5-5",
        "uk-psti@2023#Sch1-para1",
    ],
    outcomes: &[
        "no-universal-default-password",
        "authenticated-remote-configuration",
    ],
};
pub const CLEARTEXT_MANAGEMENT: Rule = Rule {
    id: "cleartext-management",
    cwe: &["CWE-319"],
    severity: Severity::Medium,
    title: "Management interface without encryption",
    provisions: p!("5.5-1", "5.5-7"),
    outcomes: &["secure-communication", "protected-parameters-in-transit"],
};
pub const NEEDLESS_SERVICE: Rule = Rule {
    id: "needless-service",
    cwe: &["CWE-1125"],
    severity: Severity::Medium,
    title: "Service that devices should not expose by default",
    provisions: p!("5.6-1", "5.6-5"),
    outcomes: &["minimal-services", "unused-interfaces-disabled"],
};
pub const UPNP_IGD: Rule = Rule {
    id: "upnp-igd-exposed",
    cwe: &["CWE-306"],
    severity: Severity::High,
    title: "UPnP Internet Gateway Device control answers without authentication",
    provisions: p!("5.5-5", "5.6-1"),
    outcomes: &[
        "authenticated-remote-configuration",
        "unused-interfaces-disabled",
    ],
};
pub const SSDP_EXPOSED: Rule = Rule {
    id: "ssdp-exposed",
    cwe: &["CWE-406"],
    severity: Severity::Low,
    title: "SSDP answers discovery requests sent directly to the device",
    provisions: p!("5.6-2", "5.6-5"),
    outcomes: &["no-unauthenticated-disclosure", "minimal-services"],
};
pub const NAT_PMP: Rule = Rule {
    id: "nat-pmp-exposed",
    cwe: &["CWE-306"],
    severity: Severity::High,
    title: "NAT-PMP answers without authentication",
    provisions: p!("5.5-5", "5.6-1"),
    outcomes: &[
        "authenticated-remote-configuration",
        "unused-interfaces-disabled",
    ],
};
pub const COAP_EXPOSED: Rule = Rule {
    id: "coap-exposed",
    cwe: &["CWE-406"],
    severity: Severity::Medium,
    title: "CoAP resource discovery answers without authentication",
    provisions: p!("5.6-2", "5.6-5", "5.9-3"),
    outcomes: &[
        "no-unauthenticated-disclosure",
        "minimal-services",
        "orderly-network-behaviour",
    ],
};
pub const TLS_LEGACY: Rule = Rule {
    id: "tls-legacy-version",
    cwe: &["CWE-327"],
    severity: Severity::Medium,
    title: "TLS service accepts a legacy protocol version",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_WEAK_KEY: Rule = Rule {
    id: "tls-weak-key",
    cwe: &["CWE-326"],
    severity: Severity::Medium,
    title: "TLS certificate key is too small",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_WEAK_SIGNATURE: Rule = Rule {
    id: "tls-weak-signature",
    cwe: &["CWE-328"],
    severity: Severity::Medium,
    title: "TLS certificate signed with MD5 or SHA-1",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_SELF_SIGNED: Rule = Rule {
    id: "tls-self-signed",
    cwe: &[],
    severity: Severity::Low,
    title: "TLS certificate is self-signed",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_EXPIRED: Rule = Rule {
    id: "tls-expired",
    cwe: &[],
    severity: Severity::Low,
    title: "TLS certificate has expired",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const SSH_V1: Rule = Rule {
    id: "ssh-protocol-1",
    cwe: &["CWE-327"],
    severity: Severity::High,
    title: "SSH server accepts protocol version 1",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};

pub const SSH_WEAK_KEX: Rule = Rule {
    id: "ssh-weak-kex",
    cwe: &["CWE-327"],
    severity: Severity::Medium,
    title: "SSH server offers a key exchange that current guidance rules out",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const SSH_WEAK_HOST_KEY: Rule = Rule {
    id: "ssh-weak-host-key",
    cwe: &["CWE-326"],
    severity: Severity::Medium,
    title: "SSH server offers SHA-1 or DSA host-key signatures",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const SSH_WEAK_CIPHER: Rule = Rule {
    id: "ssh-weak-cipher",
    cwe: &["CWE-327"],
    severity: Severity::Medium,
    title: "SSH server offers CBC, 3DES, RC4 or other weak ciphers",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const SSH_WEAK_MAC: Rule = Rule {
    id: "ssh-weak-mac",
    cwe: &["CWE-327"],
    severity: Severity::Low,
    title: "SSH server offers MD5 or truncated MACs",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const SSH_TERRAPIN: Rule = Rule {
    id: "ssh-terrapin",
    cwe: &["CWE-354"],
    severity: Severity::Medium,
    title: "SSH server is exposed to the Terrapin prefix-truncation attack (CVE-2023-48795)",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_WEAK_CIPHER: Rule = Rule {
    id: "tls-weak-cipher",
    cwe: &["CWE-327"],
    severity: Severity::High,
    title: "TLS service accepts NULL, anonymous, export, RC4, DES or 3DES cipher suites",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_NO_FORWARD_SECRECY: Rule = Rule {
    id: "tls-no-forward-secrecy",
    cwe: &[],
    severity: Severity::Medium,
    title: "TLS service accepts cipher suites without forward secrecy",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_CBC_ONLY: Rule = Rule {
    id: "tls-cbc-only",
    cwe: &[],
    severity: Severity::Low,
    title: "TLS service accepts only CBC cipher suites (no AEAD)",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};
pub const TLS_INSECURE_RENEGOTIATION: Rule = Rule {
    id: "tls-insecure-renegotiation",
    cwe: &[],
    severity: Severity::Medium,
    title: "TLS service does not support secure renegotiation (RFC 5746)",
    provisions: p!("5.5-1"),
    outcomes: &["secure-communication"],
};

/// All rules, in documentation order.
pub const RULES: &[Rule] = &[
    DEFAULT_CREDENTIALS,
    SNMP_WRITABLE,
    FTP_ANONYMOUS,
    MQTT_ANONYMOUS,
    RTSP_UNAUTHENTICATED,
    SNMP_DEFAULT_COMMUNITY,
    UPNP_IGD,
    NAT_PMP,
    SSH_V1,
    TLS_WEAK_CIPHER,
    CLEARTEXT_MANAGEMENT,
    NEEDLESS_SERVICE,
    COAP_EXPOSED,
    TLS_LEGACY,
    TLS_WEAK_KEY,
    TLS_WEAK_SIGNATURE,
    SSH_WEAK_KEX,
    SSH_WEAK_HOST_KEY,
    SSH_WEAK_CIPHER,
    SSH_TERRAPIN,
    TLS_NO_FORWARD_SECRECY,
    TLS_INSECURE_RENEGOTIATION,
    SSDP_EXPOSED,
    TLS_SELF_SIGNED,
    TLS_EXPIRED,
    SSH_WEAK_MAC,
    TLS_CBC_ONLY,
];

/// The tool that produced the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// A whole probe run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub format: String,
    pub kind: String,
    pub tool: Tool,
    pub started: String,
    pub finished: String,
    /// The scope allow-list the run was held to.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Where a probe stood: `lan` or `wan` (absent in imported evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vantage: Option<crate::config::Vantage>,
    pub devices: Vec<Device>,
    /// Facts about the product rather than one device (an imported SBOM sets `dev.sbom`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, serde_json::Value>,
    /// Where imported evidence came from: the file and the tool's own format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// An imported SBOM's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom: Option<Sbom>,
    /// The state the devices were in when tested, as the tester says (`--state`): schemes
    /// judge the factory default state and the state after setup apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DeviceState>,
}

/// The state a device was tested in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceState {
    /// As shipped or after a factory reset, before setup.
    FactoryDefault,
    /// After the user completed setup.
    SetUp,
}

impl std::str::FromStr for DeviceState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "factory-default" => Ok(DeviceState::FactoryDefault),
            "set-up" => Ok(DeviceState::SetUp),
            o => Err(format!(
                "`{o}` is not a device state (factory-default, set-up)"
            )),
        }
    }
}

/// The origin of imported evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    /// `nmap-xml`, `ssh-audit`, `testssl`, `nuclei-jsonl`, `cyclonedx`, `spdx`.
    pub format: String,
}

/// What an imported SBOM describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// `CycloneDX 1.6`, `SPDX-2.3`.
    pub spec: String,
    /// The product the SBOM is about, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub components: usize,
    /// Components that carry a package URL (purl) or CPE, the identifiers vulnerability
    /// databases match on.
    pub identified: usize,
}

/// One device (address) and what the probe found there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub address: String,
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
    pub facts: Facts,
    /// Checks that could not finish (time-outs, a device that stopped answering): the facts
    /// they would have set are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    pub started: String,
    pub finished: String,
}

/// One open port and the protocol spoken there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub port: u16,
    pub transport: String,
    /// Identified by behaviour, not port number: telnet, ssh, ftp, http, https, rtsp, mqtt,
    /// mqtts, tls, snmp, ssdp, nat-pmp, mdns, coap, unknown.
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// TLS versions accepted, when tested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_versions: Vec<String>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub provisions: Vec<String>,
    pub outcomes: Vec<String>,
    /// CWE ids of the weakness (`CWE-1392` for a default credential).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<String>,
}

impl Finding {
    /// The order a device's findings are reported in: most severe first, then by service
    /// and id (the probe and every importer use it, so their evidence compares line by line).
    pub fn sort(findings: &mut [Finding]) {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.service.cmp(&b.service))
                .then_with(|| a.id.cmp(&b.id))
        });
    }

    /// A finding of `rule` on `service` (`proto/port`).
    pub fn new(
        rule: &Rule,
        service: Option<String>,
        title: Option<String>,
        detail: Option<String>,
    ) -> Finding {
        Finding {
            id: rule.id.to_string(),
            severity: rule.severity,
            title: title.unwrap_or_else(|| rule.title.to_string()),
            service,
            detail,
            provisions: rule.provisions.iter().map(|s| s.to_string()).collect(),
            outcomes: rule.outcomes.iter().map(|s| s.to_string()).collect(),
            cwe: rule.cwe.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Facts for `iotrust assess`, named as in `catalog/facts.yaml`. A fact the run did not test
/// is absent, never false.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    #[serde(
        rename = "auth.default_credentials_accepted",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_credentials_accepted: Option<bool>,
    #[serde(
        rename = "surface.open_tcp_ports",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub open_tcp_ports: Option<Vec<u16>>,
    #[serde(
        rename = "surface.anonymous_services",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub anonymous_services: Option<Vec<String>>,
    #[serde(
        rename = "surface.needless_services",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub needless_services: Option<Vec<String>>,
    #[serde(
        rename = "comms.cleartext_management",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cleartext_management: Option<bool>,
    #[serde(
        rename = "comms.tls_min_version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tls_min_version: Option<String>,
    /// `true` when an SSH or TLS service offers algorithms current guidance rules out (the
    /// probe never sets `false`: it cannot see every use of cryptography on the device).
    #[serde(
        rename = "comms.legacy_crypto_offered",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legacy_crypto_offered: Option<bool>,
}

/// Make device text printable and short: control bytes become `.`, at most `max` characters.
pub fn sanitize(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > max {
        let mut u: String = t.chars().take(max).collect();
        u.push('…');
        u
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_unique_and_refs_well_formed() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for r in RULES {
            for p in r.provisions {
                assert!(
                    p.starts_with("etsi-en-303-645@3.1.3#5.")
                        || p.starts_with("uk-psti@2023#Sch1-para"),
                    "{p}"
                );
            }
            assert!(!r.outcomes.is_empty());
        }
    }

    #[test]
    fn absent_facts_are_not_serialised() {
        let f = Facts {
            cleartext_management: Some(false),
            ..Facts::default()
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"comms.cleartext_management":false}"#
        );
        assert_eq!(sanitize("a\r\nb\x00c  d", 100), "a b c d");
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }
}

#[cfg(test)]
mod catalog_tests {
    use super::RULES;

    /// Every provision and outcome a rule names exists in the project's catalog data.
    #[test]
    fn rule_references_exist_in_the_catalog() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
        let outcomes = std::fs::read_to_string(root.join("outcomes.yaml")).unwrap();
        let etsi =
            std::fs::read_to_string(root.join("schemes/etsi-en-303-645/3.1.3.yaml")).unwrap();
        let psti = std::fs::read_to_string(root.join("schemes/uk-psti/2023.yaml")).unwrap();
        for r in RULES {
            for o in r.outcomes {
                assert!(
                    outcomes.contains(&format!("- id: {o}\n")),
                    "{}: unknown outcome {o}",
                    r.id
                );
            }
            for p in r.provisions {
                let (scheme, id) = p.split_once('#').unwrap();
                let text = if scheme.starts_with("etsi") {
                    &etsi
                } else {
                    &psti
                };
                let found = text.contains(&format!("- id: {id}\n"))
                    || text.contains(&format!("- id: \"{id}\"\n"));
                assert!(found, "{}: unknown provision {p}", r.id);
            }
        }
    }
}

#[cfg(test)]
mod checkfile_catalog_tests {
    /// Every provision and outcome a shipped check file names exists in the catalog.
    #[test]
    fn check_file_references_exist_in_the_catalog() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../catalog");
        let outcomes = std::fs::read_to_string(root.join("outcomes.yaml")).unwrap();
        let etsi =
            std::fs::read_to_string(root.join("schemes/etsi-en-303-645/3.1.3.yaml")).unwrap();
        for c in crate::checkfile::load(&[] as &[&str]).unwrap() {
            for o in &c.outcomes {
                assert!(
                    outcomes.contains(&format!("- id: {o}\n")),
                    "{}: unknown outcome {o}",
                    c.id
                );
            }
            for p in &c.provisions {
                let id = p.strip_prefix("etsi-en-303-645@3.1.3#").unwrap();
                assert!(
                    etsi.contains(&format!("- id: {id}\n"))
                        || etsi.contains(&format!("- id: \"{id}\"\n")),
                    "{}: unknown provision {p}",
                    c.id
                );
            }
        }
    }
}
