//! Loading a compiled rule set with the real `nft` and keeping its name sets fresh.
//! Names are resolved with the system resolver (getaddrinfo: /etc/hosts, then DNS).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs};
use std::process::{Command, Stdio};

use crate::nft::NameSet;

/// `nft` failed.
#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    #[error("cannot run `nft`: {0} (is the nftables package installed, and are you root?)")]
    Spawn(std::io::Error),
    #[error("`nft -f -` refused the rule set: {0}")]
    Nft(String),
}

/// Resolve every name; a name that does not resolve gets no addresses (and so allows
/// nothing) and is listed in the second value.
pub fn resolve(sets: &[NameSet]) -> (BTreeMap<String, Vec<IpAddr>>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut failed = Vec::new();
    for ns in sets {
        if out.contains_key(&ns.name) {
            continue;
        }
        match (ns.name.as_str(), 0u16).to_socket_addrs() {
            Ok(addrs) => {
                let mut v: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                v.sort();
                v.dedup();
                out.insert(ns.name.clone(), v);
            }
            Err(e) => {
                failed.push(format!("{}: {e}", ns.name));
                out.insert(ns.name.clone(), Vec::new());
            }
        }
    }
    (out, failed)
}

/// Run `nft -f -` with `script` on its standard input.
pub fn nft_load(script: &str) -> Result<(), EnforceError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(EnforceError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(EnforceError::Spawn)?;
    }
    let out = child.wait_with_output().map_err(EnforceError::Spawn)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EnforceError::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}
