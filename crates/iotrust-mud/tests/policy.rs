//! The policy API judged on real MUD files (tests/fixtures, origins in SOURCES.md).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use iotrust_mud::{Context, Conversation, Departure, MudFile, Verdict};
use std::net::IpAddr;
use std::path::PathBuf;

fn mud(rel: &str) -> MudFile {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    MudFile::parse(&std::fs::read(p).unwrap()).unwrap().0
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

struct C {
    peer: &'static str,
    names: Vec<String>,
    protocol: u8,
    device_port: Option<u16>,
    peer_port: Option<u16>,
    from_device: bool,
    by_device: Option<bool>,
}

fn c(peer: &'static str, protocol: u8, peer_port: u16) -> C {
    C {
        peer,
        names: vec![],
        protocol,
        device_port: Some(40000),
        peer_port: Some(peer_port),
        from_device: true,
        by_device: Some(true),
    }
}

impl C {
    fn named(mut self, n: &str) -> Self {
        self.names.push(n.to_string());
        self
    }
    fn inbound(mut self) -> Self {
        self.from_device = false;
        self
    }
    fn by(mut self, d: Option<bool>) -> Self {
        self.by_device = d;
        self
    }
    fn judge(&self, m: &MudFile, ctx: &Context) -> Verdict {
        m.policy().judge(
            &Conversation {
                device: ip("192.168.1.10"),
                peer: ip(self.peer),
                peer_names: &self.names,
                protocol: self.protocol,
                device_port: self.device_port,
                peer_port: self.peer_port,
                from_device: self.from_device,
                initiated_by_device: self.by_device,
            },
            ctx,
        )
    }
}

fn allowed(ace: &str) -> Verdict {
    Verdict::Allowed {
        ace: ace.to_string(),
    }
}

fn why(v: &Verdict) -> Departure {
    match v {
        Verdict::Denied { why, .. } => *why,
        Verdict::Allowed { ace } => panic!("allowed by {ace}"),
    }
}

fn lan() -> Context {
    Context {
        local_networks: vec!["192.168.1.0/24".parse().unwrap()],
        my_controller: vec![ip("192.168.1.2")],
        ..Default::default()
    }
}

#[test]
fn dnsname_peer_port_and_direction() {
    let m = mud("cisco-luminaire/Luminaire_150.json");
    let ctx = lan();
    let fw = "fw-update.luminaire.example.com";
    assert_eq!(
        c("198.51.100.7", 6, 443).named(fw).judge(&m, &ctx),
        allowed("mud-21966-v4fr/cl0-frdev")
    );
    // Names compare without case or the trailing dot.
    assert!(c("198.51.100.7", 6, 443)
        .named("FW-Update.luminaire.example.com.")
        .judge(&m, &ctx)
        .is_allowed());
    // The reply, to the device from port 443.
    let reply = C {
        device_port: Some(40000),
        peer_port: Some(443),
        ..c("198.51.100.7", 6, 443).named(fw).inbound()
    };
    assert_eq!(reply.judge(&m, &ctx), allowed("mud-21966-v4to/cl0-todev"));
    // Same peer, another port.
    assert_eq!(
        why(&c("198.51.100.7", 6, 8443).named(fw).judge(&m, &ctx)),
        Departure::NewPort
    );
    // Same peer, another protocol.
    assert_eq!(
        why(&c("198.51.100.7", 17, 443).named(fw).judge(&m, &ctx)),
        Departure::NewProtocol
    );
    // A peer no entry names.
    let v = c("203.0.113.9", 6, 443)
        .named("evil.example")
        .judge(&m, &ctx);
    assert_eq!(
        v,
        Verdict::Denied {
            why: Departure::NewPeer,
            closest: None
        }
    );
    // The peer opens a connection to the device: direction-initiated is from-device.
    let inbound = c("198.51.100.7", 6, 443)
        .named(fw)
        .inbound()
        .by(Some(false));
    assert_eq!(why(&inbound.judge(&m, &ctx)), Departure::WrongDirection);
    // Unknown initiator leaves direction unchecked.
    assert!(c("198.51.100.7", 6, 443)
        .named(fw)
        .inbound()
        .by(None)
        .judge(&m, &ctx)
        .is_allowed());
}

#[test]
fn local_networks_and_my_controller() {
    let m = mud("cisco-luminaire/Luminaire_150.json");
    let ctx = lan();
    assert_eq!(
        c("192.168.1.77", 17, 5683).judge(&m, &ctx),
        allowed("mud-21966-v4fr/loc0-frdev")
    );
    assert_eq!(
        why(&c("10.9.9.9", 17, 5683).judge(&m, &ctx)),
        Departure::NewPeer
    );
    assert_eq!(
        c("192.168.1.2", 17, 5684).judge(&m, &ctx),
        allowed("mud-21966-v4fr/myctl0-frdev")
    );
    // A local peer that is not the controller, on the controller's port.
    assert_eq!(
        why(&c("192.168.1.77", 17, 5684).judge(&m, &ctx)),
        Departure::NewPort
    );
    // Without a context nothing local is known.
    assert_eq!(
        why(&c("192.168.1.2", 17, 5684).judge(&m, &Context::default())),
        Departure::NewPeer
    );
}

#[test]
fn controller_class_manufacturer_and_model() {
    let m = mud("nist/mudfile-controllerclass-test.json");
    let mut ctx = Context::default();
    assert_eq!(
        why(&c("10.0.0.5", 6, 80).judge(&m, &ctx)),
        Departure::NewPeer
    );
    ctx.controllers
        .insert("https://controller.nist.local".into(), vec![ip("10.0.0.5")]);
    assert!(c("10.0.0.5", 6, 80).judge(&m, &ctx).is_allowed());

    let m = mud("nist/mudfile-mfg-test.json");
    let mut ctx = Context::default();
    ctx.manufacturer
        .insert("toothbrush.nist.local".into(), vec![ip("10.0.0.6")]);
    assert!(
        c("10.0.0.6", 17, 8008).judge(&m, &ctx).is_allowed(),
        "{:?}",
        c("10.0.0.6", 17, 8008).judge(&m, &ctx)
    );
    assert_eq!(
        why(&c("10.0.0.7", 17, 8008).judge(&m, &ctx)),
        Departure::NewPeer
    );

    let m = mud("nist/mudfile-model-test.json");
    let mut ctx = Context::default();
    ctx.model.insert(
        "https://toothbrush.nist.local/super1".into(),
        vec![ip("10.0.0.8")],
    );
    assert!(c("10.0.0.8", 17, 8008).judge(&m, &ctx).is_allowed());
}

#[test]
fn same_manufacturer() {
    let m = mud("nist/mudfile-local-and-same-mfg-test.json");
    let acl_aces: Vec<_> = m
        .acls
        .iter()
        .flat_map(|a| &a.aces)
        .filter(|a| a.matches.mud.same_manufacturer)
        .collect();
    assert!(!acl_aces.is_empty());
    let mut ctx = Context::default();
    let probe = |ctx: &Context| {
        (1..65535u16).step_by(1).find(|p| {
            c("10.0.0.9", 6, *p).judge(&m, ctx).is_allowed()
                || c("10.0.0.9", 17, *p).judge(&m, ctx).is_allowed()
        })
    };
    assert_eq!(probe(&ctx), None);
    ctx.same_manufacturer.push(ip("10.0.0.9"));
    assert!(probe(&ctx).is_some());
}

#[test]
fn ports_operators_and_ranges() {
    use iotrust_mud::{Operator, PortMatch};
    assert!(PortMatch::Op {
        op: Operator::Gte,
        port: 1024
    }
    .matches(1024));
    assert!(!PortMatch::Op {
        op: Operator::Gte,
        port: 1024
    }
    .matches(1023));
    assert!(PortMatch::Op {
        op: Operator::Lte,
        port: 1024
    }
    .matches(80));
    assert!(!PortMatch::Op {
        op: Operator::Neq,
        port: 80
    }
    .matches(80));
    assert!(PortMatch::Range {
        lower: 5000,
        upper: 5010
    }
    .matches(5010));
    assert!(!PortMatch::Range {
        lower: 5000,
        upper: 5010
    }
    .matches(5011));
    // In a file: a range on the peer's port.
    let mut v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/cisco-luminaire/Luminaire_150.json"),
        )
        .unwrap(),
    )
    .unwrap();
    v["ietf-access-control-list:acls"]["acl"][1]["aces"]["ace"][0]["matches"]["tcp"]
        ["destination-port"] = serde_json::json!({"lower-port": 8000, "upper-port": 8080});
    let m = MudFile::parse(&serde_json::to_vec(&v).unwrap()).unwrap().0;
    let fw = "fw-update.luminaire.example.com";
    assert!(c("198.51.100.7", 6, 8080)
        .named(fw)
        .judge(&m, &lan())
        .is_allowed());
    assert_eq!(
        why(&c("198.51.100.7", 6, 443).named(fw).judge(&m, &lan())),
        Departure::NewPort
    );
}

