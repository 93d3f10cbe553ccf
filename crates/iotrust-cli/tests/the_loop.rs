//! The loop of issue 18, end to end with the real components: a maker's profile declares how
//! the smart plug talks; `iotrust mud generate` turns it into the MUD file the plug's URL
//! serves; the plug is labelled and registered (`iotrust serve`, SQLite); a generated home
//! capture has the plug announce its MUD URL over DHCP, talk as declared, then scan like Mirai;
//! `iotrust watch --mud-dir … --registry …` reports the scan and the violation and sends a
//! signed field report; the registry's product page shows it in headless Chromium (screenshot
//! kept in `$CARGO_TARGET_TMPDIR/loop-screenshots/`) and a buyer's bulk check filters the
//! product out. (Enforcement of the same MUD file with the real nft in network namespaces is
//! `mud_enforce.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use iotrust_flow::link_type;
use iotrust_flow::testing::{dns, mud as m, packets as p, PcapWriter};
use iotrust_registry::browser::Driver;
use serde_json::{json, Value};

#[path = "support/registry.rs"]
mod registry;
use registry::{free_port, get, iotrust, ok, product_id, setup, submit, Server};

const TOKEN: &str = "tok-brisa-0123456789";
const PLUG: [u8; 4] = [192, 168, 1, 30];
const CLOUD: [u8; 4] = [203, 0, 113, 20];
const RESOLVER: [u8; 4] = [192, 168, 1, 1];

/// The plug's evening at home: DHCP with its MUD URL, a lookup of its cloud, MQTT over TLS
/// to it (declared), then a Mirai-style telnet scan (undeclared, and Mirai's fingerprint).
fn capture(url: &str) -> Vec<u8> {
    let mut w = PcapWriter::new(link_type::ETHERNET, false, false);
    let mut t = 1_765_100_000_000_000i64;
    let mac = [2, 0, 0, 0, 0, PLUG[3]];
    let hello = m::dhcpv4_frame(3, mac, [0; 4], Some(PLUG), url);
    w.packet(t, &hello, hello.len() as u32);
    let mut put = |w: &mut PcapWriter, src: [u8; 4], ip: Vec<u8>| {
        t += 2_000;
        let f = m::ethernet_from([2, 0, 0, 0, 0, src[3]], 0x0800, &ip);
        w.packet(t, &f, f.len() as u32);
    };
    let q = p::udp_with(5353, 53, &dns::query(1, "cloud.brisa-home.example", 1));
    put(&mut w, PLUG, p::ipv4(PLUG, RESOLVER, 17, 64, &q));
    let a = dns::response(1, "cloud.brisa-home.example", 1, &[(&CLOUD, 300)]);
    put(
        &mut w,
        RESOLVER,
        p::ipv4(RESOLVER, PLUG, 17, 64, &p::udp_with(53, 5353, &a)),
    );
    put(
        &mut w,
        PLUG,
        p::ipv4_tcp(PLUG, CLOUD, 40000, 8883, 1, 0x02, 64),
    );
    put(
        &mut w,
        CLOUD,
        p::ipv4_tcp(CLOUD, PLUG, 8883, 40000, 1, 0x12, 64),
    );
    for i in 0..80u32 {
        let dst = [198, 51, 100, (i + 1) as u8];
        put(
            &mut w,
            PLUG,
            p::ipv4_tcp(
                PLUG,
                dst,
                41000 + i as u16,
                23,
                u32::from_be_bytes(dst),
                0x02,
                64,
            ),
        );
    }
    w.finish()
}

