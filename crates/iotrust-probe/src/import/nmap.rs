//! nmap XML (`-oX`): open ports, and the NSE scripts whose output iotrust can judge:
//! `ssh2-enum-algos` (SSH algorithms), `ssl-enum-ciphers` (TLS versions and suites), `sshv1`,
//! `ftp-anon` and `http-default-accounts`. The XML keeps each script's structured output as
//! `<table key>`/`<elem key>` elements; the text output is never parsed.

use roxmltree::{Document, Node};

use super::{err, tls_version, Devices, Format};
use crate::error::ProbeError;
use crate::evidence::{self, Evidence, Tool};
use crate::policy;

fn line(doc: &Document, n: Node) -> usize {
    doc.text_pos_at(n.range().start).row as usize
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> impl Iterator<Item = Node<'a, 'i>> + use<'a, 'i> {
    let tag = tag.to_string();
    n.children().filter(move |c| c.has_tag_name(tag.as_str()))
}

fn keyed<'a, 'i>(n: Node<'a, 'i>, key: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.attribute("key") == Some(key))
}

/// The `<elem>` texts of a `<table key>`.
fn elems(n: Node, key: &str) -> Vec<String> {
    keyed(n, key)
        .map(|t| {
            child(t, "elem")
                .filter_map(|e| e.text())
                .map(|s| s.trim().chars().take(128).collect())
                .collect()
        })
        .unwrap_or_default()
}

pub fn import(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    // nmap writes `<!DOCTYPE nmaprun>`; roxmltree expands no external entities and bounds
    // internal ones, so allowing the DTD is safe.
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| {
        err(
            file,
            Some(e.pos().row as usize),
            None,
            format!("not valid XML: {e}"),
        )
    })?;
    let root = doc.root_element();
    if !root.has_tag_name("nmaprun") {
        return Err(err(
            file,
            Some(line(&doc, root)),
            Some(root.tag_name().name()),
            "not an nmap XML report (expected <nmaprun>)",
        ));
    }
    let when = root
        .attribute("start")
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| t.to_string())
        .unwrap_or_else(super::now);
    let mut devices = Devices::default();
    for host in child(root, "host") {
        let Some(addr) = child(host, "address")
            .find(|a| matches!(a.attribute("addrtype"), Some("ipv4" | "ipv6")))
            .and_then(|a| a.attribute("addr"))
        else {
            return Err(err(
                file,
                Some(line(&doc, host)),
                Some("host.address"),
                "a host without an IPv4 or IPv6 address",
            ));
        };
        let d = devices.get(addr);
        let open = d.open_tcp.get_or_insert_with(Default::default);
        let mut ports = Vec::new();
        for ports_el in child(host, "ports") {
            for p in child(ports_el, "port") {
                if p.attribute("protocol") != Some("tcp") {
                    continue;
                }
                let n = p
                    .attribute("portid")
                    .and_then(|x| x.parse::<u16>().ok())
                    .ok_or_else(|| {
                        err(
                            file,
                            Some(line(&doc, p)),
                            Some("port.portid"),
                            "not a port number",
                        )
                    })?;
                if child(p, "state").any(|s| s.attribute("state") == Some("open")) {
                    open.insert(n);
                    ports.push((n, p));
                }
            }
        }
        for (n, p) in ports {
            let svc_el = child(p, "service").next();
            let mut proto = svc_el
                .and_then(|s| s.attribute("name"))
                .unwrap_or("unknown")
                .to_string();
            if svc_el.and_then(|s| s.attribute("tunnel")) == Some("ssl") && proto == "http" {
                proto = "https".into();
            }
            let banner = svc_el.and_then(|s| {
                let prod = s.attribute("product")?;
                Some(
                    format!("{prod} {}", s.attribute("version").unwrap_or(""))
                        .trim()
                        .to_string(),
                )
            });
            let svc = d.service(n, &proto, banner);
            for script in child(p, "script") {
                match script.attribute("id") {
                    Some("ssh2-enum-algos") => {
                        let offer = policy::ssh::Offer {
                            kex: elems(script, "kex_algorithms"),
                            host_key: elems(script, "server_host_key_algorithms"),
                            ciphers: elems(script, "encryption_algorithms"),
                            macs: elems(script, "mac_algorithms"),
                        };
                        d.ssh(n, &offer);
                    }
                    Some("ssl-enum-ciphers") => {
                        let mut versions = Vec::new();
                        let mut acc = policy::tls::Accepted::default();
                        for t in child(script, "table") {
                            let Some(v) = t.attribute("key").and_then(tls_version) else {
                                continue;
                            };
                            versions.push(v);
                            if let Some(ciphers) = keyed(t, "ciphers") {
                                for c in child(ciphers, "table") {
                                    if let Some(name) = keyed(c, "name").and_then(|e| e.text()) {
                                        acc.suites
                                            .push((v.name().to_string(), name.trim().to_string()));
                                    }
                                }
                            }
                        }
                        let proto = if proto == "http" || proto == "unknown" {
                            "https".to_string()
                        } else {
                            proto.clone()
                        };
                        d.tls(n, &proto, &versions, &acc);
                    }
                    Some("sshv1") => {
                        let out = script.attribute("output").unwrap_or("");
                        if out.contains("supports SSHv1") {
                            d.finding(
                                &evidence::SSH_V1,
                                &svc,
                                None,
                                Some("nmap sshv1: server supports SSHv1".into()),
                            );
                        }
                    }
                    Some("ftp-anon") => {
                        let out = script.attribute("output").unwrap_or("");
                        if out.contains("Anonymous FTP login allowed") {
                            d.anonymous
                                .get_or_insert_with(Default::default)
                                .insert(svc.clone());
                            d.finding(
                                &evidence::FTP_ANONYMOUS,
                                &svc,
                                None,
                                Some("nmap ftp-anon: anonymous FTP login allowed".into()),
                            );
                        }
                    }
                    Some("http-default-accounts") => {
                        // The structured output lists each fingerprint that logged in with its
                        // credentials; a non-empty table is a working default credential.
                        let found: Vec<String> = child(script, "table")
                            .filter_map(|t| t.attribute("key"))
                            .map(String::from)
                            .collect();
                        if !found.is_empty() {
                            d.default_credentials = Some(true);
                            d.finding(
                                &evidence::DEFAULT_CREDENTIALS,
                                &svc,
                                None,
                                Some(format!("nmap http-default-accounts: {}", found.join(", "))),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let tool = Tool {
        name: "nmap".into(),
        version: root.attribute("version").unwrap_or("").to_string(),
    };
    Ok(devices.into_evidence(Format::NmapXml, file, tool, &when))
}