#[test]
fn ipv6_acls_judge_ipv6_peers_only() {
    let m = mud("mudmaker/cloud-service.json");
    let name = "cloud-service.example.com";
    assert_eq!(
        c("2001:db8::1", 6, 443)
            .named(name)
            .judge(&m, &Context::default()),
        allowed("mud-96898-v6fr/cl0-frdev")
    );
    assert_eq!(
        c("198.51.100.1", 6, 443)
            .named(name)
            .judge(&m, &Context::default()),
        allowed("mud-96898-v4fr/cl0-frdev")
    );
}

#[test]
fn unregistered_controller_and_ethernet_acls() {
    // MUDgee's gateway controller: allowed when the context names that class.
    let m = mud("namib-unsw/Ring-Doorbell.json");
    let mut ctx = Context::default();
    assert_eq!(
        why(&c("192.168.1.1", 17, 67).judge(&m, &ctx)),
        Departure::NewPeer
    );
    ctx.controllers.insert(
        "urn:ietf:params:mud:gateway".into(),
        vec![ip("192.168.1.1")],
    );
    assert!(c("192.168.1.1", 17, 67).judge(&m, &ctx).is_allowed());
    ctx.controllers
        .insert("urn:ietf:params:mud:dns".into(), vec![ip("192.168.1.1")]);
    assert!(c("192.168.1.1", 17, 53).judge(&m, &ctx).is_allowed());
    assert_eq!(
        why(&c("192.168.1.1", 17, 54).judge(&m, &ctx)),
        Departure::NewPort
    );
}
