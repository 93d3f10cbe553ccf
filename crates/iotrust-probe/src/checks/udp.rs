//! UDP checks: SNMP communities (and a write test), SSDP/UPnP IGD, NAT-PMP, mDNS, CoAP.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::time::Instant;

use crate::checkfile::Proto;
use crate::context::{Ctx, Endpoint};
use crate::evidence::{self, Service};
use crate::observe::Observer;
use crate::protocols::{http, snmp, udp as u};

/// Per community: versions that answered, sysDescr.0 and sysLocation.0.
type CommunityAnswers = BTreeMap<String, (Vec<snmp::Version>, Option<Vec<u8>>, Option<Vec<u8>>)>;

fn add_service(state: &Observer, port: u16, protocol: &str, banner: Option<String>) {
    state.service(Service {
        port,
        transport: "udp".into(),
        protocol: protocol.into(),
        banner,
        tls_versions: Vec::new(),
    });
}

/// Run the UDP probes for `ports` concurrently.
pub(crate) async fn run_all(ctx: &Arc<Ctx>, ip: IpAddr, ports: &[u16], state: &Observer) {
    let futs = ports.iter().map(|&p| async move {
        match p {
            161 => snmp_check(ctx, ip, p, state).await,
            1900 => ssdp(ctx, ip, p, state).await,
            5351 => natpmp(ctx, ip, p, state).await,
            5353 => mdns(ctx, ip, p, state).await,
            5683 => coap(ctx, ip, p, state).await,
            _ => {}
        }
    });
    futures::future::join_all(futs).await;
}

// ---------------------------------------------------------------- SNMP

