//! Probe evidence filling the `[[interface]]` table. Each network service a probe found open
//! becomes a tested row: matched to the declared row on the same port (the columns the probe
//! sees — protocol, transport, authentication, whether it is on — are checked against the
//! declaration and the tested value wins), or added when the table, read as complete, has no
//! row for it. Every disagreement is a contradiction naming the row, the column and the file.
//! The interface facts are then derived again from the merged rows ([`crate::interfaces`]), so
//! the catalog's checks judge what the device does, not only what its maker wrote.
//!
//! The device's state when probed (`state` in the evidence) decides what "found open" says:
//! in the factory default state the row is on as shipped; after setup a row declared
//! `setup-only` should be closed, and a `disabled` row is open only if a user may enable it.

use crate::evidence::{DeviceState, Evidence, Observed};
use crate::interfaces::Interface;
use crate::result::Contradiction;

/// The `transport` column a probe can tell from the protocol it identified and the TLS
/// versions a service accepted (the lowest one, which an attacker can force).
fn transport_of(o: &Observed) -> Option<String> {
    if let Some(min) = o
        .tls_versions
        .iter()
        .filter_map(|v| tls_column(v))
        .min_by_key(|(rank, _)| *rank)
    {
        return Some(min.1.to_string());
    }
    match o.protocol.as_str() {
        "telnet" | "http" | "ftp" | "mqtt" | "rtsp" | "snmp" | "coap" | "ssdp" | "nat-pmp"
        | "mdns" | "upnp" | "tr-064" | "adb" => Some("plain".into()),
        "ssh" => Some("ssh".into()),
        _ => None,
    }
}

fn tls_column(v: &str) -> Option<(u8, &'static str)> {
    let v = v.to_ascii_lowercase().replace(['v', ' ', '_'], "");
    Some(match v.as_str() {
        "tls1.0" | "tls1" => (0, "tls1.0"),
        "tls1.1" => (1, "tls1.1"),
        "tls1.2" => (2, "tls1.2"),
        "tls1.3" => (3, "tls1.3"),
        _ => return None,
    })
}

/// The interface table with the probes' observations merged in, and the disagreements.
pub fn merge(
    declared: &[Interface],
    evidence: &[Evidence],
) -> (Vec<Interface>, Vec<Contradiction>) {
    let mut rows = declared.to_vec();
    let mut out = Vec::new();
    for ev in evidence {
        for o in &ev.services {
            observe(&mut rows, &mut out, ev, o);
        }
    }
    (rows, out)
}

fn observe(rows: &mut Vec<Interface>, out: &mut Vec<Contradiction>, ev: &Evidence, o: &Observed) {
    let at = format!("{} ({})", o.source, ev.strength);
    let said = |out: &mut Vec<Contradiction>, row: &str, msg: String| {
        out.push(Contradiction {
            outcome: None,
            fact: Some(format!("[[interface]] {row}")),
            message: msg,
        });
    };
    let transport = transport_of(o);
    let found = rows
        .iter()
        .position(|r| r.kind == "network-service" && r.port == Some(i64::from(o.port)));
    let Some(i) = found else {
        said(
            out,
            &o.name(),
            format!(
                "the [[interface]] table, read as complete, has no network service on {}/{}, but {} found {} there",
                o.transport, o.port, at, o.protocol
            ),
        );
        rows.push(Interface {
            name: format!(
                "{} on {}/{} (found by {})",
                o.protocol, o.transport, o.port, ev.file
            ),
            kind: "network-service".into(),
            protocol: Some(o.protocol.clone()),
            port: Some(i64::from(o.port)),
            transport,
            authentication: o.authentication.clone(),
            // open in the state probed: on, as far as anyone knows
            default_state: Some("enabled".into()),
            user_can_enable: None,
            reach: Vec::new(),
            purpose: None,
            source: Some(o.source.clone()),
            strength: ev.strength,
            line: 0,
        });
        return;
    };
    let r = &mut rows[i];
    let name = r.name.clone();
    // The row is on in the state probed.
    match (ev.state, r.default_state.as_deref()) {
        // in the factory default state, or (state not recorded) with no way for a user to
        // have switched it on
        (Some(DeviceState::FactoryDefault) | None, Some("disabled"))
            if ev.state.is_some() || r.user_can_enable != Some(true) =>
        {
            let shipped = ev.state.is_some();
            said(
                out,
                &name,
                format!(
                    "`{name}` is declared disabled as shipped, but {at} found {} open on {}/{}{}",
                    o.protocol,
                    o.transport,
                    o.port,
                    if shipped { " in the factory default state" } else { "" }
                ),
            );
            if shipped {
                r.default_state = Some("enabled".into());
            }
        }
        (Some(DeviceState::SetUp), Some("setup-only")) => said(
            out,
            &name,
            format!("`{name}` is declared open only until setup completes, but {at} found it open after setup"),
        ),
        (Some(DeviceState::SetUp), Some("disabled")) if r.user_can_enable != Some(true) => said(
            out,
            &name,
            format!("`{name}` is declared disabled with no way for a user to enable it, but {at} found it open after setup"),
        ),
        _ => {}
    }
    if let Some(t) = transport {
        if r.transport.as_deref().is_some_and(|d| d != t) {
            said(
                out,
                &name,
                format!(
                    "`{name}` is declared with transport {}, but {at} shows {t}",
                    r.transport.as_deref().unwrap_or_default()
                ),
            );
        }
        r.transport = Some(t);
    }
    if let Some(a) = &o.authentication {
        let declared = r.authentication.clone();
        let disagrees = match (declared.as_deref(), a.as_str()) {
            (Some(d), "none") => d != "none",
            (Some("none"), _) => true,
            _ => false,
        };
        if disagrees {
            said(
                out,
                &name,
                format!(
                    "`{name}` is declared with authentication {}, but {at} shows {a}",
                    declared.as_deref().unwrap_or_default()
                ),
            );
        }
        // A tested "none" replaces any declaration; "password" only fills a gap or a
        // declared "none" (the probe cannot tell a digest from a plain password).
        if a == "none" || declared.is_none() || disagrees {
            r.authentication = Some(a.clone());
        }
    }
    if r.protocol.is_none() {
        r.protocol = Some(o.protocol.clone());
    }
    if ev.strength > r.strength {
        r.strength = ev.strength;
        let src = r.source.take();
        r.source = Some(match src {
            Some(s) => format!("{s} + {}", o.source),
            None => o.source.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_is_the_weakest_tls_version_or_the_protocols_own() {
        let o = |p: &str, v: &[&str]| Observed {
            address: String::new(),
            port: 443,
            transport: "tcp".into(),
            protocol: p.into(),
            tls_versions: v.iter().map(|s| s.to_string()).collect(),
            authentication: None,
            source: String::new(),
        };
        assert_eq!(
            transport_of(&o("https", &["TLSv1.3", "TLSv1.1"])).as_deref(),
            Some("tls1.1")
        );
        assert_eq!(transport_of(&o("telnet", &[])).as_deref(), Some("plain"));
        assert_eq!(transport_of(&o("ssh", &[])).as_deref(), Some("ssh"));
        assert_eq!(transport_of(&o("unknown", &[])), None);
    }
}
