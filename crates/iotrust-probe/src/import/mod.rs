//! Evidence import: other tools' findings (nmap XML, ssh-audit JSON, testssl.sh JSON, Nuclei
//! JSON lines) and makers' SBOMs (CycloneDX, SPDX) mapped onto iotrust evidence. Algorithm and
//! cipher-suite lists are judged by [`crate::policy`], the same functions the probe's own
//! checks use, so an offer gives the same findings whichever tool observed it. One module per
//! format; each turns text into an [`Evidence`] document or an error naming the file, line
//! and field.
//!
//! Strength: scanner output is an automated test (`kind = "test-report"`, strength tested); an
//! SBOM is a document (`kind = "document"`, strength documented).

pub mod nmap;
pub mod nuclei;
pub mod sbom;
pub mod ssh_audit;
pub mod testssl;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ProbeError;
use crate::evidence::{self, Device, Evidence, Facts, Finding, Rule, Service, Source, Tool};
use crate::policy;
use crate::protocols::tls::Version;

/// The formats `iotrust evidence import --from` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    NmapXml,
    SshAudit,
    Testssl,
    NucleiJsonl,
    CycloneDx,
    Spdx,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::NmapXml,
        Format::SshAudit,
        Format::Testssl,
        Format::NucleiJsonl,
        Format::CycloneDx,
        Format::Spdx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::NmapXml => "nmap-xml",
            Format::SshAudit => "ssh-audit",
            Format::Testssl => "testssl",
            Format::NucleiJsonl => "nuclei-jsonl",
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// Import `text` (the contents of `file`) in `format`.
pub fn import(format: Format, file: &str, text: &str) -> Result<Evidence, ProbeError> {
    match format {
        Format::NmapXml => nmap::import(file, text),
        Format::SshAudit => ssh_audit::import(file, text),
        Format::Testssl => testssl::import(file, text),
        Format::NucleiJsonl => nuclei::import(file, text),
        Format::CycloneDx => sbom::cyclonedx(file, text),
        Format::Spdx => sbom::spdx(file, text),
    }
}

/// An import error at a line (1-based) and field.
pub(crate) fn err(
    file: &str,
    line: Option<usize>,
    field: Option<&str>,
    message: impl Into<String>,
) -> ProbeError {
    ProbeError::Import {
        file: file.to_string(),
        line,
        field: field.map(String::from),
        message: message.into(),
    }
}

/// A serde_json error with its line.
pub(crate) fn json_err(file: &str, e: &serde_json::Error) -> ProbeError {
    err(file, Some(e.line()), None, format!("not valid JSON: {e}"))
}

/// Builds one device's part of the evidence from what a tool reported.
#[derive(Debug, Default)]
pub(crate) struct DeviceBuilder {
    pub address: String,
    services: BTreeMap<u16, Service>,
    findings: Vec<Finding>,
    pub open_tcp: Option<BTreeSet<u16>>,
    tls_min: Option<Version>,
    weak_crypto: bool,
    pub default_credentials: Option<bool>,
    pub anonymous: Option<BTreeSet<String>>,
}

impl DeviceBuilder {
    pub fn new(address: &str) -> DeviceBuilder {
        DeviceBuilder {
            address: address.to_string(),
            ..Default::default()
        }
    }

    /// Record a service; the first name given for a port stays.
    pub fn service(&mut self, port: u16, protocol: &str, banner: Option<String>) -> String {
        let s = self.services.entry(port).or_insert_with(|| Service {
            port,
            transport: "tcp".into(),
            protocol: protocol.to_string(),
            banner: None,
            tls_versions: Vec::new(),
        });
        if s.banner.is_none() {
            s.banner = banner.map(|b| evidence::sanitize(&b, 160));
        }
        format!("{}/{port}", s.protocol)
    }

    pub fn finding(
        &mut self,
        rule: &Rule,
        service: &str,
        title: Option<String>,
        detail: Option<String>,
    ) {
        let f = Finding::new(rule, Some(service.to_string()), title, detail);
        if !self
            .findings
            .iter()
            .any(|x| x.id == f.id && x.service == f.service)
        {
            self.findings.push(f);
        }
    }

    /// A finding without an iotrust rule (another tool's own check), kept with its id.
    pub fn foreign(&mut self, f: Finding) {
        if !self
            .findings
            .iter()
            .any(|x| x.id == f.id && x.service == f.service)
        {
            self.findings.push(f);
        }
    }

