//! # C2 behaviour in payloads (IRC, executables)
//!
//! **What.** What a device says rather than how often: an IoT device speaking **IRC** (a
//! segment starting with a client command — `NICK`, `USER`, `JOIN`, `PRIVMSG`, `PASS`,
//! `MODE`, `PONG :` — on any port; Zeek's `service` = `irc`), or an
//! **executable in flight** to or from it (the ELF magic, or a `#!/bin/sh` script, at the
//! start of a segment's payload or of an HTTP body in it): a dropper fetching the bot, or an
//! infected device serving itself to the next victim (Mozi and Mirai's loaders).
//!
//! **Why.** IRC is the command channel of Tsunami/Kaiten, Muhstik and many Gafgyt builds;
//! no consumer IoT product needs it. Fetching a Linux executable over plain HTTP is how
//! every Mirai-family infection ends (`wget http://…/bins/mirai.arm`); a product's own
//! updates usually come as firmware images, not bare ELF files (an assumption, not a
//! measurement: see the false positives).
//!
//! **Rule.** One segment suffices. IRC from the device: severity medium, confidence 0.8;
//! an executable received or sent: medium, 0.7. The incident's targets name the peer and
//! port, so the proposed filter blocks that contact.
//!
//! **False positives.** A person's IRC client on a PC behind the same line (map
//! subscribers' non-IoT hosts out of `local_networks`, or list the server as `allow`);
//! developer boards fetching binaries over HTTP.
//!
//! **Sources.** Packet captures and sFlow headers (payload bytes), Zeek (`service`); flow
//! telemetry carries no payload.

use iotrust_flow::{App, FlowRecord};

use super::{Counters, Detector, Finding, Severity, Target};

/// Counter names.
pub mod counter {
    /// 1 for IRC, 2 for an executable ([`super::what`]).
    pub const WHAT: &str = "what";
    pub const PORT: &str = "port";
    pub const BYTES: &str = "bytes";
}

/// What a finding's `what` counter means.
pub fn what(v: u64) -> &'static str {
    match v {
        1 => "speaks IRC with",
        2 => "receives an executable from",
        3 => "sends an executable to",
        _ => "shows C2 behaviour with",
    }
}

/// True if `r` carries a payload hint this detector uses (one byte compared: the check
/// every record pays).
#[inline]
pub fn interesting(r: &FlowRecord) -> bool {
    matches!(r.app, App::Irc | App::Executable)
}

/// Source ports of ordinary web servers: an executable sent from one is a download site
/// serving its files, not a device spreading itself.
const SERVER_PORTS: [u16; 8] = [20, 21, 69, 80, 443, 8000, 8080, 8443];

/// The device's own segment (it is the source). An executable it sends counts only from
/// an ephemeral port (Mozi serves itself over HTTP on a random high port); from a web
/// server's port it is a download site.
pub fn observe_outbound(r: &FlowRecord) -> Option<Finding> {
    match r.app {
        App::Irc => Some(finding(r, r.src, r.dst, r.dst_port, 1, 0.8)),
        App::Executable if r.src_port >= 1024 && !SERVER_PORTS.contains(&r.src_port) => {
            Some(finding(r, r.src, r.dst, r.src_port, 3, 0.7))
        }
        _ => None,
    }
}

/// A segment to the device (it is the destination).
pub fn observe_inbound(r: &FlowRecord) -> Option<Finding> {
    match r.app {
        App::Executable => Some(finding(r, r.dst, r.src, r.src_port, 2, 0.7)),
        _ => None,
    }
}

fn finding(
    r: &FlowRecord,
    device: iotrust_flow::Addr,
    peer: iotrust_flow::Addr,
    port: u16,
    what: u64,
    confidence: f32,
) -> Finding {
    let mut counters = Counters::default();
    counters
        .push(counter::WHAT, what)
        .push(counter::PORT, u64::from(port))
        .push(counter::BYTES, r.bytes);
    Finding {
        detector: Detector::C2Behaviour,
        device,
        severity: Severity::Medium,
        confidence,
        attack: None,
        target: Target {
            peer: Some(peer),
            proto: Some(r.proto),
            dst_port: Some(port),
            ..Target::default()
        },
        counters,
        magnitude: 1,
        since_us: r.first_us,
        hold_us: 0,
        kind: 0,
    }
}

/// This detector's entry in the table ([`super::detectors!`]).
pub struct Rule;

impl super::Rule for Rule {
    const NAME: &'static str = "c2-behaviour";
    const ROLE: super::Role = super::Role::InfectedDevice;
    const FILTER: super::FilterShape = super::FilterShape::BlockPeers;

    fn summary(inc: &crate::incident::Incident) -> String {
        let peer = inc.peer_and_port();
        format!("{} {} {peer}", inc.device, what(inc.counter(counter::WHAT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotrust_flow::{Addr, SourceKind};

    #[test]
    fn irc_and_executables_are_found_and_nothing_else() {
        let mut r = FlowRecord::new(SourceKind::Pcap);
        r.src = Addr::v4([192, 168, 1, 20]);
        r.dst = Addr::v4([203, 0, 113, 9]);
        r.proto = FlowRecord::PROTO_TCP;
        r.dst_port = 6697;
        r.app = App::Irc;
        let f = observe_outbound(&r).unwrap();
        assert_eq!(f.device, r.src);
        assert_eq!(f.target.dst_port, Some(6697));
        assert!(observe_inbound(&r).is_none());
        let mut d = r;
        std::mem::swap(&mut d.src, &mut d.dst);
        d.src_port = 80;
        d.app = App::Executable;
        let f = observe_inbound(&d).unwrap();
        assert_eq!(f.device, Addr::v4([192, 168, 1, 20]));
        assert_eq!(f.counters.get(counter::WHAT), Some(2));
        r.app = App::Unknown;
        assert!(observe_outbound(&r).is_none() && !interesting(&r));
    }
}
