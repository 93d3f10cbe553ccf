//! ssh-audit JSON (`ssh-audit -j HOST[:PORT]`): the algorithm lists, judged by
//! [`crate::policy::ssh`]. ssh-audit's own notes are not used: iotrust names its own guidance,
//! so the verdicts match the probe's.

use serde::Deserialize;

use super::{err, json_err, Devices, Format};
use crate::error::ProbeError;
use crate::evidence::{self, Evidence, Tool};
use crate::policy;

#[derive(Deserialize)]
struct Report {
    target: Option<String>,
    banner: Option<Banner>,
    #[serde(default)]
    kex: Vec<Algo>,
    #[serde(default)]
    key: Vec<Algo>,
    #[serde(default)]
    enc: Vec<Name>,
    #[serde(default)]
    mac: Vec<Name>,
}

#[derive(Deserialize)]
struct Banner {
    raw: Option<String>,
    #[serde(default)]
    protocol: Vec<u32>,
}

#[derive(Deserialize)]
struct Algo {
    algorithm: String,
}

/// Later ssh-audit versions give objects for ciphers and MACs too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Name {
    Plain(String),
    Obj { algorithm: String },
}

impl Name {
    fn get(self) -> String {
        match self {
            Name::Plain(s) | Name::Obj { algorithm: s } => s,
        }
    }
}

/// `host`, `host:port`, `[v6]:port`.
fn split_target(t: &str) -> (String, u16) {
    if let Some(rest) = t.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h.to_string(), p.parse().unwrap_or(22));
        }
        return (rest.trim_end_matches(']').to_string(), 22);
    }
    match t.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().unwrap_or(22)),
        _ => (t.to_string(), 22),
    }
}

pub fn import(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_err(file, &e))?;
    // One report, or an array of them (ssh-audit -j -T targets).
    let list = match v {
        serde_json::Value::Array(a) => a,
        o => vec![o],
    };
    let mut devices = Devices::default();
    for (i, item) in list.into_iter().enumerate() {
        let r: Report = serde_json::from_value(item).map_err(|e| {
            err(
                file,
                None,
                Some(&format!("[{i}]")),
                format!("not an ssh-audit report: {e}"),
            )
        })?;
        let target = r
            .target
            .ok_or_else(|| err(file, None, Some("target"), "missing"))?;
        let (host, port) = split_target(&target);
        let d = devices.get(&host);
        d.open_tcp.get_or_insert_with(Default::default).insert(port);
        let svc = d.service(port, "ssh", r.banner.as_ref().and_then(|b| b.raw.clone()));
        if let Some(b) = &r.banner {
            if b.protocol.first() == Some(&1) && b.protocol.get(1) != Some(&99) {
                d.finding(&evidence::SSH_V1, &svc, None, b.raw.clone());
            }
        }
        let offer = policy::ssh::Offer {
            kex: r.kex.into_iter().map(|a| a.algorithm).collect(),
            host_key: r.key.into_iter().map(|a| a.algorithm).collect(),
            ciphers: r.enc.into_iter().map(Name::get).collect(),
            macs: r.mac.into_iter().map(Name::get).collect(),
        };
        d.ssh(port, &offer);
    }
    let tool = Tool {
        name: "ssh-audit".into(),
        version: String::new(),
    };
    Ok(devices.into_evidence(Format::SshAudit, file, tool, &super::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(split_target("10.0.0.1"), ("10.0.0.1".into(), 22));
        assert_eq!(split_target("10.0.0.1:2222"), ("10.0.0.1".into(), 2222));
        assert_eq!(split_target("[fd00::1]:2222"), ("fd00::1".into(), 2222));
        assert_eq!(split_target("fd00::1"), ("fd00::1".into(), 22));
    }
}
