//! Which protocol an open port speaks, found by behaviour (greeting first, then HTTP, TLS,
//! RTSP and MQTT probes), never by its number.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::context::{Ctx, Endpoint};
use crate::evidence;
use crate::protocols::{ftp, http, mqtt, ssh, telnet, tls};

/// The protocol spoken on a port, found by behaviour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Telnet,
    Ssh,
    Ftp,
    Http,
    Rtsp,
    Mqtt,
    /// TLS, with what it carries (Http, Mqtt or nothing known).
    Tls(Option<Box<Proto>>),
    Unknown,
}

impl Proto {
    pub fn name(&self) -> &'static str {
        match self {
            Proto::Telnet => "telnet",
            Proto::Ssh => "ssh",
            Proto::Ftp => "ftp",
            Proto::Http => "http",
            Proto::Rtsp => "rtsp",
            Proto::Mqtt => "mqtt",
            Proto::Tls(Some(p)) if **p == Proto::Http => "https",
            Proto::Tls(Some(p)) if **p == Proto::Mqtt => "mqtts",
            Proto::Tls(_) => "tls",
            Proto::Unknown => "unknown",
        }
    }
}

/// Identify the protocol on an open port: greeting first, then probes in an order hinted by
/// the port number (the hint only changes the order, never the answer).
pub(crate) async fn identify(ctx: &Ctx, addr: SocketAddr) -> (Proto, Option<String>) {
    let t = &ctx.cfg.timeouts;
    if let Ok(mut c) = ctx.gate.tcp(addr).await {
        let deadline = Instant::now() + t.banner;
        let (first, _) = c
            .recv_while(deadline, 4096, |b| {
                !b.is_empty() && (b.ends_with(b"\n") || b.ends_with(b": ") || b.ends_with(b":"))
            })
            .await;
        if !first.is_empty() {
            if let Some(line) = ssh::banner_line(&first) {
                return (Proto::Ssh, Some(line));
            }
            if ftp::looks_like_ftp(&first) {
                return (
                    Proto::Ftp,
                    Some(evidence::sanitize(&String::from_utf8_lossy(&first), 160)),
                );
            }
            // Telnet: negotiation, or a login prompt possibly after a banner.
            let mut neg = telnet::Negotiator::default();
            let mut p = neg.feed(&first);
            let mut text = p.data.clone();
            if !p.reply.is_empty() {
                let _ = c.send(&p.reply).await;
            }
            if !neg.saw_negotiation && !telnet::looks_like_telnet(&text) {
                // Give a slow banner a moment to reach its prompt.
                let more_deadline = Instant::now() + t.banner;
                let (more, _) = c
                    .recv_while(more_deadline, 4096, telnet::looks_like_telnet)
                    .await;
                p = neg.feed(&more);
                text.extend_from_slice(&p.data);
            }
            if neg.saw_negotiation || telnet::looks_like_telnet(&text) {
                let banner =
                    evidence::sanitize(&telnet::clean(&String::from_utf8_lossy(&text)), 160);
                return (Proto::Telnet, (!banner.is_empty()).then_some(banner));
            }
            return (
                Proto::Unknown,
                Some(evidence::sanitize(&String::from_utf8_lossy(&first), 160)),
            );
        }
    }
    let port = addr.port();
    let order: &[u8] = match port {
        443 | 8443 | 8883 | 4443 | 9443 => b"TRHM",
        554 | 8554 => b"RHTM",
        1883 => b"MHTR",
        _ => b"HTRM",
    };
    for probe in order {
        let found = match probe {
            b'H' => probe_http(ctx, Endpoint { addr, tls: false }).await,
            b'T' => probe_tls(ctx, addr).await,
            b'R' => probe_rtsp(ctx, addr).await,
            _ => probe_mqtt(ctx, Endpoint { addr, tls: false }).await,
        };
        if let Some(x) = found {
            return x;
        }
    }
    (Proto::Unknown, None)
}

async fn probe_http(ctx: &Ctx, ep: Endpoint) -> Option<(Proto, Option<String>)> {
    let req = http::request("GET", "/", &ep.addr.to_string(), &[], None);
    let r = ctx.http_exchange(ep, &req, false).await.ok()?;
    if r.protocol.starts_with("RTSP/") {
        return Some((
            Proto::Rtsp,
            r.header("server").map(|s| evidence::sanitize(s, 160)),
        ));
    }
    let mut banner = format!("{} {}", r.status, evidence::sanitize(&r.reason, 40));
    if let Some(s) = r.header("server") {
        banner.push_str(&format!("; server: {}", evidence::sanitize(s, 80)));
    }
    if let Some(t) = http::title(&r.text()) {
        banner.push_str(&format!("; title: {}", evidence::sanitize(&t, 60)));
    }
    Some((Proto::Http, Some(banner)))
}

async fn probe_rtsp(ctx: &Ctx, addr: SocketAddr) -> Option<(Proto, Option<String>)> {
    let req = crate::protocols::rtsp::options(&format!("rtsp://{addr}/"), 1);
    let r = ctx
        .http_exchange(Endpoint { addr, tls: false }, &req, false)
        .await
        .ok()?;
    r.protocol.starts_with("RTSP/").then(|| {
        (
            Proto::Rtsp,
            r.header("server").map(|s| evidence::sanitize(s, 160)),
        )
    })
}

async fn probe_mqtt(ctx: &Ctx, ep: Endpoint) -> Option<(Proto, Option<String>)> {
    let mut c = ctx.open(ep).await.ok()?;
    c.send(&mqtt::connect(
        &format!("iotrust-{:08x}", ctx.nonce() as u32),
        None,
    ))
    .await
    .ok()?;
    let deadline = Instant::now() + ctx.cfg.timeouts.banner.max(Duration::from_secs(2));
    let (b, _) = c.recv_while(deadline, 64, |b| b.len() >= 4).await;
    let _ = c.send(&mqtt::disconnect()).await;
    mqtt::looks_like_connack(&b).then_some((Proto::Mqtt, None))
}

async fn probe_tls(ctx: &Ctx, addr: SocketAddr) -> Option<(Proto, Option<String>)> {
    let mut c = ctx.gate.tcp(addr).await.ok()?;
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    c.send(&tls::client_hello(tls::Version::Tls12, random, None))
        .await
        .ok()?;
    let b = c
        .recv(ctx.cfg.timeouts.banner.max(Duration::from_secs(2)))
        .await
        .ok()?;
    if !tls::looks_like_tls(&b) {
        return None;
    }
    drop(c);
    let ep = Endpoint { addr, tls: true };
    if let Some((Proto::Http, banner)) = probe_http(ctx, ep).await {
        return Some((Proto::Tls(Some(Box::new(Proto::Http))), banner));
    }
    if addr.port() == 8883 || addr.port() == 1883 {
        if let Some((Proto::Mqtt, _)) = probe_mqtt(ctx, ep).await {
            return Some((Proto::Tls(Some(Box::new(Proto::Mqtt))), None));
        }
    }
    Some((Proto::Tls(None), None))
}