    /// Judge an SSH offer.
    pub fn ssh(&mut self, port: u16, offer: &policy::ssh::Offer) {
        let svc = self.service(port, "ssh", None);
        for w in policy::ssh::judge(offer) {
            self.weak_crypto = true;
            self.finding(w.rule, &svc, None, Some(w.detail));
        }
    }

    /// Judge a TLS service: the versions it accepted and the suites (by IANA name).
    pub fn tls(
        &mut self,
        port: u16,
        protocol: &str,
        versions: &[Version],
        accepted: &policy::tls::Accepted,
    ) {
        let svc = self.service(port, protocol, None);
        let mut versions = versions.to_vec();
        versions.sort();
        versions.dedup();
        if let Some(s) = self.services.get_mut(&port) {
            s.tls_versions = versions.iter().map(|v| v.name().to_string()).collect();
        }
        if let Some(min) = versions.first() {
            self.tls_min = Some(self.tls_min.map_or(*min, |m| m.min(*min)));
        }
        let legacy: Vec<&str> = versions
            .iter()
            .filter(|v| v.is_legacy())
            .map(|v| v.name())
            .collect();
        if !legacy.is_empty() {
            let all: Vec<&str> = versions.iter().map(|v| v.name()).collect();
            self.finding(
                &evidence::TLS_LEGACY,
                &svc,
                None,
                Some(format!(
                    "accepts {} (all accepted: {})",
                    legacy.join(", "),
                    all.join(", ")
                )),
            );
        }
        for w in policy::tls::judge(accepted) {
            self.weak_crypto = true;
            self.finding(w.rule, &svc, None, Some(w.detail));
        }
    }

    pub fn build(self, when: &str) -> Device {
        let mut findings = self.findings;
        Finding::sort(&mut findings);
        Device {
            address: self.address,
            services: self.services.into_values().collect(),
            findings,
            facts: Facts {
                default_credentials_accepted: self.default_credentials,
                open_tcp_ports: self.open_tcp.map(|s| s.into_iter().collect()),
                anonymous_services: self.anonymous.map(|s| s.into_iter().collect()),
                tls_min_version: self.tls_min.map(|v| v.name().to_string()),
                legacy_crypto_offered: self.weak_crypto.then_some(true),
                ..Facts::default()
            },
            incomplete: Vec::new(),
            started: when.to_string(),
            finished: when.to_string(),
        }
    }
}

/// Devices by address, in the order first seen.
#[derive(Debug, Default)]
pub(crate) struct Devices(Vec<DeviceBuilder>);

impl Devices {
    pub fn get(&mut self, address: &str) -> &mut DeviceBuilder {
        let i = match self.0.iter().position(|d| d.address == address) {
            Some(i) => i,
            None => {
                self.0.push(DeviceBuilder::new(address));
                self.0.len() - 1
            }
        };
        &mut self.0[i]
    }

    pub fn into_evidence(self, format: Format, file: &str, tool: Tool, when: &str) -> Evidence {
        Evidence {
            format: evidence::FORMAT.into(),
            kind: "test-report".into(),
            tool,
            started: when.to_string(),
            finished: when.to_string(),
            scope: Vec::new(),
            vantage: None,
            devices: self.0.into_iter().map(|d| d.build(when)).collect(),
            facts: BTreeMap::new(),
            source: Some(Source {
                file: file.to_string(),
                format: format.name().to_string(),
            }),
            sbom: None,
            state: None,
        }
    }
}

/// TLS versions by the names tools use (`TLSv1.2`, `TLS1_2`, `SSLv3`, `tls1.0` ...).
pub(crate) fn tls_version(name: &str) -> Option<Version> {
    let n: String = name
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(match n.as_str() {
        "sslv3" | "ssl3" | "ssl30" => Version::Ssl3,
        "tlsv1" | "tls1" | "tlsv10" | "tls10" => Version::Tls10,
        "tlsv11" | "tls11" => Version::Tls11,
        "tlsv12" | "tls12" => Version::Tls12,
        "tlsv13" | "tls13" => Version::Tls13,
        _ => return None,
    })
}

/// The time of the import (tools' files rarely say when they ran in a form we can trust).
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| jiff::Timestamp::now().to_string())
}
