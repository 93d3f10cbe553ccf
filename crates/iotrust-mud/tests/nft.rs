//! The rule set compiled from real MUD files (tests/fixtures, origins in SOURCES.md), and a
//! generated file's round trip through the checker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use iotrust_assess::communications::{Communication, Initiator, Peer, Ports};
use iotrust_catalog::model::Strength;
use iotrust_mud::nft::{compile, refresh_script, Options};
use iotrust_mud::{Context, MudFile};

fn mud(rel: &str) -> MudFile {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    MudFile::parse(&std::fs::read(p).unwrap()).unwrap().0
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn luminaire_rules() {
    let m = mud("cisco-luminaire/Luminaire_150.json");
    let ctx = Context {
        local_networks: vec!["192.168.1.0/24".parse().unwrap()],
        my_controller: vec![ip("192.168.1.2")],
        ..Default::default()
    };
    let mut resolved = BTreeMap::new();
    resolved.insert(
        "fw-update.luminaire.example.com".to_string(),
        vec![ip("198.51.100.7"), ip("2001:db8::7")],
    );
    let rs = compile(
        &m,
        &Options {
            device: ip("192.168.1.10"),
            timeout: 600,
        },
        &resolved,
        &ctx,
    );
    let s = &rs.script;
    assert_eq!(rs.table, "iotrust_mud_192_168_1_10");
    assert!(
        s.contains("elements = { 198.51.100.7 timeout 600s }"),
        "{s}"
    );
    assert!(!s.contains("2001:db8::7"), "only the device's family: {s}");
    assert!(s.contains("ip daddr @dns0_v4 meta l4proto tcp tcp dport 443 counter accept comment \"mud-21966-v4fr/cl0-frdev\""), "{s}");
    // The cloud may only answer: direction-initiated from-device.
    assert!(s.contains("ip saddr @dns0_v4 meta l4proto tcp tcp sport 443 ct state established,related counter accept"), "{s}");
    assert!(
        s.contains("ip daddr { 192.168.1.2 } meta l4proto udp udp dport 5684"),
        "{s}"
    );
    assert!(
        s.contains("ip daddr { 192.168.1.0/24 } meta l4proto udp udp dport 5683"),
        "{s}"
    );
    assert_eq!(s.matches("counter drop comment").count(), 2);
    assert!(rs.notes.is_empty(), "{:?}", rs.notes);
    // A refresh replaces the elements in place.
    resolved.insert(
        "fw-update.luminaire.example.com".to_string(),
        vec![ip("198.51.100.8")],
    );
    let r = refresh_script(&rs, &resolved, 600);
    assert_eq!(
        r,
        "flush set inet iotrust_mud_192_168_1_10 dns0_v4\nadd element inet iotrust_mud_192_168_1_10 dns0_v4 { 198.51.100.8 timeout 600s }\n"
    );
    // Without a context, the abstractions are not enforced and say so.
    let rs = compile(
        &m,
        &Options {
            device: ip("192.168.1.10"),
            timeout: 600,
        },
        &resolved,
        &Context::default(),
    );
    assert_eq!(rs.notes.len(), 4, "{:?}", rs.notes);
}

#[test]
fn ethernet_acls_are_noted_and_operators_compile() {
    let m = mud("namib-unsw/Amazon-Echo.json");
    let rs = compile(
        &m,
        &Options {
            device: ip("192.168.1.10"),
            timeout: 60,
        },
        &BTreeMap::new(),
        &Context::default(),
    );
    assert!(
        rs.notes.iter().any(|n| n.contains("Ethernet ACL")),
        "{:?}",
        rs.notes
    );
    let v6 = mud("osmud/rfc8520-example-lightbulb2000.json");
    let rs = compile(
        &v6,
        &Options {
            device: ip("2001:db8::10"),
            timeout: 60,
        },
        &BTreeMap::new(),
        &Context::default(),
    );
    assert!(
        rs.script
            .contains("ip6 saddr 2001:db8::10 jump from_device"),
        "{}",
        rs.script
    );
    assert!(rs.script.contains("type ipv6_addr"), "{}", rs.script);
}

fn row(peer: Peer, protocol: &str, ports: Vec<Ports>, direction: Initiator) -> Communication {
    Communication {
        peer,
        protocol: protocol.into(),
        application: None,
        ports,
        device_port: None,
        direction,
        purpose: "test".into(),
        source: None,
        strength: Strength::Declared,
        line: 1,
    }
}

#[test]
fn generated_file_round_trips() {
    let rows = vec![
        row(
            Peer::MakerCloud("cloud.example.com".into()),
            "tcp",
            vec![Ports::One(443), Ports::Range(8000, 8080)],
            Initiator::FromDevice,
        ),
        row(
            Peer::Address("203.0.113.0/24".into()),
            "udp",
            vec![Ports::One(123)],
            Initiator::Both,
        ),
        row(
            Peer::Controller("urn:ietf:params:mud:dns".into()),
            "udp",
            vec![Ports::One(53)],
            Initiator::FromDevice,
        ),
        row(Peer::LocalNetwork, "tcp", vec![], Initiator::ToDevice),
        row(Peer::MyController, "icmp", vec![], Initiator::Both),
        row(Peer::SameManufacturer, "udp", vec![], Initiator::Both),
        row(
            Peer::Manufacturer("other.example".into()),
            "tcp",
            vec![Ports::One(80)],
            Initiator::Both,
        ),
    ];
    let text = iotrust_mud::generate::generate(&iotrust_mud::generate::Declaration {
        url: "https://mud.example.com/dev.json",
        manufacturer: "Maker",
        model: "Dev 1",
        name: Some("A device"),
        documentation: None,
        communications: &rows,
        now: jiff::Timestamp::UNIX_EPOCH,
    })
    .unwrap();
    let (m, warnings) = MudFile::parse(text.as_bytes()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(m.url(), "https://mud.example.com/dev.json");
    assert_eq!(m.from_device_policy, ["mud-dev-1-v4fr", "mud-dev-1-v6fr"]);
    // The judge agrees with the declaration.
    let mut ctx = Context::default();
    ctx.controllers
        .insert("urn:ietf:params:mud:dns".into(), vec![ip("192.168.1.1")]);
    let names = vec!["cloud.example.com".to_string()];
    let judge = |peer: &str, proto: u8, port: u16| {
        m.policy().judge(
            &iotrust_mud::Conversation {
                device: ip("192.168.1.10"),
                peer: ip(peer),
                peer_names: &names,
                protocol: proto,
                device_port: Some(40000),
                peer_port: Some(port),
                from_device: true,
                initiated_by_device: Some(true),
            },
            &ctx,
        )
    };
    assert!(judge("198.51.100.1", 6, 8050).is_allowed());
    assert!(judge("203.0.113.9", 17, 123).is_allowed());
    assert!(judge("192.168.1.1", 17, 53).is_allowed());
    assert!(!judge("192.168.1.1", 17, 54).is_allowed());
    assert!(!judge("198.51.100.1", 6, 22).is_allowed());
    // No rows, or a bad URL, is an error.
    let bad = iotrust_mud::generate::Declaration {
        url: "http://x",
        manufacturer: "M",
        model: "m",
        name: None,
        documentation: None,
        communications: &rows,
        now: jiff::Timestamp::UNIX_EPOCH,
    };
    assert!(iotrust_mud::generate::generate(&bad).is_err());
}