async fn snmp_check(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    if !ctx.cfg.checks.anonymous {
        return;
    }
    let sa = SocketAddr::new(ip, port);
    let Ok(sock) = ctx.gate.udp(sa).await else {
        return;
    };
    let base = (ctx.nonce() & 0x3fff_0000) as i32;
    let mut asked: BTreeMap<i32, (String, snmp::Version)> = BTreeMap::new();
    for (i, c) in ctx.communities.iter().enumerate() {
        for (j, v) in [snmp::Version::V2c, snmp::Version::V1]
            .into_iter()
            .enumerate()
        {
            let rid = base + (i as i32) * 2 + j as i32;
            asked.insert(rid, (c.clone(), v));
            match sock.send(&snmp::get_request(v, c, rid)).await {
                Ok(()) => {}
                // ICMP port unreachable from an earlier datagram: nothing listens on 161.
                Err(crate::net::NetError::Refused) => {
                    state.anonymous_tested(None);
                    return;
                }
                Err(e) => {
                    state.incomplete(format!("snmp/{port}: could not send ({e})"));
                    return;
                }
            }
        }
    }
    let deadline = Instant::now() + ctx.cfg.timeouts.udp;
    // community -> (versions, sysDescr, sysLocation)
    let mut ok: CommunityAnswers = BTreeMap::new();
    let mut answered = 0usize;
    while let Ok(d) = sock.recv_until(deadline).await {
        let Ok(r) = snmp::parse_response(&d) else {
            continue;
        };
        let Ok(rid) = i32::try_from(r.request_id) else {
            continue;
        };
        let Some((c, v)) = asked.get(&rid) else {
            continue;
        };
        answered += 1;
        if r.error_status != 0 {
            continue;
        }
        let e = ok.entry(c.clone()).or_default();
        if !e.0.contains(v) {
            e.0.push(*v);
        }
        e.1 =
            e.1.take()
                .or_else(|| r.octets(snmp::SYS_DESCR).map(<[u8]>::to_vec));
        e.2 =
            e.2.take()
                .or_else(|| r.octets(snmp::SYS_LOCATION).map(<[u8]>::to_vec));
        if answered >= asked.len() {
            break;
        }
    }
    let svc = format!("snmp/{port}");
    if ok.is_empty() {
        // No community answered: SNMP v1/v2c is either off or not using a default community.
        state.anonymous_tested(None);
        return;
    }
    let descr = ok
        .values()
        .find_map(|x| x.1.clone())
        .map(|d| evidence::sanitize(&String::from_utf8_lossy(&d), 160));
    add_service(state, port, "snmp", descr);
    let names: Vec<String> = ok
        .iter()
        .map(|(c, (vs, _, _))| {
            format!(
                "`{}` ({})",
                mask_community(c, ctx.cfg.show_secrets),
                vs.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    {
        state.cleartext();
        state.anonymous_tested(Some(svc.clone()));
        state.finding(
            &evidence::SNMP_DEFAULT_COMMUNITY,
            Some(svc.clone()),
            None,
            Some(format!("read access with {}", names.join(", "))),
        );
        state.finding(
            &evidence::CLEARTEXT_MANAGEMENT,
            Some(svc.clone()),
            Some("SNMP v1/v2c management without encryption".into()),
            None,
        );
    }
    if !ctx.cfg.checks.snmp_write_test {
        return;
    }
    // Write test: set sysLocation.0 to the value just read, so nothing changes.
    for (c, (versions, _, loc)) in &ok {
        let (Some(loc), Some(v)) = (loc, versions.first()) else {
            continue;
        };
        let rid = base + 0x8000 + (ctx.nonce() & 0x7fff) as i32;
        if sock
            .send(&snmp::set_location(*v, c, rid, loc))
            .await
            .is_err()
        {
            continue;
        }
        let deadline = Instant::now() + ctx.cfg.timeouts.udp;
        while let Ok(d) = sock.recv_until(deadline).await {
            let Ok(r) = snmp::parse_response(&d) else {
                continue;
            };
            if r.request_id != i64::from(rid) {
                continue;
            }
            if r.error_status == 0 {
                state.creds_result(true, true);
                state.finding(
                    &evidence::SNMP_WRITABLE,
                    Some(svc.clone()),
                    None,
                    Some(format!("community `{}` ({}) accepted a SET of sysLocation.0 (written back unchanged)", mask_community(c, ctx.cfg.show_secrets), v.name())),
                );
                return;
            }
            break;
        }
    }
}

fn mask_community(c: &str, show: bool) -> String {
    // Well-known defaults are shown: they are what the finding is about, and not secret.
    if show || c == "public" || c == "private" {
        c.to_string()
    } else {
        let n = c.chars().count();
        c.chars()
            .take(1)
            .chain(std::iter::repeat_n('*', n.saturating_sub(1)))
            .collect()
    }
}

// ---------------------------------------------------------------- SSDP / UPnP IGD

async fn ssdp(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    let Ok(sock) = ctx.gate.udp(SocketAddr::new(ip, port)).await else {
        return;
    };
    if sock.send(&u::ssdp_msearch()).await.is_err() {
        return;
    }
    let deadline = Instant::now() + ctx.cfg.timeouts.udp;
    let mut answers = Vec::new();
    let mut raw = Vec::new();
    while let Ok(d) = sock.recv_until(deadline).await {
        if let Some(a) = u::parse_ssdp(&d) {
            answers.push(a);
            if let Ok(Some(r)) = http::parse_response(&d, true, true) {
                raw.push(r);
            }
        }
        if answers.len() >= 64 {
            break;
        }
    }
    if answers.is_empty() {
        return;
    }
    let server = answers
        .iter()
        .find_map(|a| a.server.clone())
        .map(|s| evidence::sanitize(&s, 120));
    add_service(state, port, "ssdp", server.clone());
    let svc = format!("ssdp/{port}");
    // Checks kept as data on the SSDP answers (SSDP answering from the WAN side).
    for c in ctx.data_checks.iter().filter(|c| c.protocol == Proto::Ssdp) {
        if let Some(r) = raw.iter().find(|r| c.matches_http(r)) {
            state.push_finding(c.finding(
                svc.clone(),
                format!(
                    "{} answer(s) to a unicast M-SEARCH from the {} side, e.g. ST {}",
                    answers.len(),
                    ctx.cfg.vantage.name().to_uppercase(),
                    evidence::sanitize(r.header("st").unwrap_or("-"), 80)
                ),
            ));
        }
    }
    let mut data_fired: Vec<&str> = Vec::new();
    let mut locations: Vec<String> = answers.iter().filter_map(|a| a.location.clone()).collect();
    locations.sort();
    locations.dedup();
    for loc in locations.iter().take(4) {
        let Some((ep, path)) = parse_http_url(loc) else {
            continue;
        };
        if !ctx.gate.allowed(ep.addr.ip()) {
            state.incomplete(format!(
                "{svc}: description at {} is outside the scope; not fetched",
                evidence::sanitize(loc, 80)
            ));
            continue;
        }
        let req = http::request("GET", &path, &ep.addr.to_string(), &[], None);
        let Ok(desc) = ctx.http_exchange(ep, &req, false).await else {
            continue;
        };
        let xml = desc.text();
        if !u::is_igd_description(&xml) {
            continue;
        }
        if let Some((control, st)) = u::igd_control(&xml) {
            let cpath = if control.starts_with('/') {
                control.clone()
            } else {
                parse_http_url(&control)
                    .map(|x| x.1)
                    .unwrap_or_else(|| format!("/{control}"))
            };
            // Checks kept as data on the control URL (UPnP control from the WAN side): each
            // calls its own read-only `Get…` action.
            for c in ctx.data_checks.iter().filter(|c| c.protocol == Proto::Upnp) {
                let Some(action) = c.request.soap_action.as_deref() else {
                    continue;
                };
                if data_fired.contains(&c.id.as_str()) {
                    continue;
                }
                let req = soap_request(&cpath, &ep, &st, action);
                if let Ok(r) = ctx.http_exchange(ep, &req, false).await {
                    if c.matches_http(&r) {
                        data_fired.push(c.id.as_str());
                        state.push_finding(c.finding(
                            svc.clone(),
                            format!(
                                "from the {} side, the description {} and the IGD control URL {} answered {action} ({})",
                                ctx.cfg.vantage.name().to_uppercase(),
                                evidence::sanitize(loc, 80),
                                evidence::sanitize(&cpath, 60),
                                r.status
                            ),
                        ));
                    }
                }
            }
            let req = soap_request(&cpath, &ep, &st, "GetExternalIPAddress");
            if let Ok(r) = ctx.http_exchange(ep, &req, false).await {
                if r.status == 200 && r.text().contains("GetExternalIPAddressResponse") {
                    state.finding(
                        &evidence::UPNP_IGD,
                        Some(svc.clone()),
                        None,
                        Some(format!("the IGD control URL {} answered GetExternalIPAddress without authentication; port mappings can be added the same way", evidence::sanitize(&cpath, 60))),
                    );
                    return;
                }
            }
        }
    }
    state.finding(
        &evidence::SSDP_EXPOSED,
        Some(svc),
        None,
        Some(format!(
            "{} answer(s) to a unicast M-SEARCH{}",
            answers.len(),
            server.map(|s| format!("; server: {s}")).unwrap_or_default()
        )),
    );
}

/// A SOAP POST of the argument-less `action` of service type `st` to `cpath`.
fn soap_request(cpath: &str, ep: &Endpoint, st: &str, action: &str) -> Vec<u8> {
    http::request(
        "POST",
        cpath,
        &ep.addr.to_string(),
        &[
            ("Content-Type", "text/xml; charset=\"utf-8\"".into()),
            ("SOAPAction", format!("\"{st}#{action}\"")),
        ],
        Some(&u::soap_action(st, action)),
    )
}

/// `http://host:port/path` with a literal address.
fn parse_http_url(url: &str) -> Option<(Endpoint, String)> {
    let rest = url.trim().strip_prefix("http://")?;
    let (hostport, path) = match rest.split_once('/') {
        Some((h, p)) => (h, format!("/{p}")),
        None => (rest, "/".to_string()),
    };
    let addr: SocketAddr = hostport
        .parse()
        .or_else(|_| hostport.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 80)))
        .ok()?;
    Some((Endpoint { addr, tls: false }, path))
}

// ---------------------------------------------------------------- NAT-PMP, mDNS, CoAP

async fn natpmp(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    let Ok(sock) = ctx.gate.udp(SocketAddr::new(ip, port)).await else {
        return;
    };
    if sock.send(&u::natpmp_request()).await.is_err() {
        return;
    }
    let deadline = Instant::now() + ctx.cfg.timeouts.udp;
    while let Ok(d) = sock.recv_until(deadline).await {
        if let Some(a) = u::parse_natpmp(&d) {
            let ext = std::net::Ipv4Addr::from(a.external);
            add_service(
                state,
                port,
                "nat-pmp",
                Some(format!("result {}, external address {ext}", a.result)),
            );
            state.finding(
                &evidence::NAT_PMP,
                Some(format!("nat-pmp/{port}")),
                None,
                Some(format!(
                    "an external-address request was answered (result code {}{})",
                    a.result,
                    if a.result == 0 {
                        format!(", {ext}")
                    } else {
                        String::new()
                    }
                )),
            );
            return;
        }
    }
}

async fn mdns(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    let Ok(sock) = ctx.gate.udp(SocketAddr::new(ip, port)).await else {
        return;
    };
    let id = (ctx.nonce() & 0xffff) as u16;
    if sock.send(&u::mdns_query(id)).await.is_err() {
        return;
    }
    let deadline = Instant::now() + ctx.cfg.timeouts.udp;
    while let Ok(d) = sock.recv_until(deadline).await {
        if let Some(n) = u::parse_mdns(&d) {
            add_service(
                state,
                port,
                "mdns",
                Some(format!("{n} answer(s) to a unicast service enumeration")),
            );
            return;
        }
    }
}

async fn coap(ctx: &Arc<Ctx>, ip: IpAddr, port: u16, state: &Observer) {
    let Ok(sock) = ctx.gate.udp(SocketAddr::new(ip, port)).await else {
        return;
    };
    let id = (ctx.nonce() & 0xffff) as u16;
    if sock.send(&u::coap_discover(id)).await.is_err() {
        return;
    }
    let deadline = Instant::now() + ctx.cfg.timeouts.udp;
    while let Ok(d) = sock.recv_until(deadline).await {
        if let Some(a) = u::parse_coap(&d) {
            add_service(
                state,
                port,
                "coap",
                Some(format!(
                    "{}.{:02} to GET /.well-known/core",
                    a.class, a.detail
                )),
            );
            if a.class == 2 {
                let n = String::from_utf8_lossy(&a.payload).matches('<').count();
                state.finding(
                    &evidence::COAP_EXPOSED,
                    Some(format!("coap/{port}")),
                    None,
                    Some(format!(
                        "GET /.well-known/core answered {}.{:02} listing {n} resource(s)",
                        a.class, a.detail
                    )),
                );
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_masks() {
        let (ep, p) = parse_http_url("http://10.0.0.1:5000/rootDesc.xml").unwrap();
        assert_eq!(
            (ep.addr.to_string().as_str(), p.as_str()),
            ("10.0.0.1:5000", "/rootDesc.xml")
        );
        assert!(parse_http_url("http://router.lan/x").is_none());
        assert_eq!(mask_community("public", false), "public");
        assert_eq!(mask_community("s3cret", false), "s*****");
    }
}
