//! testssl.sh JSON (`--jsonfile` flat, or `--jsonfile-pretty`): protocols offered
//! (`SSLv3`, `TLS1` ... `TLS1_3`), each cipher suite accepted (`cipher-<version>_x<hex>`, run
//! with `-E`; the IANA name is the last word of the finding), and `secure_renego`. Suites are
//! judged by [`crate::policy::tls`], as the probe's own check does.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{err, json_err, tls_version, Devices, Format};
use crate::error::ProbeError;
use crate::evidence::{Evidence, Tool};
use crate::policy;
use crate::protocols::tls::Version;

#[derive(Deserialize, Clone)]
struct Item {
    id: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    port: serde_json::Value,
    #[serde(default)]
    finding: String,
}

#[derive(Default)]
struct Svc {
    versions: Vec<Version>,
    acc: policy::tls::Accepted,
    service: Option<String>,
}

fn items(file: &str, v: serde_json::Value) -> Result<Vec<Item>, ProbeError> {
    match v {
        serde_json::Value::Array(a) => a
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                serde_json::from_value(x).map_err(|e| {
                    err(
                        file,
                        None,
                        Some(&format!("[{i}]")),
                        format!("not a testssl.sh finding: {e}"),
                    )
                })
            })
            .collect(),
        serde_json::Value::Object(o) => {
            let Some(serde_json::Value::Array(scans)) = o.get("scanResult") else {
                return Err(err(
                    file,
                    None,
                    Some("scanResult"),
                    "expected testssl.sh JSON (an array of findings, or an object with scanResult)",
                ));
            };
            let mut out = Vec::new();
            for (i, s) in scans.iter().enumerate() {
                let ip = s
                    .get("ip")
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string();
                let port = s.get("port").cloned().unwrap_or_default();
                let Some(obj) = s.as_object() else { continue };
                for (k, section) in obj {
                    let Some(list) = section.as_array() else {
                        continue;
                    };
                    for (j, x) in list.iter().enumerate() {
                        let mut it: Item = serde_json::from_value(x.clone()).map_err(|e| {
                            err(
                                file,
                                None,
                                Some(&format!("scanResult[{i}].{k}[{j}]")),
                                format!("not a testssl.sh finding: {e}"),
                            )
                        })?;
                        it.ip = ip.clone();
                        it.port = port.clone();
                        out.push(it);
                    }
                }
            }
            Ok(out)
        }
        _ => Err(err(file, Some(1), None, "expected testssl.sh JSON")),
    }
}

pub fn import(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| json_err(file, &e))?;
    let mut by_target: BTreeMap<(String, u16), Svc> = BTreeMap::new();
    let mut order: Vec<(String, u16)> = Vec::new();
    for it in items(file, v)? {
        // `host/ip`: the address is after the slash; scan-wide notes (`engine_problem`) have
        // none.
        let ip = it
            .ip
            .rsplit('/')
            .next()
            .unwrap_or(&it.ip)
            .trim()
            .to_string();
        if ip.is_empty() {
            continue;
        }
        let port = match &it.port {
            serde_json::Value::String(s) => s.parse::<u16>().ok(),
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        }
        .ok_or_else(|| {
            err(
                file,
                None,
                Some(&format!("{}.port", it.id)),
                "not a port number",
            )
        })?;
        let key = (ip, port);
        if !by_target.contains_key(&key) {
            order.push(key.clone());
        }
        let s = by_target.entry(key).or_default();
        let f = it.finding.trim();
        if let Some(v) = tls_version(&it.id).filter(|_| !it.id.starts_with("cipher")) {
            if f.starts_with("offered") {
                s.versions.push(v);
            }
        } else if let Some(rest) = it.id.strip_prefix("cipher-") {
            let version = rest.split('_').take(2).collect::<Vec<_>>().join("_");
            if let (Some(v), Some(name)) = (tls_version(&version), f.split_whitespace().last()) {
                s.acc.suites.push((v.name().to_string(), name.to_string()));
            }
        } else if it.id == "secure_renego" {
            // "supported", or "Not supported / VULNERABLE"; anything else ("OpenSSL handshake
            // didn't succeed": testssl.sh tests renegotiation with its OpenSSL, which cannot
            // speak RC4- or 3DES-only servers) is untested, not a verdict.
            let l = f.to_ascii_lowercase();
            if l.starts_with("supported") {
                s.acc.secure_renegotiation = Some(true);
            } else if l.starts_with("not supported") || l.contains("vulnerable") {
                s.acc.secure_renegotiation = Some(false);
            }
        } else if it.id == "service" {
            s.service = Some(f.to_ascii_lowercase());
        }
    }
    let mut devices = Devices::default();
    for key in order {
        let Some(s) = by_target.remove(&key) else {
            continue;
        };
        let proto = match s.service.as_deref() {
            Some("http") => "https",
            Some("mqtt") => "mqtts",
            _ => "tls",
        };
        let d = devices.get(&key.0);
        d.open_tcp
            .get_or_insert_with(Default::default)
            .insert(key.1);
        d.tls(key.1, proto, &s.versions, &s.acc);
    }
    let tool = Tool {
        name: "testssl.sh".into(),
        version: String::new(),
    };
    Ok(devices.into_evidence(Format::Testssl, file, tool, &super::now()))
}