#[test]
fn declaration_to_mud_to_watch_to_the_registry_page_and_the_bulk_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let profile = "examples/profiles/smart-plug.toml";

    // the maker: keys of the issuing body and the provider, a label, the MUD file
    let label = setup(d, profile, "Brisa Home Co.", TOKEN);
    let mud_file = format!("{d}/bp-10.json");
    ok(&["mud", "generate", profile, "-o", &mud_file]);
    ok(&["mud", "check", &mud_file]);
    let mud: Value = serde_json::from_str(&std::fs::read_to_string(&mud_file).unwrap()).unwrap();
    let url = mud["ietf-mud:mud"]["mud-url"].as_str().unwrap().to_string();
    // the provider's local copy of what the URL serves (`--mud-dir`: host/path)
    let rest = url.strip_prefix("https://").unwrap();
    let local = dir.path().join("mud").join(rest);
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    std::fs::copy(&mud_file, &local).unwrap();

    // the registry, and the plug registered on it
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server::start(d, port);
    let out = submit(d, &base, &label, profile);
    assert!(out.starts_with("registered "), "{out}");

    // the provider's watcher on the home capture
    let pcap = dir.path().join("home.pcap");
    std::fs::write(&pcap, capture(&url)).unwrap();
    let (code, out, err) = iotrust(&[
        "watch",
        "--pcap",
        pcap.to_str().unwrap(),
        "--local",
        "192.168.1.0/24",
        "--mud-dir",
        dir.path().join("mud").to_str().unwrap(),
        "--mud-no-fetch",
        "--registry",
        &base,
        "--provider-token-file",
        &format!("{d}/provider-token"),
        "--provider-key",
        &format!("{d}/isp-a.key.json"),
    ]);
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened = |det: &str| {
        events
            .iter()
            .filter(|e| e["event"] == "opened" && e["device"] == "192.168.1.30")
            .filter(|e| e["detector"] == det)
            .count()
    };
    assert!(opened("mirai-scan") >= 1, "{out}");
    assert!(opened("mud-violation") >= 1, "{err}");
    // the declared cloud traffic broke nothing: every violation is about the scan
    for e in events.iter().filter(|e| e["detector"] == "mud-violation") {
        for f in e["mud"]["flows"].as_array().unwrap() {
            assert_ne!(f["peer_port"], 8883, "{e}");
        }
        assert!(
            e["mud"]["declared"]
                .to_string()
                .contains("cloud.brisa-home.example"),
            "{e}"
        );
        assert_eq!(e["mud"]["source"], "dhcpv4", "{e}");
    }
    assert!(
        err.contains("field reports: ") && !err.contains(" 0 sent"),
        "{err}"
    );

    // the registry: the product's record, the page, the bulk check
    let id = product_id(&base, "BP-10");
    let p = get(&format!("{base}/api/v1/products/{id}"));
    assert_eq!(p["field"]["devices"], 1, "{p}");
    let detectors = p["field"]["detectors"].to_string();
    assert!(
        detectors.contains("mirai-scan") && detectors.contains("mud-violation"),
        "{p}"
    );
    assert_eq!(p["status"], "under-review", "{p}");
    assert!(!p.to_string().contains("192.168.1.30"), "{p}");

    let check = |exclude: bool| -> Value {
        let mut r = ureq::post(&format!("{base}/api/v1/check"))
            .header("content-type", "application/json")
            .send(
                json!({"exclude_field_compromised": exclude,
                    "items": [{"manufacturer": "Brisa Home Co.", "model": "BP-10"}]})
                .to_string(),
            )
            .unwrap();
        r.body_mut().read_json().unwrap()
    };
    let plain = check(false);
    assert_eq!(plain["results"][0]["field_compromised"], true, "{plain}");
    let filtered = check(true);
    assert_eq!(filtered["results"][0]["meets"], false, "{filtered}");
    assert_eq!(filtered["meeting"], 0, "{filtered}");

    let b = Driver::start();
    b.go(&format!("{base}/p/{id}"));
    let field = b.text("#field");
    assert!(
        field.contains("Seen compromised in the field")
            && field.contains("1 device(s) reported by 1 network provider(s)")
            && field.contains("mirai-scan"),
        "{field}"
    );
    b.screenshot_to(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("loop-screenshots"),
        "smart-plug-seen-in-the-field",
    );
}
